package postback

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/kafka"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// newReceiver is an affiliate's tracker: it answers with the statuses it
// is given, in turn, then 200, each answer with the Server header an
// attempt's debug shows.
func newReceiver(t *testing.T, statuses ...int) *testkit.Receiver {
	header := http.Header{"Server": {"test-tracker"}}
	answers := make([]testkit.Answer, len(statuses))
	for i, status := range statuses {
		answers[i] = testkit.Answer{Status: status, Header: header}
	}
	return testkit.NewReceiver(t, testkit.InTurn(answers...), testkit.Default(testkit.Answer{Header: header}))
}

type memoryAttempts struct {
	mu       sync.Mutex
	attempts []model.Attempt
}

func (m *memoryAttempts) WriteMessages(_ context.Context, msgs ...kafkago.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, msg := range msgs {
		var a model.Attempt
		if err := json.Unmarshal(msg.Value, &a); err != nil {
			return err
		}
		m.attempts = append(m.attempts, a)
	}
	return nil
}

func (m *memoryAttempts) list() []model.Attempt {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]model.Attempt(nil), m.attempts...)
}

type harness struct {
	k        *kafka.Component
	rd       *redis.Component
	attempts *memoryAttempts
	worker   *Worker
}

func newHarness(t *testing.T, allowPrivate bool) *harness {
	h := &harness{k: kafka.NewForTest(t), rd: redis.NewForTest(t), attempts: &memoryAttempts{}}
	config := DefaultConfiguration()
	config.AllowPrivate = allowPrivate
	config.RetryBase = 50 * time.Millisecond
	config.RetryPoll = 20 * time.Millisecond
	config.MaxAttempts = 3
	config.Timeout = 2 * time.Second
	var err error
	h.worker, err = New(Dependencies{Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
		Kafka: h.k, Catalog: h.rd.Catalog(), State: h.rd, Attempts: h.attempts, Drain: true}, config)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Start(t, h.worker)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = h.worker.Stop(ctx)
	})
	return h
}

func (h *harness) postback(t *testing.T, id, offer, event, url string) {
	t.Helper()
	pb := &model.Postback{ID: id, AffiliateID: "7", OfferID: offer, URL: url, Event: event, Status: model.StatusActive}
	if err := h.rd.SaveEntity(context.Background(), pb); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) convert(t *testing.T, convs ...model.Conversion) time.Time {
	t.Helper()
	w := h.k.NewWriter(kafka.TopicConversions, 16)
	defer w.Close()
	var msgs []kafkago.Message
	for _, c := range convs {
		body, _ := json.Marshal(c)
		msgs = append(msgs, kafkago.Message{Key: []byte(c.ClickID), Value: body})
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	return time.Now()
}

func conversion(id string) model.Conversion {
	return model.Conversion{ID: id, Version: 1, Time: 1_763_800_000_000, Status: model.ConversionPending,
		ClickID: "01clk", OfferID: "12", AffiliateID: "7", Subs: [5]string{"a b", "", "", "", "s5"}, AffClickID: "vol&1",
		Country: "DE", TxID: "ORDER-1", Goal: "purchase", Currency: "USD", AmountMicros: 149_990_000, PayoutMicros: 22_498_500}
}

// waitLimit bounds the waits of this package's tests.
const waitLimit = 15 * time.Second

// attemptsMade is a check (testkit.Poll) that at least n attempts were
// recorded.
func (h *harness) attemptsMade(n int) func() (bool, string) {
	return func() (bool, string) {
		got := h.attempts.list()
		return len(got) >= n, fmt.Sprintf("%d attempts: %+v", len(got), got)
	}
}

// counted is a check (testkit.Poll) that c reached n.
func counted(c *metrics.Counter, n uint64) func() (bool, string) {
	return func() (bool, string) {
		got := c.Get()
		return got >= n, fmt.Sprint(got)
	}
}

// idle reports whether w has nothing left to do with what it took: every
// conversion it fetched done (all its jobs ended), no request under way,
// no job waiting for its host or being put back, and the retry queue
// empty. Once a test has seen w fetch its conversions, an idle worker
// sends nothing more: a job ends only delivered, given up, or queued.
func (h *harness) idle(w *Worker) (bool, string) {
	queued, err := h.rd.PendingRetries(context.Background())
	busy := fmt.Sprintf("%d requests under way, %d jobs waiting for their host, %d being put back, %d retries queued (%v), conversions done: %v",
		len(w.sem), len(w.waiting), len(w.postponing), queued, err, w.commits.idle())
	return err == nil && queued == 0 && len(w.sem) == 0 && len(w.waiting) == 0 && len(w.postponing) == 0 && w.commits.idle(), busy
}

func TestDeliversWithMacrosExpanded(t *testing.T) {
	h := newHarness(t, true)
	rcv := newReceiver(t)
	h.postback(t, "pb_1", "", model.EventConversion,
		rcv.URL+"/pb?cid={click_id}&payout={payout}&geo={geo}&s1={sub1}&s5={sub5}&ext={aff_click_id}&tid={transaction_id}&tx={txid}&amt={amount}&cur={currency}&ev={event}&st={status}&ts={timestamp}&nope={nope}")
	h.postback(t, "pb_2", "99", model.EventConversion, rcv.URL+"/other-offer") // not this offer
	h.postback(t, "pb_3", "", model.EventApproved, rcv.URL+"/approved")        // not this event
	sent := h.convert(t, conversion("conv_1"))

	arrived := rcv.Await(t, 1, waitLimit).Time
	t.Logf("postback arrived %v after the conversion was acknowledged", arrived.Sub(sent))
	if arrived.Sub(sent) > 500*time.Millisecond {
		t.Errorf("postback took %v, seed 000 promises under 500 ms", arrived.Sub(sent))
	}
	first := rcv.Requests()[0]
	q := first.Query
	want := url.Values{"cid": {"01clk"}, "payout": {"22.4985"}, "geo": {"DE"}, "s1": {"a b"}, "s5": {"s5"}, "ext": {"vol&1"},
		"tid": {"01clk"}, "tx": {"ORDER-1"}, "amt": {"149.99"}, "cur": {"USD"}, "ev": {"conversion"}, "st": {"pending"}, "ts": {"1763800000"}, "nope": {""}}
	for k, v := range want {
		if q.Get(k) != v[0] {
			t.Errorf("macro %s = %q, want %q", k, q.Get(k), v[0])
		}
	}
	if strings.Contains(first.URL, "{") {
		t.Errorf("a literal macro reached the affiliate: %s", first.URL)
	}
	testkit.Poll(t, "the attempt record", waitLimit, h.attemptsMade(1))
	// The conversion's jobs were all dispatched at once: once it is done
	// and the worker idle, any other postback matched would have fired.
	testkit.Poll(t, "the worker idle", waitLimit, func() (bool, string) { return h.idle(h.worker) })
	if n, attempts := rcv.Count(), len(h.attempts.list()); n != 1 || attempts != 1 {
		t.Fatalf("%d requests and %d attempts, want 1 (offer- and event-scoped postbacks must not fire)", n, attempts)
	}
	a := h.attempts.list()[0]
	if !a.Success || a.StatusCode != 200 || !a.Final || a.Level != "global" || !strings.Contains(a.Debug, "Server: [test-tracker]") {
		t.Fatalf("attempt %+v", a)
	}
}

func TestRetriesThenDelivers(t *testing.T) {
	h := newHarness(t, true)
	rcv := newReceiver(t, 503, 429, 200)
	h.postback(t, "pb_1", "12", model.EventConversion, rcv.URL+"/pb?c={click_id}")
	h.convert(t, conversion("conv_1"))
	testkit.Poll(t, "three attempts", waitLimit, h.attemptsMade(3))
	got := h.attempts.list()
	for i, want := range []struct {
		status         int
		success, final bool
	}{{503, false, false}, {429, false, false}, {200, true, true}} {
		if got[i].Number != uint32(i+1) || got[i].StatusCode != want.status || got[i].Success != want.success || got[i].Final != want.final {
			t.Errorf("attempt %d = %+v", i+1, got[i])
		}
	}
}

func TestNoRetryOnClientErrorsNorPastMaxAttempts(t *testing.T) {
	h := newHarness(t, true)
	notFound := newReceiver(t, 404)
	down := newReceiver(t, 500, 500, 500, 500, 500)
	h.postback(t, "pb_1", "", model.EventConversion, notFound.URL+"/gone")
	h.postback(t, "pb_2", "", model.EventConversion, down.URL+"/down")
	h.convert(t, conversion("conv_1"))
	// Both ended for good (counted delivered or failed once their last
	// attempt is recorded), and nothing under way nor queued: nothing more
	// is sent.
	testkit.Poll(t, "both deliveries ended and the worker idle", waitLimit, func() (bool, string) {
		idle, busy := h.idle(h.worker)
		ended := h.worker.failed.Get() + h.worker.delivered.Get()
		return idle && ended == 2, fmt.Sprintf("%d ended, %d attempts; %s", ended, len(h.attempts.list()), busy)
	})
	if n := len(h.attempts.list()); n != 4 {
		t.Errorf("%d attempts, want 1 + 3", n)
	}
	if n := notFound.Count(); n != 1 {
		t.Errorf("a 404 was tried %d times", n)
	}
	if n := down.Count(); n != 3 {
		t.Errorf("a 500 was tried %d times, want MaxAttempts=3", n)
	}
	for _, a := range h.attempts.list() {
		if a.Number == 3 && !a.Final {
			t.Errorf("the last attempt is not final: %+v", a)
		}
	}
}

func TestPrivateTargetsRefusedByDefault(t *testing.T) {
	h := newHarness(t, false)
	rcv := newReceiver(t)
	h.postback(t, "pb_1", "", model.EventConversion, rcv.URL+"/pb") // 127.0.0.1
	h.postback(t, "pb_2", "", model.EventConversion, "http://169.254.169.254/latest/meta-data")
	h.convert(t, conversion("conv_1"))
	testkit.Poll(t, "two refused attempts", waitLimit, h.attemptsMade(2))
	for _, a := range h.attempts.list() {
		if a.Success || !a.Final || !strings.Contains(a.Debug, "private or reserved address refused") {
			t.Errorf("attempt %+v", a)
		}
	}
	if n := rcv.Count(); n != 0 {
		t.Fatalf("a loopback receiver got %d requests", n)
	}
}

func TestRedeliveredConversionFiresOnce(t *testing.T) {
	h := newHarness(t, true)
	rcv := newReceiver(t)
	h.postback(t, "pb_1", "", model.EventConversion, rcv.URL+"/pb")
	h.convert(t, conversion("conv_1"))
	rcv.Await(t, 1, waitLimit)
	testkit.Wait(t, "the delivery mark", waitLimit, func() bool {
		done, _ := h.rd.Delivered(context.Background(), "conv_1", "pb_1", model.EventConversion)
		return done
	})
	h.convert(t, conversion("conv_1")) // as after a rebalance
	// The redelivered job ends one way or the other: skipped, or (wrongly)
	// delivered again.
	testkit.Poll(t, "the redelivered conversion's job ended and the worker idle", waitLimit, func() (bool, string) {
		idle, busy := h.idle(h.worker)
		ended := h.worker.skipped.Get() + h.worker.delivered.Get()
		return idle && ended == 2, fmt.Sprintf("%d jobs skipped or delivered; %s", ended, busy)
	})
	if n := rcv.Count(); n != 1 {
		t.Fatalf("delivered %d times", n)
	}
}

func TestEventsOfAStatusChange(t *testing.T) {
	cases := []struct {
		version uint32
		status  string
		want    string
	}{
		{1, "pending", "conversion"},
		{1, "approved", "conversion approved"},
		{2, "approved", "approved"},
		{2, "rejected", "rejected"},
		{3, "reversed", "rejected"},
	}
	for _, c := range cases {
		got := strings.Join(events(&model.Conversion{Version: c.version, Status: c.status}), " ")
		if got != c.want {
			t.Errorf("v%d %s fires %q, want %q", c.version, c.status, got, c.want)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	c := Configuration{RetryBase: time.Second, RetryMax: time.Minute}
	got := []time.Duration{c.retryDelay(1), c.retryDelay(2), c.retryDelay(3), c.retryDelay(7), c.retryDelay(40)}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, time.Minute, time.Minute}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("retryDelay = %v, want %v", got, want)
			break
		}
	}
}
