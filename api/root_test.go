package api

import (
	"encoding/json"
	"testing"

	"github.com/clickrelay/clickrelay/ingest"
)

func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not JSON: %q", body)
	}
	return m
}

func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	e, _ := decode(t, body)["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func TestAdminKeyIsChecked(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	for _, h := range []map[string]string{
		{"Authorization": "Bearer " + testAdminKey},
		{"Authorization": "bearer " + testAdminKey},
		{"X-Api-Key": testAdminKey},
	} {
		if r := do(s, "GET", "/v2/offers", h, ""); r.StatusCode() != 200 {
			t.Errorf("%v: %d %s", h, r.StatusCode(), r.Body())
		}
	}
	for _, h := range []map[string]string{nil, {"X-Api-Key": testAdminKey + "x"}, {"Authorization": "Basic " + testAdminKey}} {
		if r := do(s, "GET", "/v2/offers", h, ""); r.StatusCode() != 401 || errorCode(t, r.Body()) != "unauthorized" {
			t.Errorf("%v: %d %s", h, r.StatusCode(), r.Body())
		}
	}
}

func TestPanicAnswers500InTheEnvelope(t *testing.T) {
	conv := &fakeConverter{convert: func(ingest.Scope, ingest.Request) (ingest.Result, error) { panic("boom") }}
	s, _, _ := newTestServer(t, conv)
	key := createAccount(t, s, "advertisers", `{"name":"Acme"}`)["api_key"].(string)
	r := do(s, "POST", "/api/v1/conversions", map[string]string{"X-API-Key": key}, `{"click_id":"x"}`)
	if r.StatusCode() != 500 || errorCode(t, r.Body()) != "INTERNAL_ERROR" || decode(t, r.Body())["success"] != false {
		t.Fatalf("panic: %d %s", r.StatusCode(), r.Body())
	}
}
