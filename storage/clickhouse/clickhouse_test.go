package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
)

func TestMigrateIsIdempotent(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	if err := c.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	n, err := c.Count(ctx, "SELECT count() FROM system.tables WHERE database = ?", c.database)
	if err != nil {
		t.Fatal(err)
	}
	// clicks, conversions, events, postback_attempts, stats_minute, three
	// views, entity_journal, the migrations table, the six console
	// rollups with three views each (0006), the smart links' rollup
	// with its three (0009), and click_lookup (0010).
	if n != 39 {
		t.Fatalf("%d tables, want 39", n)
	}
}

func TestClicksAndConversionsRollUpIntoStats(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	base := time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC)
	var clicks []model.Click
	for i := 0; i < 10; i++ {
		clicks = append(clicks, model.Click{
			ID: fmt.Sprint("c", i), Time: base.Add(time.Duration(i) * time.Minute).UnixMilli(),
			OfferID: "1", AffiliateID: "7", AdvertiserID: "3", Country: "US", Device: "mobile", OS: "ios",
			Subs: [5]string{fmt.Sprint("s", i%2)}, Unique: i < 6,
		})
	}
	clicks[9].Bot, clicks[9].FilterBots = true, true // stored, not counted
	test := clicks[0]
	test.ID, test.Test = "t0", true // never counted
	if err := c.InsertClicks(ctx, append(clicks, test)); err != nil {
		t.Fatal(err)
	}
	conv := model.Conversion{
		ID: "conv_1", Version: 1, Time: base.Add(40 * time.Minute).UnixMilli(), Status: model.ConversionPending,
		ClickID: "c1", OfferID: "1", AffiliateID: "7", AdvertiserID: "3", Country: "US", Device: "mobile", OS: "ios",
		Subs: [5]string{"s1"}, PayoutMicros: 2_500_000, AmountMicros: 10_000_000,
	}
	approved := conv
	approved.Version, approved.Status, approved.PrevStatus = 2, model.ConversionApproved, model.ConversionPending // a status change: not a second conversion
	// A second conversion, approved at once, then reversed: it no longer pays.
	reversed := conv
	reversed.ID, reversed.Status = "conv_2", model.ConversionApproved
	reversedV2 := reversed
	reversedV2.Version, reversedV2.Status, reversedV2.PrevStatus = 2, model.ConversionReversed, model.ConversionApproved
	if err := c.InsertConversions(ctx, []model.Conversion{conv, approved, reversed, reversedV2}); err != nil {
		t.Fatal(err)
	}

	q := StatsQuery{From: base.Add(-time.Hour), To: base.Add(2 * time.Hour), AffiliateID: "7"}
	rows, err := c.Stats(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d total rows", len(rows))
	}
	r := rows[0]
	if r.Clicks != 9 || r.UniqueClicks != 6 || r.BotClicks != 1 || r.Conversions != 2 || r.Approved != 1 ||
		r.PayoutMicros != 2_500_000 || r.AmountMicros != 10_000_000 {
		t.Fatalf("totals = %+v", r)
	}

	q.GroupBy = []string{"date", "sub1"}
	rows, err = c.Stats(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s/%s:%d/%d", r.Keys[0], r.Keys[1], r.Clicks, r.Conversions))
	}
	// 23:30..23:39 UTC on March 1; the conversion at 00:10 on March 2.
	want := "2026-03-01/s0:5/0 2026-03-01/s1:4/0 2026-03-02/s1:0/2"
	if strings.Join(got, " ") != want {
		t.Fatalf("by date,sub1 = %v, want %v", got, want)
	}

	ny, _ := time.LoadLocation("America/New_York")
	q.GroupBy, q.Location = []string{"hour"}, ny
	rows, err = c.Stats(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Keys[0] != "2026-03-01 18:00" || rows[1].Keys[0] != "2026-03-01 19:00" {
		t.Fatalf("by hour in New York = %+v", rows)
	}

	if _, err := c.Stats(ctx, StatsQuery{GroupBy: []string{"1; DROP TABLE x"}}); err == nil {
		t.Fatal("accepted an unknown dimension")
	}
}

func TestConversionsListLatestVersions(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var convs []model.Conversion
	for i := range 5 {
		convs = append(convs, model.Conversion{ID: fmt.Sprint("conv_", i), Version: 1, Time: base.Add(time.Duration(i) * time.Minute).UnixMilli(),
			Status: model.ConversionPending, OfferID: fmt.Sprint(i % 2), AffiliateID: "7", AdvertiserID: "3", Subs: [5]string{"s"}})
	}
	changed := convs[3]
	changed.Version, changed.Status, changed.PrevStatus = 2, model.ConversionApproved, model.ConversionPending
	test := convs[0]
	test.ID, test.Test = "conv_test", true
	if err := c.InsertConversions(ctx, append(convs, changed, test)); err != nil {
		t.Fatal(err)
	}
	ids := func(q ConversionQuery) string {
		t.Helper()
		out, err := c.Conversions(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, conv := range out {
			got = append(got, conv.ID+"/"+conv.Status)
		}
		return strings.Join(got, " ")
	}
	for _, tc := range []struct {
		q    ConversionQuery
		want string
	}{
		{ConversionQuery{AffiliateID: "7"}, "conv_4/pending conv_3/approved conv_2/pending conv_1/pending conv_0/pending"},
		{ConversionQuery{Statuses: []string{"pending"}, OfferIDs: []string{"1"}}, "conv_1/pending"},
		{ConversionQuery{Statuses: []string{"approved"}}, "conv_3/approved"},
		{ConversionQuery{From: base.Add(time.Minute), To: base.Add(3 * time.Minute)}, "conv_2/pending conv_1/pending"},
		{ConversionQuery{Limit: 2}, "conv_4/pending conv_3/approved"},
		{ConversionQuery{Limit: 2, Offset: 4}, "conv_0/pending"},
		{ConversionQuery{After: &ConversionCursor{Time: convs[3].Time, ID: "conv_3"}, Limit: 2}, "conv_2/pending conv_1/pending"},
		{ConversionQuery{AdvertiserID: "other"}, ""},
		{ConversionQuery{Test: true}, "conv_test/pending"},
	} {
		if got := ids(tc.q); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.q, got, tc.want)
		}
	}
	if n, err := c.CountConversions(ctx, ConversionQuery{Statuses: []string{"pending"}, Limit: 1}); err != nil || n != 4 {
		t.Errorf("count pending = %d, %v", n, err)
	}
	got, found, err := c.Conversion(ctx, "conv_3", false)
	if err != nil || !found || got.Version != 2 || got.Status != model.ConversionApproved || got.PrevStatus != model.ConversionPending ||
		got.Time != convs[3].Time || got.Subs[0] != "s" {
		t.Fatalf("conv_3 = %+v, %v, %v", got, found, err)
	}
	if _, found, err := c.Conversion(ctx, "conv_test", false); found || err != nil {
		t.Fatalf("a test conversion read as real: %v %v", found, err)
	}
}

func TestRedeliveredRowsCollapse(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	click := model.Click{ID: "dup", Time: time.Now().UnixMilli(), OfferID: "1", AffiliateID: "1"}
	for i := 0; i < 3; i++ {
		if err := c.InsertClicks(ctx, []model.Click{click}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := c.Count(ctx, "SELECT count() FROM "+c.table("clicks")+" FINAL")
	if err != nil || n != 1 {
		t.Fatalf("count FINAL = %d, %v; want 1", n, err)
	}
}

func TestLargeInsertKeepsEveryRowAcrossBlocks(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	n := 2*blockRows + 7 // three blocks, the last one short
	clicks := make([]model.Click, n)
	now := time.Now().UnixMilli()
	for i := range clicks {
		clicks[i] = model.Click{ID: fmt.Sprint("c", i), Time: now, OfferID: fmt.Sprint(i % 3), AffiliateID: "1",
			Subs: [5]string{fmt.Sprint("s", i)}, PayoutMicros: int64(i)}
	}
	if err := c.InsertClicks(ctx, clicks); err != nil {
		t.Fatal(err)
	}
	// Every row is there once, with its own values: no block was sent
	// twice, dropped, or shifted against another column.
	got, err := c.Count(ctx, "SELECT count() FROM "+c.table("clicks")+" WHERE sub1 = concat('s', toString(payout_micros)) AND click_id = concat('c', toString(payout_micros))")
	if err != nil || got != uint64(n) {
		t.Fatalf("%d matching rows, %v; want %d", got, err, n)
	}
	distinct, err := c.Count(ctx, "SELECT uniqExact(click_id) FROM "+c.table("clicks"))
	if err != nil || distinct != uint64(n) {
		t.Fatalf("%d distinct click IDs, %v; want %d", distinct, err, n)
	}
	// One INSERT, one part: the server squashed the blocks.
	parts, err := c.Count(ctx, "SELECT count() FROM system.parts WHERE database = ? AND table = 'clicks' AND active", c.database)
	if err != nil || parts != 1 {
		t.Errorf("%d parts, %v; want 1", parts, err)
	}
}

func TestPostbackReport(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	now := time.Now().Truncate(time.Second)
	attempts := []model.Attempt{
		{ConversionID: "conv_a", PostbackID: "pb_1", Event: "conversion", Number: 1, Time: now.UnixMilli(), OfferID: "1", AffiliateID: "7", URL: "https://t.example/?c=1", StatusCode: 503, Debug: "503"},
		{ConversionID: "conv_a", PostbackID: "pb_1", Event: "conversion", Number: 2, Time: now.Add(time.Second).UnixMilli(), OfferID: "1", AffiliateID: "7", URL: "https://t.example/?c=1", Success: true, StatusCode: 200, Debug: "200", Final: true},
		{ConversionID: "conv_b", PostbackID: "pb_2", Event: "conversion", Number: 1, Time: now.UnixMilli(), OfferID: "2", AffiliateID: "8", URL: "https://u.example/", StatusCode: 404, Final: true},
	}
	// Insert twice: a redelivered batch must not add failed attempts.
	for i := 0; i < 2; i++ {
		if err := c.InsertAttempts(ctx, attempts); err != nil {
			t.Fatal(err)
		}
	}
	collect := func(q PostbackQuery) []*PostbackRow {
		var out []*PostbackRow
		if err := c.PostbackReport(ctx, q, func(r *PostbackRow) error { out = append(out, r); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := collect(PostbackQuery{From: now.Add(-time.Hour), To: now.Add(time.Hour)})
	if len(all) != 2 {
		t.Fatalf("%d rows, want 2", len(all))
	}
	a := all[0]
	if a.ConversionID != "conv_a" || !a.Success || a.Attempts != 2 || a.FailedAttempts != 1 || a.StatusCode != 200 {
		t.Fatalf("conv_a row = %+v", a)
	}
	yes, no := true, false
	if got := collect(PostbackQuery{From: now.Add(-time.Hour), To: now.Add(time.Hour), Success: &no}); len(got) != 1 || got[0].ConversionID != "conv_b" {
		t.Fatalf("failures = %+v", got)
	}
	if got := collect(PostbackQuery{From: now.Add(-time.Hour), To: now.Add(time.Hour), Success: &yes, AffiliateIDs: []string{"8"}}); len(got) != 0 {
		t.Fatalf("successes of affiliate 8 = %+v", got)
	}
	if got := collect(PostbackQuery{From: now.Add(time.Minute), To: now.Add(time.Hour)}); len(got) != 0 {
		t.Fatalf("outside the range = %+v", got)
	}
}

func TestStartNamesTheSetting(t *testing.T) {
	for _, dsn := range []string{"", "clickhouse://127.0.0.1:9000/default", "clickhouse://127.0.0.1:9000/bad-name"} {
		if _, err := New(Dependencies{}, Configuration{DSN: dsn}); err == nil || !strings.Contains(err.Error(), "CLICKRELAY_CLICKHOUSE_DSN") {
			t.Errorf("New(%q) = %v", dsn, err)
		}
	}
	c, err := New(Dependencies{Logger: zerolog.Nop()}, Configuration{DSN: "clickhouse://127.0.0.1:1/clickrelay?dial_timeout=1s"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "CLICKRELAY_CLICKHOUSE_DSN") {
		t.Fatalf("Start on a closed port = %v", err)
	}
}

func TestClickFoundByItsIDAndMintTime(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	minted := time.Date(2026, 3, 1, 12, 0, 0, 345_000_000, time.UTC)
	click := model.Click{ID: "01abc", Time: minted.UnixMilli(), OfferID: "5", AffiliateID: "7", AdvertiserID: "3",
		Subs: [5]string{"a", "", "c"}, AffClickID: "ext-1", Country: "DE", Device: "mobile", OS: "android", PayoutMicros: 10}
	// Sub IDs are whatever a link carried: the lookup's record keeps any
	// byte, a colon and digits that read like its lengths included.
	odd := click
	odd.ID, odd.Subs, odd.AffClickID, odd.SmartLinkID = "01odd", [5]string{"12:", ":", "3:abc", "\x00\n\t|;", "ünï"}, "0:", "9"
	odd.Test, odd.PayoutMicros = true, -250_000
	other := click
	other.ID = "01abd"
	// A click turned away is never converted on.
	away := click
	away.ID, away.Outcome = "01away", "off_target"
	if err := c.InsertClicks(ctx, []model.Click{click, odd, other, away}); err != nil {
		t.Fatal(err)
	}
	readBack(t, c, minted, click, odd)
	if _, found, err := c.Click(ctx, "01abc", minted.Add(time.Second)); found || err != nil {
		t.Fatalf("found at another mint time: %v %v", found, err)
	}
	if _, found, err := c.Click(ctx, "01xyz", minted); found || err != nil {
		t.Fatalf("an unknown click: %v %v", found, err)
	}
	if _, found, err := c.Click(ctx, "01away", minted); found || err != nil {
		t.Fatalf("a click turned away: %v %v", found, err)
	}
}

// readBack checks that each of clicks, minted at minted, is found as it
// was stored.
func readBack(t *testing.T, c *Component, minted time.Time, clicks ...model.Click) {
	t.Helper()
	for _, want := range clicks {
		got, found, err := c.Click(context.Background(), want.ID, minted)
		if err != nil || !found {
			t.Fatalf("Click(%s): %v %v", want.ID, found, err)
		}
		testkit.Equal(t, "the click read back", want, got)
	}
}

// Clicks stored before click_lookup existed are found all the same: its
// migration copies them in, with the record built in SQL as the sink
// builds it in Go (multi-byte characters and colons in sub IDs included).
func TestClicksStoredBeforeTheLookupTableAreFound(t *testing.T) {
	ctx := context.Background()
	c := newMigratedThrough(t, 9)
	minted := time.Date(2026, 2, 27, 23, 59, 59, 0, time.UTC)
	before := model.Click{ID: "01before", Time: minted.UnixMilli(), OfferID: "5", AffiliateID: "7", AdvertiserID: "3",
		Subs: [5]string{"s1", "12:", "", "ünï"}, AffClickID: "ext-9", Country: "FR", SmartLinkID: "4", PayoutMicros: -1_500_000, Test: true}
	// As the release before it stored clicks: into clicks alone.
	if err := c.insert(ctx, "clicks", 1, clickColumns([]model.Click{before})); err != nil {
		t.Fatal(err)
	}
	if err := c.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	after := before
	after.ID = "01after"
	if err := c.InsertClicks(ctx, []model.Click{after}); err != nil {
		t.Fatal(err)
	}
	readBack(t, c, minted, before, after)
}

// Lookups arriving together share queries; each still gets its own click,
// or not found for an unknown ID or another mint time.
func TestClickLookupsAtOnceEachFindTheirOwn(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	base := time.Date(2026, 4, 2, 8, 0, 0, 0, time.UTC)
	var clicks []model.Click
	for i := range 600 {
		minted := base.Add(time.Duration(i) * 1700 * time.Millisecond)
		clicks = append(clicks, model.Click{ID: fmt.Sprintf("01batch%03d", i), Time: minted.UnixMilli(),
			OfferID: fmt.Sprint(i % 7), AffiliateID: "7", Subs: [5]string{fmt.Sprint("s", i)}, Country: "DE"})
	}
	if err := c.InsertClicks(ctx, clicks); err != nil {
		t.Fatal(err)
	}
	type ask struct {
		id     string
		minted time.Time
		want   *model.Click
	}
	var asks []ask
	for i := range clicks {
		minted := time.UnixMilli(clicks[i].Time)
		switch i % 3 {
		case 0:
			asks = append(asks, ask{clicks[i].ID, minted, &clicks[i]})
		case 1:
			asks = append(asks, ask{clicks[i].ID, minted.Add(-time.Second), nil}) // another mint time
		default:
			asks = append(asks, ask{clicks[i].ID + "x", minted, nil}) // unknown
		}
	}
	errs := make(chan string, len(asks))
	var wg sync.WaitGroup
	for _, a := range asks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, found, err := c.Click(ctx, a.id, a.minted)
			switch {
			case err != nil:
				errs <- fmt.Sprintf("%s: %v", a.id, err)
			case found != (a.want != nil):
				errs <- fmt.Sprintf("%s at %v: found %v", a.id, a.minted, found)
			case found && got != *a.want:
				errs <- fmt.Sprintf("%s: got %+v, want %+v", a.id, got, *a.want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// A producer's retry after an ambiguous error writes a click again at a
// later offset: in one batch, it is stored and rolled up once.
func TestARecordTwiceInABatchIsStoredOnce(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	click := model.Click{ID: "twice", Time: time.Now().UnixMilli(), OfferID: "1", AffiliateID: "7"}
	other := click
	other.ID = "once"
	if err := c.InsertClicksAt(ctx, []model.Click{click, other, click},
		[]model.Offset{{Partition: 0, Offset: 5}, {Partition: 0, Offset: 6}, {Partition: 1, Offset: 9}}); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]uint64{
		"SELECT count() FROM " + c.table("clicks"):                     2,
		"SELECT toUInt64(sum(clicks)) FROM " + c.table("stats_minute"): 2,
	} {
		if n, err := c.Count(ctx, q); err != nil || n != want {
			t.Errorf("%s = %d, %v; want %d", q, n, err, want)
		}
	}
}

// click_lookup's months whose clicks are all past the attribution window
// are dropped, the raw clicks kept; a month with a click inside it stays.
func TestLookupMonthsPastTheAttributionWindowAreDropped(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	c.config.AttributionWindow = 30 * 24 * time.Hour
	c.lookupsCheckedAt.Store(time.Now().UnixNano()) // this hour's look is done
	january := model.Click{ID: "01jan", Time: time.Date(2025, 1, 31, 23, 0, 0, 0, time.UTC).UnixMilli(), OfferID: "5", AffiliateID: "7"}
	march := model.Click{ID: "01mar", Time: time.Date(2025, 3, 1, 0, 30, 0, 0, time.UTC).UnixMilli(), OfferID: "5", AffiliateID: "7"}
	if err := c.InsertClicks(ctx, []model.Click{january, march}); err != nil {
		t.Fatal(err)
	}
	// April 5th: every January click is over 60 days old. March's first
	// is past the 30 days too, but the month's later ones are not.
	dropped, err := c.dropExpiredLookups(ctx, time.Date(2025, 4, 5, 0, 0, 0, 0, time.UTC))
	if err != nil || dropped != 1 {
		t.Fatalf("dropped %d: %v", dropped, err)
	}
	if _, found, err := c.Click(ctx, january.ID, time.UnixMilli(january.Time)); found || err != nil {
		t.Fatalf("January's click still found: %v %v", found, err)
	}
	if _, found, err := c.Click(ctx, march.ID, time.UnixMilli(march.Time)); !found || err != nil {
		t.Fatalf("March's click: %v %v", found, err)
	}
	if n, err := c.Count(ctx, "SELECT count() FROM "+c.table("clicks")); n != 2 || err != nil {
		t.Fatalf("%d raw clicks (%v), want both", n, err)
	}

	// An hour later, the sink's next insert looks again, at today: March
	// is past the window too.
	c.lookupsCheckedAt.Store(time.Now().Add(-lookupRetentionEvery).UnixNano())
	today := model.Click{ID: "01today", Time: time.Now().UnixMilli(), OfferID: "5", AffiliateID: "7"}
	if err := c.InsertClicks(ctx, []model.Click{today}); err != nil {
		t.Fatal(err)
	}
	if _, found, err := c.Click(ctx, march.ID, time.UnixMilli(march.Time)); found || err != nil {
		t.Fatalf("March's click still found: %v %v", found, err)
	}
	if _, found, err := c.Click(ctx, today.ID, time.UnixMilli(today.Time)); !found || err != nil {
		t.Fatalf("today's click: %v %v", found, err)
	}
}
