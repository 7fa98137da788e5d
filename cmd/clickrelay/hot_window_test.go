package main

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// TestAClickPastItsHotWindowConvertsLikeAFreshOne: Redis keeps a click for
// CLICKRELAY_CLICK_HOT_WINDOW only. A conversion on a click past it (its
// Redis key gone) finds the click in ClickHouse, and is attributed,
// deduplicated and postbacked exactly as one on a click still in Redis; the
// clicks' unique-visitor count does not move.
func TestAClickPastItsHotWindowConvertsLikeAFreshOne(t *testing.T) {
	ctx := context.Background()
	s := startStack(t, "CLICKRELAY_CLICK_HOT_WINDOW=36h")
	client, prefix := stackRedis(t, s)
	// clickKey names a click's record as the stack's Redis lays it out (on
	// a Redis Cluster the ID is a hash tag).
	clickKey := func(id string) string {
		return redis.ClickKeyForTest(s.envValue("CLICKRELAY_REDIS_URL"), prefix, id)
	}
	n := s.setUp("https://shop.example.com/?cid={click_id}&s={sub1}")
	receiver := newReceiver(t)
	affiliate := map[string]string{"Authorization": "Bearer " + n.affiliateKey}
	var pb struct {
		PostbackID string `json:"postback_id"`
	}
	// Every macro a postback may carry, so any difference between the two
	// paths shows.
	pbURL := receiver.URL + "/pb?cid={click_id}&tid={transaction_id}&conv={conversion_id}&tx={txid}&ts={timestamp}" +
		"&offer={offer_id}&aff={aff_id}&s1={sub1}&s2={sub2}&s3={sub3}&s4={sub4}&s5={sub5}&geo={geo}&ext={aff_click_id}" +
		"&payout={payout}&amount={amount}&cur={currency}&event={event}&goal={goal}&status={status}"
	if code := s.call("POST", "/v1/postbacks", affiliate, fmt.Sprintf(`{"url":%q}`, pbURL), &pb); code != 200 {
		t.Fatalf("register postback: %d", code)
	}

	// The same visitor clicks twice with the same link: the first click is
	// unique, the second is not.
	link := fmt.Sprintf("/click/%s?aff_id=%s&sub1=spring&sub2=adset-7&sub3=ad%%203&sub4=42&sub5=pl%%C3%%A9&aff_click_id=vol-9", n.offerID, n.affiliateID)
	var ids [2]string
	for i := range ids {
		status, location := s.click(link)
		if status != 302 {
			t.Fatalf("click %d: %d", i, status)
		}
		ids[i] = clickID(t, location, "cid")
	}
	cold, fresh := ids[0], ids[1]

	// Redis keeps a click for the hot window, not the attribution window.
	testkit.Poll(t, "the clicks in Redis", 10*time.Second, func() (bool, string) {
		// One key a call: on a cluster the two live in different slots.
		c, f := client.Exists(ctx, clickKey(cold)).Val(), client.Exists(ctx, clickKey(fresh)).Val()
		return c == 1 && f == 1, fmt.Sprintf("the first click's key %d, the second's %d", c, f)
	})
	if ttl := client.TTL(ctx, clickKey(cold)).Val(); ttl <= 35*time.Hour || ttl > 36*time.Hour {
		t.Fatalf("the click's Redis key expires in %v; want the 36h hot window", ttl)
	}

	today := time.Now().UTC().Format("2006-01-02")
	type totals struct{ clicks, unique, conversions int }
	stats := func() totals {
		var out struct {
			Data []struct {
				Clicks       int `json:"clicks"`
				UniqueClicks int `json:"unique_clicks"`
				Conversions  int `json:"conversions"`
			} `json:"data"`
		}
		s.call("GET", "/v1/stats?date_from="+today+"&date_to="+today+"&group_by=offer&offer_id="+n.offerID, affiliate, "", &out)
		var sum totals
		for _, r := range out.Data {
			sum.clicks, sum.unique, sum.conversions = sum.clicks+r.Clicks, sum.unique+r.UniqueClicks, sum.conversions+r.Conversions
		}
		return sum
	}
	testkit.Poll(t, "both clicks in stats", stackWait, func() (bool, string) {
		got := stats()
		return got.clicks == 2, fmt.Sprintf("%+v", got)
	})
	before := stats()
	if before.unique != 1 {
		t.Fatalf("stats before the conversions: %+v; want 2 clicks, 1 unique", before)
	}

	// The first click leaves its hot window: Redis drops it, as its TTL
	// will.
	if err := client.Del(ctx, clickKey(cold)).Err(); err != nil {
		t.Fatal(err)
	}

	advertiser := map[string]string{"X-API-Key": n.advertiserKey}
	type answer struct {
		Success bool `json:"success"`
		Data    struct {
			Tracked      bool   `json:"tracked"`
			ConversionID string `json:"conversionId"`
			Status       string `json:"status"`
		} `json:"data"`
		Tracked bool   `json:"tracked"` // not-tracked answers carry these at the top
		Reason  string `json:"reason"`
	}
	convert := func(cid, txid string) answer {
		t.Helper()
		var a answer
		body := fmt.Sprintf(`{"click_id":%q,"txid":%q,"amount":"19.90","goal":"sale"}`, cid, txid)
		if code := s.call("POST", "/api/v1/conversions", advertiser, body, &a); code != 200 || !a.Success {
			t.Fatalf("conversion %s on %s: %d %+v", txid, cid, code, a)
		}
		return a
	}
	if a := convert(cold, "COLD-1"); !a.Data.Tracked {
		t.Fatalf("conversion on the click past its hot window not tracked: %+v", a)
	}
	if a := convert(fresh, "FRESH-1"); !a.Data.Tracked {
		t.Fatalf("conversion on the fresh click not tracked: %+v", a)
	}
	if got := s.metric("clickrelay_conversion_clicks_from_clickhouse_total"); got != 1 {
		t.Fatalf("clicks read from ClickHouse = %v; want 1 (the cold one only)", got)
	}

	// Deduplicated like a fresh one: the same txid again is a duplicate,
	// and on this CPA offer the click converts once.
	if a := convert(cold, "COLD-1"); a.Tracked || a.Reason != "duplicate_txid" {
		t.Fatalf("the same txid again on the cold click: %+v", a)
	}
	if a := convert(cold, "COLD-2"); a.Tracked || a.Reason != "cpa_click_limit" {
		t.Fatalf("another txid on the cold click of a CPA offer: %+v", a)
	}

	// Both postbacks carry the same macros, but for the click's and the
	// conversion's own identity.
	got := map[string]url.Values{}
	testkit.Poll(t, "the postbacks of both conversions", 10*time.Second, func() (bool, string) {
		for _, h := range receiver.Requests() {
			got[h.Query.Get("cid")] = h.Query
		}
		return len(got) == 2, fmt.Sprintf("postbacks for %d of the 2 conversions", len(got))
	})
	for _, own := range []string{"cid", "tid", "conv", "tx", "ts"} {
		delete(got[cold], own)
		delete(got[fresh], own)
	}
	testkit.Equal(t, "the postback on the cold click against the fresh one's, their own IDs aside", got[fresh], got[cold])
	if got[cold].Get("s5") != "plé" || got[cold].Get("ext") != "vol-9" || got[cold].Get("s3") != "ad 3" {
		t.Fatalf("postback macros %v", got[cold])
	}

	// A secondary event finds the cold click the same way.
	var event struct {
		Data struct {
			Tracked bool `json:"tracked"`
		} `json:"data"`
	}
	if code := s.call("POST", "/api/v1/events", advertiser, fmt.Sprintf(`{"click_id":%q,"event_type":"lead"}`, cold), &event); code != 200 || !event.Data.Tracked {
		t.Fatalf("event on the cold click: %d %+v", code, event)
	}

	testkit.Poll(t, "both conversions in stats", stackWait, func() (bool, string) {
		got := stats()
		return got.conversions == 2, fmt.Sprintf("%+v", got)
	})
	if after := stats(); after.clicks != before.clicks || after.unique != before.unique {
		t.Fatalf("stats after the conversions %+v; before %+v", after, before)
	}
}
