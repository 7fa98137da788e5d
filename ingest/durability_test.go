package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/clickrelay/clickrelay/clickid"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/kafka"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// faultyProducer writes to the real embedded broker, and can fail after
// the broker appended (an ambiguous acknowledgement: a timeout on the
// answer) or before (a broker down). acked lists what the broker holds.
type faultyProducer struct {
	inner *kafkago.Writer
	mu    sync.Mutex
	fail  string // "", "after", "before"
	acked []model.Conversion
}

func (p *faultyProducer) WriteMessages(ctx context.Context, msgs ...kafkago.Message) error {
	p.mu.Lock()
	fail := p.fail
	p.mu.Unlock()
	if fail == "before" {
		return errors.New("broker down")
	}
	if err := p.inner.WriteMessages(ctx, msgs...); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range msgs {
		var c model.Conversion
		if err := json.Unmarshal(m.Value, &c); err == nil {
			p.acked = append(p.acked, c)
		}
	}
	if fail == "after" {
		return context.DeadlineExceeded // appended, but the answer was lost
	}
	return nil
}

func (p *faultyProducer) reset() { p.mu.Lock(); p.acked = nil; p.mu.Unlock() }

func (p *faultyProducer) set(fail string) { p.mu.Lock(); p.fail = fail; p.mu.Unlock() }

// distinct counts the conversion IDs the broker holds, and its messages.
func (p *faultyProducer) distinct() (ids, msgs int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[string]bool{}
	for _, c := range p.acked {
		seen[c.ID] = true
	}
	return len(seen), len(p.acked)
}

// crashingStore is the real Redis store whose process "dies" after the
// claim: while crashed, neither the confirmation nor the abandonment that
// would follow the broker's answer ever runs.
type crashingStore struct {
	*redis.Component
	mu      sync.Mutex
	crashed bool
}

func (s *crashingStore) crash(on bool) { s.mu.Lock(); s.crashed = on; s.mu.Unlock() }

func (s *crashingStore) dead() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.crashed }

func (s *crashingStore) Confirm(ctx context.Context, owner string, claims []redis.Claim) error {
	if s.dead() {
		return nil
	}
	return s.Component.Confirm(ctx, owner, claims)
}

func (s *crashingStore) Abandon(ctx context.Context, owner string, claims []redis.Claim) error {
	if s.dead() {
		return nil
	}
	return s.Component.Abandon(ctx, owner, claims)
}

type realHarness struct {
	svc      *Service
	store    *crashingStore
	producer *faultyProducer
	minter   *clickid.Minter
	mu       sync.Mutex
	now      time.Time
}

func (h *realHarness) clock() time.Time { h.mu.Lock(); defer h.mu.Unlock(); return h.now }

func (h *realHarness) advance(d time.Duration) { h.mu.Lock(); h.now = h.now.Add(d); h.mu.Unlock() }

// newRealHarness runs the intake on the test Redis and an embedded broker.
func newRealHarness(t *testing.T) *realHarness { return newRealHarnessTB(t) }

func newRealHarnessTB(t testing.TB) *realHarness {
	t.Helper()
	minter, err := clickid.NewMinter([]byte("0123456789abcdef0123"))
	if err != nil {
		t.Fatal(err)
	}
	k := kafka.NewForTest(t)
	w := k.NewWriter(kafka.TopicConversions, 4)
	t.Cleanup(func() { _ = w.Close() })
	h := &realHarness{
		store:    &crashingStore{Component: redis.NewForTest(t)},
		producer: &faultyProducer{inner: w},
		minter:   minter,
		now:      time.Now(),
	}
	cat := fakeCatalog{
		"1": {ID: "1", AdvertiserID: "3", Status: model.StatusActive, PayoutType: model.PayoutCPA, Payout: 30, Currency: "USD"},
		"2": {ID: "2", AdvertiserID: "3", Status: model.StatusActive, PayoutType: model.PayoutCPS, Payout: 15, Currency: "EUR"},
	}
	config := DefaultConfiguration()
	config.WriteTimeout = 5 * time.Second
	h.svc, err = New(Dependencies{Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel), Catalog: cat,
		Store: h.store, Producer: h.producer, Events: &memoryProducer{}, Minter: minter, Now: h.clock}, config)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// click stores a click on offer in Redis, as the tracker does.
func (h *realHarness) click(t *testing.T, offer string) string { return h.clickTB(t, offer) }

func (h *realHarness) clickTB(t testing.TB, offer string) string {
	t.Helper()
	now := h.clock().Add(-time.Minute)
	id := h.minter.New(now)
	body, _ := json.Marshal(model.Click{ID: id, Time: now.UnixMilli(), OfferID: offer, AffiliateID: "7"})
	if err := h.store.SaveClicks(context.Background(), []redis.ClickWrite{{ID: []byte(id), Payload: body}}); err != nil {
		t.Fatal(err)
	}
	return id
}

func (h *realHarness) convert(t *testing.T, body string) (Result, error) {
	t.Helper()
	req, err := ParseJSON([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return h.svc.Convert(context.Background(), Scope{AdvertiserID: "3"}, req)
}

// TestClaimsNeverStrandNorDouble pins issue 8's stranded claim and
// ambiguous acknowledgement: whatever the broker or the process did, the
// advertiser's retry ends with exactly one conversion ID in the broker,
// answered "tracked" once, then "duplicate".
func TestClaimsNeverStrandNorDouble(t *testing.T) {
	cases := []struct {
		name string
		// fail is the broker's behaviour on the first try; crash, whether
		// the process dies before confirming or abandoning.
		fail  string
		crash bool
		// wait: the retry comes after the claim's lease ran out.
		wait bool
		// appended is how many messages the first try left in the broker.
		appended int
	}{
		{"crash after the broker appended", "after", true, true, 1},
		{"crash before the broker appended", "before", true, true, 0},
		{"ambiguous acknowledgement, immediate retry", "after", false, false, 1},
		{"broker down, immediate retry", "before", false, false, 0},
	}
	h := newRealHarness(t) // one for all: each start costs a scan of the test Redis at cleanup
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.producer.reset()
			click := h.click(t, "2")
			body := `{"click_id":"` + click + `","txid":"ORDER-` + strconv.Itoa(i) + `","amount":"10"}`
			h.producer.set(c.fail)
			h.store.crash(c.crash)
			if _, err := h.convert(t, body); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("first try: %v, want ErrUnavailable", err)
			}
			if _, msgs := h.producer.distinct(); msgs != c.appended {
				t.Fatalf("the broker holds %d messages after the first try, want %d", msgs, c.appended)
			}
			h.producer.set("")
			h.store.crash(false)
			if c.wait {
				// Within the lease the owner may still be in flight:
				// "try again", never "duplicate".
				if _, err := h.convert(t, body); !errors.Is(err, ErrUnavailable) {
					t.Fatalf("retry within the lease: %v, want ErrUnavailable", err)
				}
				h.advance(h.svc.claimLease() + time.Second)
			}
			res, err := h.convert(t, body)
			if err != nil || !res.Tracked {
				t.Fatalf("retry: %+v, %v; want tracked", res, err)
			}
			again, err := h.convert(t, body)
			if err != nil || again.Tracked || again.Reason != ReasonDuplicateTxID {
				t.Fatalf("third send: %+v, %v; want duplicate_txid", again, err)
			}
			ids, msgs := h.producer.distinct()
			if ids != 1 {
				t.Fatalf("the broker holds %d conversion IDs (%d messages), want 1", ids, msgs)
			}
			if h.producer.acked[len(h.producer.acked)-1].ID != res.Conversion.ID {
				t.Fatal("the retry answered an ID the broker does not hold")
			}
		})
	}
}

// TestStrandedClaimOfAnotherConversion: a CPA click whose first conversion
// was stranded by a crash. A different conversion on the same click
// re-publishes the stranded one (it may have been acknowledged) and is
// itself the duplicate: one conversion per click, none lost.
func TestStrandedClaimOfAnotherConversion(t *testing.T) {
	h := newRealHarness(t)
	click := h.click(t, "1")
	h.producer.set("before")
	h.store.crash(true)
	if _, err := h.convert(t, `{"click_id":"`+click+`","customer_id":"alice"}`); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("first try: %v", err)
	}
	h.producer.set("")
	h.store.crash(false)
	h.advance(h.svc.claimLease() + time.Second)
	res, err := h.convert(t, `{"click_id":"`+click+`","customer_id":"bob"}`)
	if err != nil || res.Tracked || res.Reason != ReasonClickLimit {
		t.Fatalf("second conversion on the click: %+v, %v; want cpa_click_limit", res, err)
	}
	if ids, _ := h.producer.distinct(); ids != 1 || h.producer.acked[0].CustomerID != "alice" {
		t.Fatalf("broker holds %+v, want alice's conversion alone", h.producer.acked)
	}
	// alice's retry now meets her confirmed claims: duplicate, as seed 002.
	res, err = h.convert(t, `{"click_id":"`+click+`","customer_id":"alice"}`)
	if err != nil || res.Tracked {
		t.Fatalf("alice again: %+v, %v; want not tracked", res, err)
	}
}

// TestParallelPostsOfOneTxID: one tracked; the others are told to retry
// while it is in flight, or duplicate once it is confirmed.
func TestParallelPostsOfOneTxID(t *testing.T) {
	h := newRealHarness(t)
	click := h.click(t, "2")
	var wg sync.WaitGroup
	var mu sync.Mutex
	tracked := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := h.convert(t, `{"click_id":"`+click+`","txid":"P-1","amount":"5"}`)
			if err == nil && res.Tracked {
				mu.Lock()
				tracked++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ids, msgs := h.producer.distinct(); tracked != 1 || ids != 1 || msgs != 1 {
		t.Fatalf("tracked %d, broker holds %d IDs in %d messages; want 1, 1, 1", tracked, ids, msgs)
	}
}

// TestLaggingClick pins issue 8's lagging click: a conversion quoting an
// authentic click minted moments ago that Redis does not have yet (the
// tracker is still retrying it through an outage) is answered 503, which
// advertisers retry, and converts once the click lands. A click missing
// past PendingClickWindow is 400 "Click not found".
func TestLaggingClick(t *testing.T) {
	h := newRealHarness(t)
	cases := []struct {
		name    string
		age     time.Duration
		pending bool
	}{
		{"minted a few seconds ago", 5 * time.Second, true},
		{"minted within the window", h.svc.config.PendingClickWindow - time.Minute, true},
		{"minted before the window", h.svc.config.PendingClickWindow + time.Minute, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			minted := h.clock().Add(-c.age)
			id := h.minter.New(minted)
			body := `{"click_id":"` + id + `","txid":"LAG-` + strconv.Itoa(i) + `","amount":"3"}`
			_, err := h.convert(t, body)
			var fe *FieldError
			switch {
			case c.pending && !errors.Is(err, ErrUnavailable):
				t.Fatalf("conversion on a lagging click: %v, want ErrUnavailable (503)", err)
			case !c.pending && (!errors.As(err, &fe) || fe.Message != "Click not found"):
				t.Fatalf("conversion on an old missing click: %v, want Click not found", err)
			case !c.pending:
				return
			}
			// The tracker's retry lands the click; the advertiser's retry converts.
			payload, _ := json.Marshal(model.Click{ID: id, Time: minted.UnixMilli(), OfferID: "2", AffiliateID: "7"})
			if err := h.store.SaveClicks(context.Background(), []redis.ClickWrite{{ID: []byte(id), Payload: payload}}); err != nil {
				t.Fatal(err)
			}
			if res, err := h.convert(t, body); err != nil || !res.Tracked {
				t.Fatalf("retry after the click landed: %+v, %v", res, err)
			}
		})
	}
}

// BenchmarkConvertOnRealEngines measures the happy path (claim, publish,
// confirm) on the test Redis and an embedded broker.
func BenchmarkConvertOnRealEngines(b *testing.B) {
	h := newRealHarnessTB(b)
	click := h.clickTB(b, "2")
	i := 0
	b.ResetTimer()
	for b.Loop() {
		i++
		req, _ := ParseJSON([]byte(`{"click_id":"` + click + `","txid":"B-` + strconv.Itoa(i) + `","amount":"1"}`))
		if res, err := h.svc.Convert(context.Background(), Scope{AdvertiserID: "3"}, req); err != nil || !res.Tracked {
			b.Fatal(res, err)
		}
	}
}
