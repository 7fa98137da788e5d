package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/compress/snappy"
)

// BatchProducer writes batches its caller has already gathered, as one
// Produce request per partition with acks=all, partitioned by key with
// Kafka's murmur2 like NewWriter's producers. It exists for the click path:
// a kafka.Writer batches a second time behind the caller, with a timer per
// partition and room for BatchSize messages allocated with every batch,
// which at a batch every two milliseconds was most of the process's garbage.
//
// Its batches are compressed, with snappy by default (at its fastest level,
// see fastSnappy; CLICKRELAY_KAFKA_CLICK_COMPRESSION chooses): click
// records are JSON with the same keys and few distinct values, under a
// third of their size compressed, and every byte is copied
// several times on its way (the embedded broker reads each request, writes
// it to its log, reads it back and copies it into each fetch response). In
// bench/ that took the process's garbage from 6.1 to 4.5 KB per click, and
// the embedded broker's log from 162 to 46 MB, for about 2% of the CPU
// (compressing and decompressing). Real brokers store and serve the batch
// as it was sent, so their disks and networks carry a third as much too.
type BatchProducer struct {
	client      *kafka.Client
	topic       string
	compression kafka.Compression

	mu         sync.Mutex // one WriteMessages at a time: the scratch is shared
	partitions []int
	refreshed  time.Time
	records    map[int][]kafka.Record
	index      map[int][]int // message positions by partition
}

// fastSnappy sets kafka-go's snappy codec (one for the process) to its
// fastest level once: its default, "better", costs twice the CPU for a few
// percent more, and the click path's batches are compressed on the same
// cores that answer the clicks.
var fastSnappy sync.Once

// partitionsMaxAge bounds how long a partition list is trusted.
const partitionsMaxAge = time.Minute

// NewBatchProducer returns a producer for a topic.
func (c *Component) NewBatchProducer(topic string) *BatchProducer {
	if c.config.ClickCompression == kafka.Snappy {
		fastSnappy.Do(func() { compress.SnappyCodec.Compression = snappy.FasterCompression })
	}
	return &BatchProducer{
		client:      c.client,
		topic:       c.Topic(topic),
		compression: c.config.ClickCompression,
		records:     map[int][]kafka.Record{},
		index:       map[int][]int{},
	}
}

// WriteMessages writes msgs and waits for every in-sync replica. When only
// some partitions fail, it returns kafka.WriteErrors with an error for each
// message that was not written, so the caller retries those alone.
func (p *BatchProducer) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	partitions, err := p.partitionList(ctx)
	if err != nil {
		return err
	}
	for part := range p.records {
		p.records[part] = p.records[part][:0]
		p.index[part] = p.index[part][:0]
	}
	var balancer kafka.Murmur2Balancer
	for i := range msgs {
		part := balancer.Balance(msgs[i], partitions...)
		p.records[part] = append(p.records[part], kafka.Record{Key: kafka.NewBytes(msgs[i].Key), Value: kafka.NewBytes(msgs[i].Value)})
		p.index[part] = append(p.index[part], i)
	}

	var wg sync.WaitGroup
	var errMu sync.Mutex
	var failed kafka.WriteErrors
	for part, records := range p.records {
		if len(records) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := p.client.Produce(ctx, &kafka.ProduceRequest{
				Topic:        p.topic,
				Partition:    part,
				RequiredAcks: kafka.RequireAll,
				Records:      kafka.NewRecordReader(records...),
				Compression:  p.compression,
			})
			if err == nil && resp.Error != nil {
				err = resp.Error
			}
			if err == nil {
				return
			}
			errMu.Lock()
			defer errMu.Unlock()
			if failed == nil {
				failed = make(kafka.WriteErrors, len(msgs))
			}
			for _, i := range p.index[part] {
				failed[i] = fmt.Errorf("partition %d: %w", part, err)
			}
		}()
	}
	wg.Wait()
	if failed != nil {
		p.refreshed = time.Time{} // leaders may have moved
		return failed
	}
	return nil
}

// partitionList returns the topic's partitions, from metadata at most
// partitionsMaxAge old.
func (p *BatchProducer) partitionList(ctx context.Context) ([]int, error) {
	if p.partitions != nil && time.Since(p.refreshed) < partitionsMaxAge {
		return p.partitions, nil
	}
	meta, err := p.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{p.topic}})
	if err != nil {
		return nil, fmt.Errorf("reading partitions of %s: %w", p.topic, err)
	}
	if len(meta.Topics) != 1 || meta.Topics[0].Error != nil || len(meta.Topics[0].Partitions) == 0 {
		err := errors.New("no partitions")
		if len(meta.Topics) == 1 && meta.Topics[0].Error != nil {
			err = meta.Topics[0].Error
		}
		return nil, fmt.Errorf("reading partitions of %s: %w", p.topic, err)
	}
	partitions := make([]int, 0, len(meta.Topics[0].Partitions))
	for _, part := range meta.Topics[0].Partitions {
		partitions = append(partitions, part.ID)
	}
	slices.Sort(partitions)
	p.partitions, p.refreshed = partitions, time.Now()
	return partitions, nil
}
