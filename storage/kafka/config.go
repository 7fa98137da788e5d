package kafka

import (
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// Configuration of the Kafka engine.
type Configuration struct {
	// Brokers is CLICKRELAY_KAFKA_BROKERS: host:port addresses, or the single
	// word "embedded" for the in-process broker.
	Brokers []string
	// EmbeddedPort is where the embedded broker listens, on 127.0.0.1, so
	// kcat and other Kafka tools can read its topics.
	EmbeddedPort int
	// EmbeddedDir keeps the embedded broker's log on disk across restarts;
	// empty keeps it in memory only.
	EmbeddedDir string
	// TopicPrefix starts every topic name.
	TopicPrefix string
	// Partitions and ReplicationFactor apply to topics clickrelay creates.
	// Zero partitions means 8 on real brokers, 2 on the embedded one: one
	// process on one machine gains nothing from more, and every partition
	// splits the producers' batches further.
	Partitions        int
	ReplicationFactor int
	// Retention and RetentionBytes (per partition) are set on the topics
	// clickrelay creates; zero leaves the broker's default.
	Retention      time.Duration
	RetentionBytes int64
	// BatchTimeout is how long a producer waits to fill a batch. kafka-go's
	// default of 1 s would hold every lone conversion for a second.
	BatchTimeout time.Duration
	// MaxWait bounds a consumer's long poll when a partition is idle.
	MaxWait time.Duration
	// ClickCompression compresses the click path's batches (BatchProducer);
	// zero sends them as they are.
	ClickCompression kafka.Compression
}

// CompressionNamed returns the codec of a CLICKRELAY_KAFKA_CLICK_COMPRESSION
// value: none, snappy, lz4, zstd or gzip.
func CompressionNamed(name string) (kafka.Compression, bool) {
	switch strings.ToLower(name) {
	case "none":
		return 0, true
	case "snappy":
		return kafka.Snappy, true
	case "lz4":
		return kafka.Lz4, true
	case "zstd":
		return kafka.Zstd, true
	case "gzip":
		return kafka.Gzip, true
	}
	return 0, false
}

// Embedded is the Brokers value that selects the in-process broker.
const Embedded = "embedded"

// DefaultConfiguration returns the documented defaults.
func DefaultConfiguration() Configuration {
	return Configuration{
		EmbeddedPort:      9092,
		TopicPrefix:       "clickrelay.",
		ReplicationFactor: 1,
		Retention:         7 * 24 * time.Hour,
		BatchTimeout:      2 * time.Millisecond,
		MaxWait:           250 * time.Millisecond,
		ClickCompression:  kafka.Snappy,
	}
}

// partitions resolves the zero default.
func (c Configuration) partitions() int {
	switch {
	case c.Partitions > 0:
		return c.Partitions
	case c.IsEmbedded():
		return 2
	}
	return 8
}

// IsEmbedded reports whether the configuration selects the embedded broker.
func (c Configuration) IsEmbedded() bool {
	return len(c.Brokers) == 1 && c.Brokers[0] == Embedded
}
