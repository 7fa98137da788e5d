package api

import (
	"strconv"
	"strings"
	"testing"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

var adminHeaders = map[string]string{"X-Api-Key": testAdminKey}

// createAccount creates an advertiser or affiliate ("advertisers" or
// "affiliates") and returns it with its key.
func createAccount(t *testing.T, s *Server, kind, body string) testkit.JSONValue {
	t.Helper()
	r := do(s, "POST", "/v2/"+kind, adminHeaders, body)
	if r.StatusCode() != 201 {
		t.Fatalf("create %s: %d %s", kind, r.StatusCode(), r.Body())
	}
	return testkit.JSON(t, r.Body()).Get(strings.TrimSuffix(kind, "s"))
}

func TestPausedAccountsAreRefusedInTheirSurfacesEnvelope(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	aff := createAccount(t, s, "affiliates", `{"name":"Jane"}`)
	adv := createAccount(t, s, "advertisers", `{"name":"Acme"}`)
	affKey := map[string]string{"Authorization": "Bearer " + aff.Get("api_key").String()}
	advKey := map[string]string{"X-API-Key": adv.Get("api_key").String()}
	if r := do(s, "GET", "/v1/postbacks", affKey, ""); r.StatusCode() != 200 {
		t.Fatalf("active affiliate: %d %s", r.StatusCode(), r.Body())
	}

	for _, tc := range []struct{ path, body string }{
		{"/v2/affiliates/" + aff.Get("id").String(), `{"status":"paused"}`},
		{"/v2/advertisers/" + adv.Get("id").String(), `{"status":"suspended"}`},
	} {
		if r := do(s, "PATCH", tc.path, adminHeaders, tc.body); r.StatusCode() != 200 {
			t.Fatalf("PATCH %s: %d %s", tc.path, r.StatusCode(), r.Body())
		}
	}
	r := do(s, "GET", "/v1/postbacks", affKey, "")
	e := testkit.JSON(t, r.Body()).Get("error")
	if r.StatusCode() != 403 || e.Get("code").String() != codeAccountInactive || e.Get("status").Int() != 403 || !strings.Contains(e.Get("message").String(), "paused") {
		t.Fatalf("paused affiliate: %d %s", r.StatusCode(), r.Body())
	}
	r = do(s, "POST", "/api/v1/conversions", advKey, `{"click_id":"x"}`)
	if body := testkit.JSON(t, r.Body()); r.StatusCode() != 403 || body.Get("success").Bool() || errorCode(t, r.Body()) != codeAccountInactive {
		t.Fatalf("suspended advertiser: %d %s", r.StatusCode(), r.Body())
	}

	// Back to active, the same keys work again.
	do(s, "PATCH", "/v2/affiliates/"+aff.Get("id").String(), adminHeaders, `{"status":"active","tier":"premium","scopes":["read:stats"]}`)
	r = do(s, "GET", "/v2/affiliates/"+aff.Get("id").String(), adminHeaders, "")
	got := testkit.JSON(t, r.Body()).Get("affiliate")
	if key, shown := got.Lookup("api_key"); got.Get("status").String() != "active" || got.Get("tier").String() != "premium" || got.Get("scopes").Len() != 1 ||
		shown && !key.IsNull() {
		t.Fatalf("after PATCH: %s", r.Body())
	}
	if r := do(s, "GET", "/v1/stats?date_from=2026-01-01&date_to=2026-01-02", affKey, ""); r.StatusCode() != 200 {
		t.Fatalf("reactivated affiliate: %d %s", r.StatusCode(), r.Body())
	}
}

func TestAccountPatchValidation(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	aff := createAccount(t, s, "affiliates", `{"name":"Jane"}`)
	adv := createAccount(t, s, "advertisers", `{"name":"Acme"}`)
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"PATCH", "/v2/affiliates/" + aff.Get("id").String(), `{"status":"deleted"}`, 400, "invalid_status"},
		{"PATCH", "/v2/affiliates/" + aff.Get("id").String(), `{"tier":"gold"}`, 400, "invalid_tier"},
		{"PATCH", "/v2/affiliates/" + aff.Get("id").String(), `{"scopes":["write:all"]}`, 400, "invalid_scopes"},
		{"PATCH", "/v2/affiliates/" + aff.Get("id").String(), `[]`, 400, "invalid_json"},
		{"PATCH", "/v2/advertisers/" + adv.Get("id").String(), `{"contact_email":"nope"}`, 400, "invalid_contact_email"},
		{"PATCH", "/v2/advertisers/" + adv.Get("id").String(), `{"name":` + strconv.Quote(strings.Repeat("x", 300)) + `}`, 400, "invalid_name"},
		{"PATCH", "/v2/advertisers/999", `{}`, 404, "not_found"},
		{"POST", "/v2/affiliates/999/rotate-key", ``, 404, "not_found"},
		{"DELETE", "/v2/advertisers/" + adv.Get("id").String(), ``, 405, "method_not_allowed"},
		{"GET", "/v2/advertisers/" + adv.Get("id").String() + "/rotate-key", ``, 405, "method_not_allowed"},
	} {
		r := do(s, tc.method, tc.path, adminHeaders, tc.body)
		if r.StatusCode() != tc.status || errorCode(t, r.Body()) != tc.code {
			t.Errorf("%s %s %s: %d %s, want %d %s", tc.method, tc.path, tc.body, r.StatusCode(), r.Body(), tc.status, tc.code)
		}
	}
	r := do(s, "GET", "/v2/affiliates?per_page=1", adminHeaders, "")
	if body := testkit.JSON(t, r.Body()); r.StatusCode() != 200 || body.Get("affiliates").Len() != 1 || body.Get("meta", "total").Int() != 1 {
		t.Fatalf("list: %d %s", r.StatusCode(), r.Body())
	}
}

func TestRotatedKeyStopsAtOnce(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	for _, kind := range []string{"affiliates", "advertisers"} {
		acct := createAccount(t, s, kind, `{"name":"Rotating"}`)
		old := acct.Get("api_key").String()
		r := do(s, "POST", "/v2/"+kind+"/"+acct.Get("id").String()+"/rotate-key", adminHeaders, "")
		if r.StatusCode() != 200 {
			t.Fatalf("rotate: %d %s", r.StatusCode(), r.Body())
		}
		fresh := testkit.JSON(t, r.Body()).Get(strings.TrimSuffix(kind, "s"), "api_key").String()
		if fresh == old || fresh == "" {
			t.Fatalf("rotate answered key %q", fresh)
		}
		path := "/v1/postbacks"
		if kind == "advertisers" {
			path = "/api/v1/conversions"
		}
		method := map[string]string{"affiliates": "GET", "advertisers": "POST"}[kind]
		if r := do(s, method, path, map[string]string{"Authorization": "Bearer " + old}, `{"click_id":"x"}`); r.StatusCode() != 401 || errorCode(t, r.Body()) != "INVALID_API_KEY" {
			t.Errorf("%s: old key after rotation: %d %s", kind, r.StatusCode(), r.Body())
		}
		if r := do(s, method, path, map[string]string{"Authorization": "Bearer " + fresh}, `{"click_id":"x"}`); r.StatusCode() == 401 {
			t.Errorf("%s: new key refused: %s", kind, r.Body())
		}
	}
}
