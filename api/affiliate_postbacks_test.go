package api

import (
	"strings"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

func TestAffiliateScopesAreEnforced(t *testing.T) {
	s, _, wh := newTestServer(t, nil)
	admin := map[string]string{"X-Api-Key": testAdminKey}
	r := do(s, "POST", "/v2/affiliates", admin, `{"name":"Stats only","scopes":["read:stats"]}`)
	if r.StatusCode() != 201 {
		t.Fatalf("create: %d %s", r.StatusCode(), r.Body())
	}
	key := testkit.JSON(t, r.Body()).Get("affiliate", "api_key").String()
	aff := map[string]string{"Authorization": "Bearer " + key}

	r = do(s, "POST", "/v1/postbacks", aff, `{"url":"https://t.example/pb?c={click_id}"}`)
	e := testkit.JSON(t, r.Body()).Get("error")
	if r.StatusCode() != 403 || e.Get("code").String() != "FORBIDDEN" || e.Get("status").Int() != 403 || !strings.Contains(e.Get("message").String(), "write:postback") {
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
		return map[string]string{"Authorization": "Bearer " + testkit.JSON(t, r.Body()).Get("affiliate", "api_key").String()}
	}
	alice, bob := keyOf("alice"), keyOf("bob")
	r := do(s, "POST", "/v1/postbacks", alice, `{"url":"https://alice.example/pb?c={click_id}","event":"approved"}`)
	pb := testkit.JSON(t, r.Body())
	if r.StatusCode() != 200 || !strings.HasPrefix(pb.Get("postback_id").String(), "pb_") || pb.Get("status").String() != "active" || pb.Get("event").String() != "approved" {
		t.Fatalf("register: %d %s", r.StatusCode(), r.Body())
	}
	id := pb.Get("postback_id").String()
	if r := do(s, "DELETE", "/v1/postbacks/"+id, bob, ""); r.StatusCode() != 404 {
		t.Fatalf("bob deleted alice's postback: %d", r.StatusCode())
	}
	if r := do(s, "GET", "/v1/postbacks", bob, ""); !strings.Contains(string(r.Body()), `"data":[]`) {
		t.Fatalf("bob sees %s", r.Body())
	}
	if r := do(s, "DELETE", "/v1/postbacks/"+id, alice, ""); r.StatusCode() != 200 || testkit.JSON(t, r.Body()).Get("status").String() != "deleted" {
		t.Fatalf("alice's delete: %d %s", r.StatusCode(), r.Body())
	}
	for _, body := range []string{`{}`, `{"url":"ftp://x.example/"}`, `{"url":"https://x.example/","event":"clicked"}`, `{"url":"https://x.example/","offer_id":"404"}`, `[1]`} {
		if r := do(s, "POST", "/v1/postbacks", alice, body); r.StatusCode() != 400 || errorCode(t, r.Body()) != "BAD_REQUEST" {
			t.Errorf("%s: %d %s", body, r.StatusCode(), r.Body())
		}
	}
}
