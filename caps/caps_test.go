package caps

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// usage is a warehouse answering fixed usage since any time.
type usage struct {
	mu   sync.Mutex
	rows []clickhouse.CapUsage
	asks int
}

func (u *usage) CapUsage(context.Context, time.Time, []string) ([]clickhouse.CapUsage, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.asks++
	return u.rows, nil
}

func newCaps(t *testing.T, rd *redis.Component, wh warehouse, now func() time.Time, loc *time.Location) *Caps {
	t.Helper()
	config := DefaultConfiguration()
	config.Location, config.Refresh = loc, 20*time.Millisecond
	c, err := New(Dependencies{Logger: zerolog.Nop(), Store: rd, Catalog: rd.Catalog(), Warehouse: wh, Now: now}, config)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Start(t, c)
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

// clicks stores n clicks on offer against its click caps, as the tracker's
// flusher does, in one process.
func clicks(t *testing.T, rd *redis.Component, c *Caps, offer *model.Offer, now time.Time, n int) {
	t.Helper()
	for i := range n {
		w := redis.ClickWrite{ID: []byte(fmt.Sprintf("click-%d-%d", now.UnixNano(), i)), Payload: []byte("x"), OfferID: offer.ID}
		w.Caps = c.AppendClickCounts(nil, offer, nil, now)
		if err := rd.SaveClicks(context.Background(), []redis.ClickWrite{w}); err != nil {
			t.Fatal(err)
		}
		c.ClicksCounted(w.Caps)
	}
}

// A click cap reached in one process turns clicks away there at once, and
// in another process too once it hears (the broadcast, or its refresh);
// the network's next day, in its time zone, starts from nothing.
func TestClickCapsAcrossProcessesAndDays(t *testing.T) {
	rd := redis.NewForTest(t)
	la, _ := time.LoadLocation("America/Los_Angeles")
	clk := testkit.NewClock(time.Date(2026, 12, 7, 7, 30, 0, 0, time.UTC)) // 23:30 on the 6th in Los Angeles
	offer := &model.Offer{ID: "1", AdvertiserID: "9", Caps: []model.Cap{{Metric: model.CapClicks, Period: model.PeriodDay, Limit: 10}}}
	if err := rd.SaveEntity(context.Background(), offer); err != nil {
		t.Fatal(err)
	}
	offer = rd.Catalog().Offer("1")
	wh := &usage{}
	first, second := newCaps(t, rd, wh, clk.Now, la), newCaps(t, rd, wh, clk.Now, la)
	now := clk.Now()
	clicks(t, rd, first, offer, now, 9)
	if first.ClickCapped(offer, nil, now) || second.ClickCapped(offer, nil, now) {
		t.Fatal("capped after 9 clicks of 10")
	}
	clicks(t, rd, first, offer, now, 1)
	if !first.ClickCapped(offer, nil, now) {
		t.Error("the process that counted the 10th click does not turn the 11th away")
	}
	testkit.Wait(t, "the other process to hear of the cap", 5*time.Second, func() bool { return second.ClickCapped(offer, nil, now) })
	used, err := second.Used(context.Background(), offer, nil)
	if err != nil || len(used) != 1 || used[0] != 10 {
		t.Errorf("used %v %v, want [10]", used, err)
	}
	// 00:30 on the 7th in Los Angeles: a new day.
	clk.Set(time.Date(2026, 12, 7, 8, 30, 0, 0, time.UTC))
	if first.ClickCapped(offer, nil, clk.Now()) || second.ClickCapped(offer, nil, clk.Now()) {
		t.Error("the next day is capped")
	}
	if used, _ := first.Used(context.Background(), offer, nil); used[0] != 0 {
		t.Errorf("the next day starts at %d", used[0])
	}
	// Raising the limit opens the cap again.
	clk.Set(now)
	raised := *offer
	raised.Caps = []model.Cap{{Metric: model.CapClicks, Period: model.PeriodDay, Limit: 20}}
	if err := rd.SaveEntity(context.Background(), &raised); err != nil {
		t.Fatal(err)
	}
	testkit.Wait(t, "a raised limit to open the cap", 5*time.Second, func() bool {
		o := rd.Catalog().Offer("1")
		return o.Caps[0].Limit == 20 && !first.ClickCapped(o, nil, now) && !second.ClickCapped(o, nil, now)
	})
}

// Redis without the caps' counters (it lost its data): they are rebuilt
// from the warehouse, once, and hold.
func TestCountersRebuiltFromTheWarehouse(t *testing.T) {
	rd := redis.NewForTest(t)
	clk := testkit.NewClock(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	offer := &model.Offer{ID: "1", AdvertiserID: "9", Caps: []model.Cap{
		{Metric: model.CapConversions, Period: model.PeriodDay, Limit: 20},
		{Metric: model.CapPayout, Period: model.PeriodMonth, Limit: 1000},
		{Metric: model.CapClicks, Period: model.PeriodTotal, Limit: 500}}}
	rec := &model.OfferAffiliate{OfferID: "1", AffiliateID: "7", Access: model.AccessApproved,
		Caps: []model.Cap{{Metric: model.CapRevenue, Period: model.PeriodWeek, Limit: 100}}}
	for _, e := range []model.Entity{offer, rec} {
		if err := rd.SaveEntity(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	wh := &usage{rows: []clickhouse.CapUsage{
		{OfferID: "1", AffiliateID: "7", Clicks: 300, Conversions: 12, PayoutMicros: 30_000_000, RevenueMicros: 48_000_000},
		{OfferID: "1", AffiliateID: "8", Clicks: 100, Conversions: 8, PayoutMicros: 20_000_000, RevenueMicros: 32_000_000},
	}}
	c := newCaps(t, rd, wh, clk.Now, time.UTC)
	offer, rec = rd.Catalog().Offer("1"), rd.Catalog().OfferAffiliate("1", "7")
	testkit.Poll(t, "the counters rebuilt", 5*time.Second, func() (bool, string) {
		used, err := c.Used(context.Background(), offer, nil)
		return err == nil && fmt.Sprint(used) == "[20 50000000 400]", fmt.Sprint(used, err)
	})
	if used, err := c.Used(context.Background(), offer, rec); err != nil || fmt.Sprint(used) != "[48000000]" {
		t.Errorf("the affiliate's revenue cap: %v %v, want [48000000]", used, err)
	}
	// The counters are marked built: later refreshes leave them, so
	// what is counted from now on adds to them.
	if built, err := rd.CapsBuilt(context.Background()); err != nil || !built {
		t.Errorf("built %v %v", built, err)
	}
}

// A click's count asks Redis to set its counter's expiry once a minute per
// process, not every time; the counter expires a day after its period.
func TestClickCountsSetTheExpiryOnceAMinute(t *testing.T) {
	rd := redis.NewForTest(t)
	clk := testkit.NewClock(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
	offer := &model.Offer{ID: "1", AdvertiserID: "9", Caps: []model.Cap{
		{Metric: model.CapClicks, Period: model.PeriodDay, Limit: 1000}, {Metric: model.CapClicks, Period: model.PeriodTotal, Limit: 5000}}}
	c := newCaps(t, rd, &usage{}, clk.Now, time.UTC)
	asked := func() []time.Duration {
		var ttls []time.Duration
		for _, k := range c.AppendClickCounts(nil, offer, nil, clk.Now()) {
			ttls = append(ttls, k.TTL)
		}
		return ttls
	}
	untilTomorrowAndADay := 38 * time.Hour // 10:00 to midnight, and the margin
	testkit.Equal(t, "the first click's expiries (day, total)", []time.Duration{untilTomorrowAndADay, 0}, asked())
	testkit.Equal(t, "the next click's", []time.Duration{0, 0}, asked())
	clk.Advance(59 * time.Second)
	testkit.Equal(t, "59 s later", []time.Duration{0, 0}, asked())
	clk.Advance(time.Second)
	testkit.Equal(t, "a minute later", []time.Duration{untilTomorrowAndADay - time.Minute, 0}, asked())
}
