package loadgen

import (
	"testing"
	"time"
)

// The bench's links: sub4 is unique to each click, the other sub-IDs cycle
// as bench/wrk.go's script makes them, and the clicks are spaced by the rate.
func TestLinkClicksFollowTheBenchLinks(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	clicks := LinkClicks(1000, 2000, at, 1000, []string{"o1", "o2"}, []string{"a1", "a2", "a3"})
	ids, sub1, sub4, countries := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i, c := range clicks {
		ids[c.ID], sub1[c.Subs[0]], sub4[c.Subs[3]] = true, true, true
		if c.Country != "" {
			countries[c.Country] = true
		}
		if want := at.Add(time.Duration(i) * time.Millisecond).UnixMilli(); c.Time != want {
			t.Fatalf("click %d at %d, want %d (1,000 a second)", i, c.Time, want)
		}
		if c.Device == "" || c.OS == "" || c.UserAgent == "" || c.IP == "" {
			t.Fatalf("click %d lacks what the tracker records: %+v", i, c)
		}
	}
	if len(ids) != 2000 || len(sub4) != 2000 {
		t.Errorf("%d IDs and %d sub4 values for 2,000 clicks, want one each per click", len(ids), len(sub4))
	}
	if len(sub1) != 97 {
		t.Errorf("%d sub1 values, want 97 (the links' c0..c96)", len(sub1))
	}
	if len(countries) < 5 {
		t.Errorf("the addresses fell in %d countries, want a spread (%v)", len(countries), countries)
	}
	if first := LinkClicks(1000, 1, at, 1000, []string{"o1", "o2"}, []string{"a1", "a2", "a3"})[0]; first != clicks[0] {
		t.Errorf("the same number made a different click: %+v against %+v", first, clicks[0])
	}
}

// bench/consoleday's shape: sub-IDs repeat over many clicks.
func TestCampaignClicksRepeatTheirSubs(t *testing.T) {
	clicks := CampaignClicks(20_000, time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
	trees := map[[3]string]bool{}
	for _, c := range clicks {
		trees[[3]string{c.Subs[0], c.Subs[1], c.Subs[2]}] = true
	}
	if len(trees) == 0 || len(trees) > len(clicks)/2 {
		t.Errorf("%d distinct sub1..sub3 trees in %d clicks, want them to repeat", len(trees), len(clicks))
	}
}
