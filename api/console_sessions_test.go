package api

import (
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// jsonBody is the header the console's sign-in sends its body with.
var jsonBody = map[string]string{"Content-Type": "application/json"}

// signInCookie signs in with key and returns the Cookie header and the
// CSRF token of the session.
func signInCookie(t *testing.T, s *Server, key string) (map[string]string, string) {
	t.Helper()
	r := do(s, "POST", "/console/session", jsonBody, `{"key":"`+key+`"}`)
	if r.StatusCode() != 200 {
		t.Fatalf("sign in: %d %s", r.StatusCode(), r.Body())
	}
	var c fasthttp.Cookie
	c.SetKey("cr_session")
	if !r.Header.Cookie(&c) {
		t.Fatal("no session cookie")
	}
	if !c.HTTPOnly() || c.SameSite() != fasthttp.CookieSameSiteStrictMode || string(c.Path()) != "/" || c.Secure() {
		t.Fatalf("cookie attributes: %s", r.Header.Peek("Set-Cookie"))
	}
	return map[string]string{"Cookie": "cr_session=" + string(c.Value())}, testkit.JSON(t, r.Body()).Get("csrf_token").String()
}

func withHeader(h map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for a, b := range h {
		out[a] = b
	}
	return out
}

func TestConsoleSessionStandsInForTheKey(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	aff := createAccount(t, s, "affiliates", `{"name":"Jane <b>Media</b>"}`)
	other := createAccount(t, s, "affiliates", `{"name":"Other"}`)
	admin, adminCSRF := signInCookie(t, s, testAdminKey)
	affCookie, affCSRF := signInCookie(t, s, aff.Get("api_key").String())

	cases := []struct {
		name, method, uri string
		headers           map[string]string
		body              string
		want              int
	}{
		{"admin cookie reads the admin API", "GET", "/v2/affiliates", admin, "", 200},
		{"admin cookie writes with its CSRF token", "POST", "/v2/advertisers", withHeader(admin, "X-CSRF-Token", adminCSRF), `{"name":"Acme"}`, 201},
		{"admin cookie writes without a CSRF token", "POST", "/v2/advertisers", admin, `{"name":"Acme"}`, 403},
		{"admin cookie writes with the affiliate's token", "POST", "/v2/advertisers", withHeader(admin, "X-CSRF-Token", affCSRF), `{"name":"Acme"}`, 403},
		{"admin cookie opens the seed 004 report", "POST", "/v1/networks/reporting/affiliate/pixels", withHeader(admin, "X-CSRF-Token", adminCSRF), `{"timezone_id":67,"from":"2026-01-01","to":"2026-01-02"}`, 200},
		{"affiliate cookie is no admin", "GET", "/v2/affiliates", affCookie, "", 401},
		{"affiliate cookie reads its postbacks", "GET", "/v1/postbacks", affCookie, "", 200},
		{"affiliate cookie writes with its CSRF token", "POST", "/v1/postbacks", withHeader(affCookie, "X-CSRF-Token", affCSRF), `{"url":"https://jane.example/pb?c={click_id}"}`, 200},
		{"affiliate cookie writes without a CSRF token", "POST", "/v1/postbacks", affCookie, `{"url":"https://jane.example/pb"}`, 403},
		{"admin cookie is no affiliate", "GET", "/v1/postbacks", admin, "", 401},
		{"a forged cookie", "GET", "/v2/affiliates", map[string]string{"Cookie": "cr_session=eyJrIjoiYWRtaW4ifQ.AAAA"}, "", 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(s, c.method, c.uri, c.headers, c.body)
			if r.StatusCode() != c.want {
				t.Fatalf("%s %s: %d %s, want %d", c.method, c.uri, r.StatusCode(), r.Body(), c.want)
			}
		})
	}

	t.Run("GET /console/session names who signed in", func(t *testing.T) {
		got := testkit.JSON(t, do(s, "GET", "/console/session", affCookie, "").Body())
		if got.Get("kind").String() != "affiliate" || got.Get("id").String() != aff.Get("id").String() || got.Get("name").String() != "Jane <b>Media</b>" ||
			got.Get("csrf_token").String() != affCSRF {
			t.Fatalf("session = %v", got)
		}
	})
	t.Run("an affiliate's session sees only its own postbacks", func(t *testing.T) {
		otherCookie, otherCSRF := signInCookie(t, s, other.Get("api_key").String())
		id := testkit.JSON(t, do(s, "GET", "/v1/postbacks", affCookie, "").Body()).Get("data", 0, "postback_id").String()
		if r := do(s, "GET", "/v1/postbacks/"+id+"/deliveries", otherCookie, ""); r.StatusCode() != 404 {
			t.Fatalf("another affiliate's deliveries: %d %s", r.StatusCode(), r.Body())
		}
		if r := do(s, "DELETE", "/v1/postbacks/"+id, withHeader(otherCookie, "X-CSRF-Token", otherCSRF), ""); r.StatusCode() != 404 {
			t.Fatalf("deleting another affiliate's postback: %d %s", r.StatusCode(), r.Body())
		}
	})
	t.Run("rotating the key ends the session", func(t *testing.T) {
		if r := do(s, "POST", "/v2/affiliates/"+aff.Get("id").String()+"/rotate-key", adminHeaders, ""); r.StatusCode() != 200 {
			t.Fatalf("rotate: %d %s", r.StatusCode(), r.Body())
		}
		if r := do(s, "GET", "/v1/postbacks", affCookie, ""); r.StatusCode() != 401 {
			t.Fatalf("after rotation: %d %s", r.StatusCode(), r.Body())
		}
		if r := do(s, "GET", "/console/session", affCookie, ""); r.StatusCode() != 401 {
			t.Fatalf("session after rotation: %d %s", r.StatusCode(), r.Body())
		}
	})
}

func TestConsoleSignInRefusals(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	adv := createAccount(t, s, "advertisers", `{"name":"Acme"}`)
	cases := []struct {
		name, body string
		want       int
		code       string
	}{
		{"wrong key", `{"key":"not-a-key"}`, 401, "invalid_key"},
		{"an advertiser's key", `{"key":"` + adv.Get("api_key").String() + `"}`, 401, "invalid_key"},
		{"no key", `{"key":""}`, 400, "missing_key"},
		{"not JSON", `key=1`, 400, "invalid_json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(s, "POST", "/console/session", jsonBody, c.body)
			if r.StatusCode() != c.want || !strings.Contains(string(r.Body()), `"`+c.code+`"`) {
				t.Fatalf("%d %s, want %d %s", r.StatusCode(), r.Body(), c.want, c.code)
			}
			if len(r.Header.Peek("Set-Cookie")) != 0 {
				t.Fatal("a refused sign-in set a cookie")
			}
		})
	}
	t.Run("attempts past the limit are refused", func(t *testing.T) {
		var last *fasthttp.Response
		for i := 0; i <= int(signInLimit.Limit); i++ {
			last = do(s, "POST", "/console/session", jsonBody, `{"key":"guess"}`)
		}
		if last.StatusCode() != 429 || len(last.Header.Peek("Retry-After")) == 0 {
			t.Fatalf("attempt %d: %d %s", signInLimit.Limit+1, last.StatusCode(), last.Body())
		}
	})
}

func TestConsolePageAndAssets(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	cases := []struct {
		uri, status, contentType string
	}{
		{"/", "200", "text/html; charset=utf-8"},
		{"/assets/app.js", "200", "text/javascript; charset=utf-8"},
		{"/assets/style.css", "200", "text/css; charset=utf-8"},
		{"/assets/nope.js", "404", "application/json; charset=utf-8"},
	}
	for _, c := range cases {
		t.Run(c.uri, func(t *testing.T) {
			r := do(s, "GET", c.uri, nil, "")
			if got := strconv.Itoa(r.StatusCode()); got != c.status {
				t.Fatalf("status %s, want %s", got, c.status)
			}
			if string(r.Header.ContentType()) != c.contentType {
				t.Errorf("Content-Type %q, want %q", r.Header.ContentType(), c.contentType)
			}
			if c.status == "200" {
				if csp := string(r.Header.Peek("Content-Security-Policy")); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
					t.Errorf("CSP %q", csp)
				}
				if string(r.Header.Peek("X-Content-Type-Options")) != "nosniff" || string(r.Header.Peek("Referrer-Policy")) != "no-referrer" {
					t.Error("missing nosniff or no-referrer")
				}
			}
		})
	}
}

func TestSessionCookieSecureBehindATLSProxy(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	s.deps.Clicks = trustingClicks{}
	r := do(s, "POST", "/console/session", withHeader(jsonBody, "X-Forwarded-Proto", "https"), `{"key":"`+testAdminKey+`"}`)
	if !strings.Contains(string(r.Header.Peek("Set-Cookie")), "secure") {
		t.Fatalf("Set-Cookie %q lacks Secure", r.Header.Peek("Set-Cookie"))
	}
}

// trustingClicks is a click handler whose every peer is a trusted proxy.
type trustingClicks struct{ noClicks }

func (trustingClicks) TrustsPeer(*fasthttp.RequestCtx) bool { return true }

// Signing out ends the session on the server: a copy of the cookie is
// refused afterwards, by this process and by another on the same Redis,
// while the same account's other sessions go on.
func TestConsoleSignOutEndsTheSession(t *testing.T) {
	s, rd, _ := newTestServer(t, nil)
	other, _, _ := newTestServerOn(t, rd, nil, DefaultConfiguration()) // a second process
	aff := createAccount(t, s, "affiliates", `{"name":"Jane Media"}`)
	kept, _ := signInCookie(t, s, aff.Get("api_key").String())
	ended, endedCSRF := signInCookie(t, s, aff.Get("api_key").String())
	admin, _ := signInCookie(t, s, testAdminKey)

	r := do(s, "DELETE", "/console/session", withHeader(ended, "X-CSRF-Token", endedCSRF), "")
	if r.StatusCode() != 200 || !strings.Contains(string(r.Header.Peek("Set-Cookie")), "cr_session=;") {
		t.Fatalf("sign out: %d %s, Set-Cookie %q", r.StatusCode(), r.Body(), r.Header.Peek("Set-Cookie"))
	}
	for _, c := range []struct {
		name    string
		server  *Server
		uri     string
		headers map[string]string
		want    int
	}{
		{"the signed-out cookie, session", s, "/console/session", ended, 401},
		{"the signed-out cookie, API", s, "/v1/postbacks", ended, 401},
		{"the signed-out cookie, another process", other, "/v1/postbacks", ended, 401},
		{"the account's other session", s, "/v1/postbacks", kept, 200},
		{"the admin's session", other, "/v2/affiliates", admin, 200},
	} {
		if r := do(c.server, "GET", c.uri, c.headers, ""); r.StatusCode() != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, r.StatusCode(), r.Body(), c.want)
		}
	}
	// Signing out again, or without a session, only clears the cookie.
	for _, h := range []map[string]string{ended, nil} {
		if r := do(s, "DELETE", "/console/session", h, ""); r.StatusCode() != 200 {
			t.Errorf("sign out again: %d %s", r.StatusCode(), r.Body())
		}
	}
}

// Signing in takes only the console's own JSON request: a page of another
// site that submits a form to POST /console/session (login CSRF) makes no
// session, and signing out needs the session's CSRF token.
func TestConsoleSessionWritesOnlyFromTheConsole(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	s.config.PublicURL = "https://trk.example.com"
	key := `{"key":"` + testAdminKey + `"}`
	// The body a cross-site <form enctype="text/plain"> sends: valid JSON.
	formJSON := `{"key":"` + testAdminKey + `","x":"="}`
	host := map[string]string{"Host": "console.example"}
	cases := []struct {
		name    string
		headers map[string]string
		body    string
		status  int
		code    string
	}{
		{"a cross-site text/plain form", withHeader(withHeader(host, "Content-Type", "text/plain"), "Origin", "https://evil.example"), formJSON, 415, "unsupported_media_type"},
		{"an urlencoded form", withHeader(host, "Content-Type", "application/x-www-form-urlencoded"), "key=" + testAdminKey, 415, "unsupported_media_type"},
		{"text/plain without Origin", withHeader(host, "Content-Type", "text/plain"), formJSON, 415, "unsupported_media_type"},
		{"JSON from another site (Sec-Fetch-Site)", withHeader(withHeader(jsonBody, "Host", "console.example"), "Sec-Fetch-Site", "cross-site"), key, 403, "cross_origin"},
		{"JSON from a sibling site (Sec-Fetch-Site)", withHeader(withHeader(jsonBody, "Host", "console.example"), "Sec-Fetch-Site", "same-site"), key, 403, "cross_origin"},
		{"JSON from a foreign Origin", withHeader(withHeader(jsonBody, "Host", "console.example"), "Origin", "https://evil.example"), key, 403, "cross_origin"},
		{"JSON from an opaque Origin", withHeader(withHeader(jsonBody, "Host", "console.example"), "Origin", "null"), key, 403, "cross_origin"},
		{"JSON from the same host over another scheme", withHeader(withHeader(jsonBody, "Host", "console.example"), "Origin", "https://console.example"), key, 403, "cross_origin"},
		{"the console's own request", withHeader(withHeader(withHeader(jsonBody, "Host", "console.example"), "Origin", "http://console.example"), "Sec-Fetch-Site", "same-origin"), key, 200, ""},
		{"the console's own Origin, no Sec-Fetch-Site", withHeader(withHeader(jsonBody, "Host", "console.example"), "Origin", "http://console.example"), key, 200, ""},
		{"the public URL's Origin", withHeader(withHeader(jsonBody, "Host", "10.0.0.7:8080"), "Origin", "https://trk.example.com"), key, 200, ""},
		{"JSON with a charset", withHeader(host, "Content-Type", "application/json; charset=utf-8"), key, 200, ""},
		{"curl: JSON, neither header", jsonBody, key, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(s, "POST", "/console/session", c.headers, c.body)
			body := testkit.JSON(t, r.Body())
			if r.StatusCode() != c.status || c.code != "" && (errorCode(t, r.Body()) != c.code || body.Get("error", "message").String() == "") {
				t.Fatalf("%d %s, want %d %s", r.StatusCode(), r.Body(), c.status, c.code)
			}
			if set := len(r.Header.Peek("Set-Cookie")) != 0; set != (c.status == 200) {
				t.Fatalf("status %d, a cookie set: %v", r.StatusCode(), set)
			}
		})
	}

	t.Run("signing out needs the CSRF token", func(t *testing.T) {
		cookie, csrf := signInCookie(t, s, testAdminKey)
		for name, h := range map[string]map[string]string{
			"without a token": cookie, "with another token": withHeader(cookie, "X-CSRF-Token", "forged"),
		} {
			r := do(s, "DELETE", "/console/session", h, "")
			if r.StatusCode() != 403 || errorCode(t, r.Body()) != "csrf_failed" || len(r.Header.Peek("Set-Cookie")) != 0 {
				t.Fatalf("%s: %d %s", name, r.StatusCode(), r.Body())
			}
			if r := do(s, "GET", "/console/session", cookie, ""); r.StatusCode() != 200 {
				t.Fatalf("%s: the session ended: %d", name, r.StatusCode())
			}
		}
		if r := do(s, "DELETE", "/console/session", withHeader(cookie, "X-CSRF-Token", csrf), ""); r.StatusCode() != 200 {
			t.Fatalf("with its token: %d %s", r.StatusCode(), r.Body())
		}
		if r := do(s, "GET", "/console/session", cookie, ""); r.StatusCode() != 401 {
			t.Fatalf("after signing out: %d", r.StatusCode())
		}
	})
}
