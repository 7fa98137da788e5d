package redis

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestTestSessionLifecycle(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	sess := &TestSession{Token: "tok1", AdvertiserID: "3", OfferID: "9", ClickID: "test_abc", CreatedAt: 1, ExpiresAt: 2}
	if err := c.SaveTestSession(ctx, sess, []byte(`{"click_id":"test_abc"}`), time.Minute); err != nil {
		t.Fatal(err)
	}
	if payload, found, err := c.Click(ctx, "test_abc"); err != nil || !found || string(payload) != `{"click_id":"test_abc"}` {
		t.Fatalf("test click: %q %v %v", payload, found, err)
	}
	got, found, err := c.TestSession(ctx, "tok1")
	if err != nil || !found || got.Received != nil || got.OfferID != "9" {
		t.Fatalf("fresh session: %+v %v %v", got, found, err)
	}
	rec := TestConversion{SignatureValid: true, Errors: []string{"amount must be positive"}, Amount: "-1"}
	if err := c.RecordTestConversion(ctx, "test_abc", rec); err != nil {
		t.Fatal(err)
	}
	got, _, _ = c.TestSession(ctx, "tok1")
	if got.Received == nil || got.Received.Amount != "-1" || got.Received.FieldsValid || len(got.Received.Errors) != 1 {
		t.Fatalf("received: %+v", got.Received)
	}
	if ttl := c.client.PTTL(ctx, c.keys.testSession("tok1")).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("the session lost its expiry on update: %v", ttl)
	}
	if err := c.RecordTestConversion(ctx, "test_other", rec); !errors.Is(err, ErrNoTestSession) {
		t.Fatalf("unknown test click: %v", err)
	}
	if _, found, err := c.TestSession(ctx, "nope"); found || err != nil {
		t.Fatalf("unknown token: %v %v", found, err)
	}
}
