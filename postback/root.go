// Package postback delivers affiliates' postbacks: for each conversion it
// finds the affiliate's matching postbacks, expands their macros, sends the
// GET, and retries with exponential backoff on network errors, timeouts,
// 429 and 5xx. Every attempt is logged to Kafka (and so to ClickHouse, for
// the seed 004 report). Pending retries live in Redis, so they survive a
// restart and any worker may take them.
package postback

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/clickrelay/clickrelay/internal/daemon"
	"github.com/clickrelay/clickrelay/internal/hotlog"
	"github.com/clickrelay/clickrelay/internal/promtext"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/kafka"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// catalog is where postbacks are read.
type catalog interface {
	Postbacks(affiliateID string) []*model.Postback
	Postback(id string) *model.Postback
	Affiliate(id string) *model.Affiliate // for its signing secret
}

// state records deliveries and holds the retry queue.
type state interface {
	Delivered(ctx context.Context, conversion, postback, event string) (bool, error)
	ScheduleRetry(ctx context.Context, due time.Time, job []byte) error
	TakeDueRetries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]string, error)
	FinishRetry(ctx context.Context, job string) error
	// The dead letter (deadletter.go); a landed delivery ends its
	// postback's run of failures; UpdateEntity disables a failing postback.
	AddDeadLetter(ctx context.Context, postbackID, deliveryID string, job []byte, now time.Time,
		limits redis.DeadLetterLimits, countFailure bool) (redis.DeadLetterAdd, error)
	RecordDelivered(ctx context.Context, conversion, postback, event string) error
	UpdateEntity(ctx context.Context, kind model.Kind, id string, change func(model.Entity) (model.Entity, error)) (model.Entity, error)
}

// consumers opens consumer groups.
type consumers interface {
	NewConsumer(group, topic string, fetch kafka.Fetch) *kafka.Consumer
	Eager() kafka.Fetch
}

// producer writes attempt records.
type producer interface {
	WriteMessages(ctx context.Context, msgs ...kafkago.Message) error
}

// Dependencies of the worker.
type Dependencies struct {
	Logger   zerolog.Logger
	Metrics  *metrics.Set
	Kafka    consumers
	Catalog  catalog
	State    state
	Attempts producer
	// Drain keeps consuming at Stop until the conversions topic is caught
	// up (the embedded broker keeps nothing after exit).
	Drain bool
	Now   func() time.Time
	// Failer hears of a loop or a delivery that cannot go on (it panicked).
	Failer daemon.Failer
}

// Worker delivers postbacks.
type Worker struct {
	config   Configuration
	log      zerolog.Logger
	catalog  catalog
	state    state
	attempts producer
	consumer *kafka.Consumer
	sender   *Sender
	drain    bool
	now      func() time.Time
	failer   daemon.Failer

	sem        chan struct{} // one token per request in flight
	hosts      *hostTable    // per receiver host: in-flight bound and backoff
	postponing chan struct{} // one token per deferral being written to Redis
	waiting    chan struct{} // one token per job waiting for room at its host
	commits    *commitTracker
	consumed   chan struct{} // closed when consume returns
	deliveries sync.WaitGroup
	loops      sync.WaitGroup
	stopCtx    context.Context
	stopCancel context.CancelFunc
	hardCtx    context.Context
	hardCancel context.CancelFunc

	// hotLog is log sampled: a dead Redis or receiver fails every job.
	hotLog zerolog.Logger

	delivered, failed, retried, skipped, scheduleErrors *metrics.Counter
	latency                                             *promtext.Histogram
	deadLettered, deadEvicted, disabled                 *metrics.Counter
	deferredBusy, deferredBackoff                       *metrics.Counter
}

// job is one postback to try for one conversion and event.
type job struct {
	Conversion model.Conversion `json:"conversion"`
	PostbackID string           `json:"postback_id"`
	Event      string           `json:"event"`
	Attempt    uint32           `json:"attempt"` // the attempt about to be made
	// Base is how many attempts earlier rounds made: a re-driven delivery
	// gets MaxAttempts more, numbered on from Base+1.
	Base uint32 `json:"base,omitempty"`
	// Reason is why it was last put in the dead letter (deadletter.go).
	Reason string `json:"reason,omitempty"`
}

// The consumer group every postback worker joins.
const group = "postback"

// component names the worker in the failures it reports.
const component = "postback worker"

// New prepares the worker; Start starts it.
func New(deps Dependencies, config Configuration) (*Worker, error) {
	if deps.Kafka == nil || deps.Catalog == nil || deps.State == nil || deps.Attempts == nil {
		return nil, errors.New("postback: kafka, catalog, state and attempts producer are required")
	}
	if config.MaxAttempts < 1 || config.Concurrency < 1 || config.Timeout <= 0 || config.RetryBase <= 0 {
		return nil, errors.New("postback: attempts, concurrency, timeout and retry base must be positive")
	}
	if config.HostConcurrency < 1 || config.HostFailures < 1 || config.HostBackoff <= 0 ||
		config.HostBackoffMax < config.HostBackoff || config.HostBusyDelay <= 0 || config.HostBusyWait < 0 {
		return nil, errors.New("postback: host concurrency, failures, backoff and busy delay must be positive, the busy wait not negative, and the backoff cap at least the backoff")
	}
	set := deps.Metrics
	if set == nil {
		set = metrics.NewSet()
	}
	w := &Worker{
		config:    config,
		log:       deps.Logger.With().Str("component", "postback").Logger(),
		catalog:   deps.Catalog,
		state:     deps.State,
		attempts:  deps.Attempts,
		consumer:  deps.Kafka.NewConsumer(group, kafka.TopicConversions, deps.Kafka.Eager()), // delivery within 500 ms
		sender:    NewSender(config, deps.Logger),
		drain:     deps.Drain,
		failer:    deps.Failer,
		now:       deps.Now,
		sem:       make(chan struct{}, config.Concurrency),
		commits:   newCommitTracker(),
		consumed:  make(chan struct{}),
		delivered: set.NewCounter(`clickrelay_postbacks_total{result="delivered"}`),
		failed:    set.NewCounter(`clickrelay_postbacks_total{result="failed"}`),
		retried:   set.NewCounter(`clickrelay_postbacks_total{result="retry_scheduled"}`),
		skipped:   set.NewCounter(`clickrelay_postbacks_total{result="already_delivered"}`),
		// Each failed try to queue a retry in Redis; the work is kept
		// uncommitted meanwhile.
		scheduleErrors: set.NewCounter(`clickrelay_postback_schedule_errors_total`),
		latency:        promtext.NewHistogram(set, `clickrelay_postback_request_seconds`, promtext.OutboundSeconds),
		deadLettered:   set.NewCounter(`clickrelay_postback_dead_lettered_total`),
		// Entries dropped from a dead letter past its cap or TTL.
		deadEvicted: set.NewCounter(`clickrelay_postback_dead_letter_evicted_total`),
		disabled:    set.NewCounter(`clickrelay_postbacks_disabled_total`),
		// Jobs put back in the retry queue, without a request nor using up
		// an attempt, because their receiver host could not take them.
		deferredBusy:    set.NewCounter(`clickrelay_postback_deferred_total{reason="host_busy"}`),
		deferredBackoff: set.NewCounter(`clickrelay_postback_deferred_total{reason="host_backoff"}`),
	}
	w.hotLog = hotlog.Sampled(w.log)
	kafka.RegisterLag(set, w.consumer)
	if w.now == nil {
		w.now = time.Now
	}
	// Deferrals share Redis's connection pool with the deliveries and the
	// intake: a host's backlog coming due at once must not take every
	// connection.
	w.postponing = make(chan struct{}, 8)
	w.waiting = make(chan struct{}, config.Concurrency)
	w.hosts = newHostTable(hostLimits{concurrency: config.HostConcurrency, failures: config.HostFailures,
		backoff: config.HostBackoff, backoffMax: config.HostBackoffMax, busyDelay: config.HostBusyDelay, probeWait: config.Timeout},
		w.now, w.hotLog)
	set.NewGauge(`clickrelay_postback_hosts_backed_off`, func() float64 { return float64(w.hosts.backedOffHosts()) })
	set.NewGauge(`clickrelay_postback_waiting_for_host`, func() float64 { return float64(len(w.waiting)) })
	w.stopCtx, w.stopCancel = context.WithCancel(context.Background())
	w.hardCtx, w.hardCancel = context.WithCancel(context.Background())
	return w, nil
}

// Start starts consuming conversions and polling the retry queue.
func (w *Worker) Start(context.Context) error {
	w.loops.Add(3)
	go func() {
		defer w.loops.Done()
		defer close(w.consumed)
		defer daemon.Recover(w.failer, component)
		w.consume()
	}()
	go func() { defer w.loops.Done(); defer daemon.Recover(w.failer, component); w.commitLoop() }()
	go func() { defer w.loops.Done(); defer daemon.Recover(w.failer, component); w.retryLoop() }()
	return nil
}

// Stop finishes the requests in flight and commits what is done; with
// Drain, it first consumes every conversion waiting. When ctx ends first,
// work left is redelivered (conversions) or stays queued (retries).
func (w *Worker) Stop(ctx context.Context) error {
	w.stopCancel()
	done := make(chan struct{})
	go func() { w.loops.Wait(); w.deliveries.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		w.hardCancel()
		<-done
	}
	w.hardCancel()
	w.commit() // what finished after the commit loop's last pass
	if cerr := w.consumer.Close(); cerr != nil && err == nil {
		err = cerr
	}
	w.sender.CloseIdleConnections()
	return err
}

func (w *Worker) consume() {
	for {
		stopping := w.stopCtx.Err() != nil
		if stopping && !w.drain || w.hardCtx.Err() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(w.hardCtx, 250*time.Millisecond)
		stop := func() bool { return false }
		if !w.drain {
			stop = context.AfterFunc(w.stopCtx, cancel)
		}
		m, err := w.consumer.FetchMessage(ctx)
		stop()
		cancel()
		if err != nil {
			if stopping && w.caughtUp() {
				return
			}
			continue
		}
		w.handle(m)
	}
}

// handle dispatches the postbacks a conversion message calls for; the
// message is done when they all are.
func (w *Worker) handle(m kafkago.Message) {
	f := w.commits.add(m)
	var conv model.Conversion
	if err := json.Unmarshal(m.Value, &conv); err != nil {
		w.hotLog.Error().Err(err).Int("partition", m.Partition).Int64("offset", m.Offset).Msg("skipping a conversion that does not decode")
		w.commits.done(f)
		return
	}
	jobs := w.match(&conv)
	if len(jobs) == 0 {
		w.commits.done(f)
		return
	}
	var remaining sync.WaitGroup
	var unsettled atomic.Bool
	remaining.Add(len(jobs))
	for _, j := range jobs {
		w.dispatch(j, nil, func(d disposition) {
			if d == kept {
				unsettled.Store(true)
			}
			remaining.Done()
		})
	}
	go func() {
		remaining.Wait()
		// A job neither delivered nor durably scheduled keeps its message
		// (and every later one of its partition) uncommitted: redelivered
		// at the next start, where delivered postbacks are skipped.
		if !unsettled.Load() {
			w.commits.done(f)
		}
	}()
}

// events lists the postback events a conversion version fires.
func events(c *model.Conversion) []string {
	var out []string
	if c.Version <= 1 {
		out = append(out, model.EventConversion)
	}
	switch c.Status {
	case model.ConversionApproved:
		out = append(out, model.EventApproved)
	case model.ConversionRejected, model.ConversionReversed:
		if c.Version > 1 {
			out = append(out, model.EventRejected)
		}
	}
	return out
}

// match lists the jobs a conversion calls for: each active postback of its
// affiliate, global or on its offer, whose event it reaches (and each
// disabled one, whose delivery deliver keeps in the dead letter). Test
// conversions fire nothing.
func (w *Worker) match(c *model.Conversion) []*job {
	// A conversion taken as rejected at intake (past a reached cap, outside
	// its offer's click-to-conversion bounds, from an address its
	// advertiser does not send from) was never the affiliate's: it fires
	// nothing, whatever its status later becomes.
	if c.Test || c.Reason != "" {
		return nil
	}
	var jobs []*job
	for _, event := range events(c) {
		for _, pb := range w.catalog.Postbacks(c.AffiliateID) {
			if (pb.Status == model.StatusActive || pb.Status == model.StatusDisabled) && pb.Event == event && (pb.OfferID == "" || pb.OfferID == c.OfferID) {
				jobs = append(jobs, &job{Conversion: *c, PostbackID: pb.ID, Event: event, Attempt: 1})
			}
		}
	}
	return jobs
}

// disposition is where a dispatched job ended up.
type disposition int

const (
	// kept: neither done nor durably queued (a stop's deadline came while
	// Redis refused it); its conversion stays uncommitted, or its leased
	// retry runs again when the lease runs out.
	kept disposition = iota
	// settled: delivered, given up, or its next attempt queued.
	settled
	// deferred: its receiver host could not take it now; it is back in the
	// retry queue as it was (raw, when it came from there), same attempt.
	deferred
)

// dispatch runs j when its receiver host and a global request slot can
// take it, then calls done with where j ended up. A job whose host is at
// its bound waits for room a moment (HostBusyWait) without holding a
// global slot, so a receiver slow for a few milliseconds gets its
// postbacks at once; past that wait, or when the host is backed off, the
// job goes back to the retry queue (raw is its queue entry when it came
// from there, nil otherwise), so the conversion's message can commit and
// other hosts' jobs go on.
func (w *Worker) dispatch(j *job, raw []byte, done func(disposition)) {
	pb, target := w.resolve(j)
	host := hostKey(target)
	slot, admission, retryAt := w.hosts.acquire(host)
	w.deliveries.Add(1)
	if admission == hostBusy {
		if room, ok := w.startWaiting(host); ok {
			go func() {
				slot, admission, retryAt := w.awaitRoom(host, room, retryAt)
				if admission != admitted {
					w.putBack(j, raw, admission, retryAt, done)
					return
				}
				w.sem <- struct{}{}
				w.run(j, pb, target, slot, done)
			}()
			return
		}
	}
	if admission != admitted {
		go w.putBack(j, raw, admission, retryAt, done)
		return
	}
	w.sem <- struct{}{}
	go w.run(j, pb, target, slot, done)
}

// run delivers j with its host slot and a global slot taken, and gives
// both back.
func (w *Worker) run(j *job, pb *model.Postback, target string, slot *hostSlot, done func(disposition)) {
	d := kept
	defer func() { slot.release(); <-w.sem; w.deliveries.Done(); done(d) }()
	defer daemon.Recover(w.failer, component)
	if w.deliver(j, pb, target, slot) {
		d = settled
	}
}

// putBack returns j to the retry queue, its host unable to take it.
func (w *Worker) putBack(j *job, raw []byte, why admission, retryAt time.Time, done func(disposition)) {
	d := kept
	w.postponing <- struct{}{}
	defer func() { <-w.postponing; w.deliveries.Done(); done(d) }()
	defer daemon.Recover(w.failer, component)
	if w.postpone(j, raw, why, retryAt) {
		d = deferred
	}
}

// startWaiting takes a place for a job to wait for room at its busy host:
// one of the worker's (as many as its global bound) and one of the host's
// (as many as its bound). No place, no wait: the job is put back.
func (w *Worker) startWaiting(host string) (<-chan struct{}, bool) {
	if w.config.HostBusyWait <= 0 {
		return nil, false
	}
	select {
	case w.waiting <- struct{}{}:
	default:
		return nil, false
	}
	room, ok := w.hosts.wait(host)
	if !ok {
		<-w.waiting
	}
	return room, ok
}

// awaitRoom waits, up to HostBusyWait and no longer than until the worker
// stops, for a request to host to end and admit the job in its place.
// Turned away, the job keeps retryAt, the due time its first try was given.
func (w *Worker) awaitRoom(host string, room <-chan struct{}, retryAt time.Time) (*hostSlot, admission, time.Time) {
	defer func() { w.hosts.endWait(host); <-w.waiting }()
	timeout := time.NewTimer(w.config.HostBusyWait)
	defer timeout.Stop()
	for {
		select {
		case <-room:
		case <-timeout.C:
			return nil, hostBusy, retryAt
		case <-w.stopCtx.Done():
			return nil, hostBusy, retryAt
		}
		if slot, admission, at := w.hosts.retake(host); admission != hostBusy {
			return slot, admission, at
		}
	}
}

// commitLoop commits finished messages every 100 ms until consuming ends;
// Stop commits what finishes after.
func (w *Worker) commitLoop() {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			w.commit()
		case <-w.consumed:
			return
		}
	}
}

func (w *Worker) commit() {
	msgs := w.commits.take()
	if len(msgs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.consumer.CommitMessages(ctx, msgs...); err != nil {
		w.log.Warn().Err(err).Msg("cannot commit offsets; those conversions will be redelivered and their delivered postbacks skipped")
	}
}

func (w *Worker) caughtUp() bool {
	if !w.commits.idle() {
		return false
	}
	w.commit()
	ctx, cancel := context.WithTimeout(w.hardCtx, 5*time.Second)
	defer cancel()
	up, err := w.consumer.CaughtUp(ctx)
	return err == nil && up
}

// retryLoop takes due retries from Redis. A leased job runs out after
// twice the request timeout, so one whose worker died is retried.
func (w *Worker) retryLoop() {
	tick := time.NewTicker(w.config.RetryPoll)
	defer tick.Stop()
	lease := 2*w.config.Timeout + 10*time.Second
	for ticks := 0; ; ticks++ {
		select {
		case <-tick.C:
		case <-w.stopCtx.Done():
			return
		}
		if ticks%64 == 0 {
			w.hosts.prune()
		}
		for {
			ctx, cancel := context.WithTimeout(w.stopCtx, 5*time.Second)
			leased, err := w.state.TakeDueRetries(ctx, w.now(), lease, 64)
			cancel()
			if err != nil {
				if w.stopCtx.Err() == nil {
					w.hotLog.Warn().Err(err).Msg("cannot read the retry queue")
				}
				break
			}
			for _, raw := range leased {
				var j job
				if err := json.Unmarshal([]byte(raw), &j); err != nil {
					w.log.Error().Err(err).Msg("dropping a retry that does not decode")
					w.finishRetry(raw)
					continue
				}
				w.dispatch(&j, []byte(raw), func(d disposition) {
					// Kept: its lease runs out and it is taken again.
					// Deferred: the same entry is due again later.
					if d == settled {
						w.finishRetry(raw)
					}
				})
			}
			if len(leased) < 64 {
				break
			}
		}
	}
}

func (w *Worker) finishRetry(raw string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.state.FinishRetry(ctx, raw); err != nil {
		w.hotLog.Warn().Err(err).Msg("cannot remove a finished retry; it will run again and be skipped if delivered")
	}
}
