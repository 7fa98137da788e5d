package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/model"
)

// Weeks are named by their Monday and months by their first day, each in
// the query's zone: a click late on Sunday in New York is a Monday in UTC.
func TestStatsGroupByWeekAndMonth(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	at := []time.Time{
		time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC), // Saturday: week of Jan 26, January
		time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC),  // Sunday: same week, February
		time.Date(2026, 2, 2, 3, 0, 0, 0, time.UTC),   // Monday in UTC, still Sunday Feb 1 in New York
		time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC), // week of Feb 9
	}
	var clicks []model.Click
	for i, ts := range at {
		clicks = append(clicks, model.Click{ID: fmt.Sprint("c", i), Time: ts.UnixMilli(), OfferID: "1", AffiliateID: "7", AdvertiserID: "3"})
	}
	if err := c.InsertClicks(ctx, clicks); err != nil {
		t.Fatal(err)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dimension string
		zone      *time.Location
		want      string
	}{
		{"week", nil, "2026-01-26:2 2026-02-02:1 2026-02-09:1"},
		{"week", ny, "2026-01-26:3 2026-02-09:1"},
		{"month", nil, "2026-01-01:1 2026-02-01:3"},
		{"month", ny, "2026-01-01:1 2026-02-01:3"},
		{"date", ny, "2026-01-31:1 2026-02-01:2 2026-02-10:1"},
	} {
		t.Run(fmt.Sprint(tc.dimension, "/", tc.zone), func(t *testing.T) {
			rows, err := c.Stats(ctx, StatsQuery{From: at[0].AddDate(0, 0, -7), To: at[3].AddDate(0, 0, 7),
				AdvertiserID: "3", GroupBy: []string{tc.dimension}, Location: tc.zone})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, fmt.Sprintf("%s:%d", r.Keys[0], r.Clicks))
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("by %s = %v, want %s", tc.dimension, got, tc.want)
			}
		})
	}
}
