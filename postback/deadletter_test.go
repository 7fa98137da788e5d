package postback

import (
	"context"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
)

func TestDeliveryID(t *testing.T) {
	for _, tc := range []struct {
		id         string
		conv, ev   string
		wellFormed bool
	}{
		{"conv_01abc:conversion", "conv_01abc", "conversion", true},
		{"a:b:approved", "a:b", "approved", true},
		{"nocolon", "", "", false},
		{":conversion", "", "", false},
		{"conv_1:", "", "", false},
	} {
		conv, ev, ok := SplitDeliveryID(tc.id)
		if conv != tc.conv || ev != tc.ev || ok != tc.wellFormed {
			t.Errorf("SplitDeliveryID(%q) = %q, %q, %v", tc.id, conv, ev, ok)
		}
		if ok && DeliveryID(conv, ev) != tc.id {
			t.Errorf("DeliveryID(%q, %q) != %q", conv, ev, tc.id)
		}
	}
}

// deadJob waits for a delivery in the dead letter and decodes it.
func (h *harness) deadJob(t *testing.T, postbackID, conversionID string) DeadJob {
	t.Helper()
	var found []byte
	testkit.Wait(t, conversionID+" in "+postbackID+"'s dead letter", waitLimit, func() bool {
		list, _, err := h.rd.DeadLetters(context.Background(), postbackID, time.UnixMilli(0), time.Now().Add(time.Hour), 0, 100)
		for _, d := range list {
			if err == nil && d.ID == DeliveryID(conversionID, model.EventConversion) {
				found = d.Job
				return true
			}
		}
		return false
	})
	j, err := DecodeDeadJob(found)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestGivingUpDeadLettersWithItsReason(t *testing.T) {
	h := newHarness(t, true)
	gone := newReceiver(t, 410)
	down := newReceiver(t, 500, 500, 500, 502, 502, 200)
	h.postback(t, "pb_1", "", model.EventConversion, gone.URL+"/gone")
	h.postback(t, "pb_2", "", model.EventConversion, down.URL+"/down")
	h.postback(t, "pb_3", "", model.EventConversion, "http://{nohost}/x")
	h.convert(t, conversion("conv_1"))

	for _, tc := range []struct {
		postback, reason string
		attempts         uint32
	}{{"pb_1", ReasonPermanent, 1}, {"pb_2", ReasonExhausted, 3}, {"pb_3", ReasonPermanent, 1}} {
		j := h.deadJob(t, tc.postback, "conv_1")
		if j.Reason != tc.reason || j.Attempts != tc.attempts || j.ConversionID != "conv_1" || j.ClickID != "01clk" {
			t.Errorf("%s: dead job %+v; want %s after %d attempts", tc.postback, j, tc.reason, tc.attempts)
		}
	}

	// Re-driven, pb_2 gets a fresh round of MaxAttempts numbered on from 4:
	// 502, 502, then 200.
	r, err := h.rd.RedriveDeliveries(context.Background(), "pb_2", []string{DeliveryID("conv_1", model.EventConversion)}, time.Now())
	if err != nil || r.Queued != 1 {
		t.Fatalf("re-drive: %+v %v", r, err)
	}
	testkit.Wait(t, "the re-driven round delivered", waitLimit, func() bool {
		done, _ := h.rd.Delivered(context.Background(), "conv_1", "pb_2", model.EventConversion)
		return done
	})
	var numbers []uint32
	for _, a := range h.attempts.list() {
		if a.PostbackID == "pb_2" {
			numbers = append(numbers, a.Number)
			if a.Number == 6 && (!a.Success || !a.Final) {
				t.Errorf("the delivering attempt %+v", a)
			}
		}
	}
	if len(numbers) != 6 || numbers[3] != 4 || numbers[5] != 6 {
		t.Fatalf("pb_2's attempt numbers %v; want 1..6", numbers)
	}
	if n, _ := h.rd.DeadLetterSize(context.Background(), "pb_2"); n != 0 {
		t.Fatalf("pb_2's dead letter holds %d after delivery", n)
	}
}
