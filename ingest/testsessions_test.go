package ingest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/clickrelay/clickrelay/clickid"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// A test click_id goes through the same validation as a real one; the
// outcome, accepted or refused, lands on its session and nowhere else.
func TestTestConversionsAreValidatedAndOnlyRecorded(t *testing.T) {
	h := newHarness(t)
	sessions := &memorySessions{clicks: h.store, sessions: map[string]*redis.TestSession{}, byClick: map[string]string{}}
	h.svc.tests = sessions
	ctx := context.Background()
	cat := h.svc.catalog
	cases := []struct {
		name, offer, advertiser, body string
		refusal                       string // "" when accepted
		signatureValid                bool
		payoutMicros                  int64
	}{
		{"cpa accepted", "1", "3", `{"txid":"T1","customer_id":"c1"}`, "", true, 30_000_000},
		{"cps without amount", "2", "3", `{"txid":"T2"}`, "amount required for CPS/RevShare/percentage offers", true, 0},
		{"cps accepted", "2", "3", `{"sum":"100","txid":"T3"}`, "", true, 15_000_000},
		{"negative amount", "1", "3", `{"amount":"-5"}`, "amount must be positive", true, 0},
		{"paused offer", "3", "3", `{"goal":"signup"}`, "Offer not active", true, 0},
		{"another advertiser's key", "1", "9", `{"goal":"signup"}`, "Unauthorized - click belongs to different vendor", false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sess, err := h.svc.StartTestSession(ctx, cat.Offer(tc.offer))
			if err != nil {
				t.Fatal(err)
			}
			if _, test, ok := h.minter.Parse(sess.ClickID); !ok || !test || !strings.HasPrefix(sess.ClickID, clickid.TestPrefix) {
				t.Fatalf("test click_id %q is not a real click id behind test_", sess.ClickID)
			}
			req, err := ParseJSON([]byte(`{"click_id":"` + sess.ClickID + `",` + strings.TrimPrefix(tc.body, "{")))
			if err != nil {
				t.Fatal(err)
			}
			// Twice: a test conversion takes no dedupe claim.
			for range 2 {
				res, err := h.svc.Convert(ctx, Scope{AdvertiserID: tc.advertiser}, req)
				var fe *FieldError
				switch {
				case tc.refusal == "" && (err != nil || !res.Tracked || !strings.HasPrefix(res.Conversion.ID, "conv_")):
					t.Fatalf("accepted test conversion answered %+v, %v", res, err)
				case tc.refusal != "" && (!errors.As(err, &fe) || fe.Message != tc.refusal):
					t.Fatalf("refusal = %v, want %q", err, tc.refusal)
				}
			}
			got := sessions.sessions[sess.Token].Received
			switch {
			case got == nil:
				t.Fatal("nothing recorded on the session")
			case got.FieldsValid != (tc.refusal == ""), got.SignatureValid != tc.signatureValid, got.PayoutMicros != tc.payoutMicros:
				t.Fatalf("recorded %+v", got)
			case tc.refusal != "" && (len(got.Errors) != 1 || got.Errors[0] != tc.refusal):
				t.Fatalf("recorded errors %v, want %q", got.Errors, tc.refusal)
			}
		})
	}
	if len(h.producer.msgs) != 0 || len(h.store.claims) != 0 {
		t.Fatalf("test conversions published %d messages and took %d claims", len(h.producer.msgs), len(h.store.claims))
	}

	// A test click's secondary event passes the checks and is not published.
	sess, _ := h.svc.StartTestSession(ctx, cat.Offer("1"))
	if _, err := h.svc.Event(ctx, Scope{AdvertiserID: "3"}, EventRequest{ClickID: sess.ClickID, Type: "lead"}); err != nil {
		t.Fatal(err)
	}
	if len(h.events.msgs) != 0 {
		t.Fatal("a test event was published")
	}
	// A test_ prefix on a real click's ID finds nothing: only sessions
	// store test clicks.
	real := h.click(t, "1", 0)
	if _, err := convert(t, h, `{"click_id":"test_`+real+`"}`); err == nil || err.Error() != "Click not found" {
		t.Fatalf("test_ + a real click id: %v", err)
	}
}
