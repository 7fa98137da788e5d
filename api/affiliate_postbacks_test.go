package api

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/postback"
	"github.com/clickrelay/clickrelay/storage/redis"
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

// An admin's PATCH of a postback and the postback worker's auto-disable of
// it, run at once, both stay: the URL the admin set and the status the
// worker set. Saving an edited copy of the catalog's postback, as both did
// before, let the last writer undo the other.
func TestPostbackPatchRacingItsAutoDisableKeepsBoth(t *testing.T) {
	s, rd, _ := newTestServer(t, nil)
	admin := map[string]string{"X-Api-Key": testAdminKey}
	ctx := context.Background()
	for i := range 40 {
		id := fmt.Sprintf("pb_%d", i+1)
		if err := rd.SaveEntity(ctx, &model.Postback{ID: id, AffiliateID: "1", URL: "https://t.example/old",
			Event: model.EventConversion, Status: model.StatusActive}); err != nil {
			t.Fatal(err)
		}
		url := fmt.Sprintf("https://t.example/new-%d?c={click_id}", i)
		var wg sync.WaitGroup
		var status int
		var answer string
		wg.Go(func() {
			r := do(s, "PATCH", "/v2/postbacks/"+id, admin, fmt.Sprintf(`{"url":%q}`, url))
			status, answer = r.StatusCode(), string(r.Body())
		})
		var disableErr error
		wg.Go(func() {
			_, disableErr = rd.UpdateEntity(ctx, model.KindPostback, id, postback.Disabling(time.Now(), "100 consecutive failed deliveries"))
		})
		wg.Wait()
		if status != 200 || disableErr != nil {
			t.Fatalf("round %d: PATCH %d %s; disable: %v", i, status, answer, disableErr)
		}
		var stored *model.Postback
		if _, err := rd.UpdateEntity(ctx, model.KindPostback, id, func(e model.Entity) (model.Entity, error) {
			stored = e.(*model.Postback)
			return nil, redis.ErrNoChange
		}); err != nil {
			t.Fatal(err)
		}
		if stored.URL != url || stored.Status != model.StatusDisabled || stored.DisabledReason == "" {
			t.Fatalf("round %d: stored %+v: want the admin's URL %s and the worker's disabled status", i, stored, url)
		}
	}
}

// PATCH /v1/postbacks/{id} and /v2/postbacks/{id} change url, offer_id and
// event, refuse a bad value in their surface's envelope, and do not reach
// another affiliate's postback.
func TestPatchPostback(t *testing.T) {
	s, rd, _ := newTestServer(t, nil)
	admin := map[string]string{"X-Api-Key": testAdminKey}
	key := func(name string) (string, map[string]string) {
		r := do(s, "POST", "/v2/affiliates", admin, fmt.Sprintf(`{"name":%q}`, name))
		a := testkit.JSON(t, r.Body()).Get("affiliate")
		return a.Get("id").String(), map[string]string{"Authorization": "Bearer " + a.Get("api_key").String()}
	}
	_, owner := key("Owner")
	_, other := key("Other")
	r := do(s, "POST", "/v1/postbacks", owner, `{"url":"https://t.example/a?c={click_id}"}`)
	id := testkit.JSON(t, r.Body()).Get("postback_id").String()

	r = do(s, "PATCH", "/v1/postbacks/"+id, owner, `{"url":"https://t.example/b?c={click_id}","event":"approved"}`)
	if body := testkit.JSON(t, r.Body()); r.StatusCode() != 200 || body.Get("url").String() != "https://t.example/b?c={click_id}" ||
		body.Get("event").String() != "approved" {
		t.Errorf("owner's PATCH: %d %s", r.StatusCode(), r.Body())
	}
	if r := do(s, "PATCH", "/v1/postbacks/"+id, owner, `{"url":"ftp://t.example/"}`); r.StatusCode() != 400 || errorCode(t, r.Body()) != "BAD_REQUEST" {
		t.Errorf("a bad URL: %d %s", r.StatusCode(), r.Body())
	}
	if r := do(s, "PATCH", "/v1/postbacks/"+id, owner, `{"signed":true}`); r.StatusCode() != 400 {
		t.Errorf("signed in a PATCH: %d %s", r.StatusCode(), r.Body())
	}
	if r := do(s, "PATCH", "/v1/postbacks/"+id, other, `{"url":"https://evil.example/"}`); r.StatusCode() != 404 {
		t.Errorf("another affiliate's PATCH: %d %s", r.StatusCode(), r.Body())
	}
	r = do(s, "PATCH", "/v2/postbacks/"+id, admin, `{"event":"rejected"}`)
	if pb := testkit.JSON(t, r.Body()).Get("postback"); r.StatusCode() != 200 || pb.Get("event").String() != "rejected" ||
		pb.Get("url").String() != "https://t.example/b?c={click_id}" {
		t.Errorf("admin's PATCH: %d %s", r.StatusCode(), r.Body())
	}
	if r := do(s, "PATCH", "/v2/postbacks/"+id, admin, `{"event":"clicked"}`); r.StatusCode() != 400 || errorCode(t, r.Body()) != "invalid_event" {
		t.Errorf("a bad event: %d %s", r.StatusCode(), r.Body())
	}
	if got := rd.Catalog().Postback(id); got.Event != model.EventRejected || got.URL != "https://t.example/b?c={click_id}" {
		t.Errorf("catalog %+v", got)
	}
}
