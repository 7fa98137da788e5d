package postback

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/kafka"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// receiver is an affiliate's tracker: it answers with the statuses it is
// given, in turn, and keeps every request.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	got      []*http.Request
	arrived  chan time.Time
	srv      *httptest.Server
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses, arrived: make(chan time.Time, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		status := 200
		if len(r.got) < len(r.statuses) {
			status = r.statuses[len(r.got)]
		}
		r.got = append(r.got, req)
		r.mu.Unlock()
		w.Header().Set("Server", "test-tracker")
		w.WriteHeader(status)
		r.arrived <- time.Now()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.got...)
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

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDeliversWithMacrosExpanded(t *testing.T) {
	h := newHarness(t, true)
	rcv := newReceiver(t)
	h.postback(t, "pb_1", "", model.EventConversion,
		rcv.srv.URL+"/pb?cid={click_id}&payout={payout}&geo={geo}&s1={sub1}&s5={sub5}&ext={aff_click_id}&tid={transaction_id}&tx={txid}&amt={amount}&cur={currency}&ev={event}&st={status}&ts={timestamp}&nope={nope}")
	h.postback(t, "pb_2", "99", model.EventConversion, rcv.srv.URL+"/other-offer") // not this offer
	h.postback(t, "pb_3", "", model.EventApproved, rcv.srv.URL+"/approved")        // not this event
	sent := h.convert(t, conversion("conv_1"))

	arrived := <-rcv.arrived
	t.Logf("postback arrived %v after the conversion was acknowledged", arrived.Sub(sent))
	if arrived.Sub(sent) > 500*time.Millisecond {
		t.Errorf("postback took %v, seed 000 promises under 500 ms", arrived.Sub(sent))
	}
	q := rcv.requests()[0].URL.Query()
	want := url.Values{"cid": {"01clk"}, "payout": {"22.4985"}, "geo": {"DE"}, "s1": {"a b"}, "s5": {"s5"}, "ext": {"vol&1"},
		"tid": {"01clk"}, "tx": {"ORDER-1"}, "amt": {"149.99"}, "cur": {"USD"}, "ev": {"conversion"}, "st": {"pending"}, "ts": {"1763800000"}, "nope": {""}}
	for k, v := range want {
		if q.Get(k) != v[0] {
			t.Errorf("macro %s = %q, want %q", k, q.Get(k), v[0])
		}
	}
	if strings.Contains(rcv.requests()[0].URL.RawQuery, "{") {
		t.Errorf("a literal macro reached the affiliate: %s", rcv.requests()[0].URL.RawQuery)
	}
	waitFor(t, "the attempt record", func() bool { return len(h.attempts.list()) == 1 })
	a := h.attempts.list()[0]
	if !a.Success || a.StatusCode != 200 || !a.Final || a.Level != "global" || !strings.Contains(a.Debug, "Server: [test-tracker]") {
		t.Fatalf("attempt %+v", a)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(rcv.requests()); n != 1 {
		t.Fatalf("%d requests, want 1 (offer- and event-scoped postbacks must not fire)", n)
	}
}

func TestRetriesThenDelivers(t *testing.T) {
	h := newHarness(t, true)
	rcv := newReceiver(t, 503, 429, 200)
	h.postback(t, "pb_1", "12", model.EventConversion, rcv.srv.URL+"/pb?c={click_id}")
	h.convert(t, conversion("conv_1"))
	waitFor(t, "three attempts", func() bool { return len(h.attempts.list()) == 3 })
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
	h.postback(t, "pb_1", "", model.EventConversion, notFound.srv.URL+"/gone")
	h.postback(t, "pb_2", "", model.EventConversion, down.srv.URL+"/down")
	h.convert(t, conversion("conv_1"))
	waitFor(t, "1 + 3 attempts", func() bool { return len(h.attempts.list()) == 4 })
	time.Sleep(300 * time.Millisecond)
	if n := len(notFound.requests()); n != 1 {
		t.Errorf("a 404 was tried %d times", n)
	}
	if n := len(down.requests()); n != 3 {
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
	h.postback(t, "pb_1", "", model.EventConversion, rcv.srv.URL+"/pb") // 127.0.0.1
	h.postback(t, "pb_2", "", model.EventConversion, "http://169.254.169.254/latest/meta-data")
	h.convert(t, conversion("conv_1"))
	waitFor(t, "two refused attempts", func() bool { return len(h.attempts.list()) == 2 })
	for _, a := range h.attempts.list() {
		if a.Success || !a.Final || !strings.Contains(a.Debug, "private or reserved address refused") {
			t.Errorf("attempt %+v", a)
		}
	}
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("a loopback receiver got %d requests", n)
	}
}

func TestRedeliveredConversionFiresOnce(t *testing.T) {
	h := newHarness(t, true)
	rcv := newReceiver(t)
	h.postback(t, "pb_1", "", model.EventConversion, rcv.srv.URL+"/pb")
	h.convert(t, conversion("conv_1"))
	<-rcv.arrived
	waitFor(t, "the delivery mark", func() bool {
		done, _ := h.rd.Delivered(context.Background(), "conv_1", "pb_1", model.EventConversion)
		return done
	})
	h.convert(t, conversion("conv_1")) // as after a rebalance
	time.Sleep(500 * time.Millisecond)
	if n := len(rcv.requests()); n != 1 {
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
