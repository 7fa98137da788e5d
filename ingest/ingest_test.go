package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/clickid"
	"github.com/clickrelay/clickrelay/model"
)

type harness struct {
	svc      *Service
	store    *memoryStore
	producer *memoryProducer
	events   *memoryProducer
	minter   *clickid.Minter
	now      time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	minter, err := clickid.NewMinter([]byte("0123456789abcdef0123"))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{
		store:    &memoryStore{clicks: map[string][]byte{}, claims: map[string]string{}},
		producer: &memoryProducer{},
		events:   &memoryProducer{},
		minter:   minter,
		now:      time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
	}
	cat := fakeCatalog{
		"1": {ID: "1", AdvertiserID: "3", Status: model.StatusActive, PayoutType: model.PayoutCPA, Payout: 30, Currency: "USD"},
		"2": {ID: "2", AdvertiserID: "3", Status: model.StatusActive, PayoutType: model.PayoutCPS, Payout: 15, Currency: "EUR", AutoApprove: true},
		"3": {ID: "3", AdvertiserID: "3", Status: model.StatusPaused, PayoutType: model.PayoutCPA},
		"4": {ID: "4", AdvertiserID: "9", Status: model.StatusActive, PayoutType: model.PayoutCPA},
		"5": {ID: "5", AdvertiserID: "3", Status: model.StatusActive, PayoutType: model.PayoutCPA, Payout: 30, Currency: "USD",
			CTITMinSeconds: 10, CTITMaxSeconds: 3600},
	}
	config := DefaultConfiguration()
	config.FreshClickWait = 300 * time.Millisecond
	h.svc, err = New(Dependencies{Logger: zerolog.Nop(), Catalog: cat, Store: h.store, Producer: h.producer, Events: h.events, Minter: minter,
		Now: func() time.Time { return h.now }}, config)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// click stores a click on offer and returns its ID.
func (h *harness) click(t *testing.T, offer string, age time.Duration) string {
	id := h.minter.New(h.now.Add(-age))
	body, _ := json.Marshal(model.Click{ID: id, Time: h.now.Add(-age).UnixMilli(), OfferID: offer, AffiliateID: "7",
		Subs: [5]string{"s1"}, AffClickID: "vol-1", Country: "DE", Device: "mobile", OS: "android"})
	h.store.clicks[id] = body
	return id
}

func convert(t *testing.T, h *harness, body string) (Result, error) {
	t.Helper()
	req, err := ParseJSON([]byte(body))
	if err != nil {
		return Result{}, err
	}
	return h.svc.Convert(context.Background(), Scope{AdvertiserID: "3"}, req)
}

func TestSeed002ValidationMessagesWordForWord(t *testing.T) {
	h := newHarness(t)
	cpa, cps, paused, foreign := h.click(t, "1", time.Hour), h.click(t, "2", time.Hour), h.click(t, "3", time.Hour), h.click(t, "4", time.Hour)
	gone := h.click(t, "99", time.Hour)
	expired := h.click(t, "1", 31*24*time.Hour)
	forged := strings.Repeat("0", clickid.Len)
	cases := []struct{ name, body, message string }{
		{"no click", `{"amount":"10"}`, "click_id is required"},
		{"empty click", `{"click_id":""}`, "click_id is required"},
		{"forged click", `{"click_id":"` + forged + `"}`, "Click not found"},
		{"unknown click", `{"click_id":"` + h.minter.New(h.now.Add(-time.Hour)) + `"}`, "Click not found"},
		{"expired click", `{"click_id":"` + expired + `"}`, "Click not found"},
		{"offer gone", `{"click_id":"` + gone + `"}`, "Offer not found"},
		{"paused offer", `{"click_id":"` + paused + `"}`, "Offer not active"},
		{"other vendor", `{"click_id":"` + foreign + `"}`, "Unauthorized - click belongs to different vendor"},
		{"cps without amount", `{"click_id":"` + cps + `"}`, "amount required for CPS/RevShare/percentage offers"},
		{"zero amount", `{"click_id":"` + cps + `","amount":"0"}`, "amount must be positive"},
		{"negative amount", `{"click_id":"` + cpa + `","sum":-5}`, "amount must be positive"},
		{"text amount", `{"click_id":"` + cpa + `","sum":"abc"}`, "amount must be a number"},
		{"long txid", `{"click_id":"` + cpa + `","txid":"` + strings.Repeat("x", 256) + `"}`, "txid must be at most 255 characters"},
		{"object field", `{"click_id":{"a":1}}`, "click_id must be a string or a number"},
		{"not an object", `[1,2]`, "request body must be a JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := convert(t, h, c.body)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Message != c.message {
				t.Fatalf("error %v, want %q", err, c.message)
			}
		})
	}
	if len(h.producer.msgs) != 0 {
		t.Fatalf("%d invalid conversions reached Kafka", len(h.producer.msgs))
	}
}

func TestAliasesResolve(t *testing.T) {
	for _, body := range []string{
		`{"clickid":"C","sum":"149.99","action_id":"T","user_id":"U","goal":"G"}`,
		`{"click_id":"C","amount":149.99,"txid":"T","customer_id":"U","event":"G"}`,
		`{"cid":"C","revenue":"149.99","order_id":"T","customer_id":"U","event_type":"G"}`,
		`{"clickid":"","click_id":"C","sum":null,"amount":"149.99","txid":"T","user_id":"U","goal":"G"}`,
	} {
		r, err := ParseJSON([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if r.ClickID != "C" || r.Amount != "149.99" || !r.HasAmount || r.TxID != "T" || r.CustomerID != "U" || r.Goal != "G" {
			t.Errorf("%s resolved to %+v", body, r)
		}
	}
	q := ParseQuery(func(name string) ([]byte, bool) {
		v, ok := map[string]string{"cid": "C", "sum": "", "revenue": "9.5", "txid": "T", "secure": "K"}[name]
		return []byte(v), ok
	})
	if q.ClickID != "C" || q.Amount != "9.5" || q.TxID != "T" || q.Secure != "K" {
		t.Errorf("query resolved to %+v", q)
	}
}

func TestTrackedConversionAndDedupeReasons(t *testing.T) {
	h := newHarness(t)
	c1, c2, c3 := h.click(t, "1", time.Minute), h.click(t, "1", time.Minute), h.click(t, "1", time.Minute)
	res, err := convert(t, h, `{"click_id":"`+c1+`","amount":"149.99","txid":"ORDER-1","customer_id":"cust-1"}`)
	if err != nil || !res.Tracked {
		t.Fatalf("first conversion: %+v, %v", res, err)
	}
	conv := res.Conversion
	if !strings.HasPrefix(conv.ID, "conv_") || conv.Status != "pending" || conv.Currency != "USD" || conv.PayoutMicros != 30_000_000 ||
		conv.AmountMicros != 149_990_000 || conv.Goal != "purchase" || conv.Subs[0] != "s1" || conv.AffClickID != "vol-1" || conv.Country != "DE" || conv.AffiliateID != "7" {
		t.Fatalf("conversion %+v", conv)
	}
	var sent model.Conversion
	if len(h.producer.msgs) != 1 || json.Unmarshal(h.producer.msgs[0].Value, &sent) != nil || sent.ID != conv.ID {
		t.Fatalf("Kafka holds %d messages", len(h.producer.msgs))
	}

	cases := []struct{ body, reason string }{
		{`{"click_id":"` + c2 + `","txid":"ORDER-1"}`, "duplicate_txid"},
		{`{"click_id":"` + c2 + `","txid":"ORDER-2","customer_id":"cust-1"}`, "cpa_customer_limit"},
		{`{"click_id":"` + c1 + `","txid":"ORDER-3"}`, "cpa_click_limit"},
	}
	for _, c := range cases {
		res, err := convert(t, h, c.body)
		if err != nil || res.Tracked || res.Reason != c.reason || !strings.HasPrefix(res.Message, "Conversion received.") {
			t.Errorf("%s: %+v, %v; want reason %s", c.body, res, err, c.reason)
		}
	}
	// The refused ones took nothing: ORDER-2 and a fresh click still work.
	if res, err := convert(t, h, `{"click_id":"`+c3+`","txid":"ORDER-2"}`); err != nil || !res.Tracked {
		t.Fatalf("ORDER-2 on a new click: %+v, %v", res, err)
	}
}

func TestAFreshClickIsWaitedFor(t *testing.T) {
	h := newHarness(t)
	id := h.minter.New(h.now.Add(-50 * time.Millisecond))
	body, _ := json.Marshal(model.Click{ID: id, OfferID: "1", AffiliateID: "7"})
	// The tracker's flusher, a little behind the 302: the click lands
	// only once the conversion has looked for it and missed.
	late := &lateClickStore{memoryStore: h.store, id: id, body: body}
	h.svc.store = late
	res, err := convert(t, h, `{"click_id":"`+id+`"}`)
	if err != nil || !res.Tracked {
		t.Fatalf("a conversion right after its click: %+v, %v", res, err)
	}
	if looks := late.looks.Load(); looks < 2 {
		t.Fatalf("the click was looked for %d times, want a miss and a look again", looks)
	}
	// One minted long enough ago is not waited for.
	old := h.minter.New(h.now.Add(-time.Second))
	start := time.Now()
	if _, err := convert(t, h, `{"click_id":"`+old+`"}`); err == nil || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("an old unknown click: %v after %v", err, time.Since(start))
	}
}

// lateClickStore is the store whose click id lands just after the first
// look for it misses.
type lateClickStore struct {
	*memoryStore
	id    string
	body  []byte
	looks atomic.Int32
}

func (s *lateClickStore) Click(ctx context.Context, id string) ([]byte, bool, error) {
	payload, found, err := s.memoryStore.Click(ctx, id)
	if id == s.id && s.looks.Add(1) == 1 && !found {
		s.mu.Lock()
		s.clicks[id] = s.body
		s.mu.Unlock()
	}
	return payload, found, err
}

func TestPercentagePayout(t *testing.T) {
	h := newHarness(t)
	c := h.click(t, "2", time.Minute)
	res, err := convert(t, h, `{"click_id":"`+c+`","amount":"149.99"}`)
	if err != nil || !res.Tracked {
		t.Fatal(res, err)
	}
	if res.Conversion.PayoutMicros != 22_498_500 || res.Conversion.Currency != "EUR" || res.Conversion.Status != "approved" {
		t.Fatalf("CPS conversion %+v", res.Conversion)
	}
	// CPS dedupes on txid only: the same click may buy twice.
	if res, err := convert(t, h, `{"click_id":"`+c+`","amount":"10"}`); err != nil || !res.Tracked {
		t.Fatalf("second sale on a CPS click: %+v, %v", res, err)
	}
}

func TestUnavailableBrokerReleasesClaimsForTheRetry(t *testing.T) {
	h := newHarness(t)
	c := h.click(t, "1", time.Minute)
	h.producer.err = errors.New("broker down")
	body := `{"click_id":"` + c + `","txid":"ORDER-9","customer_id":"cust-9"}`
	if _, err := convert(t, h, body); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	h.producer.err = nil
	res, err := convert(t, h, body)
	if err != nil || !res.Tracked {
		t.Fatalf("the retry was refused: %+v, %v", res, err)
	}
	if res, _ := convert(t, h, body); res.Tracked || res.Reason != "duplicate_txid" {
		t.Fatalf("a second retry was tracked again: %+v", res)
	}
}

func TestEndpointScope(t *testing.T) {
	h := newHarness(t)
	c := h.click(t, "1", time.Minute)
	req, _ := ParseJSON([]byte(`{"click_id":"` + c + `"}`))
	_, err := h.svc.Convert(context.Background(), Scope{AdvertiserID: "3", OfferID: "2"}, req)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Message != errWrongEndpointOffer {
		t.Fatalf("err = %v", err)
	}
}

// TestRefusesWhatWouldBeStoredDifferently pins issue 8's input defects:
// nothing is silently rewritten, no control character is stored, and an
// amount out of float64's range says so.
func TestRefusesWhatWouldBeStoredDifferently(t *testing.T) {
	h := newHarness(t)
	cps := h.click(t, "2", time.Hour)
	cases := []struct{ name, body, message string }{
		{"NUL in txid", `{"click_id":"` + cps + `","amount":"1","txid":"A\u0000B"}`, "txid must not contain control characters"},
		{"newline in customer", `{"click_id":"` + cps + `","amount":"1","customer_id":"a\nb"}`, "customer_id must not contain control characters"},
		{"tab in goal", `{"click_id":"` + cps + `","amount":"1","goal":"a\tb"}`, "goal must not contain control characters"},
		{"raw invalid UTF-8", "{\"click_id\":\"" + cps + "\",\"amount\":\"1\",\"txid\":\"A\xffB\"}", "txid must be valid UTF-8"},
		{"lone surrogate", `{"click_id":"` + cps + `","amount":"1","order_id":"A\ud800B"}`, "order_id must be valid UTF-8"},
		{"amount overflow", `{"click_id":"` + cps + `","amount":1e309}`, "amount is too large"},
		{"sum overflow", `{"click_id":"` + cps + `","sum":-1e400}`, "amount is too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := convert(t, h, c.body)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Message != c.message {
				t.Fatalf("err = %v, want %q", err, c.message)
			}
		})
	}
	// A query string may carry any bytes once decoded.
	req := ParseQuery(func(name string) ([]byte, bool) {
		switch name {
		case "clickid":
			return []byte(cps), true
		case "txid":
			return []byte("A\xffB"), true
		case "sum":
			return []byte("1"), true
		}
		return nil, false
	})
	var fe *FieldError
	if _, err := h.svc.Convert(context.Background(), Scope{AdvertiserID: "3"}, req); !errors.As(err, &fe) || fe.Message != "txid must be valid UTF-8" {
		t.Fatalf("query with invalid UTF-8: %v", err)
	}
	// What is legitimately there still passes: a real U+FFFD, accents, a
	// numeric txid out of float64's range.
	for _, body := range []string{
		`{"click_id":"` + cps + `","amount":"1","txid":"caf\u00e9-\ufffd"}`,
		`{"click_id":"` + cps + `","amount":"1","txid":"Müller-�"}`,
		`{"click_id":"` + cps + `","amount":"1","txid":1e400}`,
	} {
		if res, err := convert(t, h, body); err != nil || !res.Tracked {
			t.Fatalf("%s: %+v, %v", body, res, err)
		}
	}
}

func FuzzParseJSON(f *testing.F) {
	f.Add(`{"click_id":"abc","amount":"149.99","txid":"T"}`)
	f.Add(`{"cid":1e3,"sum":-0.5}`)
	f.Add(`{"clickid":null,"goal":true}`)
	// Issue 8: a NUL, invalid UTF-8, a lone surrogate, an amount out of
	// float64's range.
	f.Add("{\"click_id\":\"abc\",\"txid\":\"T\u0000X\"}")
	f.Add("{\"click_id\":\"abc\",\"txid\":\"T\xff\"}")
	f.Add(`{"click_id":"abc","txid":"T\ud800"}`)
	f.Add(`{"click_id":"abc","amount":1e309}`)
	f.Fuzz(func(t *testing.T, body string) {
		r, err := ParseJSON([]byte(body))
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Message == "" {
				t.Fatalf("ParseJSON(%q) = %v, not a field error", body, err)
			}
			return
		}
		if r.HasAmount != (r.Amount != "") {
			t.Fatalf("HasAmount %v with amount %q", r.HasAmount, r.Amount)
		}
	})
}

func BenchmarkParseJSON(b *testing.B) {
	body := []byte(`{"click_id":"01jd3k5m6n7p8q9r0s1t2v3w4x","amount":"149.99","txid":"ORDER-98765","customer_id":"cust_12345"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseJSON(body); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSecondaryEvents(t *testing.T) {
	h := newHarness(t)
	c, foreign := h.click(t, "1", time.Minute), h.click(t, "4", time.Minute)
	ok, err := ParseEventJSON([]byte(`{"cid":"` + c + `","event_type":"lead","url":"https://adv.example/signup","referrer":"https://adv.example/pricing"}`))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := h.svc.Event(context.Background(), Scope{AdvertiserID: "3"}, ok)
	if err != nil || !strings.HasPrefix(ev.ID, "evt_") || ev.Type != "lead" || ev.OfferID != "1" || ev.AffiliateID != "7" {
		t.Fatalf("event %+v, %v", ev, err)
	}
	if len(h.events.msgs) != 1 || len(h.producer.msgs) != 0 {
		t.Fatalf("events topic %d, conversions topic %d", len(h.events.msgs), len(h.producer.msgs))
	}
	cases := []struct{ body, message string }{
		{`{"event_type":"lead"}`, "click_id is required"},
		{`{"click_id":"` + c + `"}`, "event_type is required"},
		{`{"click_id":"` + c + `","event_type":"purchase"}`, "event_type must be one of pageview, registration, lead"},
		{`{"click_id":"` + foreign + `","event_type":"lead"}`, "Unauthorized - click belongs to different vendor"},
		{`{"click_id":"` + h.minter.New(h.now.Add(-time.Hour)) + `","event_type":"lead"}`, "Click not found"},
	}
	for _, tc := range cases {
		req, err := ParseEventJSON([]byte(tc.body))
		if err == nil {
			_, err = h.svc.Event(context.Background(), Scope{AdvertiserID: "3"}, req)
		}
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Message != tc.message {
			t.Errorf("%s: %v, want %q", tc.body, err, tc.message)
		}
	}
	q := ParseEventQuery(func(name string) ([]byte, bool) {
		v, ok := map[string]string{"clickid": "C", "event_type": "pageview", "secure": "K"}[name]
		return []byte(v), ok
	})
	if q.ClickID != "C" || q.Type != "pageview" || q.Secure != "K" {
		t.Errorf("query event %+v", q)
	}
}

// An offer's click-to-conversion bounds: 2 s after the click is too soon
// and an hour and a second too late, each acknowledged and published as
// rejected with its reason, paying nothing; the bounds themselves pass.
func TestClickToConversionBounds(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		age    time.Duration
		reason string
	}{
		{2 * time.Second, ReasonCTITTooShort},
		{10 * time.Second, ""},
		{time.Hour, ""},
		{time.Hour + time.Second, ReasonCTITTooLong},
	}
	for i, c := range cases {
		res, err := convert(t, h, `{"click_id":"`+h.click(t, "5", c.age)+`","txid":"B-`+string(rune('a'+i))+`"}`)
		if err != nil {
			t.Fatalf("%v after the click: %v", c.age, err)
		}
		published := h.producer.msgs[len(h.producer.msgs)-1]
		var conv model.Conversion
		if err := json.Unmarshal(published.Value, &conv); err != nil {
			t.Fatal(err)
		}
		if c.reason == "" {
			if !res.Tracked || conv.Reason != "" || conv.PayoutMicros != 30_000_000 {
				t.Errorf("%v after the click: %+v, published %+v; want tracked, paying 30", c.age, res, conv)
			}
			continue
		}
		if res.Tracked || !res.Rejected() || res.Reason != c.reason || res.Message == "" ||
			conv.Status != model.ConversionRejected || conv.Reason != c.reason || conv.PayoutMicros != 0 || conv.RevenueMicros != 0 {
			t.Errorf("%v after the click: %+v, published %+v; want rejected for %s, paying nothing", c.age, res, conv, c.reason)
		}
	}
}
