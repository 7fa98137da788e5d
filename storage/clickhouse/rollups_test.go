package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
)

// The hourly rollups answer what stats_minute answers, for every query
// Stats sends them, status changes, bots and test records included.
func TestNarrowRollupsAgreeWithStatsMinute(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	base := time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC)
	countries, devices := []string{"US", "GB", "DE"}, []string{"mobile", "desktop"}
	var clicks []model.Click
	for i := range 300 {
		clicks = append(clicks, model.Click{
			ID: fmt.Sprint("c", i), Time: base.Add(time.Duration(i*97%600) * time.Minute).UnixMilli(),
			OfferID: fmt.Sprint(1 + i%4), AffiliateID: fmt.Sprint(10 + i%3), AdvertiserID: fmt.Sprint(100 + i%4%2),
			Country: countries[i%3], Device: devices[i%2], OS: []string{"ios", "android", "windows"}[i%3],
			Subs: [5]string{fmt.Sprint("s", i%5)}, Unique: i%3 != 0, Bot: i%50 == 0, FilterBots: i%100 == 0,
			PayoutMicros: int64(i%4/3) * 50_000, Test: i%77 == 0,
		})
	}
	for i := range clicks {
		if i%4 == 0 {
			clicks[i].Subs[2] = fmt.Sprint("cr", i%3) // sub3 on some
		}
		switch i % 17 {
		case 5:
			clicks[i].Outcome = model.ClickOffTarget
		case 9:
			clicks[i].Outcome = model.ClickPaused
		}
	}
	if err := c.InsertClicks(ctx, clicks); err != nil {
		t.Fatal(err)
	}
	var convs []model.Conversion
	for i := range 40 {
		cl := clicks[i*7]
		conv := model.Conversion{ID: fmt.Sprint("conv_", i), Version: 1, Time: cl.Time + 60_000, Status: model.ConversionPending,
			ClickID: cl.ID, OfferID: cl.OfferID, AffiliateID: cl.AffiliateID, AdvertiserID: cl.AdvertiserID,
			Country: cl.Country, Device: cl.Device, OS: cl.OS, Subs: cl.Subs,
			PayoutMicros: 2_500_000, AmountMicros: int64(i%3) * 10_000_000, Test: i%13 == 0}
		convs = append(convs, conv)
		if i%4 == 1 { // approved, then for some reversed
			v2 := conv
			v2.Version, v2.Status, v2.PrevStatus = 2, model.ConversionApproved, model.ConversionPending
			convs = append(convs, v2)
			if i%8 == 1 {
				v3 := v2
				v3.Version, v3.Status, v3.PrevStatus = 3, model.ConversionReversed, model.ConversionApproved
				convs = append(convs, v3)
			}
		}
	}
	if err := c.InsertConversions(ctx, convs); err != nil {
		t.Fatal(err)
	}

	ny, _ := time.LoadLocation("America/New_York")
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	day := StatsQuery{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)}
	nyDay := StatsQuery{From: time.Date(2026, 3, 1, 0, 0, 0, 0, ny), To: time.Date(2026, 3, 3, 0, 0, 0, 0, ny), Location: ny}
	odd := StatsQuery{From: base.Add(17 * time.Minute), To: base.Add(5*time.Hour + 3*time.Minute)}
	with := func(q StatsQuery, f func(*StatsQuery)) StatsQuery { f(&q); return q }
	cases := []struct {
		name  string
		q     StatsQuery
		table string
	}{
		{"totals", day, "stats_minute_totals"},
		{"by minute", with(day, func(q *StatsQuery) { q.GroupBy = []string{"minute"} }), "stats_minute_totals"},
		{"by hour in New York", with(nyDay, func(q *StatsQuery) { q.GroupBy = []string{"hour"} }), "stats_minute_totals"},
		{"by date in Kolkata", with(day, func(q *StatsQuery) { q.GroupBy, q.Location = []string{"date"}, kolkata }), "stats_minute_totals"},
		{"by geo", with(day, func(q *StatsQuery) { q.GroupBy = []string{"geo"} }), "stats_hour_traffic"},
		{"by device, os and hour in New York", with(nyDay, func(q *StatsQuery) { q.GroupBy = []string{"device", "os", "hour"} }), "stats_hour_traffic"},
		{"by offer and affiliate", with(day, func(q *StatsQuery) { q.GroupBy = []string{"offer", "affiliate"} }), "stats_hour_entities"},
		{"by date, one advertiser", with(day, func(q *StatsQuery) { q.GroupBy, q.AdvertiserID = []string{"date"}, "101" }), "stats_hour_entities"},
		{"by geo, one advertiser", with(day, func(q *StatsQuery) { q.GroupBy, q.AdvertiserID = []string{"geo"}, "100" }), "stats_hour_traffic"},
		{"by date, one affiliate", with(day, func(q *StatsQuery) { q.GroupBy, q.AffiliateID = []string{"date"}, "12" }), "stats_hour_entities"},
		{"by advertiser, two offers", with(day, func(q *StatsQuery) { q.GroupBy, q.OfferIDs = []string{"advertiser"}, []string{"1", "2"} }), "stats_hour_entities"},
		{"top offers", with(day, func(q *StatsQuery) { q.GroupBy, q.ByClicks, q.Limit = []string{"offer"}, true, 2 }), "stats_hour_entities"},
		{"by offer, half-hour zone", with(day, func(q *StatsQuery) { q.GroupBy, q.Location = []string{"offer"}, kolkata }), "stats_minute"},
		// Whole hours from the hourly rollup, the minutes around them from stats_minute.
		{"by offer, minutes off the hour", with(odd, func(q *StatsQuery) { q.GroupBy = []string{"offer"} }), "stats_hour_entities"},
		{"by geo and hour, minutes off the hour", with(odd, func(q *StatsQuery) { q.GroupBy = []string{"geo", "hour"} }), "stats_hour_traffic"},
		{"by offer, bounds inside minutes", with(odd, func(q *StatsQuery) {
			q.From, q.To, q.GroupBy = odd.From.Add(30500*time.Millisecond), odd.To.Add(20*time.Second), []string{"offer"}
		}), "stats_hour_entities"},
		{"by affiliate, from the hour to minutes past", with(odd, func(q *StatsQuery) { q.From, q.GroupBy = base, []string{"affiliate"} }), "stats_hour_entities"},
		{"by offer, within one hour", with(odd, func(q *StatsQuery) { q.To, q.GroupBy = base.Add(59*time.Minute), []string{"offer"} }), "stats_hour_entities"},
		{"by geo, one affiliate", with(day, func(q *StatsQuery) { q.GroupBy, q.AffiliateID = []string{"geo"}, "11" }), "stats_hour_affiliate_traffic"},
		{"by sub1", with(day, func(q *StatsQuery) { q.GroupBy = []string{"sub1"} }), "stats_hour_campaigns"},
		{"by date and sub1 in New York", with(nyDay, func(q *StatsQuery) { q.GroupBy = []string{"date", "sub1"} }), "stats_hour_campaigns"},
		{"by sub3, set on some", with(day, func(q *StatsQuery) { q.GroupBy = []string{"sub3"} }), "stats_hour_campaigns"},
		{"by sub1 and sub2", with(day, func(q *StatsQuery) { q.GroupBy = []string{"sub1", "sub2"} }), "stats_hour_campaigns"},
		{"by sub1, minutes off the hour", with(odd, func(q *StatsQuery) { q.GroupBy = []string{"sub1"} }), "stats_hour_campaigns"},
		{"by sub1, one affiliate", with(day, func(q *StatsQuery) { q.GroupBy, q.AffiliateID = []string{"sub1"}, "10" }), "stats_hour_campaigns"},
		{"by offer and geo", with(day, func(q *StatsQuery) { q.GroupBy = []string{"offer", "geo"} }), "stats_hour_traffic"},
		{"by geo, one offer", with(day, func(q *StatsQuery) { q.GroupBy, q.OfferIDs = []string{"geo"}, []string{"2"} }), "stats_hour_traffic"},
		{"by offer, geo and device, one advertiser", with(day, func(q *StatsQuery) {
			q.GroupBy, q.AdvertiserID = []string{"offer", "geo", "device"}, "100"
		}), "stats_hour_traffic"},
		{"by affiliate and os", with(day, func(q *StatsQuery) { q.GroupBy = []string{"affiliate", "os"} }), "stats_hour_affiliate_traffic"},
		{"by affiliate and geo in New York", with(nyDay, func(q *StatsQuery) { q.GroupBy = []string{"affiliate", "geo"} }), "stats_hour_affiliate_traffic"},
		{"by device, one affiliate, minutes off the hour", with(odd, func(q *StatsQuery) { q.GroupBy, q.AffiliateID = []string{"device"}, "10" }), "stats_hour_affiliate_traffic"},
		{"by sub2, one offer", with(day, func(q *StatsQuery) { q.GroupBy, q.OfferIDs = []string{"sub2"}, []string{"3"} }), "stats_hour_campaigns"},
		{"by sub1 and sub3, one advertiser", with(day, func(q *StatsQuery) { q.GroupBy, q.AdvertiserID = []string{"sub1", "sub3"}, "101" }), "stats_hour_campaigns"},
		{"by sub1 and offer, minutes off the hour", with(odd, func(q *StatsQuery) { q.GroupBy = []string{"sub1", "offer"} }), "stats_hour_campaigns"},
		{"by sub1 and geo", with(day, func(q *StatsQuery) { q.GroupBy = []string{"sub1", "geo"} }), "stats_hour_campaign_traffic"},
		{"by affiliate, offer and geo", with(day, func(q *StatsQuery) { q.GroupBy = []string{"affiliate", "offer", "geo"} }), "stats_hour_campaign_traffic"},
		{"by geo, one affiliate and one offer", with(day, func(q *StatsQuery) {
			q.GroupBy, q.AffiliateID, q.OfferIDs = []string{"geo"}, "10", []string{"1"}
		}), "stats_hour_campaign_traffic"},
		{"by sub1, device and os, one advertiser, minutes off the hour", with(odd, func(q *StatsQuery) {
			q.GroupBy, q.AdvertiserID = []string{"sub1", "device", "os"}, "100"
		}), "stats_hour_campaign_traffic"},
		// What no rollup has: sub2..sub5 with country, device or OS.
		{"by sub3 and geo", with(day, func(q *StatsQuery) { q.GroupBy = []string{"sub3", "geo"} }), "stats_minute"},
		{"by sub1, sub2 and os", with(day, func(q *StatsQuery) { q.GroupBy = []string{"sub1", "sub2", "os"} }), "stats_minute"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loc := time.UTC
			if tc.q.Location != nil {
				loc = tc.q.Location
			}
			if r, err := tc.q.pick(loc); err != nil || r.table != tc.table {
				t.Errorf("reads %s (%v), want %s", r.table, err, tc.table)
			}
			got, err := c.Stats(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			want, err := c.statsFrom(ctx, tc.q, rollup{table: "stats_minute"})
			if err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 || want[0].Clicks == 0 && len(want) == 1 {
				t.Fatalf("the reference answer is empty: %+v", want)
			}
			if d := testkit.Diff(want, got); d != "" {
				t.Errorf("the answer differs from stats_minute's (-stats_minute +got):\n%s", d)
			}
		})
	}
}

// A click turned away is counted as its outcome and never as a click, nor
// does it pay or earn; revenue is summed beside payout; rejected counts
// conversions rejected or reversed now, following their status changes.
func TestStatsCountOutcomesRevenueAndRejections(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	at := time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC).UnixMilli()
	clicks := []model.Click{
		{ID: "c1", Time: at, OfferID: "1", PayoutMicros: 100_000, RevenueMicros: 150_000},
		{ID: "c2", Time: at, OfferID: "1", PayoutMicros: 100_000, RevenueMicros: 150_000, Unique: true},
		{ID: "c3", Time: at, OfferID: "1", PayoutMicros: 100_000, RevenueMicros: 150_000, Outcome: model.ClickOffTarget},
		{ID: "c4", Time: at, OfferID: "1", PayoutMicros: 100_000, RevenueMicros: 150_000, Outcome: model.ClickOffTarget, Unique: true},
		{ID: "c5", Time: at, OfferID: "1", Outcome: model.ClickPaused},
	}
	if err := c.InsertClicks(ctx, clicks); err != nil {
		t.Fatal(err)
	}
	convs := []model.Conversion{
		{ID: "conv_1", Version: 1, Time: at, Status: model.ConversionPending, OfferID: "1", PayoutMicros: 2_000_000, RevenueMicros: 3_000_000},
		{ID: "conv_2", Version: 1, Time: at, Status: model.ConversionRejected, OfferID: "1", PayoutMicros: 2_000_000, RevenueMicros: 3_000_000},
		{ID: "conv_3", Version: 1, Time: at, Status: model.ConversionPending, OfferID: "1", PayoutMicros: 2_000_000, RevenueMicros: 3_000_000},
		{ID: "conv_3", Version: 2, Time: at, Status: model.ConversionReversed, PrevStatus: model.ConversionPending, OfferID: "1",
			PayoutMicros: 2_000_000, RevenueMicros: 3_000_000},
	}
	if err := c.InsertConversions(ctx, convs); err != nil {
		t.Fatal(err)
	}
	day := StatsQuery{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}
	for _, q := range []StatsQuery{day, {From: day.From, To: day.To, GroupBy: []string{"offer"}}, {From: day.From, To: day.To, GroupBy: []string{"sub1", "sub2", "geo"}}} {
		rows, err := c.Stats(ctx, q)
		if err != nil || len(rows) != 1 {
			t.Fatalf("%v: %+v %v", q.GroupBy, rows, err)
		}
		got := rows[0]
		got.Keys = nil
		want := StatsRow{Clicks: 2, UniqueClicks: 1, Conversions: 3, Rejected: 2, OffTarget: 2, Paused: 1,
			PayoutMicros: 200_000 + 2_000_000, RevenueMicros: 300_000 + 3_000_000}
		r, _ := q.pick(time.UTC)
		testkit.Equal(t, fmt.Sprintf("%v (from %s)", q.GroupBy, r.table), want, got)
	}
}

// The smart links' traffic: denied and unrouted clicks are counted as
// their outcome; by smart link, the rollup of their own answers a range of
// whole hours and partial ones alike, and one within an hour; the other
// rollups count a smart link's clicks under the offer chosen.
func TestSmartLinkStatsAndTheNewOutcomes(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	at := func(h, m int) int64 { return time.Date(2026, 3, 1, h, m, 0, 0, time.UTC).UnixMilli() }
	clicks := []model.Click{
		{ID: "s1", Time: at(9, 50), OfferID: "1", SmartLinkID: "7", PayoutMicros: 10},
		{ID: "s2", Time: at(10, 10), OfferID: "1", SmartLinkID: "7", PayoutMicros: 10},
		{ID: "s3", Time: at(10, 20), OfferID: "2", SmartLinkID: "7", PayoutMicros: 10},
		{ID: "s4", Time: at(11, 5), SmartLinkID: "7", Outcome: model.ClickUnrouted},
		{ID: "s5", Time: at(10, 30), OfferID: "2", SmartLinkID: "8"},
		{ID: "d1", Time: at(10, 40), OfferID: "1", Outcome: model.ClickDenied},
		{ID: "p1", Time: at(10, 45), OfferID: "1"},
	}
	if err := c.InsertClicks(ctx, clicks); err != nil {
		t.Fatal(err)
	}
	convs := []model.Conversion{
		{ID: "conv_1", Version: 1, Time: at(10, 15), Status: model.ConversionPending, OfferID: "1", SmartLinkID: "7", PayoutMicros: 2_000_000, RevenueMicros: 3_000_000},
	}
	if err := c.InsertConversions(ctx, convs); err != nil {
		t.Fatal(err)
	}
	day := StatsQuery{From: time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC), To: time.Date(2026, 3, 1, 11, 30, 0, 0, time.UTC)}

	byLink := day
	byLink.GroupBy = []string{"smart_link", "offer"}
	rows, err := c.Stats(ctx, byLink)
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ link, offer string }
	got := map[key]StatsRow{}
	for _, r := range rows {
		k := key{r.Keys[0], r.Keys[1]}
		r.Keys = nil
		got[k] = r
	}
	testkit.Equal(t, "by smart link and offer", map[key]StatsRow{
		{"7", ""}:  {Unrouted: 1},
		{"7", "1"}: {Clicks: 2, Conversions: 1, PayoutMicros: 20 + 2_000_000, RevenueMicros: 3_000_000},
		{"7", "2"}: {Clicks: 1, PayoutMicros: 10},
		{"8", "2"}: {Clicks: 1},
	}, got)

	one := day
	one.SmartLinkID = "7"
	one.From, one.To = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC)
	rows, err = c.Stats(ctx, one)
	if err != nil || len(rows) != 1 || rows[0].Clicks != 2 || rows[0].Conversions != 1 {
		t.Errorf("smart link 7 within one hour: %+v %v, want 2 clicks and a conversion", rows, err)
	}

	all, err := c.Stats(ctx, day)
	if err != nil || len(all) != 1 {
		t.Fatal(all, err)
	}
	if a := all[0]; a.Clicks != 5 || a.Denied != 1 || a.Unrouted != 1 || a.Conversions != 1 {
		t.Errorf("the range's totals: %+v, want 5 clicks, 1 denied, 1 unrouted and 1 conversion", a)
	}

	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	inKolkata := byLink
	inKolkata.Location = kolkata
	if _, err := c.Stats(ctx, inKolkata); !errors.Is(err, ErrSmartLinkZone) {
		t.Errorf("by smart link in Kolkata: %v, want ErrSmartLinkZone", err)
	}
}
