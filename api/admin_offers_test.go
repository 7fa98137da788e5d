package api

import (
	"strings"
	"testing"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

func TestPatchOffer(t *testing.T) {
	s, rd, _ := newTestServer(t, nil)
	admin := map[string]string{"X-Api-Key": testAdminKey}
	r := do(s, "POST", "/v2/offers", admin, `{"name":"Promo","tracking_url":"https://t.example/?c={click_id}","metadata":{"a":"b"}}`)
	offer := testkit.JSON(t, r.Body()).Get("offer")
	id := offer.Get("id").String()
	if !strings.HasPrefix(offer.Get("slug").String(), "ofr_promo_") || offer.Get("payout_type").String() != "cpa" || offer.Get("status").String() != "active" {
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
