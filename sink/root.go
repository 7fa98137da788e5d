// Package sink moves records from Kafka into ClickHouse: clicks,
// conversions, secondary events and postback attempts. Each topic
// is read by a consumer group, in batches flushed by size or time, and
// offsets are committed only once ClickHouse has the batch: a crash
// redelivers, and ReplacingMergeTree folds the duplicates.
package sink

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/clickrelay/clickrelay/internal/daemon"
	"github.com/clickrelay/clickrelay/internal/hotlog"
	"github.com/clickrelay/clickrelay/internal/promtext"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/kafka"
)

// warehouse is where records end up.
type warehouse interface {
	InsertClicksAt(ctx context.Context, clicks []model.Click, at []model.Offset) error
	InsertConversionsAt(ctx context.Context, convs []model.Conversion, at []model.Offset) error
	InsertAttemptsAt(ctx context.Context, attempts []model.Attempt, at []model.Offset) error
	InsertEventsAt(ctx context.Context, events []model.Event, at []model.Offset) error
}

// consumers opens consumer groups.
type consumers interface {
	NewConsumer(group, topic string, fetch kafka.Fetch) *kafka.Consumer
	Bulk() kafka.Fetch
}

// locker holds locks shared by every process.
type locker interface {
	Lock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	Unlock(ctx context.Context, name, owner string) error
	Extend(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
}

// Dependencies of the sink.
type Dependencies struct {
	Logger    zerolog.Logger
	Metrics   *metrics.Set
	Kafka     consumers
	Warehouse warehouse
	// Locks, when set, serialise the inserts of a partition across
	// processes (see stream.lock); needed when several work processes
	// share the topics.
	Locks locker
	// Drain keeps consuming at Stop until every topic is caught up: with
	// the embedded broker, what is not consumed before exit is not safe.
	Drain bool
	// Failer hears of a consumer that cannot go on (it panicked).
	Failer daemon.Failer
}

// Sink runs one consumer per topic.
type Sink struct {
	config  Configuration
	deps    Dependencies
	log     zerolog.Logger
	streams []*stream
	// owner names this sink in the insert locks it takes.
	owner string

	// stopCtx ends when Stop begins; hardCtx when consumers must let go.
	stopCtx    context.Context
	stopCancel context.CancelFunc
	hardCtx    context.Context
	hardCancel context.CancelFunc
	wg         sync.WaitGroup

	// flushSeconds and batchRecords have a series per topic.
	flushSeconds, batchRecords *promtext.HistogramFamily
}

// groupPrefix names the sink's consumer groups: one per topic, so the
// readers of different topics never rebalance each other.
const groupPrefix = "sink."

// New prepares the sink; Start starts consuming.
func New(deps Dependencies, config Configuration) (*Sink, error) {
	if deps.Kafka == nil || deps.Warehouse == nil {
		return nil, errors.New("sink: kafka and warehouse are required")
	}
	if config.BatchSize < 1 || config.FlushInterval <= 0 || config.ClickFlushInterval <= 0 {
		return nil, errors.New("sink: batch size and flush intervals must be positive")
	}
	if deps.Metrics == nil {
		deps.Metrics = metrics.NewSet()
	}
	owner := make([]byte, 12)
	_, _ = rand.Read(owner)
	s := &Sink{
		config: config,
		deps:   deps,
		log:    deps.Logger.With().Str("component", "sink").Logger(),
		owner:  hex.EncodeToString(owner),
	}
	s.stopCtx, s.stopCancel = context.WithCancel(context.Background())
	s.hardCtx, s.hardCancel = context.WithCancel(context.Background())
	s.flushSeconds = promtext.NewHistogramFamily(deps.Metrics, `clickrelay_sink_flush_seconds`, promtext.FlushSeconds)
	s.batchRecords = promtext.NewHistogramFamily(deps.Metrics, `clickrelay_sink_batch_records`, promtext.BatchSizes)
	s.streams = []*stream{
		// Clicks are most of the volume: they get the hand-written decoder.
		newStream(s, kafka.TopicClicks, config.ClickFlushInterval, newPending(model.DecodeClick, deps.Warehouse.InsertClicksAt)),
		newStream(s, kafka.TopicConversions, config.FlushInterval, newPending(unmarshal[model.Conversion], deps.Warehouse.InsertConversionsAt)),
		newStream(s, kafka.TopicAttempts, config.FlushInterval, newPending(unmarshal[model.Attempt], deps.Warehouse.InsertAttemptsAt)),
		newStream(s, kafka.TopicEvents, config.FlushInterval, newPending(unmarshal[model.Event], deps.Warehouse.InsertEventsAt)),
	}
	return s, nil
}

// Start starts one consumer per topic.
func (s *Sink) Start(context.Context) error {
	for _, st := range s.streams {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer daemon.Recover(s.deps.Failer, "sink "+st.topic)
			st.run()
		}()
	}
	return nil
}

// Stop flushes what each consumer holds and commits it; with Drain, it
// first consumes every topic to its end. When ctx ends first, consumers stop
// where they are (what they did not commit is redelivered at next start).
func (s *Sink) Stop(ctx context.Context) error {
	s.stopCancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.hardCancel()
		<-done
	}
	s.hardCancel()
	for _, st := range s.streams {
		if cerr := st.consumer.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// unmarshal is encoding/json's decoder for one record type.
func unmarshal[T any](data []byte, r *T) error { return json.Unmarshal(data, r) }

// pending is what a stream gathers between flushes: records decoded as
// their messages arrive, so that decoding is spread over the flush window
// instead of running in one burst at its end, ahead of the redirects that
// share the processors.
type pending interface {
	// add decodes a message. An error means it never will decode.
	add(m *kafkago.Message) error
	// store writes the records added since the last reset.
	store(ctx context.Context) error
	len() int
	reset()
}

// typedPending is a pending batch of one record type.
type typedPending[T any] struct {
	decode  func([]byte, *T) error
	write   func(context.Context, []T, []model.Offset) error
	records []T
	at      []model.Offset // where each record was read, so a redelivery is not stored twice
}

func newPending[T any](decode func([]byte, *T) error, write func(context.Context, []T, []model.Offset) error) *typedPending[T] {
	return &typedPending[T]{decode: decode, write: write}
}

func (p *typedPending[T]) add(m *kafkago.Message) error {
	// Decoded in place, in the slot it keeps: a local record would escape
	// to the heap through the decode function (a record allocated, then
	// copied, per message: a tenth of the process's garbage under load).
	var zero T
	p.records = append(p.records, zero)
	if err := p.decode(m.Value, &p.records[len(p.records)-1]); err != nil {
		p.records[len(p.records)-1] = zero // let go of what was decoded
		p.records = p.records[:len(p.records)-1]
		return err
	}
	p.at = append(p.at, model.Offset{Partition: int32(m.Partition), Offset: m.Offset})
	return nil
}

func (p *typedPending[T]) store(ctx context.Context) error {
	if len(p.records) == 0 {
		return nil
	}
	return p.write(ctx, p.records, p.at)
}

func (p *typedPending[T]) len() int { return len(p.records) }

func (p *typedPending[T]) reset() {
	clear(p.records) // let go of the strings until the slots are reused
	p.records = p.records[:0]
	p.at = p.at[:0]
}

// stream consumes one topic.
type stream struct {
	sink     *Sink
	topic    string
	interval time.Duration // the longest a batch gathers
	consumer *kafka.Consumer
	pending  pending
	log      zerolog.Logger
	// hotLog is log sampled: a ClickHouse outage fails every flush, and
	// poison messages can come by the thousand.
	hotLog zerolog.Logger

	inserted, poison, failures *metrics.Counter
	flushSeconds, batchRecords *promtext.Histogram
}

func newStream(s *Sink, topic string, interval time.Duration, p pending) *stream {
	set := s.deps.Metrics
	consumer := s.deps.Kafka.NewConsumer(groupPrefix+topic, topic, s.deps.Kafka.Bulk())
	kafka.RegisterLag(set, consumer)
	return &stream{
		sink:         s,
		topic:        topic,
		interval:     interval,
		consumer:     consumer,
		pending:      p,
		log:          s.log.With().Str("topic", topic).Logger(),
		hotLog:       hotlog.Sampled(s.log.With().Str("topic", topic).Logger()),
		inserted:     set.NewCounter(`clickrelay_sink_records_total{topic="` + topic + `"}`),
		poison:       set.NewCounter(`clickrelay_sink_undecodable_total{topic="` + topic + `"}`),
		failures:     set.NewCounter(`clickrelay_sink_insert_errors_total{topic="` + topic + `"}`),
		flushSeconds: s.flushSeconds.With(`topic="` + topic + `"`),
		batchRecords: s.batchRecords.With(`topic="` + topic + `"`),
	}
}

func (st *stream) run() {
	s := st.sink
	// Grown as batches need, not preallocated: BatchSize may be large.
	msgs := make([]kafkago.Message, 0, min(s.config.BatchSize, 4096))
	for {
		stopping := s.stopCtx.Err() != nil
		if stopping && !s.deps.Drain {
			return // the batch in hand was flushed on the way here
		}
		msgs = st.collect(msgs[:0], stopping)
		if len(msgs) > 0 && !st.flush(msgs) {
			return // hard stop: what is not committed is redelivered
		}
		if s.hardCtx.Err() != nil || stopping && len(msgs) == 0 && st.caughtUp() {
			return
		}
	}
}

// collect fetches until the batch is full or the flush interval passes. A
// stop cuts the window short; a draining sink then polls in short windows
// until the topic is caught up.
func (st *stream) collect(msgs []kafkago.Message, stopping bool) []kafkago.Message {
	s := st.sink
	window := st.interval
	if stopping {
		window = min(window, 200*time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(s.hardCtx, window)
	defer cancel()
	if !stopping {
		defer context.AfterFunc(s.stopCtx, cancel)()
	}
	for len(msgs) < s.config.BatchSize {
		m, err := st.consumer.FetchMessage(ctx)
		if err != nil {
			break
		}
		// Decoded from its slot in msgs: &m handed to the interface
		// method would move every message to the heap.
		msgs = append(msgs, m)
		in := &msgs[len(msgs)-1]
		if err := st.pending.add(in); err != nil {
			// It cannot be stored ever: logged and skipped (its offset
			// is still committed), not allowed to block its topic.
			st.poison.Inc()
			st.hotLog.Error().Err(err).Int("partition", in.Partition).Int64("offset", in.Offset).
				Msg("skipping a message that does not decode")
		}
		// Only the offset is needed from here on.
		in.Key, in.Value, in.Headers = nil, nil, nil
	}
	return msgs
}

// flush stores a batch, retrying until it succeeds (ClickHouse may be
// restarting) or a hard stop, then commits it. It reports false on a hard
// stop.
func (st *stream) flush(msgs []kafkago.Message) bool {
	s := st.sink
	start := time.Now()
	backoff := 100 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(s.hardCtx, time.Minute)
		err := st.storeLocked(ctx, msgs)
		cancel()
		if err == nil {
			break
		}
		st.failures.Inc()
		st.hotLog.Error().Err(err).Int("records", len(msgs)).Dur("retry_in", backoff).Msg("cannot store a batch; retrying")
		select {
		case <-time.After(backoff):
		case <-s.hardCtx.Done():
			return false
		}
		backoff = min(2*backoff, 10*time.Second)
	}
	st.flushSeconds.UpdateDuration(start)
	st.batchRecords.Update(float64(len(msgs)))
	st.inserted.Add(st.pending.len()) // undecodable messages count as poison only
	st.pending.reset()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := st.consumer.CommitMessages(ctx, msgs...); err != nil {
		// Stored but not committed: redelivered later, folded by
		// ReplacingMergeTree.
		st.log.Warn().Err(err).Msg("cannot commit offsets")
	}
	return true
}

// insertLease bounds how long a dead worker's insert lock outlives it; a
// live worker extends its locks every leaseRefresh while it inserts.
const (
	insertLease  = 10 * time.Second
	leaseRefresh = 3 * time.Second
)

// storeLocked stores the pending batch holding the insert lock of each of
// its partitions. An insert skips the rows already stored (storage/
// clickhouse, idempotent.go), but that check and the insert are two steps:
// after a rebalance, the worker that lost a partition may still be
// inserting a batch the new owner was handed again, and both would see
// nothing stored and count it twice in the rollups. The lock makes the new
// owner wait, then see the rows. Taken in partition order, so two workers
// never wait on each other.
func (st *stream) storeLocked(ctx context.Context, msgs []kafkago.Message) error {
	locks := st.sink.deps.Locks
	if locks == nil {
		return st.pending.store(ctx)
	}
	var partitions []int
	for i := range msgs {
		if !slices.Contains(partitions, msgs[i].Partition) {
			partitions = append(partitions, msgs[i].Partition)
		}
	}
	slices.Sort(partitions)
	owner := st.sink.owner
	var held []string
	defer func() {
		relCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, name := range held {
			if err := locks.Unlock(relCtx, name, owner); err != nil {
				st.hotLog.Warn().Err(err).Msg("cannot release an insert lock; it runs out by itself")
			}
		}
	}()
	for _, p := range partitions {
		name := "sink:" + st.topic + ":" + strconv.Itoa(p)
		for {
			ok, err := locks.Lock(ctx, name, owner, insertLease)
			if err != nil {
				return err
			}
			if ok {
				held = append(held, name)
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for the insert lock of %s: %w", name, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	refreshed := make(chan struct{})
	stopRefresh := make(chan struct{})
	go func() {
		defer close(refreshed)
		tick := time.NewTicker(leaseRefresh)
		defer tick.Stop()
		for {
			select {
			case <-stopRefresh:
				return
			case <-tick.C:
				for _, name := range held {
					if _, err := locks.Extend(ctx, name, owner, insertLease); err != nil {
						st.hotLog.Warn().Err(err).Msg("cannot extend an insert lock")
					}
				}
			}
		}
	}()
	err := st.pending.store(ctx)
	close(stopRefresh)
	<-refreshed
	return err
}

func (st *stream) caughtUp() bool {
	ctx, cancel := context.WithTimeout(st.sink.hardCtx, 5*time.Second)
	defer cancel()
	up, err := st.consumer.CaughtUp(ctx)
	if err != nil {
		st.log.Warn().Err(err).Msg("cannot tell whether the topic is drained")
		return st.sink.hardCtx.Err() != nil
	}
	return up
}
