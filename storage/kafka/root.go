// Package kafka is clickrelay's Kafka engine: the topics every record
// travels through, producers tuned for durability and latency, consumer
// groups, and the embedded broker (kfake) for single-machine setups.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// The topics, by short name; the configured prefix goes in front.
const (
	TopicClicks      = "clicks"
	TopicConversions = "conversions"
	TopicEvents      = "events"
	TopicAttempts    = "postback_attempts"
)

// Topics lists every topic clickrelay creates.
var Topics = []string{TopicClicks, TopicConversions, TopicEvents, TopicAttempts}

// Dependencies of the component.
type Dependencies struct {
	Logger zerolog.Logger
}

// Component connects to the brokers (starting the embedded one if asked).
type Component struct {
	config   Configuration
	log      zerolog.Logger
	brokers  []string
	embedded *kfake.Cluster
	client   *kafka.Client
}

// New checks the configuration; Start connects.
func New(deps Dependencies, config Configuration) (*Component, error) {
	if len(config.Brokers) == 0 {
		return nil, errors.New("CLICKRELAY_KAFKA_BROKERS is not set (a comma list of host:port brokers, or \"embedded\")")
	}
	if !config.IsEmbedded() {
		for _, b := range config.Brokers {
			if _, _, err := net.SplitHostPort(b); err != nil {
				return nil, fmt.Errorf("CLICKRELAY_KAFKA_BROKERS: %q is not host:port", b)
			}
		}
	}
	if config.Partitions < 0 {
		return nil, errors.New("CLICKRELAY_KAFKA_PARTITIONS must be at least 1")
	}
	return &Component{
		config: config,
		log:    deps.Logger.With().Str("component", "kafka").Logger(),
	}, nil
}

// Ping asks the configured brokers for their metadata: whether Kafka
// answers, before Start (not for the embedded broker, which Start starts).
func (c *Component) Ping(ctx context.Context) error {
	return ping(ctx, &kafka.Client{Addr: kafka.TCP(c.config.Brokers...), Timeout: 10 * time.Second}, c.config.Brokers)
}

func ping(ctx context.Context, client *kafka.Client, brokers []string) error {
	checkCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := client.Metadata(checkCtx, &kafka.MetadataRequest{}); err != nil {
		return fmt.Errorf("CLICKRELAY_KAFKA_BROKERS: cannot reach Kafka at %s: %w", strings.Join(brokers, ","), err)
	}
	return nil
}

// Start starts the embedded broker if configured, checks the brokers
// answer, and creates the topics.
func (c *Component) Start(ctx context.Context) error {
	c.brokers = c.config.Brokers
	if c.config.IsEmbedded() {
		opts := []kfake.Opt{
			kfake.NumBrokers(1),
			kfake.Ports(c.config.EmbeddedPort),
			// Apply retention every minute, so a long-running dev
			// process keeps a bounded log.
			kfake.BrokerConfigs(map[string]string{"log.cleaner.backoff.ms": "60000"}),
		}
		if c.config.EmbeddedDir != "" {
			opts = append(opts, kfake.DataDir(c.config.EmbeddedDir))
		}
		cluster, err := kfake.NewCluster(opts...)
		if err != nil {
			return fmt.Errorf("CLICKRELAY_KAFKA_BROKERS=embedded: cannot start the embedded broker on port %d: %w", c.config.EmbeddedPort, err)
		}
		c.embedded = cluster
		c.brokers = cluster.ListenAddrs()
		durability := "in memory: lost when this process exits"
		if c.config.EmbeddedDir != "" {
			durability = "on disk in " + c.config.EmbeddedDir + ", one copy, no replication"
		}
		c.log.Warn().Strs("addrs", c.brokers).Str("storage", durability).
			Msg("EMBEDDED KAFKA BROKER: for development and single-node setups only; it is NOT DURABLE like a replicated Kafka cluster")
	}
	c.client = &kafka.Client{Addr: kafka.TCP(c.brokers...), Timeout: 10 * time.Second}

	if err := ping(ctx, c.client, c.brokers); err != nil {
		return err
	}
	checkCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.createTopics(checkCtx); err != nil {
		return err
	}
	c.log.Info().Strs("brokers", c.brokers).Msg("kafka ready")
	return nil
}

// Stop stops the embedded broker, if any. Producers and consumers are
// closed by their owners first.
func (c *Component) Stop(context.Context) error {
	if c.embedded != nil {
		c.embedded.Close()
	}
	return nil
}

// Embedded reports whether this process runs the broker itself: then
// nothing survives in Kafka that consumers have not taken before exit.
func (c *Component) Embedded() bool { return c.embedded != nil }

// Topic returns the full name of a topic.
func (c *Component) Topic(name string) string { return c.config.TopicPrefix + name }

func (c *Component) createTopics(ctx context.Context) error {
	var entries []kafka.ConfigEntry
	retention, retentionBytes := c.config.Retention, c.config.RetentionBytes
	if c.embedded != nil && retentionBytes == 0 {
		retentionBytes = 128 << 20 // bounds the embedded broker's memory
	}
	if retention > 0 {
		entries = append(entries, kafka.ConfigEntry{ConfigName: "retention.ms", ConfigValue: strconv.FormatInt(retention.Milliseconds(), 10)})
	}
	if retentionBytes > 0 {
		entries = append(entries, kafka.ConfigEntry{ConfigName: "retention.bytes", ConfigValue: strconv.FormatInt(retentionBytes, 10)})
	}
	req := &kafka.CreateTopicsRequest{}
	for _, name := range Topics {
		req.Topics = append(req.Topics, kafka.TopicConfig{
			Topic:             c.Topic(name),
			NumPartitions:     c.config.partitions(),
			ReplicationFactor: c.config.ReplicationFactor,
			ConfigEntries:     entries,
		})
	}
	resp, err := c.client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("creating Kafka topics: %w", err)
	}
	for topic, err := range resp.Errors {
		if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return fmt.Errorf("creating Kafka topic %s: %w", topic, err)
		}
	}
	return nil
}
