package ingest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// downStore is a Redis that refuses everything.
type downStore struct{ memoryStore }

func (*downStore) Claim(context.Context, string, []redis.Claim, []redis.CapCount, []byte, []byte, time.Time, time.Duration) (redis.ClaimResult, error) {
	return redis.ClaimResult{}, errors.New("dial tcp: connection refused")
}

// TestOutageIsNotALogFlood pins issue 8's log flood: a thousand
// conversions failing on a dead Redis write a few lines, not a thousand;
// the counter still counts every one.
func TestOutageIsNotALogFlood(t *testing.T) {
	h := newHarness(t)
	cpa := h.click(t, "1", time.Hour)
	var buf bytes.Buffer
	store := &downStore{memoryStore{clicks: h.store.clicks, claims: map[string]string{}}}
	cat := fakeCatalog{"1": {ID: "1", AdvertiserID: "3", Status: model.StatusActive, PayoutType: model.PayoutCPA, Payout: 30}}
	svc, err := New(Dependencies{Logger: zerolog.New(&buf), Catalog: cat, Store: store, Producer: h.producer, Events: h.events,
		Minter: h.minter, Now: func() time.Time { return h.now }}, DefaultConfiguration())
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		req, _ := ParseJSON([]byte(`{"click_id":"` + cpa + `"}`))
		if _, err := svc.Convert(context.Background(), Scope{AdvertiserID: "3"}, req); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	}
	if lines := strings.Count(buf.String(), "\n"); lines < 1 || lines > 50 {
		t.Fatalf("%d log lines for 1000 failures, want a sampled few", lines)
	}
	if n := svc.unavailable.Get(); n != 1000 {
		t.Fatalf("unavailable counter = %d, want 1000", n)
	}
}
