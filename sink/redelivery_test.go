package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
	"github.com/clickrelay/clickrelay/storage/kafka"
)

// crashingWarehouse stores each batch in ClickHouse, then "dies": it
// reports a failure, so the sink never commits, until the test stops it.
type crashingWarehouse struct {
	*clickhouse.Component
	stored atomic.Int32 // batches stored
}

var errCrashed = errors.New("crashed after the insert")

func (w *crashingWarehouse) InsertClicksAt(ctx context.Context, r []model.Click, at []model.Offset) error {
	return w.after(w.Component.InsertClicksAt(ctx, r, at))
}

func (w *crashingWarehouse) InsertConversionsAt(ctx context.Context, r []model.Conversion, at []model.Offset) error {
	return w.after(w.Component.InsertConversionsAt(ctx, r, at))
}

func (w *crashingWarehouse) after(err error) error {
	if err != nil {
		return err
	}
	w.stored.Add(1)
	return errCrashed
}

// TestRedeliveredBatchCountsOnce pins issue 8's rollup double count: a
// batch inserted, then redelivered because its offsets were never
// committed, is counted once in the raw tables and once in the rollup. A
// conversion the intake re-published (same ID, a second message) too.
func TestRedeliveredBatchCountsOnce(t *testing.T) {
	ctx := context.Background()
	k, ch := kafka.NewForTest(t), clickhouse.NewForTest(t)
	now := time.Now().UnixMilli()
	write := func(topic string, records ...any) {
		w := k.NewWriter(topic, 1000)
		defer w.Close()
		var msgs []kafkago.Message
		for _, r := range records {
			body, _ := json.Marshal(r)
			msgs = append(msgs, kafkago.Message{Value: body})
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
	}
	var clicks []any
	for i := range 300 {
		clicks = append(clicks, model.Click{ID: fmt.Sprint("c", i), Time: now, OfferID: "1", AffiliateID: "7"})
	}
	write(kafka.TopicClicks, clicks...)
	conv := model.Conversion{ID: "conv_1", Version: 1, Time: now, UpdatedTime: now, OfferID: "1", AffiliateID: "7", PayoutMicros: 1_000_000}
	write(kafka.TopicConversions, conv, model.Conversion{ID: "conv_2", Version: 1, Time: now, UpdatedTime: now, OfferID: "1", AffiliateID: "7"})
	write(kafka.TopicConversions, conv) // the intake's re-publish

	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)
	config := DefaultConfiguration()
	config.FlushInterval, config.ClickFlushInterval = 200*time.Millisecond, 200*time.Millisecond

	// The first worker stores everything and dies before any commit.
	crashing := &crashingWarehouse{Component: ch}
	first, err := New(Dependencies{Logger: log, Kafka: k, Warehouse: crashing}, config)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Start(t, first)
	count := func(q string) uint64 {
		t.Helper()
		n, err := ch.Count(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Its first batch of each topic is all it ever stores: a batch that
	// fails is retried as it is, so how many records the first fetch
	// brought (all 300 clicks or fewer) is up to the broker's timing.
	testkit.Poll(t, "the first worker storing a batch of each topic", 30*time.Second, func() (bool, string) {
		clicks, convs := count("SELECT count() FROM "+ch.Table("clicks")), count("SELECT count() FROM "+ch.Table("conversions"))
		return clicks > 0 && convs > 0, fmt.Sprintf("%d clicks and %d conversions stored", clicks, convs)
	})
	dead, cancel := context.WithCancel(ctx)
	cancel() // a hard stop: nothing committed
	_ = first.Stop(dead)

	// The next worker gets every message again, and drains.
	second, err := New(Dependencies{Logger: log, Kafka: k, Warehouse: ch, Drain: true}, config)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Start(t, second)
	stopCtx, cancelStop := context.WithTimeout(ctx, 30*time.Second)
	defer cancelStop()
	if err := second.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	// A new broker (the embedded one keeps nothing across restarts)
	// numbers its offsets from 0 again: its records are new, not skipped.
	k = kafka.NewForTest(t)
	var fresh []any
	for i := range 10 {
		fresh = append(fresh, model.Click{ID: fmt.Sprint("new", i), Time: now, OfferID: "1", AffiliateID: "7"})
	}
	write(kafka.TopicClicks, fresh...)
	// A status change: a new version of a stored conversion.
	changed := conv
	changed.Version, changed.Status, changed.PrevStatus = 2, model.ConversionApproved, model.ConversionPending
	write(kafka.TopicConversions, changed)
	third, err := New(Dependencies{Logger: log, Kafka: k, Warehouse: ch, Drain: true}, config)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Start(t, third)
	if err := third.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		query string
		want  uint64
	}{
		{"SELECT count() FROM " + ch.Table("clicks"), 310},
		{"SELECT sum(clicks) FROM " + ch.Table("stats_minute"), 310},
		{"SELECT count() FROM " + ch.Table("conversions"), 3},
		{"SELECT toUInt64(sum(approved)) FROM " + ch.Table("stats_minute"), 1},
		{"SELECT sum(conversions) FROM " + ch.Table("stats_minute"), 2},
		{"SELECT toUInt64(sum(payout_micros)) FROM " + ch.Table("stats_minute"), 1_000_000},
		{"SELECT toUInt64(countIf(kafka_offset < 0)) FROM " + ch.Table("clicks"), 0},
	} {
		if n := count(c.query); n != c.want {
			t.Errorf("%s = %d, want %d", c.query, n, c.want)
		}
	}
}
