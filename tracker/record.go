package tracker

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/clickrelay/clickrelay/clickid"
	"github.com/clickrelay/clickrelay/internal/daemon"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// pendingClick is one click on its way to Redis and Kafka. It is pooled:
// the click path fills it, a flusher stores it in Redis, then a shipper
// writes it to Kafka and returns it to the pool.
type pendingClick struct {
	id      [clickid.Len]byte
	hot     []byte // the hot record (model.DecodeStoredClick) for Redis; empty: Kafka only (a click turned away)
	full    []byte // JSON for Kafka
	offerID string
	visitor uint64           // 0: not a candidate for unique (bots)
	caps    []redis.CapCount // the click caps it counts against
}

// recorder makes clicks durable behind the 302, which waits for nothing: a
// flusher gathers clicks for up to Linger (or MaxBatch of them) and stores
// them in Redis in one pipeline, so a click reaches Redis within about a
// millisecond and Redis sees a few large pipelines instead of many small
// ones. Then a shipper writes them to Kafka in larger batches still. A
// conversion quoting a click minted moments ago waits for it to land
// (ingest knows its mint time from the ID). What a crash loses is what is
// queued: README, "What a crash can lose".
//
// When Redis refuses a batch (down, frozen, full), the clicks still go on
// to Kafka, and copies wait in a retry list that a retry loop writes to
// Redis as soon as it answers again, oldest first, so a click answered with
// a 302 during the outage converts after it. Meanwhile the flushers do not
// ask Redis at all (the list is not empty): the click path never waits on a
// Redis that does not answer. What the list cannot hold, or still holds when
// a stop's deadline passes, is given up: those clicks are in Kafka all the
// same (shipped like any other), so they reach ClickHouse, where a
// conversion finds a click Redis lacks. Only what never reached Kafka is
// lost.
type recorder struct {
	config   Configuration
	store    clickStore
	producer producer
	metrics  *trackerMetrics
	report   recorderReports
	caps     clickCaps // nil: no caps

	pool sync.Pool
	// inflight counts record calls under way, so stop closes the queue
	// only once none can send on it; closed refuses the later ones.
	inflight atomic.Int64
	closed   atomic.Bool

	retryMu     sync.Mutex
	retries     [][]redis.ClickWrite // batches Redis refused, oldest first; copies
	retryClicks int
	retryWake   chan struct{}
	retrying    sync.WaitGroup

	queue chan *pendingClick
	ship  chan []*pendingClick // whole batches: one handoff per batch
	// spare holds the batch slices shippers are done with, for the
	// flushers to fill again: a new MaxBatch slice every Linger was the
	// click path's largest garbage of its own.
	spare chan []*pendingClick

	flushers sync.WaitGroup
	shippers sync.WaitGroup
	// stopCtx ends the shippers' retries when the shutdown deadline passes.
	stopCtx    context.Context
	stopCancel context.CancelFunc
}

// recorderReports tell the operator what happened to n clicks.
type recorderReports struct {
	// lost: answered with a 302 but stored neither in Redis nor in Kafka.
	lost func(n int, err error)
	// redisRefused: a batch Redis refused, to retry (called per batch:
	// rate-limit the log).
	redisRefused func(n int, err error)
	// redisGaveUp: clicks the retry list gave up on; they are in Kafka.
	redisGaveUp func(n int, err error)
	// failer hears of a loop that cannot go on (it panicked).
	failer daemon.Failer
}

func newRecorder(config Configuration, store clickStore, producer producer, m *trackerMetrics, report recorderReports) *recorder {
	r := &recorder{
		config:    config,
		store:     store,
		producer:  producer,
		metrics:   m,
		report:    report,
		queue:     make(chan *pendingClick, config.QueueSize),
		ship:      make(chan []*pendingClick, max(config.ShipQueueSize/config.MaxBatch, 1)),
		spare:     make(chan []*pendingClick, config.Flushers+config.Shippers+8),
		retryWake: make(chan struct{}, 1),
	}
	r.pool.New = func() any {
		return &pendingClick{hot: make([]byte, 0, 256), full: make([]byte, 0, 1024)}
	}
	r.stopCtx, r.stopCancel = context.WithCancel(context.Background())
	return r
}

func (r *recorder) start() {
	for range r.config.Flushers {
		r.flushers.Add(1)
		go r.flushLoop()
	}
	for range r.config.Shippers {
		r.shippers.Add(1)
		go r.shipLoop()
	}
	r.retrying.Add(1)
	go r.retryLoop()
}

func (r *recorder) get() *pendingClick {
	p := r.pool.Get().(*pendingClick)
	p.hot, p.full, p.caps = p.hot[:0], p.full[:0], p.caps[:0]
	return p
}

// record queues p; from then on p belongs to the recorder. It waits only
// when the queue is full (Redis or Kafka has fallen behind): backpressure
// rather than unbounded memory. It returns false, and the click must not
// be answered with a 302, once the recorder is stopping.
func (r *recorder) record(p *pendingClick) bool {
	r.inflight.Add(1)
	if r.closed.Load() {
		r.inflight.Add(-1)
		r.pool.Put(p)
		return false
	}
	select {
	case r.queue <- p:
	default:
		r.metrics.queueFull.Inc() // Redis or Kafka has fallen behind
		r.queue <- p
	}
	r.inflight.Add(-1)
	return true
}

// stop flushes every queued click to Redis and Kafka. Requests still under
// way are refused from now on (record returns false). When ctx ends first,
// every engine call still waiting is cut short: what did not reach Kafka,
// or Redis, is counted as lost, and stop returns at once.
func (r *recorder) stop(ctx context.Context) error {
	cut := context.AfterFunc(ctx, r.stopCancel)
	defer cut()
	r.closed.Store(true)
	// A record call that read closed as false may be sending: the queue is
	// closed only after it has. Flushers keep draining meanwhile, so this
	// ends (at once, once ctx has cut the engine calls short).
	for r.inflight.Load() > 0 {
		time.Sleep(100 * time.Microsecond)
	}
	close(r.queue)
	r.flushers.Wait()
	close(r.ship)
	r.shippers.Wait()
	close(r.retryWake)
	r.retrying.Wait()
	return ctx.Err()
}

func (r *recorder) flushLoop() {
	defer r.flushers.Done()
	defer daemon.Recover(r.report.failer, component)
	writes := make([]redis.ClickWrite, 0, r.config.MaxBatch)
	for p := range r.queue {
		batch := r.spareBatch() // handed to a shipper, which gives it back
		batch = gather(r.queue, append(batch, p), r.config.MaxBatch, r.config.Linger)
		writes = writes[:0]
		for _, p := range batch {
			if len(p.hot) > 0 {
				writes = append(writes, redis.ClickWrite{ID: p.id[:], Payload: p.hot, OfferID: p.offerID, Visitor: p.visitor, Caps: p.caps})
			}
		}
		var err error
		if len(writes) > 0 {
			err = errRedisBehind
			if !r.redisBehind() {
				ctx, cancel := context.WithTimeout(r.stopCtx, r.config.RedisTimeout)
				err = r.store.SaveClicks(ctx, writes)
				cancel()
				r.noteRedis(err)
			}
			r.metrics.redisBatch.Update(float64(len(writes)))
		}
		if err != nil {
			r.metrics.redisErrors.Add(len(writes))
			if err != errRedisBehind {
				r.report.redisRefused(len(writes), err)
			}
			r.retryLater(writes)
		}
		if err == nil {
			r.countedCaps(writes)
		}
		// writes lines up with the batch's clicks for Redis, in order.
		w := 0
		for _, p := range batch {
			if len(p.hot) == 0 {
				continue
			}
			if err == nil && writes[w].Unique {
				model.MarkClickMessageUnique(p.full) // written before Redis could answer
			}
			w++
		}
		// Ship even what Redis refused: the click was redirected, so it
		// must reach the warehouse.
		select {
		case r.ship <- batch:
		default:
			r.metrics.shipQueueFull.Inc() // Kafka has fallen behind
			r.ship <- batch
		}
	}
}

func (r *recorder) shipLoop() {
	defer r.shippers.Done()
	defer daemon.Recover(r.report.failer, component)
	msgs := make([]kafka.Message, 0, r.config.ShipBatch)
	var batches [][]*pendingClick
	for batch := range r.ship {
		// Take the batches already waiting too, up to ShipBatch clicks.
		batches = append(batches[:0], batch)
		n := len(batch)
	more:
		for n < r.config.ShipBatch {
			select {
			case b, ok := <-r.ship:
				if !ok {
					break more
				}
				batches = append(batches, b)
				n += len(b)
			default:
				break more
			}
		}
		msgs = msgs[:0]
		for _, b := range batches {
			for _, p := range b {
				msgs = append(msgs, kafka.Message{Key: p.id[:], Value: p.full})
			}
		}
		r.write(msgs)
		for _, b := range batches {
			for _, p := range b {
				r.pool.Put(p)
			}
			clear(b) // the pool owns the clicks now
			select {
			case r.spare <- b[:0]:
			default: // enough spares already
			}
		}
	}
}

// spareBatch returns an empty batch slice, one a shipper gave back when
// there is one.
func (r *recorder) spareBatch() []*pendingClick {
	select {
	case b := <-r.spare:
		return b
	default:
		return make([]*pendingClick, 0, r.config.MaxBatch)
	}
}

// errRedisBehind marks a batch not sent to Redis because earlier ones
// wait for it: it joins them in the retry list, in order.
var errRedisBehind = errors.New("earlier clicks are waiting for Redis")

// redisBehind reports whether clicks wait in the retry list.
func (r *recorder) redisBehind() bool {
	r.retryMu.Lock()
	defer r.retryMu.Unlock()
	return r.retryClicks > 0
}

// retryLater keeps copies of writes (their buffers go back to the pool
// once shipped) for the retry loop. Past RetryQueueSize clicks, they are
// lost: counted, and logged by the caller's logger.
// countedCaps hands what Redis answered for the clicks' caps to the caps.
func (r *recorder) countedCaps(writes []redis.ClickWrite) {
	if r.caps == nil {
		return
	}
	for _, w := range writes {
		if len(w.Caps) > 0 {
			r.caps.ClicksCounted(w.Caps)
		}
	}
}

func (r *recorder) retryLater(writes []redis.ClickWrite) {
	batch := make([]redis.ClickWrite, len(writes))
	for i, w := range writes {
		batch[i] = redis.ClickWrite{ID: append([]byte(nil), w.ID...), Payload: append([]byte(nil), w.Payload...), OfferID: w.OfferID, Visitor: w.Visitor,
			Caps: slices.Clone(w.Caps)}
	}
	r.retryMu.Lock()
	full := r.retryClicks+len(batch) > r.config.RetryQueueSize
	if !full {
		r.retries = append(r.retries, batch)
		r.retryClicks += len(batch)
		r.metrics.retryQueue.Set(uint64(r.retryClicks))
	}
	r.retryMu.Unlock()
	if full {
		r.metrics.redisGaveUp.Add(len(batch))
		r.report.redisGaveUp(len(batch), errors.New("the Redis retry list is full"))
		return
	}
	select {
	case r.retryWake <- struct{}{}:
	default:
	}
}

// retryLoop writes the retry list to Redis, oldest batch first, backing off
// while Redis refuses. At stop it goes on until the list is empty or the
// stop deadline passes; what is left then is lost.
func (r *recorder) retryLoop() {
	defer r.retrying.Done()
	defer daemon.Recover(r.report.failer, component)
	backoff := 50 * time.Millisecond
	wake := r.retryWake // nil once closed: stop has begun
	for {
		r.retryMu.Lock()
		var batch []redis.ClickWrite
		if len(r.retries) > 0 {
			batch = r.retries[0]
		}
		r.retryMu.Unlock()
		if batch == nil {
			if wake == nil {
				return
			}
			if _, ok := <-wake; !ok {
				wake = nil
			}
			continue
		}
		ctx, cancel := context.WithTimeout(r.stopCtx, r.config.RedisTimeout)
		err := r.store.SaveClicks(ctx, batch)
		cancel()
		r.noteRedis(err)
		if err == nil {
			r.countedCaps(batch)
			r.retryMu.Lock()
			r.retries = r.retries[1:]
			r.retryClicks -= len(batch)
			r.metrics.retryQueue.Set(uint64(r.retryClicks))
			r.retryMu.Unlock()
			r.metrics.redisRetried.Add(len(batch))
			backoff = 50 * time.Millisecond
			continue
		}
		if r.stopCtx.Err() != nil {
			r.retryMu.Lock()
			n := r.retryClicks
			r.retries, r.retryClicks = nil, 0
			r.metrics.retryQueue.Set(0)
			r.retryMu.Unlock()
			r.metrics.redisGaveUp.Add(n)
			r.report.redisGaveUp(n, err)
			return
		}
		select {
		case <-time.After(backoff):
		case <-r.stopCtx.Done():
		case _, ok := <-wake:
			if !ok {
				wake = nil
			}
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// gather appends to batch what queue holds now and, when that does not fill
// it, what arrives within linger, up to max in all. It sleeps through the
// linger rather than waiting on the queue, so clicks arriving meanwhile do
// not wake it one by one: one wake-up per batch, whatever the rate.
func gather(queue <-chan *pendingClick, batch []*pendingClick, max int, linger time.Duration) []*pendingClick {
	batch = takeQueued(queue, batch, max)
	if len(batch) >= max || linger <= 0 {
		return batch
	}
	time.Sleep(linger)
	return takeQueued(queue, batch, max)
}

// takeQueued appends to batch whatever queue holds right now, up to max in
// all, without waiting.
func takeQueued(queue <-chan *pendingClick, batch []*pendingClick, max int) []*pendingClick {
	for len(batch) < max {
		select {
		case q, ok := <-queue:
			if !ok {
				return batch
			}
			batch = append(batch, q)
		default:
			return batch
		}
	}
	return batch
}

// write retries until every message is acknowledged, or the shutdown
// deadline passes. Only the messages that failed are sent again, so a
// partial failure adds no duplicates.
func (r *recorder) write(msgs []kafka.Message) {
	backoff := 50 * time.Millisecond
	for {
		err := r.producer.WriteMessages(r.stopCtx, msgs...)
		if err == nil {
			r.metrics.shipped.Add(len(msgs))
			return
		}
		var failed []kafka.Message
		var perMessage kafka.WriteErrors
		if errors.As(err, &perMessage) && len(perMessage) == len(msgs) {
			for i, e := range perMessage {
				if e != nil {
					failed = append(failed, msgs[i])
				}
			}
			r.metrics.shipped.Add(len(msgs) - len(failed))
		} else {
			failed = append(failed, msgs...)
		}
		msgs = failed
		r.metrics.shipErrors.Inc()
		if r.stopCtx.Err() != nil {
			r.metrics.lost.Add(len(msgs))
			r.report.lost(len(msgs), err)
			return
		}
		select {
		case <-time.After(backoff):
		case <-r.stopCtx.Done():
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}
