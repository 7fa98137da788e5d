package ingest

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/caps"
	"github.com/clickrelay/clickrelay/clickid"
	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
	"github.com/clickrelay/clickrelay/storage/kafka"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// noUsage is a warehouse that has seen nothing: the counters live in Redis.
type noUsage struct{}

func (noUsage) CapUsage(context.Context, time.Time, []string) ([]clickhouse.CapUsage, error) {
	return nil, nil
}

// A daily conversion cap is the network's day: in Los Angeles, an hour
// after it filled at 23:30 (still the same day in UTC), the cap takes
// conversions again; until then each one past it is acknowledged as
// cap_reached and published as rejected, paying nothing.
func TestAConversionCapOpensOnTheNetworksNextDay(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	clk := testkit.NewClock(time.Date(2026, 12, 7, 7, 30, 0, 0, time.UTC)) // 23:30 on the 6th in Los Angeles
	rd := redis.NewForTest(t)
	offer := &model.Offer{ID: "1", AdvertiserID: "3", Status: model.StatusActive, PayoutType: model.PayoutCPA,
		Payout: 2.5, Currency: "USD", Caps: []model.Cap{{Metric: model.CapConversions, Period: model.PeriodDay, Limit: 3}}}
	if err := rd.SaveEntity(context.Background(), offer); err != nil {
		t.Fatal(err)
	}
	config := caps.DefaultConfiguration()
	config.Location = la
	networkCaps, err := caps.New(caps.Dependencies{Logger: zerolog.Nop(), Store: rd, Catalog: rd.Catalog(), Warehouse: noUsage{}, Now: clk.Now}, config)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Start(t, networkCaps)
	t.Cleanup(func() { _ = networkCaps.Stop(context.Background()) })

	minter, err := clickid.NewMinter([]byte("0123456789abcdef0123"))
	if err != nil {
		t.Fatal(err)
	}
	w := kafka.NewForTest(t).NewWriter(kafka.TopicConversions, 4)
	t.Cleanup(func() { _ = w.Close() })
	broker := &faultyProducer{inner: w}
	svc, err := New(Dependencies{Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel), Catalog: rd.Catalog(),
		Store: rd, Producer: broker, Events: &memoryProducer{}, Minter: minter, Now: clk.Now, Caps: networkCaps}, DefaultConfiguration())
	if err != nil {
		t.Fatal(err)
	}
	testkit.Wait(t, "the catalog to hold the offer", 5*time.Second, func() bool { return rd.Catalog().Offer("1") != nil })

	n := 0
	convert := func() Result {
		t.Helper()
		n++
		at := clk.Now().Add(-time.Minute)
		id := minter.New(at)
		body, _ := json.Marshal(model.Click{ID: id, Time: at.UnixMilli(), OfferID: "1", AffiliateID: "7"})
		if err := rd.SaveClicks(context.Background(), []redis.ClickWrite{{ID: []byte(id), Payload: body}}); err != nil {
			t.Fatal(err)
		}
		req, err := ParseJSON([]byte(`{"click_id":"` + id + `","txid":"ORDER-` + strconv.Itoa(n) + `"}`))
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.Convert(context.Background(), Scope{AdvertiserID: "3"}, req)
		if err != nil {
			t.Fatalf("conversion %d: %v", n, err)
		}
		return res
	}
	tracked := func(count int) (got int) {
		t.Helper()
		for range count {
			if res := convert(); res.Tracked {
				got++
			} else if res.Reason != ReasonCapReached || res.Conversion.Status != model.ConversionRejected || res.Conversion.PayoutMicros != 0 {
				t.Fatalf("conversion %d past the cap: %+v", n, res)
			}
		}
		return got
	}

	if got := tracked(5); got != 3 {
		t.Fatalf("%d of 5 tracked on a cap of 3", got)
	}
	clk.Set(time.Date(2026, 12, 7, 7, 59, 0, 0, time.UTC)) // 23:59 in Los Angeles
	if got := tracked(1); got != 0 {
		t.Fatal("tracked past the cap before the network's midnight")
	}
	clk.Set(time.Date(2026, 12, 7, 8, 30, 0, 0, time.UTC)) // 00:30 on the 7th in Los Angeles, the same UTC day
	if got := tracked(4); got != 3 {
		t.Fatalf("%d of 4 tracked on the network's next day, want the cap's 3", got)
	}
	ids, msgs := broker.distinct()
	if ids != 10 || msgs != 10 {
		t.Errorf("the broker holds %d conversions in %d messages, want 10 (6 tracked, 4 rejected)", ids, msgs)
	}
}
