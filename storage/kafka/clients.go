package kafka

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/segmentio/kafka-go"

	"github.com/clickrelay/clickrelay/internal/hotlog"
	"github.com/clickrelay/clickrelay/internal/promtext"
)

// NewWriter returns a producer for a topic. Every write waits for all
// in-sync replicas (a zero kafka.Writer would not wait at all), batches for
// at most BatchTimeout, and picks partitions by key with Kafka's murmur2, as
// the Java client does. Writes are synchronous: the caller learns of every
// failure.
//
// batchSize caps the messages of one partition's batch. kafka-go allocates
// room for that many messages (about 160 bytes each) with every batch, lone
// messages included, so it must fit the topic's traffic: a few hundred for
// clicks, a few for conversions.
func (c *Component) NewWriter(topic string, batchSize int) *kafka.Writer {
	return &kafka.Writer{
		Addr:         kafka.TCP(c.brokers...),
		Topic:        c.Topic(topic),
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: c.config.BatchTimeout,
		BatchSize:    batchSize,
		WriteTimeout: 10 * time.Second,
		ReadTimeout:  10 * time.Second,
		MaxAttempts:  5,
		ErrorLogger:  kafka.LoggerFunc(c.logger(topic)),
	}
}

// Consumer reads a topic as a member of a consumer group. Offsets are
// committed only when the owner says a message is done with, so a crash
// redelivers rather than loses: every owner must be idempotent.
type Consumer struct {
	*kafka.Reader
	comp  *Component
	group string
	topic string
}

// Fetch tells a consumer how eagerly to fetch.
type Fetch struct {
	// MinBytes is what a fetch waits for, up to MaxWait: 1 answers as soon
	// as anything arrives (for latency), more gathers larger batches with
	// fewer requests (for throughput).
	MinBytes int
	MaxWait  time.Duration
}

// Eager fetches for latency: a message is handed over as soon as it lands.
func (c *Component) Eager() Fetch { return Fetch{MinBytes: 1, MaxWait: c.config.MaxWait} }

// Bulk fetches for throughput, for consumers that batch anyway.
func (c *Component) Bulk() Fetch { return Fetch{MinBytes: 64 << 10, MaxWait: 100 * time.Millisecond} }

// NewConsumer joins group on topic. A group new to the topic starts from
// the oldest message, so nothing produced before its first start is missed.
func (c *Component) NewConsumer(group, topic string, fetch Fetch) *Consumer {
	groupID := c.config.TopicPrefix + group
	return &Consumer{
		Reader: kafka.NewReader(kafka.ReaderConfig{
			Brokers:  c.brokers,
			GroupID:  groupID,
			Topic:    c.Topic(topic),
			MinBytes: fetch.MinBytes,
			// MinBytes without MaxBytes panics. 1 MiB, not more: the
			// embedded broker builds a response by appending batch after
			// batch, and in a catch-up 16 MiB responses cost it twice the
			// CPU per click (README, "Performance"). A batch
			// larger than this is still returned whole, as Kafka does.
			MaxBytes:       1 << 20,
			MaxWait:        fetch.MaxWait,
			QueueCapacity:  4096,
			CommitInterval: 0, // synchronous commits
			StartOffset:    kafka.FirstOffset,
			ReadBackoffMin: 10 * time.Millisecond,
			ReadBackoffMax: time.Second,
			ErrorLogger:    kafka.LoggerFunc(c.logger(topic)),
		}),
		comp:  c,
		group: groupID,
		topic: c.Topic(topic),
	}
}

// CaughtUp reports whether the group has committed every message the topic
// holds now. With producers stopped, that means nothing is left to consume.
func (k *Consumer) CaughtUp(ctx context.Context) (bool, error) {
	lag, err := k.Lag(ctx)
	return err == nil && lag == 0, err
}

// Lag is how many messages of the topic the group has not committed yet:
// the consumer's queue, what is not stored or handled yet.
func (k *Consumer) Lag(ctx context.Context) (int64, error) {
	meta, err := k.comp.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{k.topic}})
	if err != nil {
		return 0, err
	}
	if len(meta.Topics) != 1 {
		return 0, fmt.Errorf("topic %s not found", k.topic)
	}
	var partitions []int
	var requests []kafka.OffsetRequest
	for _, p := range meta.Topics[0].Partitions {
		partitions = append(partitions, p.ID)
		requests = append(requests, kafka.LastOffsetOf(p.ID))
	}
	ends, err := k.comp.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{k.topic: requests}})
	if err != nil {
		return 0, err
	}
	committed, err := k.comp.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: k.group, Topics: map[string][]int{k.topic: partitions}})
	if err != nil {
		return 0, err
	}
	done := map[int]int64{}
	for _, p := range committed.Topics[k.topic] {
		done[p.Partition] = max(p.CommittedOffset, 0) // -1: nothing committed yet
	}
	var lag int64
	for _, p := range ends.Topics[k.topic] {
		if p.Error != nil {
			return 0, p.Error
		}
		if p.LastOffset > 0 && done[p.Partition] < p.LastOffset {
			lag += p.LastOffset - done[p.Partition]
		}
	}
	return lag, nil
}

// RegisterLag exposes the consumer's Lag in set as
// clickrelay_kafka_consumer_lag{group,topic}, read from the broker at each
// scrape (three small requests). A broker that does not answer within a
// second shows as NaN, not as an old value.
func RegisterLag(set *metrics.Set, k *Consumer) {
	set.NewGauge(`clickrelay_kafka_consumer_lag{group="`+k.group+`",topic="`+k.topic+`"}`, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		lag, err := k.Lag(ctx)
		if err != nil {
			return math.NaN()
		}
		return float64(lag)
	})
}

// MetricHelp describes the metrics this package registers.
func MetricHelp() promtext.Help {
	return promtext.Help{
		"clickrelay_kafka_consumer_lag": "Messages of a topic its consumer group has not committed yet (not yet stored or handled); NaN when the broker does not answer.",
	}
}

// logger is kafka-go's error logger for a topic's clients.
func (c *Component) logger(topic string) func(string, ...any) {
	log := c.log.With().Str("topic", topic).Logger()
	sampled := hotlog.Sampled(log)
	return func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if routine(msg) {
			log.Debug().Msg(msg)
			return
		}
		sampled.Warn().Msg(msg)
	}
}

// routine tells kafka-go's errors that are part of its normal work from
// those an operator should see: a fetch from an idle partition that timed
// out, which kafka-go retries at once (an idle server logged it in bursts,
// 23 lines in 17 minutes).
func routine(msg string) bool {
	return strings.Contains(msg, "error reading partition") &&
		(strings.Contains(msg, "i/o timeout") || strings.Contains(msg, "context deadline exceeded"))
}
