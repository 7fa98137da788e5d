package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// fakeConversions is ClickHouse holding conversions at their latest version.
type fakeConversions struct {
	mu    sync.Mutex
	convs map[string]model.Conversion
	// arriving are stored by the sink just after a read misses them.
	arriving map[string]model.Conversion
	reads    map[string]int
}

func (f *fakeConversions) Conversion(_ context.Context, id string, test bool) (model.Conversion, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reads == nil {
		f.reads = map[string]int{}
	}
	f.reads[id]++
	c, ok := f.convs[id]
	if !ok || c.Test != test {
		if late, ok := f.arriving[id]; ok {
			f.convs[id] = late
			delete(f.arriving, id)
		}
		return model.Conversion{}, false, nil
	}
	return c, true, nil
}

// newStatusHarness is the intake harness with status changes on the test
// Redis, and one stored conversion of advertiser 3 on a click of offer 1.
func newStatusHarness(t *testing.T) (*harness, *fakeConversions, model.Conversion) {
	h := newHarness(t)
	wh := &fakeConversions{convs: map[string]model.Conversion{}}
	config := DefaultConfiguration()
	config.StatusLoadWait = 300 * time.Millisecond
	config.StatusBusyWait = 2 * time.Second
	var err error
	h.svc, err = New(Dependencies{Logger: zerolog.Nop(), Catalog: fakeCatalog{}, Store: h.store, Producer: h.producer, Events: h.events,
		Minter: h.minter, Now: func() time.Time { return h.now }, Conversions: wh, Statuses: redis.NewForTest(t)}, config)
	if err != nil {
		t.Fatal(err)
	}
	conv := model.Conversion{ID: "conv_" + h.minter.New(h.now.Add(-time.Hour)), Version: 1, Time: h.now.Add(-time.Hour).UnixMilli(),
		UpdatedTime: h.now.Add(-time.Hour).UnixMilli(), Status: model.ConversionPending, ClickID: h.minter.New(h.now.Add(-2 * time.Hour)),
		OfferID: "1", AffiliateID: "7", AdvertiserID: "3", Currency: "USD", PayoutMicros: 30_000_000}
	wh.convs[conv.ID] = conv
	return h, wh, conv
}

func TestChangeStatus(t *testing.T) {
	h, wh, conv := newStatusHarness(t)
	ctx := context.Background()
	test := conv
	test.ID, test.Test = "conv_"+h.minter.New(h.now.Add(-time.Hour)), true
	wh.convs[test.ID] = test

	steps := []struct {
		name       string
		scope      Scope
		id, status string
		err        error
		version    uint32
		status2    string // the conversion's status in the answer
		prev       string
		changed    bool
		published  int // messages on the topic after the step
		kafkaFails bool
	}{
		{"bad status", Scope{}, conv.ID, "paid", ErrInvalidStatus, 0, "", "", false, 0, false},
		{"unknown id", Scope{}, "conv_nope", "approved", ErrNotFound, 0, "", "", false, 0, false},
		{"not a conversion id", Scope{}, "7", "approved", ErrNotFound, 0, "", "", false, 0, false},
		{"test conversion", Scope{}, test.ID, "approved", ErrNotFound, 0, "", "", false, 0, false},
		{"another advertiser's", Scope{AdvertiserID: "9"}, conv.ID, "approved", ErrNotFound, 0, "", "", false, 0, false},
		{"Kafka down", Scope{AdvertiserID: "3"}, conv.ID, "approved", ErrUnavailable, 0, "", "", false, 0, true},
		{"the retry works", Scope{AdvertiserID: "3"}, conv.ID, "approved", nil, 2, "approved", "pending", true, 1, false},
		{"again is a no-op", Scope{}, conv.ID, "approved", nil, 2, "approved", "pending", false, 1, false},
		{"admin rejects", Scope{}, conv.ID, "rejected", nil, 3, "rejected", "approved", true, 2, false},
		{"Kafka down again", Scope{}, conv.ID, "reversed", ErrUnavailable, 0, "", "", false, 2, true},
		{"advertiser reverses", Scope{AdvertiserID: "3"}, conv.ID, "reversed", nil, 4, "reversed", "rejected", true, 3, false},
	}
	for _, s := range steps {
		h.producer.mu.Lock()
		h.producer.err = nil
		if s.kafkaFails {
			h.producer.err = errors.New("broker down")
		}
		h.producer.mu.Unlock()
		res, err := h.svc.ChangeStatus(ctx, s.scope, s.id, s.status)
		if !errors.Is(err, s.err) {
			t.Fatalf("%s: error %v, want %v", s.name, err, s.err)
		}
		if len(h.producer.msgs) != s.published {
			t.Fatalf("%s: %d messages published, want %d", s.name, len(h.producer.msgs), s.published)
		}
		if s.err != nil {
			continue
		}
		c := res.Conversion
		if c.Version != s.version || c.Status != s.status2 || c.PrevStatus != s.prev || res.Changed != s.changed {
			t.Fatalf("%s: version %d %s (was %s) changed=%v; want %d %s (was %s) changed=%v",
				s.name, c.Version, c.Status, c.PrevStatus, res.Changed, s.version, s.status2, s.prev, s.changed)
		}
		if s.changed {
			var published model.Conversion
			last := h.producer.msgs[len(h.producer.msgs)-1]
			if err := json.Unmarshal(last.Value, &published); err != nil {
				t.Fatal(err)
			}
			if string(last.Key) != conv.ClickID || published.Version != s.version || published.Status != s.status2 ||
				published.PrevStatus != s.prev || published.PayoutMicros != conv.PayoutMicros || published.Time != conv.Time ||
				published.UpdatedTime != h.now.UnixMilli() {
				t.Fatalf("%s: published %s %+v", s.name, last.Key, published)
			}
		}
	}
}

func TestChangeStatusWaitsForAFreshConversion(t *testing.T) {
	h, wh, conv := newStatusHarness(t)
	fresh := conv
	fresh.ID = "conv_" + h.minter.New(time.Now())
	h.now = time.Now()
	// The sink stores it while the change waits: once the change has
	// looked for it and missed.
	wh.mu.Lock()
	wh.arriving = map[string]model.Conversion{fresh.ID: fresh}
	wh.mu.Unlock()
	res, err := h.svc.ChangeStatus(context.Background(), Scope{}, fresh.ID, model.ConversionApproved)
	if err != nil || res.Conversion.Version != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	wh.mu.Lock()
	defer wh.mu.Unlock()
	if reads := wh.reads[fresh.ID]; reads < 2 {
		t.Fatalf("the conversion was read %d times, want a miss and a read again", reads)
	}
}

func TestChangeStatusConcurrently(t *testing.T) {
	h, _, conv := newStatusHarness(t)
	const callers = 10
	results := make([]StatusChange, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = h.svc.ChangeStatus(context.Background(), Scope{}, conv.ID, model.ConversionApproved)
		}()
	}
	wg.Wait()
	changed := 0
	for i := range callers {
		if errs[i] != nil || results[i].Conversion.Version != 2 || results[i].Conversion.Status != model.ConversionApproved {
			t.Fatalf("caller %d: %+v %v", i, results[i].Conversion, errs[i])
		}
		if results[i].Changed {
			changed++
		}
	}
	if changed != 1 || len(h.producer.msgs) != 1 {
		t.Fatalf("%d callers changed it, %d versions published; want 1 and 1", changed, len(h.producer.msgs))
	}
}
