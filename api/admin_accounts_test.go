package api

import (
	"strconv"
	"strings"
	"testing"
)

var adminHeaders = map[string]string{"X-Api-Key": testAdminKey}

// createAccount creates an advertiser or affiliate ("advertisers" or
// "affiliates") and returns it with its key.
func createAccount(t *testing.T, s *Server, kind, body string) map[string]any {
	t.Helper()
	r := do(s, "POST", "/v2/"+kind, adminHeaders, body)
	if r.StatusCode() != 201 {
		t.Fatalf("create %s: %d %s", kind, r.StatusCode(), r.Body())
	}
	return decode(t, r.Body())[strings.TrimSuffix(kind, "s")].(map[string]any)
}

func TestPausedAccountsAreRefusedInTheirSurfacesEnvelope(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	aff := createAccount(t, s, "affiliates", `{"name":"Jane"}`)
	adv := createAccount(t, s, "advertisers", `{"name":"Acme"}`)
	affKey := map[string]string{"Authorization": "Bearer " + aff["api_key"].(string)}
	advKey := map[string]string{"X-API-Key": adv["api_key"].(string)}
	if r := do(s, "GET", "/v1/postbacks", affKey, ""); r.StatusCode() != 200 {
		t.Fatalf("active affiliate: %d %s", r.StatusCode(), r.Body())
	}

	for _, tc := range []struct{ path, body string }{
		{"/v2/affiliates/" + aff["id"].(string), `{"status":"paused"}`},
		{"/v2/advertisers/" + adv["id"].(string), `{"status":"suspended"}`},
	} {
		if r := do(s, "PATCH", tc.path, adminHeaders, tc.body); r.StatusCode() != 200 {
			t.Fatalf("PATCH %s: %d %s", tc.path, r.StatusCode(), r.Body())
		}
	}
	r := do(s, "GET", "/v1/postbacks", affKey, "")
	e, _ := decode(t, r.Body())["error"].(map[string]any)
	if r.StatusCode() != 403 || e["code"] != codeAccountInactive || e["status"] != float64(403) || !strings.Contains(e["message"].(string), "paused") {
		t.Fatalf("paused affiliate: %d %s", r.StatusCode(), r.Body())
	}
	r = do(s, "POST", "/api/v1/conversions", advKey, `{"click_id":"x"}`)
	if body := decode(t, r.Body()); r.StatusCode() != 403 || body["success"] != false || errorCode(t, r.Body()) != codeAccountInactive {
		t.Fatalf("suspended advertiser: %d %s", r.StatusCode(), r.Body())
	}

	// Back to active, the same keys work again.
	do(s, "PATCH", "/v2/affiliates/"+aff["id"].(string), adminHeaders, `{"status":"active","tier":"premium","scopes":["read:stats"]}`)
	r = do(s, "GET", "/v2/affiliates/"+aff["id"].(string), adminHeaders, "")
	got := decode(t, r.Body())["affiliate"].(map[string]any)
	if got["status"] != "active" || got["tier"] != "premium" || len(got["scopes"].([]any)) != 1 || got["api_key"] != nil {
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
		{"PATCH", "/v2/affiliates/" + aff["id"].(string), `{"status":"deleted"}`, 400, "invalid_status"},
		{"PATCH", "/v2/affiliates/" + aff["id"].(string), `{"tier":"gold"}`, 400, "invalid_tier"},
		{"PATCH", "/v2/affiliates/" + aff["id"].(string), `{"scopes":["write:all"]}`, 400, "invalid_scopes"},
		{"PATCH", "/v2/affiliates/" + aff["id"].(string), `[]`, 400, "invalid_json"},
		{"PATCH", "/v2/advertisers/" + adv["id"].(string), `{"contact_email":"nope"}`, 400, "invalid_contact_email"},
		{"PATCH", "/v2/advertisers/" + adv["id"].(string), `{"name":` + strconv.Quote(strings.Repeat("x", 300)) + `}`, 400, "invalid_name"},
		{"PATCH", "/v2/advertisers/999", `{}`, 404, "not_found"},
		{"POST", "/v2/affiliates/999/rotate-key", ``, 404, "not_found"},
		{"DELETE", "/v2/advertisers/" + adv["id"].(string), ``, 405, "method_not_allowed"},
		{"GET", "/v2/advertisers/" + adv["id"].(string) + "/rotate-key", ``, 405, "method_not_allowed"},
	} {
		r := do(s, tc.method, tc.path, adminHeaders, tc.body)
		if r.StatusCode() != tc.status || errorCode(t, r.Body()) != tc.code {
			t.Errorf("%s %s %s: %d %s, want %d %s", tc.method, tc.path, tc.body, r.StatusCode(), r.Body(), tc.status, tc.code)
		}
	}
	r := do(s, "GET", "/v2/affiliates?per_page=1", adminHeaders, "")
	if body := decode(t, r.Body()); r.StatusCode() != 200 || len(body["affiliates"].([]any)) != 1 || body["meta"].(map[string]any)["total"] != float64(1) {
		t.Fatalf("list: %d %s", r.StatusCode(), r.Body())
	}
}

func TestRotatedKeyStopsAtOnce(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	for _, kind := range []string{"affiliates", "advertisers"} {
		acct := createAccount(t, s, kind, `{"name":"Rotating"}`)
		old := acct["api_key"].(string)
		r := do(s, "POST", "/v2/"+kind+"/"+acct["id"].(string)+"/rotate-key", adminHeaders, "")
		if r.StatusCode() != 200 {
			t.Fatalf("rotate: %d %s", r.StatusCode(), r.Body())
		}
		fresh := decode(t, r.Body())[strings.TrimSuffix(kind, "s")].(map[string]any)["api_key"].(string)
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
