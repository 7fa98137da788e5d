package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// Clicks the offer does not take, a visitor outside its countries and
// clicks while it is paused, go to its fallback URL (without a click_id)
// and are counted where an admin looks: /v2/stats (its rows and totals)
// and the live overview give them by outcome, never as clicks, and
// clickrelay_clicks_total counts each outcome.
func TestTurnedAwayClicksAreCounted(t *testing.T) {
	s := startStack(t)
	n := s.setUp("https://shop.example.com/?c={click_id}")
	const sent, offTarget, paused = 3, 4, 2
	click := func(want string) {
		t.Helper()
		status, loc := s.click("/click/" + n.offerID + "?aff_id=" + n.affiliateID)
		if status != 302 || !strings.HasPrefix(loc, want) || want != "https://shop.example.com/" && strings.Contains(loc, "click_id") {
			t.Fatalf("click: %d %s, want a 302 to %s", status, loc, want)
		}
	}
	for range sent {
		click("https://shop.example.com/")
	}
	// The test's visitors are in Great Britain.
	if code := s.admin("PATCH", "/v2/offers/"+n.offerID, `{"countries":["DE"],"fallback_url":"https://other.example.com/"}`, nil); code != 200 {
		t.Fatalf("target Germany: %d", code)
	}
	for range offTarget {
		click("https://other.example.com/")
	}
	if code := s.admin("PATCH", "/v2/offers/"+n.offerID, `{"countries":[],"status":"paused"}`, nil); code != 200 {
		t.Fatalf("pause: %d", code)
	}
	for range paused {
		click("https://other.example.com/")
	}

	today := time.Now().UTC().Format("2006-01-02")
	type figures struct {
		Clicks    int `json:"clicks"`
		OffTarget int `json:"off_target"`
		Paused    int `json:"paused"`
	}
	var stats struct {
		Rows []struct {
			figures
			OfferName string `json:"offer_name"`
		} `json:"rows"`
		Totals figures `json:"totals"`
	}
	want := figures{Clicks: sent, OffTarget: offTarget, Paused: paused}
	testkit.Poll(t, "the turned-away clicks in /v2/stats", time.Minute, func() (bool, string) {
		if code := s.admin("GET", "/v2/stats?group_by=offer&date_from="+today+"&date_to="+today, "", &stats); code != 200 {
			return false, fmt.Sprint("status ", code)
		}
		return stats.Totals == want && len(stats.Rows) == 1 && stats.Rows[0].figures == want, fmt.Sprintf("%+v", stats)
	})
	if stats.Rows[0].OfferName != "Summer Promo" {
		t.Errorf("row labelled %q", stats.Rows[0].OfferName)
	}
	// Each rollup is written in turn by the same insert: the live overview's
	// may follow the one /v2/stats read by a moment.
	testkit.Poll(t, "the turned-away clicks on the live overview", time.Minute, func() (bool, string) {
		var live struct {
			Series []figures `json:"series"`
		}
		if code := s.admin("GET", "/v2/stats/live?minutes=30", "", &live); code != 200 {
			return false, fmt.Sprint("status ", code)
		}
		var sum figures
		for _, m := range live.Series {
			sum.Clicks, sum.OffTarget, sum.Paused = sum.Clicks+m.Clicks, sum.OffTarget+m.OffTarget, sum.Paused+m.Paused
		}
		return sum == want, fmt.Sprintf("%+v", sum)
	})
	for outcome, n := range map[string]int{"redirected": sent, "off_target": offTarget, "paused": paused} {
		if got := s.metric(`clickrelay_clicks_total{outcome="` + outcome + `"}`); got != float64(n) {
			t.Errorf("clickrelay_clicks_total{outcome=%q} = %v, want %d", outcome, got, n)
		}
	}
}
