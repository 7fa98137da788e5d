package kafka

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
)

func TestProduceConsumeCommitOverTheWire(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := NewForTest(t)
	w := c.NewWriter(TopicConversions, 100)
	defer w.Close()

	const n = 200
	var msgs []kafka.Message
	for i := 0; i < n; i++ {
		msgs = append(msgs, kafka.Message{Key: []byte(fmt.Sprint("k", i)), Value: []byte(fmt.Sprint("v", i))})
	}
	start := time.Now()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d messages with acks=all in %v", n, time.Since(start))

	cons := c.NewConsumer("test", TopicConversions, c.Eager())
	defer cons.Close()
	if up, err := cons.CaughtUp(ctx); err != nil || up {
		t.Fatalf("CaughtUp before consuming = %v, %v", up, err)
	}
	seen := map[string]bool{}
	for len(seen) < n {
		m, err := cons.FetchMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen[string(m.Value)] = true
		if err := cons.CommitMessages(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	up, err := cons.CaughtUp(ctx)
	if err != nil || !up {
		t.Fatalf("CaughtUp after consuming everything = %v, %v", up, err)
	}
}

func TestStartNamesTheSettingWhenKafkaIsUnreachable(t *testing.T) {
	config := DefaultConfiguration()
	config.Brokers = []string{"127.0.0.1:1"} // nothing listens there
	c, err := New(Dependencies{Logger: zerolog.Nop()}, config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = c.Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "CLICKRELAY_KAFKA_BROKERS") {
		t.Fatalf("Start = %v, want an error naming CLICKRELAY_KAFKA_BROKERS", err)
	}
	if _, err := New(Dependencies{}, Configuration{Partitions: 1}); err == nil || !strings.Contains(err.Error(), "CLICKRELAY_KAFKA_BROKERS") {
		t.Fatalf("New without brokers = %v", err)
	}
}

func TestBatchProducerPartitionsLikeTheWriterAndRoundTrips(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := NewForTest(t)
	bp := c.NewBatchProducer(TopicClicks)
	w := c.NewWriter(TopicEvents, 100) // the reference: kafka-go's own Writer
	defer w.Close()

	var msgs []kafka.Message
	for i := 0; i < 300; i++ {
		msgs = append(msgs, kafka.Message{Key: []byte(fmt.Sprint("click-", i)), Value: []byte(fmt.Sprint(i))})
	}
	if err := bp.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	partitionOf := func(topic string) map[string]int {
		cons := c.NewConsumer("check-"+topic, topic, c.Eager())
		defer cons.Close()
		got := map[string]int{}
		for len(got) < len(msgs) {
			m, err := cons.FetchMessage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// The producer compresses its batches: what is read must be
			// what was written.
			if want := strings.TrimPrefix(string(m.Key), "click-"); string(m.Value) != want {
				t.Fatalf("%s: value %q, want %q", topic, m.Value, want)
			}
			got[string(m.Key)] = m.Partition
		}
		return got
	}
	byProducer, byWriter := partitionOf(TopicClicks), partitionOf(TopicEvents)
	spread := map[int]bool{}
	for key, part := range byProducer {
		if byWriter[key] != part {
			t.Fatalf("key %s: partition %d, the Writer chose %d", key, part, byWriter[key])
		}
		spread[part] = true
	}
	if len(spread) < 2 {
		t.Fatalf("all keys on %d partition(s)", len(spread))
	}
}

// Every CLICKRELAY_KAFKA_CLICK_COMPRESSION value reaches a consumer intact.
func TestBatchProducerCompressions(t *testing.T) {
	for _, name := range []string{"none", "snappy", "lz4", "zstd", "gzip"} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			codec, ok := CompressionNamed(name)
			if !ok {
				t.Fatalf("%s is not a known compression", name)
			}
			c := NewForTest(t)
			c.config.ClickCompression = codec
			bp := c.NewBatchProducer(TopicClicks)
			want := map[string]string{}
			var msgs []kafka.Message
			for i := range 100 {
				key := fmt.Sprint("click-", i)
				want[key] = fmt.Sprintf(`{"click_id":%q,"offer_id":"of_1","subs":["a","b","","",""]}`, key)
				msgs = append(msgs, kafka.Message{Key: []byte(key), Value: []byte(want[key])})
			}
			if err := bp.WriteMessages(ctx, msgs...); err != nil {
				t.Fatal(err)
			}
			cons := c.NewConsumer("check", TopicClicks, c.Eager())
			defer cons.Close()
			for seen := 0; seen < len(msgs); seen++ {
				m, err := cons.FetchMessage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if string(m.Value) != want[string(m.Key)] {
					t.Fatalf("%s: read %q, wrote %q", m.Key, m.Value, want[string(m.Key)])
				}
			}
		})
	}
	if _, ok := CompressionNamed("brotli"); ok {
		t.Fatal("brotli taken for a known compression")
	}
}

// A fetch timing out on an idle partition is kafka-go's routine, logged at
// debug; its other errors are warnings, sampled.
func TestKafkaErrorsAtTheirLevel(t *testing.T) {
	var buf bytes.Buffer
	c := &Component{log: zerolog.New(&buf).Level(zerolog.InfoLevel)}
	logf := c.logger("clickrelay.clicks")
	logf("the kafka reader got an unknown error reading partition %d of %s at offset %d: %s", 3, "clickrelay.clicks", 1200,
		"read tcp 127.0.0.1:53124->127.0.0.1:9092: i/o timeout")
	if buf.Len() != 0 {
		t.Errorf("a fetch timeout was logged at info or above: %s", buf.String())
	}
	logf("failed to dial: %s", "dial tcp 127.0.0.1:9092: connect: connection refused")
	if !strings.Contains(buf.String(), `"level":"warn"`) || !strings.Contains(buf.String(), "connection refused") {
		t.Errorf("a broker that refuses was not a warning: %s", buf.String())
	}
}
