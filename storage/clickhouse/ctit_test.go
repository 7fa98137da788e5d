package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
)

// Each conversion counts once in the bucket of its time from click, at its
// latest version; those taken as rejected at intake are counted apart.
func TestCTITBuckets(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	conv := func(id string, after time.Duration, offer, reason string) model.Conversion {
		return model.Conversion{ID: id, Version: 1, Time: at.UnixMilli(), ClickTime: at.Add(-after).UnixMilli(),
			Status: model.ConversionPending, OfferID: offer, AffiliateID: "7", Reason: reason}
	}
	convs := []model.Conversion{
		conv("conv_a", 2*time.Second, "1", model.ReasonCTITTooShort),
		conv("conv_b", 9*time.Second, "1", ""),
		conv("conv_c", 10*time.Second, "1", ""),
		conv("conv_d", 5*time.Minute, "1", ""),
		conv("conv_e", 3*time.Hour, "1", ""),
		conv("conv_f", 30*24*time.Hour, "1", model.ReasonCTITTooLong),
		conv("conv_g", time.Second, "2", ""), // another offer
	}
	later := convs[1]
	later.Version, later.Status, later.PrevStatus = 2, model.ConversionApproved, model.ConversionPending
	convs = append(convs, later)
	if err := c.InsertConversions(ctx, convs); err != nil {
		t.Fatal(err)
	}
	q := CTITQuery{From: at.Add(-time.Hour), To: at.Add(time.Hour), OfferIDs: []string{"1"}}
	got, err := c.CTIT(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Equal(t, "offer 1's buckets", []CTITBucket{
		{2, 1}, // under 10 s: a (rejected) and b (counted once over two versions)
		{1, 0}, // under 1 min: c
		{1, 0}, // under 10 min: d
		{0, 0},
		{1, 0}, // under 1 day: e
		{0, 0},
		{1, 1}, // more: f (rejected)
	}, got)
	q.OfferIDs, q.AffiliateID = nil, "7"
	if got, err = c.CTIT(ctx, q); err != nil || got[0].Conversions != 3 {
		t.Errorf("affiliate 7's first bucket: %+v %v, want 3 conversions", got, err)
	}
}
