package smartlink

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

type fakeCatalog struct{ links []*model.SmartLink }

func (c *fakeCatalog) SmartLinks() []*model.SmartLink { return c.links }

// fakeWarehouse answers fixed rows, or an error, and keeps the queries.
type fakeWarehouse struct {
	mu      sync.Mutex
	rows    []clickhouse.StatsRow
	err     error
	queries []clickhouse.StatsQuery
}

func (w *fakeWarehouse) Stats(_ context.Context, q clickhouse.StatsQuery) ([]clickhouse.StatsRow, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.queries = append(w.queries, q)
	return w.rows, w.err
}

func (w *fakeWarehouse) asked() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queries)
}

func TestRefresherReadsTheEPCsOfEPCModeLinks(t *testing.T) {
	cat := &fakeCatalog{links: []*model.SmartLink{
		link("epc", 10, offer("1", 1, 0), offer("2", 1, 0)),
		link("weight", 0, offer("9", 1, 0)), // by weight: no EPC needed
		link("epc", 10, offer("2", 1, 0), offer("3", 1, 0)),
	}}
	wh := &fakeWarehouse{rows: []clickhouse.StatsRow{
		{Keys: []string{"1"}, Clicks: 200, RevenueMicros: 50_000_000}, // 50.00 over 200 clicks
		{Keys: []string{"2"}, Clicks: 10, RevenueMicros: 0},
		{Keys: []string{"3"}, Clicks: 0, RevenueMicros: 7_000_000}, // no clicks: no EPC
	}}
	clock := testkit.NewClock(time.Date(2026, 12, 6, 14, 37, 0, 0, time.UTC))
	set := metrics.NewSet()
	r, err := New(Dependencies{Logger: zerolog.Nop(), Metrics: set, Catalog: cat, Warehouse: wh, Now: clock.Now}, DefaultConfiguration())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	q := wh.queries[0]
	slices.Sort(q.OfferIDs)
	if !slices.Equal(q.OfferIDs, []string{"1", "2", "3"}) || !slices.Equal(q.GroupBy, []string{"offer"}) ||
		!q.From.Equal(time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC)) || !q.To.Equal(time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)) {
		t.Errorf("query %+v: want offers 1, 2, 3 grouped by offer over the 24 whole hours to the end of this one", q)
	}
	for id, want := range map[string]float64{"1": 0.25, "2": 0, "3": 0, "9": 0, "none": 0} {
		if got := r.EPC(id); got != want {
			t.Errorf("EPC(%s) = %v, want %v", id, got, want)
		}
	}
	if r.offers.Load() != 2 || r.refreshes.Get() != 1 {
		t.Errorf("%d offers with an EPC, %d refreshes: want 2 and 1", r.offers.Load(), r.refreshes.Get())
	}

	// A failed read keeps what was read before.
	wh.err = errors.New("clickhouse down")
	if err := r.Refresh(context.Background()); err == nil || r.EPC("1") != 0.25 || r.errs.Get() != 1 {
		t.Errorf("a failed read: %v, EPC(1) = %v, %d errors; want an error, 0.25 kept, 1 error", err, r.EPC("1"), r.errs.Get())
	}

	// Without an EPC-mode link, nothing is asked.
	cat.links = cat.links[1:2]
	wh.err = nil
	before := wh.asked()
	if err := r.Refresh(context.Background()); err != nil || wh.asked() != before || r.EPC("1") != 0 {
		t.Errorf("no EPC-mode link: %v, %d queries more, EPC(1) = %v", err, wh.asked()-before, r.EPC("1"))
	}
}

func TestRefresherRunsUntilStopped(t *testing.T) {
	cat := &fakeCatalog{links: []*model.SmartLink{link("epc", 10, offer("1", 1, 0))}}
	wh := &fakeWarehouse{rows: []clickhouse.StatsRow{{Keys: []string{"1"}, Clicks: 4, RevenueMicros: 2_000_000}}}
	config := DefaultConfiguration()
	config.Refresh = 10 * time.Millisecond
	r, err := New(Dependencies{Logger: zerolog.Nop(), Catalog: cat, Warehouse: wh}, config)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Start(t, r)
	testkit.Poll(t, "three refreshes", 5*time.Second, func() (bool, string) { return wh.asked() >= 3, "" })
	if r.EPC("1") != 0.5 {
		t.Errorf("EPC(1) = %v, want 0.5", r.EPC("1"))
	}
	if err := r.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.done:
	default:
		t.Fatal("Stop returned before the refresher ended")
	}
}
