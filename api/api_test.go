package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

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

func TestAffiliateScopesAreEnforced(t *testing.T) {
	s, _, wh := newTestServer(t, nil)
	admin := map[string]string{"X-Api-Key": testAdminKey}
	r := do(s, "POST", "/v2/affiliates", admin, `{"name":"Stats only","scopes":["read:stats"]}`)
	if r.StatusCode() != 201 {
		t.Fatalf("create: %d %s", r.StatusCode(), r.Body())
	}
	key := decode(t, r.Body())["affiliate"].(map[string]any)["api_key"].(string)
	aff := map[string]string{"Authorization": "Bearer " + key}

	r = do(s, "POST", "/v1/postbacks", aff, `{"url":"https://t.example/pb?c={click_id}"}`)
	body := decode(t, r.Body())
	e := body["error"].(map[string]any)
	if r.StatusCode() != 403 || e["code"] != "FORBIDDEN" || e["status"] != float64(403) || !strings.Contains(e["message"].(string), "write:postback") {
		t.Fatalf("postback without write:postback: %d %s", r.StatusCode(), r.Body())
	}
	r = do(s, "GET", "/v1/stats?date_from=2026-03-01&date_to=2026-03-02&group_by=geo,sub2&timezone=America/New_York", aff, "")
	if r.StatusCode() != 200 || len(wh.stats) != 1 {
		t.Fatalf("stats with read:stats: %d %s", r.StatusCode(), r.Body())
	}
	q := wh.stats[0]
	ny, _ := time.LoadLocation("America/New_York")
	if !q.From.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, ny)) || !q.To.Equal(time.Date(2026, 3, 3, 0, 0, 0, 0, ny)) ||
		strings.Join(q.GroupBy, ",") != "geo,sub2" || q.AffiliateID == "" {
		t.Fatalf("stats query %+v", q)
	}
	if r := do(s, "POST", "/v2/affiliates", admin, `{"name":"x","scopes":["write:everything"]}`); r.StatusCode() != 400 || errorCode(t, r.Body()) != "invalid_scopes" {
		t.Fatalf("unknown scope: %d %s", r.StatusCode(), r.Body())
	}
}

func TestPostbacksBelongToTheirAffiliate(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	admin := map[string]string{"X-Api-Key": testAdminKey}
	keyOf := func(name string) map[string]string {
		r := do(s, "POST", "/v2/affiliates", admin, `{"name":"`+name+`"}`)
		return map[string]string{"Authorization": "Bearer " + decode(t, r.Body())["affiliate"].(map[string]any)["api_key"].(string)}
	}
	alice, bob := keyOf("alice"), keyOf("bob")
	r := do(s, "POST", "/v1/postbacks", alice, `{"url":"https://alice.example/pb?c={click_id}","event":"approved"}`)
	pb := decode(t, r.Body())
	if r.StatusCode() != 200 || !strings.HasPrefix(pb["postback_id"].(string), "pb_") || pb["status"] != "active" || pb["event"] != "approved" {
		t.Fatalf("register: %d %s", r.StatusCode(), r.Body())
	}
	id := pb["postback_id"].(string)
	if r := do(s, "DELETE", "/v1/postbacks/"+id, bob, ""); r.StatusCode() != 404 {
		t.Fatalf("bob deleted alice's postback: %d", r.StatusCode())
	}
	if r := do(s, "GET", "/v1/postbacks", bob, ""); !strings.Contains(string(r.Body()), `"data":[]`) {
		t.Fatalf("bob sees %s", r.Body())
	}
	if r := do(s, "DELETE", "/v1/postbacks/"+id, alice, ""); r.StatusCode() != 200 || decode(t, r.Body())["status"] != "deleted" {
		t.Fatalf("alice's delete: %d %s", r.StatusCode(), r.Body())
	}
	for _, body := range []string{`{}`, `{"url":"ftp://x.example/"}`, `{"url":"https://x.example/","event":"clicked"}`, `{"url":"https://x.example/","offer_id":"404"}`, `[1]`} {
		if r := do(s, "POST", "/v1/postbacks", alice, body); r.StatusCode() != 400 || errorCode(t, r.Body()) != "BAD_REQUEST" {
			t.Errorf("%s: %d %s", body, r.StatusCode(), r.Body())
		}
	}
}

func TestPatchOffer(t *testing.T) {
	s, rd, _ := newTestServer(t, nil)
	admin := map[string]string{"X-Api-Key": testAdminKey}
	r := do(s, "POST", "/v2/offers", admin, `{"name":"Promo","tracking_url":"https://t.example/?c={click_id}","metadata":{"a":"b"}}`)
	offer := decode(t, r.Body())["offer"].(map[string]any)
	id := offer["id"].(string)
	if !strings.HasPrefix(offer["slug"].(string), "ofr_promo_") || offer["payout_type"] != "cpa" || offer["status"] != "active" {
		t.Fatalf("created %v", offer)
	}
	r = do(s, "PATCH", "/v2/offers/"+id, admin, `{"status":"paused","payout":3}`)
	if r.StatusCode() != 200 {
		t.Fatalf("patch: %d %s", r.StatusCode(), r.Body())
	}
	if o := rd.Catalog().Offer(id); o.Status != "paused" || o.Payout != 3 || o.Name != "Promo" || o.Metadata["a"] != "b" {
		t.Fatalf("after PATCH: %+v", o)
	}
	if r := do(s, "PATCH", "/v2/offers/"+id, admin, `{"status":"archived"}`); r.StatusCode() != 400 || errorCode(t, r.Body()) != "invalid_status" {
		t.Fatalf("bad status: %d %s", r.StatusCode(), r.Body())
	}
	if rd.Catalog().Offer(id).Status != "paused" {
		t.Fatal("a refused PATCH changed the offer")
	}
	if r := do(s, "PATCH", "/v2/offers/999", admin, `{}`); r.StatusCode() != 404 {
		t.Fatalf("unknown offer: %d", r.StatusCode())
	}
	if r := do(s, "POST", "/v2/offers", admin, `{"name":"x","tracking_url":"https://t.example/","advertiser_id":"42"}`); errorCode(t, r.Body()) != "invalid_advertiser_id" {
		t.Fatalf("unknown advertiser: %s", r.Body())
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

func TestParsePixelsRequest(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	q, _, msg := parsePixelsRequest([]byte(`{"timezone_id":80,"from":"2024-02-07","to":"2024-02-08 10:00:00",
		"query":{"filters":[{"resource_type":"offer","filter_id_value":"15"},{"resource_type":"offer","filter_id_value":18},
		{"resource_type":"affiliate","filter_id_value":"7"},{"resource_type":"delivery_status","filter_id_value":"failure"}]}}`), false)
	if msg != "" {
		t.Fatal(msg)
	}
	if !q.From.Equal(time.Date(2024, 2, 7, 0, 0, 0, 0, ny)) || !q.To.Equal(time.Date(2024, 2, 8, 10, 0, 1, 0, ny)) {
		t.Errorf("range %v .. %v", q.From, q.To)
	}
	if strings.Join(q.OfferIDs, ",") != "15,18" || strings.Join(q.AffiliateIDs, ",") != "7" || q.Success == nil || *q.Success {
		t.Errorf("filters: offers %v affiliates %v success %v", q.OfferIDs, q.AffiliateIDs, q.Success)
	}
	both, _, _ := parsePixelsRequest([]byte(`{"timezone_id":67,"from":"2024-02-07","to":"2024-02-07","query":{"filters":[
		{"resource_type":"delivery_status","filter_id_value":"success"},{"resource_type":"delivery_status","filter_id_value":"failure"}]}}`), false)
	if both.Success != nil || !both.To.Equal(both.From.AddDate(0, 0, 1)) {
		t.Errorf("success OR failure must not filter, and a day runs to its end: %+v", both)
	}
	for body, want := range map[string]string{
		`{"from":"2024-02-07","to":"2024-02-08"}`:                                                                                          "timezone_id is required",
		`{"timezone_id":90,"from":"2024-02-07","to":"2024-02-08"}`:                                                                         "Unknown timezone_id 90",
		`{"timezone":"Mars/Olympus","from":"2024-02-07","to":"2024-02-08"}`:                                                                "not an IANA time zone",
		`{"timezone_id":67,"from":"07/02/2024","to":"2024-02-08"}`:                                                                         "from is required",
		`{"timezone_id":67,"from":"2024-02-09","to":"2024-02-08"}`:                                                                         "to must be after from",
		`{"timezone_id":67,"from":"2024-02-07","to":"2024-02-08","query":{"filters":[{"resource_type":"network","filter_id_value":"1"}]}}`: "resource_type",
	} {
		if _, _, msg := parsePixelsRequest([]byte(body), false); !strings.Contains(msg, want) {
			t.Errorf("%s: %q, want %q", body, msg, want)
		}
	}
	if _, _, msg := parsePixelsRequest([]byte(`{"timezone_id":67,"from":"2024-02-07","to":"2024-02-08","format":"xml"}`), true); !strings.Contains(msg, "format") {
		t.Errorf("export without a usable format: %q", msg)
	}
}
