package postback

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/clickrelay/clickrelay/model"
)

// SampleOfferID stands for the offer of a global postback's test.
const SampleOfferID = "sample_offer"

// TestResult is what a test postback came to, as the test endpoints
// answer it. Only the postback's owner and the admin see it, so URL is the
// URL sent in full.
type TestResult struct {
	URL          string  `json:"url"`
	Signed       bool    `json:"signed"`
	StatusCode   int     `json:"status_code"`
	LatencyMS    float64 `json:"latency_ms"`
	ResponseBody string  `json:"response_body"`
	Error        string  `json:"error,omitempty"`
	Delivered    bool    `json:"delivered"`
}

// SampleConversion is the conversion a test postback is filled from: a
// test_ click id, the postback's offer (or a sample one), payout 1.00,
// subs sub1..sub5 and the status that the postback's event goes with.
func SampleConversion(pb *model.Postback, now time.Time) model.Conversion {
	var r [6]byte
	_, _ = rand.Read(r[:])
	suffix := hex.EncodeToString(r[:])
	offer := pb.OfferID
	if offer == "" {
		offer = SampleOfferID
	}
	status := model.ConversionPending
	switch pb.Event {
	case model.EventApproved:
		status = model.ConversionApproved
	case model.EventRejected:
		status = model.ConversionRejected
	}
	ms := now.UnixMilli()
	return model.Conversion{
		ID: "conv_test_" + suffix, Version: 1, Time: ms, UpdatedTime: ms, Status: status,
		ClickID: "test_" + suffix, ClickTime: ms, OfferID: offer, AffiliateID: pb.AffiliateID, AdvertiserID: "sample_advertiser",
		Subs: [5]string{"sub1", "sub2", "sub3", "sub4", "sub5"}, AffClickID: "test_aff_click", Country: "US",
		TxID: "test_order_" + suffix, Goal: "sample_goal", Currency: "USD", AmountMicros: 10_000_000, PayoutMicros: 1_000_000,
		PayoutType: "cpa", Test: true,
	}
}

// Test fires pb once now with sample values, through the guard, the
// timeout and the signature as a delivery would, and tells what came of
// it. Nothing is recorded: no attempt record, no delivery metric, no
// delivered mark; one log line says a test ran.
func (s *Sender) Test(ctx context.Context, pb *model.Postback, secret model.Secret) TestResult {
	conv := SampleConversion(pb, s.now())
	o := s.Send(ctx, expandURL(pb.URL, &conv, pb.Event), secret)
	r := TestResult{
		URL: o.URL(), Signed: o.Signed(), StatusCode: o.StatusCode(),
		LatencyMS: float64(o.Latency().Microseconds()) / 1000, ResponseBody: o.Body(), Error: errorText(o.err), Delivered: o.Delivered(),
	}
	s.log.Info().Bool("test", true).Str("postback_id", pb.ID).Str("affiliate_id", pb.AffiliateID).Str("url", redactURL(r.URL)).
		Bool("signed", r.Signed).Int("status", r.StatusCode).AnErr("error", o.err).Float64("latency_ms", r.LatencyMS).
		Msg("test postback sent")
	return r
}
