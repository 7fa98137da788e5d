package api

import (
	"testing"

	"github.com/clickrelay/clickrelay/ingest"
	"github.com/clickrelay/clickrelay/internal/testkit"
)

// errorCode is the code of an error answer, "" for an answer without one.
func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	if code, ok := testkit.JSON(t, body).Lookup("error", "code"); ok {
		return code.String()
	}
	return ""
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
	key := createAccount(t, s, "advertisers", `{"name":"Acme"}`).Get("api_key").String()
	r := do(s, "POST", "/api/v1/conversions", map[string]string{"X-API-Key": key}, `{"click_id":"x"}`)
	if r.StatusCode() != 500 || errorCode(t, r.Body()) != "INTERNAL_ERROR" || testkit.JSON(t, r.Body()).Get("success").Bool() {
		t.Fatalf("panic: %d %s", r.StatusCode(), r.Body())
	}
}
