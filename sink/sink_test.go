package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
	"github.com/clickrelay/clickrelay/storage/kafka"
)

func TestSinkStoresEveryTopicAndDrainsOnStop(t *testing.T) {
	ctx := context.Background()
	k, ch := kafka.NewForTest(t), clickhouse.NewForTest(t)
	config := DefaultConfiguration()
	config.FlushInterval = time.Minute // flushes by size, or at Stop
	config.ClickFlushInterval = time.Minute
	s, err := New(Dependencies{Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
		Kafka: k, Warehouse: ch, Drain: true}, config)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Start(t, s)

	write := func(topic string, records ...any) {
		w := k.NewWriter(topic, 100)
		defer w.Close()
		var msgs []kafkago.Message
		for _, r := range records {
			body, ok := r.([]byte)
			if !ok {
				body, _ = json.Marshal(r)
			}
			msgs = append(msgs, kafkago.Message{Value: body})
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UnixMilli()
	var clicks []any
	for i := 0; i < 50; i++ {
		// The tracker decided uniqueness: 41 of 50 are first visits.
		clicks = append(clicks, model.Click{ID: fmt.Sprint("c", i), Time: now, OfferID: "1", AffiliateID: "7", Unique: i == 0 || i >= 10})
	}
	clicks = append(clicks, []byte("{not json")) // must not block the topic
	write(kafka.TopicClicks, clicks...)
	write(kafka.TopicConversions, model.Conversion{ID: "conv_1", Version: 1, Time: now, UpdatedTime: now, OfferID: "1", AffiliateID: "7", PayoutMicros: 1_000_000})
	write(kafka.TopicAttempts, model.Attempt{ConversionID: "conv_1", PostbackID: "pb_1", Event: "conversion", Number: 1, Time: now, Success: true})
	write(kafka.TopicEvents, model.Event{ID: "evt_1", Time: now, Type: "lead", ClickID: "c1", OfferID: "1", AffiliateID: "7"})

	count := func(q string) uint64 {
		n, err := ch.Count(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Written just before Stop: the drain must still store them, and the
	// stop must not wait for the flush interval to run out.
	write(kafka.TopicClicks, model.Click{ID: "late", Time: now, OfferID: "1", AffiliateID: "7"})
	stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stopping := time.Now()
	if err := s.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(stopping); took > 5*time.Second {
		t.Errorf("Stop took %v with a %v flush interval", took, config.FlushInterval)
	}
	if n := count("SELECT count() FROM " + ch.Table("clicks")); n != 51 {
		t.Fatalf("%d clicks after Stop, want 51", n)
	}
	if n := count("SELECT sum(is_unique) FROM " + ch.Table("clicks")); n != 41 {
		t.Fatalf("%d unique clicks, want the 41 the messages carry", n)
	}
	if n := count("SELECT count() FROM " + ch.Table("conversions")); n != 1 {
		t.Fatalf("%d conversions, want 1", n)
	}
	if n := count("SELECT count() FROM " + ch.Table("postback_attempts")); n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}
	if n := count("SELECT count() FROM " + ch.Table("events")); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}
	if n := count("SELECT sum(clicks) FROM " + ch.Table("stats_minute")); n != 51 {
		t.Fatalf("rollup holds %d clicks, want 51", n)
	}
}

// Clicks gather for their own, longer interval (fewer, larger inserts);
// conversions, attempts and events for the shorter one, which an
// advertiser reading a conversion back waits on.
func TestClicksGatherForTheirOwnInterval(t *testing.T) {
	deps := Dependencies{Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
		Kafka: kafka.NewForTest(t), Warehouse: clickhouse.NewForTest(t)}
	config := DefaultConfiguration()
	config.FlushInterval, config.ClickFlushInterval = 2*time.Second, 7*time.Second
	s, err := New(deps, config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	got := map[string]time.Duration{}
	for _, st := range s.streams {
		got[st.topic] = st.interval
	}
	want := map[string]time.Duration{kafka.TopicClicks: 7 * time.Second, kafka.TopicConversions: 2 * time.Second,
		kafka.TopicAttempts: 2 * time.Second, kafka.TopicEvents: 2 * time.Second}
	testkit.Equal(t, "each topic's flush interval", want, got)

	config.ClickFlushInterval = 0
	if _, err := New(deps, config); err == nil {
		t.Error("a click flush interval of 0 was taken")
	}
}
