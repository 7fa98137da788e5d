package main

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	cdpnetwork "github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// poll waits for the JavaScript condition cond to hold on the page shown,
// within a deadline; an evaluation that fails because the page is
// navigating counts as not yet.
func (b *browser) poll(what string, within time.Duration, cond string) {
	b.t.Helper()
	testkit.Poll(b.t, what, within, func() (bool, string) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancel()
		var ok bool
		if err := chromedp.Run(ctx, chromedp.Evaluate(cond, &ok)); err != nil {
			return false, err.Error()
		}
		return ok, "the condition is false"
	})
}

// sessionCookies are the cookies the browser holds for the console.
func (b *browser) sessionCookies() []string {
	b.t.Helper()
	var names []string
	b.run("read the console's cookies", 10*time.Second, chromedp.ActionFunc(func(ctx context.Context) error {
		cookies, err := cdpnetwork.GetCookies().WithURLs([]string{b.base + "/"}).Do(ctx)
		for _, c := range cookies {
			names = append(names, c.Name)
		}
		return err
	}))
	return names
}

// TestConsoleSignInFromAnotherSite is the login CSRF attack: a page of
// another site (its own origin, and another site: localhost against the
// console's 127.0.0.1) makes its visitor's browser post the attacker's
// key to POST /console/session, by a form it submits itself or by fetch.
// No session is made: the browser holds no cookie for the console, and
// the console shows its sign-in page. The console's own sign-in still
// works, and its sign-out needs the session's CSRF token.
func TestConsoleSignInFromAnotherSite(t *testing.T) {
	s := startStack(t)
	b := newBrowser(t, s.base)
	key := s.adminKey // the attacker's account, here the admin's: the most it could be
	target := s.base + "/console/session"
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/text-plain":
			// The body this form sends is {"key":"...","x":"="}: valid JSON.
			fmt.Fprintf(w, `<!doctype html><title>Win a prize</title><form id="f" method="POST" action="%s" enctype="text/plain">`+
				`<input type="hidden" name="%s" value='"}'></form><script>document.getElementById("f").submit()</script>`,
				html.EscapeString(target), html.EscapeString(`{"key":"`+key+`","x":"`))
		case "/urlencoded":
			fmt.Fprintf(w, `<!doctype html><title>Win a prize</title><form id="f" method="POST" action="%s">`+
				`<input type="hidden" name="key" value="%s"></form><script>document.getElementById("f").submit()</script>`,
				html.EscapeString(target), html.EscapeString(key))
		default:
			fmt.Fprint(w, `<!doctype html><title>Win a prize</title><p>Nothing to see.</p>`)
		}
	}))
	t.Cleanup(evil.Close)
	evilBase := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)

	for _, form := range []string{"/text-plain", "/urlencoded"} {
		b.run("open the other site's page "+form, 20*time.Second, chromedp.Navigate(evilBase+form))
		// The form submits itself: the browser lands on the console's
		// answer, which a person reads as a refusal.
		b.poll("the console's answer to "+form, 20*time.Second, fmt.Sprintf(
			`location.href === %q && document.readyState === "complete"`, target))
		if got := b.sessionCookies(); len(got) != 0 {
			t.Fatalf("the form %s left cookies %v for the console", form, got)
		}
		if got := b.text("body"); !strings.Contains(got, "unsupported_media_type") {
			t.Errorf("the form %s: the console answered %q", form, got)
		}
	}
	// Scripts of the other site fare no better: a no-cors POST can only
	// send text/plain (refused like the form; the browser may also block
	// the JSON answer it cannot read), and a JSON one needs a CORS
	// preflight the console never grants, so the browser does not send it.
	b.run("open the other site", 20*time.Second, chromedp.Navigate(evilBase+"/"))
	var outcomes []string
	b.eval("post the key from the other site", fmt.Sprintf(`(async () => {
		const body = JSON.stringify({ key: %q });
		const out = [];
		await fetch(%q, { method: "POST", mode: "no-cors", credentials: "include", body }).then(r => out.push("no-cors: " + r.type), e => out.push("no-cors: " + e.name));
		await fetch(%q, { method: "POST", credentials: "include", headers: { "Content-Type": "application/json" }, body })
			.then(r => out.push("cors: " + r.status), e => out.push("cors: " + e.name));
		return out;
	})()`, key, target, target), &outcomes)
	t.Logf("the other site's fetches: %v", outcomes)
	if len(outcomes) != 2 || outcomes[1] != "cors: TypeError" {
		t.Errorf("the other site's JSON fetch: %v, want it refused at its preflight", outcomes)
	}
	if got := b.sessionCookies(); len(got) != 0 {
		t.Fatalf("the other site's fetches left cookies %v for the console", got)
	}
	// What the other site's page logged (the browser's CORS refusal) is
	// not the console's: the console's own errors are checked from here.
	b.mu.Lock()
	b.errors = nil
	b.mu.Unlock()

	// The visitor opens the console: signed out.
	b.run("open the console", 30*time.Second, chromedp.Navigate(s.base+"/"), chromedp.WaitVisible("#signin-key"))
	var status int
	b.eval("ask who is signed in", `fetch("/console/session").then(r => r.status)`, &status)
	if status != 401 || b.text("#who") != "" {
		t.Fatalf("after the other site's attempts the console answers %d and shows %q signed in", status, b.text("#who"))
	}

	// The console's own sign-in takes the same key.
	b.signIn(key, "#kpis .tile")
	if got := b.sessionCookies(); len(got) != 1 || got[0] != "cr_session" {
		t.Fatalf("signed in, the browser holds %v", got)
	}
	// Signing out without the session's CSRF token is refused, and the
	// session goes on; the console's Sign out button sends it.
	var refused struct {
		Status int
		Code   string
	}
	b.eval("sign out without the token", `fetch("/console/session", { method: "DELETE" }).then(async r => ({ Status: r.status, Code: (await r.json()).error.code }))`, &refused)
	if refused.Status != 403 || refused.Code != "csrf_failed" {
		t.Fatalf("a sign-out without the CSRF token: %+v", refused)
	}
	b.eval("ask who is signed in", `fetch("/console/session").then(r => r.status)`, &status)
	if status != 200 {
		t.Fatalf("a refused sign-out ended the session: %d", status)
	}
	b.run("sign out", 20*time.Second, chromedp.Click("#sign-out"), chromedp.WaitVisible("#signin-key"))
	b.eval("ask who is signed in", `fetch("/console/session").then(r => r.status)`, &status)
	if status != 401 || len(b.sessionCookies()) != 0 {
		t.Fatalf("signed out, the console answers %d, cookies %v", status, b.sessionCookies())
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Fatalf("the browser console reported errors:\n%s", strings.Join(errs, "\n"))
	}
}
