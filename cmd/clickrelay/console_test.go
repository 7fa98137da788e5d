package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/clickrelay/clickrelay/api"
	"github.com/clickrelay/clickrelay/internal/contract"
	"github.com/clickrelay/clickrelay/internal/testkit"
)

// browser is a headless Chromium driving the console of a stack, which
// records every error the page's console or scripts report.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu     sync.Mutex
	errors []string
	// reads are the fields the console read from the APIs' answers:
	// "GET /v2/stats 200" → "rows.[].offer_name" → true.
	reads map[string]map[string]bool
}

// readRecorder runs in every page before the console's scripts (DevTools
// puts it there; the page's CSP does not apply): it wraps each JSON answer
// fetch() hands the console in a Proxy that reports, through the
// __consoleRead binding, every field the console reads from it, so that
// the test can check each is one the OpenAPI document declares for that
// answer (checkReads). Array indexes read as "[]"; an array's own
// methods and length, and what every object inherits, are not fields.
const readRecorder = `(() => {
  const send = (call, path) => window.__consoleRead(JSON.stringify({ call, path: path.join(".") }));
  const seen = new Set();
  const wrap = (value, call, path) => {
    if (value === null || typeof value !== "object") return value;
    return new Proxy(value, {
      get(target, prop, receiver) {
        if (typeof prop === "symbol") return Reflect.get(target, prop, receiver);
        if (Array.isArray(target)) {
          if (!/^[0-9]+$/.test(prop)) return Reflect.get(target, prop, receiver);
          return wrap(target[prop], call, path.concat("[]"));
        }
        if (!Object.hasOwn(target, prop) && (prop in Object.prototype || prop === "then" || prop === "toJSON")) {
          return Reflect.get(target, prop, receiver);
        }
        const at = path.concat(prop);
        const key = call + " " + at.join(".");
        if (!seen.has(key)) { seen.add(key); send(call, at); }
        return wrap(target[prop], call, at);
      },
    });
  };
  const fetch0 = window.fetch;
  window.fetch = async function (input, init) {
    const resp = await fetch0.call(this, input, init);
    const method = ((init && init.method) || "GET").toUpperCase();
    const call = method + " " + new URL(resp.url).pathname + " " + resp.status;
    const json0 = resp.json.bind(resp);
    resp.json = async () => wrap(await json0(), call, []);
    return resp;
  };
})();`

// newBrowser starts Debian's chromium headless with a fresh profile. Where
// the services are required (CI), a missing chromium fails the test.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CLICKRELAY_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("chromium is not installed (apt-get install chromium); the console's browser tests need it")
		}
		t.Skip("chromium is not installed")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// No UserDataDir: chromedp makes a fresh profile directory and,
		// on cancel, removes it only after the browser has exited (a
		// t.TempDir could be written to while the test removes it).
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: base, reads: map[string]map[string]bool{}}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventBindingCalled:
			if ev.Name == "__consoleRead" {
				var r struct{ Call, Path string }
				if err := json.Unmarshal([]byte(ev.Payload), &r); err == nil {
					b.mu.Lock()
					if b.reads[r.Call] == nil {
						b.reads[r.Call] = map[string]bool{}
					}
					b.reads[r.Call][r.Path] = true
					b.mu.Unlock()
				}
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				b.record("console." + string(ev.Type) + ": " + strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			b.record("exception: " + ev.ExceptionDetails.Error())
		case *cdplog.EventEntryAdded:
			// An API's 401 or 404 is logged by the network source, and the
			// console shows those as messages on purpose; anything else at
			// error level (a CSP violation, a failed script) is a bug.
			if ev.Entry.Level == cdplog.LevelError && ev.Entry.Source != cdplog.SourceNetwork {
				b.record(string(ev.Entry.Source) + ": " + ev.Entry.Text + " " + ev.Entry.URL)
			}
		}
	})
	// The first Run starts the browser and binds it to the context it is
	// given: so ctx itself, not a deadline's child, which would close the
	// browser when it ends. A stalled start is bounded by a timer instead.
	stall := time.AfterFunc(60*time.Second, cancel)
	err = chromedp.Run(ctx, cdplog.Enable(), runtime.Enable(), runtime.AddBinding("__consoleRead"),
		chromedp.ActionFunc(func(ctx context.Context) error {
			_, err := page.AddScriptToEvaluateOnNewDocument(readRecorder).Do(ctx)
			return err
		}))
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	stall.Stop()
	// Registered after the browser's own cleanup, so run before it.
	t.Cleanup(b.checkReads)
	return b
}

// checkReads fails the test for every field the console read from an
// answer that the OpenAPI document does not declare for that answer: the
// console reads what the API answers, and api/openapi.json (every answer
// of the API tests is validated against it) is where the two meet. It
// also fails when nothing was recorded by a test that passed otherwise,
// so that a broken recorder is no silent pass.
func (b *browser) checkReads() {
	b.t.Helper()
	contractOnce.Do(func() { contractValidator, contractErr = contract.Load(api.OpenAPIDocument()) })
	if contractErr != nil {
		b.t.Fatal(contractErr)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.reads) == 0 {
		if !b.t.Failed() {
			b.t.Fatal("the console read no field of any answer: the read recorder is broken")
		}
		return
	}
	fields := 0
	for call, paths := range b.reads {
		fields += len(paths)
		var method, path string
		var status int
		if _, err := fmt.Sscanf(call, "%s %s %d", &method, &path, &status); err != nil {
			b.t.Errorf("recorded call %q: %v", call, err)
			continue
		}
		req, _ := http.NewRequest(method, b.base+path, nil)
		for p := range paths {
			if err := contractValidator.Declares(req, status, strings.Split(p, ".")); err != nil {
				b.t.Errorf("the console reads a field its API does not answer: %v", err)
			}
		}
	}
	b.t.Logf("checked the %d fields the console read from %d kinds of answer against the OpenAPI document", fields, len(b.reads))
}

func (b *browser) record(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors = append(b.errors, msg)
}

// consoleErrors is what the page reported so far.
func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// run runs actions within a deadline, failing the test with what step
// names when they fail.
func (b *browser) run(step string, within time.Duration, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, within)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v (console errors: %v); the page:\n%s", step, err, b.consoleErrors(), b.pageText())
	}
}

// open goes to a hash route of the console and waits for sel, then for
// the page's render to end (the view is aria-busy while it draws), so that
// nothing moves under the clicks that follow. The hash is set by a promise
// that settles once the console's own hashchange listener, registered
// first, has begun the render (and so marked the view busy): sel cannot be
// found on the page being left.
func (b *browser) open(hash, sel string) {
	b.t.Helper()
	goTo := fmt.Sprintf(`new Promise((done) => {
		if (location.hash === %[1]q) return done();
		addEventListener("hashchange", () => done(), { once: true });
		location.hash = %[1]q;
	})`, hash)
	b.run("open "+hash, 20*time.Second,
		chromedp.Evaluate(goTo, nil, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
		chromedp.WaitVisible(sel), chromedp.WaitReady("#view:not([aria-busy])", chromedp.ByQuery))
}

// text is the text content of the first element sel matches ("" if none).
func (b *browser) text(sel string) string {
	b.t.Helper()
	var s string
	b.run("read "+sel, 10*time.Second, chromedp.Evaluate(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel), &s))
	return s
}

// until waits for the JavaScript condition cond to hold, running the
// optional action (a click on a Filter button) between looks.
func (b *browser) until(what string, within time.Duration, cond string, between ...chromedp.Action) {
	b.t.Helper()
	defer func() {
		if b.t.Failed() {
			b.t.Logf("the page when %q failed:\n%s", what, b.pageText())
		}
	}()
	testkit.Wait(b.t, what, within, func() bool {
		var ok bool
		b.run(what, 10*time.Second, chromedp.Evaluate(cond, &ok))
		if !ok && len(between) > 0 {
			b.run(what, 10*time.Second, between...)
			// Paced: the affiliate API's burst limit (100 a minute) counts
			// the console's requests too. Not a proof of anything.
			b.run(what, 10*time.Second, chromedp.Sleep(time.Second))
		}
		return ok
	})
}

// as makes t, a subtest, the test b fails, until the function it returns
// gives b back to the test it had: defer b.as(t)() in each subtest.
func (b *browser) as(t *testing.T) func() {
	parent := b.t
	b.t = t
	return func() { b.t = parent }
}

// eval evaluates the JavaScript expression js into out (a promise is
// awaited), within a deadline.
func (b *browser) eval(what, js string, out any) {
	b.t.Helper()
	b.run(what, 20*time.Second, chromedp.Evaluate(js, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
}

// texts are the text contents of every element sel matches, trimmed, as
// a person reads them.
func (b *browser) texts(sel string) []string {
	b.t.Helper()
	var out []string
	b.eval("read "+sel, fmt.Sprintf(`[...document.querySelectorAll(%q)].map(e => e.textContent.trim())`, sel), &out)
	return out
}

// pageText is the text the page shows, for a failure's log.
func (b *browser) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	var text string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`location.hash + "\n" + document.body.innerText`, &text)); err != nil {
		return err.Error()
	}
	return text
}

// signIn signs in through the form and waits for sel.
func (b *browser) signIn(key, sel string) {
	b.t.Helper()
	b.run("sign in", 20*time.Second, chromedp.Navigate(b.base+"/#/signin"), chromedp.WaitVisible("#signin-key"),
		chromedp.SetValue("#signin-key", key), chromedp.Click("#signin-submit"), chromedp.WaitVisible(sel))
}

// screenshot saves the page as name.png into CLICKRELAY_SCREENSHOTS, when set.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	if os.Getenv("CLICKRELAY_SCREENSHOTS") == "" {
		return
	}
	var png []byte
	b.run("screenshot "+name, 20*time.Second, chromedp.FullScreenshot(&png, 100)) // 100: PNG; less is JPEG
	b.save(name, png)
}

// save writes a screenshot as name.png into CLICKRELAY_SCREENSHOTS.
func (b *browser) save(name string, png []byte) {
	b.t.Helper()
	dir := os.Getenv("CLICKRELAY_SCREENSHOTS")
	if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", "..", dir) // tests run in cmd/clickrelay; the setting is from the repository's root
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// screenshotTop saves what the window shows of the page's top (a long
// page's first screen), as screenshot does.
func (b *browser) screenshotTop(name string) {
	b.t.Helper()
	if os.Getenv("CLICKRELAY_SCREENSHOTS") == "" {
		return
	}
	var png []byte
	b.run("screenshot "+name, 20*time.Second, chromedp.Evaluate(`window.scrollTo(0, 0)`, nil), chromedp.CaptureScreenshot(&png))
	b.save(name, png)
}

// viewport sets the window's size and kind (a phone is mobile, with touch).
func (b *browser) viewport(width, height int64, mobile bool) {
	b.t.Helper()
	b.run("viewport", 10*time.Second, emulation.SetDeviceMetricsOverride(width, height, 1, mobile))
}

// TestConsoleInABrowser drives the console as its users do: the admin
// sets up a network and approves a conversion, the affiliate sees the same
// numbers, and nobody sees what is not theirs.
func TestConsoleInABrowser(t *testing.T) {
	s := startStack(t)
	b := newBrowser(t, s.base)
	receiver := newReceiver(t)

	// A wrong key fails, saying why.
	b.run("open the console", 30*time.Second, chromedp.Navigate(s.base+"/"), chromedp.WaitVisible("#signin-key"))
	// The error watch sees what a page logs: the last check is no no-op.
	b.run("log a probe error", 10*time.Second, chromedp.Evaluate(`console.error("probe")`, nil))
	testkit.Wait(t, "the probe error seen", 10*time.Second, func() bool { return len(b.consoleErrors()) > 0 })
	b.mu.Lock()
	b.errors = nil
	b.mu.Unlock()
	b.run("wrong key", 20*time.Second, chromedp.SetValue("#signin-key", "not-the-key"), chromedp.Click("#signin-submit"))
	b.until("the wrong key's message", 10*time.Second, `document.querySelector("#signin-error").textContent.includes("not the network admin key")`)
	if got := b.text("#who"); got != "" {
		t.Fatalf("a wrong key signed in as %q", got)
	}

	// The admin signs in and lands on the live overview.
	b.signIn(s.adminKey, "#kpis .tile")

	// An advertiser, an affiliate and an offer, through the forms.
	b.open("#/advertisers", "#new-advertiser-form")
	b.run("create an advertiser", 20*time.Second, chromedp.SetValue("#new-name", "Acme <script>alert(1)</script>"),
		chromedp.SetValue("#new-contact-email", "team@acme.example"), chromedp.Click("#create-advertiser"), chromedp.WaitVisible("#new-key"))
	var advertiserID, advertiserKey string
	b.run("read the advertiser's key", 10*time.Second, chromedp.Value("#new-key", &advertiserKey),
		chromedp.AttributeValue("#new-key-notice", "data-id", &advertiserID, nil))
	b.until("the advertiser listed, its name as text", 10*time.Second,
		`document.querySelector("#advertisers-list").textContent.includes("Acme <script>alert(1)</script>")`)

	b.open("#/affiliates", "#new-affiliate-form")
	b.run("create an affiliate", 20*time.Second, chromedp.SetValue("#new-name", "Jane Media"), chromedp.SetValue("#new-tier", "premium"),
		chromedp.Click("#create-affiliate"), chromedp.WaitVisible("#new-key"))
	var affiliateID, affiliateKey string
	b.run("read the affiliate's key", 10*time.Second, chromedp.Value("#new-key", &affiliateKey),
		chromedp.AttributeValue("#new-key-notice", "data-id", &affiliateID, nil))

	b.open("#/offers", "#new-offer")
	b.run("open the offer form", 10*time.Second, chromedp.Click("#new-offer summary"), chromedp.WaitVisible("#offer-name"))
	// The API's validation message shows next to its field.
	b.run("submit without a name", 10*time.Second, chromedp.SetValue("#offer-tracking-url", "https://shop.example/lp?cid={click_id}"),
		chromedp.Click("#offer-submit"))
	b.until("the name's validation message", 10*time.Second, `document.querySelector('#offer-form .field-error[data-field="name"]').textContent.length > 0`)
	var offerID string
	b.run("create an offer", 20*time.Second, chromedp.SetValue("#offer-name", "Summer Promo"), chromedp.SetValue("#offer-advertiser-id", advertiserID),
		chromedp.SetValue("#offer-payout", "2.5"), chromedp.Click("#offer-submit"), chromedp.WaitVisible("#offer-created"),
		chromedp.AttributeValue("#offer-created", "data-id", &offerID, nil))
	if advertiserID == "" || affiliateID == "" || offerID == "" || advertiserKey == "" || affiliateKey == "" {
		t.Fatalf("ids %q %q %q, keys shown %v %v", advertiserID, affiliateID, offerID, advertiserKey != "", affiliateKey != "")
	}

	// The affiliate wants approved conversions posted back (its API), and
	// a second affiliate has a postback of its own.
	affiliate := map[string]string{"Authorization": "Bearer " + affiliateKey}
	var pb struct {
		PostbackID string `json:"postback_id"`
	}
	if code := s.call("POST", "/v1/postbacks", affiliate, fmt.Sprintf(`{"url":%q,"event":"approved"}`, receiver.URL+"/pb?cid={click_id}&payout={payout}"), &pb); code != 200 {
		t.Fatalf("register postback: %d", code)
	}
	other := s.createAffiliate(`{"name":"Other Media"}`)
	var otherPB struct {
		PostbackID string `json:"postback_id"`
	}
	if code := s.call("POST", "/v1/postbacks", other.auth(),
		`{"url":"https://other.example/pb?c={click_id}"}`, &otherPB); code != 200 {
		t.Fatalf("second affiliate's postback: %d", code)
	}

	// An end user clicks the tracking link; the advertiser reports a sale.
	status, location := s.click(fmt.Sprintf("/click/%s?aff_id=%s&sub1=console", offerID, affiliateID))
	if status != 302 {
		t.Fatalf("click: %d", status)
	}
	cid := clickID(t, location, "cid")
	var conv struct {
		Data struct {
			ConversionID string `json:"conversionId"`
		} `json:"data"`
	}
	if code := s.call("POST", "/api/v1/conversions", map[string]string{"X-API-Key": advertiserKey, "Content-Type": "application/json"},
		fmt.Sprintf(`{"click_id":%q,"amount":"40.00","txid":"ORDER-1"}`, cid), &conv); code != 200 || conv.Data.ConversionID == "" {
		t.Fatalf("conversion: %d %+v", code, conv)
	}
	convID := conv.Data.ConversionID

	// The live chart shows it by itself (it refreshes every 10 s).
	b.open("#/overview", "#live-chart svg")
	b.run("show conversions on the chart", 10*time.Second, chromedp.Click(`#live-legend button[data-metric="conversions"]`))
	b.until("the conversion on the live chart", 60*time.Second,
		`Number((document.querySelector("#live-chart svg") || {getAttribute: () => 0}).getAttribute("data-sum-conversions")) >= 1`)

	// ... and in the conversions list, where the admin approves it.
	b.open("#/conversions", "#conversion-filters")
	b.until("the conversion in the list", 60*time.Second, fmt.Sprintf(`document.querySelector("#conversions-list").textContent.includes(%q)`, convID),
		chromedp.Click(`#conversion-filters button[type="submit"]`))
	b.run("open the conversion", 20*time.Second, chromedp.Click(fmt.Sprintf(`//td[@data-col="id"][text()=%q]`, convID), chromedp.BySearch),
		chromedp.WaitVisible("#conversion-approved"))
	if got := b.text("#conversion-status"); got != "pending" {
		t.Fatalf("status before approval: %q", got)
	}
	// Its offer, affiliate and advertiser by name, the sale and the click
	// as they were sent.
	advertiserName := "Acme <script>alert(1)</script>"
	wantFacts := func(sel string, want ...string) {
		t.Helper()
		facts := strings.Join(b.texts(sel), " | ")
		for _, w := range want {
			if !strings.Contains(facts, w) {
				t.Errorf("%s reads %q, without %q", sel, facts, w)
			}
		}
	}
	wantFacts("#conversion-facts dd", "Summer Promo #"+offerID, "Jane Media #"+affiliateID, advertiserName+" #"+advertiserID, "40.00 USD", "ORDER-1", "2.50 (cpa)")
	wantFacts("#conversion-click dd", cid, "console", "GB")
	b.run("approve", 20*time.Second, chromedp.Click("#conversion-approved"))
	b.until("the conversion approved", 20*time.Second, `document.querySelector("#conversion-status").textContent === "approved"`)
	// Drawn from PATCH's answer, the same shape as GET's: nothing lost.
	if got := b.text("#conversion-message"); got != "Marked approved." {
		t.Errorf("after approving, the page says %q", got)
	}
	wantFacts("#conversion-facts dd", "pending", "Summer Promo #"+offerID, "Jane Media #"+affiliateID, advertiserName+" #"+advertiserID, "40.00 USD")
	wantFacts("#conversion-click dd", cid, "console", "GB")

	// The approved postback reaches the affiliate and shows in the log.
	if got := receiver.Await(t, 1, 60*time.Second).Query.Get("cid"); got != cid {
		t.Fatalf("postback for click %q, want %q", got, cid)
	}
	b.open("#/postbacks", "#pixel-filters")
	b.until("the approved postback in the log", 60*time.Second,
		fmt.Sprintf(`[...document.querySelectorAll("#pixel-log tbody tr")].some(r => r.textContent.includes(%q) && r.querySelector('[data-col="pixel_type"]').textContent === "approved" && r.textContent.includes("delivered"))`, convID),
		chromedp.Click(`#pixel-filters button[type="submit"]`))

	// Every other admin page draws what it is about (and the browser
	// console, checked at the end, stays clean).
	b.open("#/postbacks/"+pb.PostbackID, "#deliveries .delivery table")
	wantFacts("#postback-facts dd", "Jane Media #"+affiliateID, "approved", receiver.URL+"/pb?cid={click_id}")
	wantFacts("#deliveries .delivery", "approved", "delivered", "conversion "+convID)
	b.open("#/stats", "#stats-table table")
	// By date: today's row, its clicks and conversion, the totals above.
	b.until("today's traffic", 30*time.Second, `document.querySelector("#stats-total-conversions .value")?.textContent === "1"`,
		chromedp.Click(`#stats-form button[type="submit"]`))
	wantFacts("#stats-totals .value", "1")
	if got := b.texts(`#stats-table tbody td[data-col="clicks"]`); len(got) != 1 || got[0] != "1" {
		t.Errorf("the stats by date read clicks %q, want one day of 1", got)
	}
	// Sub IDs group one affiliate's traffic: offered once one is named.
	b.until("the sub IDs offered only with an affiliate", 10*time.Second,
		`document.querySelector('#stats-form input[value="sub2"]').disabled && !document.querySelector("#stats-sub-hint").hidden`)
	b.run("name an affiliate", 10*time.Second, chromedp.SendKeys(`#stats-form input[name="affiliate_id"]`, affiliateID))
	b.until("the sub IDs offered", 10*time.Second,
		`!document.querySelector('#stats-form input[value="sub2"]').disabled && document.querySelector("#stats-sub-hint").hidden`)
	b.run("group by sub1", 10*time.Second, chromedp.Click(`#stats-form input[value="sub1"]`), chromedp.Click(`#stats-form button[type="submit"]`))
	b.until("the affiliate's traffic by sub1", 30*time.Second, `[...document.querySelectorAll("#stats-table th")].some(th => th.textContent === "sub1")`)
	if got := b.texts(`#stats-table tbody td[data-col="sub1"]`); len(got) != 1 || got[0] != "console" {
		t.Errorf("the affiliate's traffic by sub1 reads %q, want the click's sub1", got)
	}
	b.open("#/offers/"+offerID, "#offer-form")
	if got := b.text("h1"); !strings.HasPrefix(got, "Summer Promo") {
		t.Errorf("the offer page is titled %q", got)
	}
	wantFacts("#offer-facts", "advertiser "+advertiserName+" #"+advertiserID)
	b.open("#/advertisers/"+advertiserID, "#endpoints")
	if got := b.text("h1"); !strings.HasPrefix(got, advertiserName) {
		t.Errorf("the advertiser page is titled %q", got)
	}
	wantFacts("#endpoints", "Nothing yet.")
	b.open("#/affiliates/"+affiliateID, "#edit-account-form")
	if got := b.text("h1"); !strings.HasPrefix(got, "Jane Media") {
		t.Errorf("the affiliate page is titled %q", got)
	}
	b.until("the affiliate's postback", 20*time.Second, fmt.Sprintf(`[...document.querySelectorAll('[data-col="postback_id"]')].some(td => td.textContent === %q)`, pb.PostbackID))

	// The overview with its numbers, for the README.
	b.open("#/overview", "#live-chart svg")
	b.until("the overview's numbers", 30*time.Second, `document.querySelector("#kpi-conversions .value").textContent === "1"`)
	adminClicks, adminConversions := b.text("#kpi-clicks .value"), b.text("#kpi-conversions .value")
	b.until("the top offer and affiliate", 30*time.Second,
		`document.querySelector("#tops .card:nth-child(1) tbody td")?.textContent === "Summer Promo" && document.querySelector("#tops .card:nth-child(2) tbody td")?.textContent === "Jane Media"`)
	if got := b.text("#pb-delivered .value"); got == "0" {
		t.Errorf("postback health reads %s delivered", got)
	}
	b.screenshot("console-overview")

	// The affiliate signs in and sees the same numbers, its link, its
	// conversion approved.
	b.run("sign out", 20*time.Second, chromedp.Click("#sign-out"), chromedp.WaitVisible("#signin-key"))
	b.signIn(affiliateKey, ".tracking-link")
	var link string
	b.run("read the tracking link", 10*time.Second, chromedp.Value(fmt.Sprintf(`[data-offer="%s"] .tracking-link`, offerID), &link))
	if !strings.Contains(link, "/click/"+offerID) || !strings.Contains(link, "aff_id="+affiliateID) {
		t.Fatalf("tracking link %q", link)
	}
	b.screenshot("console-affiliate-offers")
	b.open("#/a/stats", "#aff-stats-form")
	b.until("the affiliate's numbers", 60*time.Second,
		fmt.Sprintf(`document.querySelector("#aff-clicks .value")?.textContent === %q && document.querySelector("#aff-conversions .value")?.textContent === %q`, adminClicks, adminConversions),
		chromedp.Click(`#aff-stats-form button[type="submit"]`))
	b.screenshot("console-affiliate-stats")
	b.open("#/a/conversions", "#aff-conversion-filters")
	b.until("the affiliate's approved conversion", 60*time.Second,
		fmt.Sprintf(`[...document.querySelectorAll("#aff-conversions-list tbody tr")].some(r => r.textContent.includes(%q) && r.textContent.includes("approved"))`, convID),
		chromedp.Click(`#aff-conversion-filters button[type="submit"]`))
	wantFacts(`#aff-conversions-list td[data-col="offer_id"]`, "Summer Promo #"+offerID)
	b.viewport(390, 844, true)
	b.open("#/a/stats", "#aff-stats-form")
	b.until("the phone's stats", 30*time.Second, fmt.Sprintf(`document.querySelector("#aff-conversions .value")?.textContent === %q`, adminConversions))
	b.screenshot("console-affiliate-phone")
	b.viewport(1280, 900, false)

	b.open("#/a/postbacks", "#new-postback-form")
	// Its own postback's deliveries open; another affiliate's do not, nor
	// do the admin's pages.
	b.open("#/a/postbacks/"+pb.PostbackID, "#deliveries .delivery table")
	wantFacts("#deliveries .delivery", "approved", "delivered", "conversion "+convID)
	b.open("#/a/postbacks/"+otherPB.PostbackID, "#page-error")
	if got := b.text("#page-error h1"); got != "Not found" {
		t.Fatalf("another affiliate's postback shows %q", got)
	}
	b.run("open an admin page", 20*time.Second, chromedp.Evaluate(`location.hash = "#/affiliates"`, nil), chromedp.WaitVisible(".tracking-link"))
	var answer int
	b.run("call the admin API from the affiliate's page", 20*time.Second,
		chromedp.Evaluate(`fetch("/v2/affiliates").then(r => r.status)`, &answer, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
			return p.WithAwaitPromise(true)
		}))
	if answer != 401 {
		t.Fatalf("the admin API answered an affiliate's session %d", answer)
	}

	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Fatalf("the browser console reported errors:\n%s", strings.Join(errs, "\n"))
	}
}
