package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/clickrelay/clickrelay/api"
	"github.com/clickrelay/clickrelay/clickid"
	"github.com/clickrelay/clickrelay/ingest"
	"github.com/clickrelay/clickrelay/internal/promtext"
	"github.com/clickrelay/clickrelay/postback"
	"github.com/clickrelay/clickrelay/sink"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
	"github.com/clickrelay/clickrelay/storage/kafka"
	"github.com/clickrelay/clickrelay/storage/redis"
	"github.com/clickrelay/clickrelay/tracker"
)

// Roles of the binary.
const (
	roleAll     = "all"     // everything in one process
	roleServe   = "serve"   // HTTP: clicks, conversions, APIs
	roleWork    = "work"    // Kafka consumers: sink and postbacks
	roleMigrate = "migrate" // apply the ClickHouse schema and exit
	roleRestore = "restore" // rebuild Redis's entities, keys and secrets from the journal and exit
)

// The per-partition batch cap of the producers of conversions, events and
// attempts (see kafka.NewWriter).
const smallBatch = 64

// app holds the components of one process and stops them in order.
type app struct {
	role    string
	config  Config
	log     zerolog.Logger
	metrics *metrics.Set
	notice  io.Writer // where a generated admin key is printed, once

	redis      *redis.Component
	kafka      *kafka.Component
	clickhouse *clickhouse.Component
	tracker    *tracker.Tracker
	api        *api.Server
	sink       *sink.Sink
	postback   *postback.Worker
	writers    []*kafkago.Writer // serve's producers
	attempts   *kafkago.Writer   // work's producer

	// started is every component started so far, in order: stop walks it
	// backwards.
	started []component
}

// component is one step of the lifecycle: started by start, stopped by
// stop in reverse order, each bounded by the shutdown context.
type component struct {
	name string
	stop func(ctx context.Context) error
	// cut says what is given up when the step fails or the deadline cuts
	// it short, for the operator reading the log.
	cut string
	// engine marks a client of an engine: when the shutdown deadline
	// passes, it is closed at once, whatever step the stop is at, so that
	// calls blocked on an engine that does not answer (Redis frozen by
	// SIGSTOP: go-redis heeds a context's deadline, not its cancellation)
	// return and the steps before it end.
	engine bool
}

// onStop registers a started component.
func (a *app) onStop(name, cut string, stop func(ctx context.Context) error) {
	a.started = append(a.started, component{name: name, stop: stop, cut: cut})
}

// onStopEngine registers a started engine client (see component.engine).
func (a *app) onStopEngine(name string, stop func() error) {
	var once sync.Once
	var err error
	a.started = append(a.started, component{name: name, cut: "connections left to the exit", engine: true,
		stop: func(context.Context) error {
			once.Do(func() { err = stop() })
			return err
		}})
}

// noContext adapts a Stop or Close that takes no context: stop abandons it
// at the deadline all the same.
func noContext(fn func() error) func(context.Context) error {
	return func(context.Context) error { return fn() }
}

// start brings up what role needs. On error, what was started is stopped.
func (a *app) start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			stopCtx, cancel := a.shutdownContext()
			defer cancel()
			_ = a.stop(stopCtx) // each step logs its own failure
		}
	}()
	serve := a.role == roleAll || a.role == roleServe
	work := a.role == roleAll || a.role == roleWork
	if a.config.Kafka.IsEmbedded() && a.role != roleAll && a.role != roleMigrate && a.role != roleRestore {
		return errors.New("CLICKRELAY_KAFKA_BROKERS=embedded works only with `clickrelay all`: the embedded broker lives inside that one process")
	}

	a.clickhouse, err = clickhouse.New(clickhouse.Dependencies{Logger: a.log}, a.config.ClickHouse)
	if err != nil {
		return err
	}
	if a.role == roleMigrate {
		if err := a.reach(ctx, "ClickHouse", a.clickhouse.Start); err != nil {
			return err
		}
		a.onStopEngine("clickhouse", a.clickhouse.Stop)
		return a.clickhouse.Migrate(ctx)
	}
	// ClickHouse's entity journal is the durable copy of what Redis
	// serves: Redis starts after it, to restore from it if it lost its data.
	a.redis, err = redis.New(redis.Dependencies{Logger: a.log, Metrics: a.metrics, Journal: a.clickhouse}, a.config.Redis)
	if err != nil {
		return err
	}
	if a.role != roleRestore {
		if a.kafka, err = kafka.New(kafka.Dependencies{Logger: a.log}, a.config.Kafka); err != nil {
			return err
		}
	}
	if err := a.reach(ctx, "Redis", a.redis.Ping); err != nil {
		return fmt.Errorf("CLICKRELAY_REDIS_URL: cannot reach Redis: %w", err)
	}
	a.onStopEngine("redis", a.redis.Stop)
	if err := a.reach(ctx, "ClickHouse", a.clickhouse.Start); err != nil {
		return err
	}
	a.onStopEngine("clickhouse", a.clickhouse.Stop)
	if work {
		err = a.clickhouse.Migrate(ctx)
	} else {
		err = a.clickhouse.EnsureJournal(ctx)
	}
	if err != nil {
		return err
	}
	if a.role == roleRestore {
		return a.restore(ctx)
	}
	if err := a.redis.Start(ctx); err != nil {
		return err
	}
	if !a.config.Kafka.IsEmbedded() {
		if err := a.reach(ctx, "Kafka", a.kafka.Ping); err != nil {
			return err
		}
	}
	if err := a.kafka.Start(ctx); err != nil {
		return err
	}
	a.onStop("kafka", "the embedded broker, if any, left to the exit", noContext(a.kafka.Stop))

	if work {
		if err := a.startWork(); err != nil {
			return err
		}
	}
	if serve {
		if err := a.startServe(ctx); err != nil {
			return err
		}
	}
	if a.config.MetricsAddr != "" {
		if err := a.serveMetrics(); err != nil {
			return err
		}
	}
	a.log.Info().Str("role", a.role).Msg("clickrelay started")
	return nil
}

// restore rebuilds Redis from the entity journal, for `clickrelay restore`.
func (a *app) restore(ctx context.Context) error {
	report, err := a.redis.Restore(ctx)
	if err != nil {
		return err
	}
	if report.Total() == 0 {
		return errors.New("the entity journal holds nothing to restore")
	}
	a.log.Warn().Int("restored", report.Total()).Int("deletions", report.Deleted).Interface("by_kind", report.Restored).
		Msg("Redis restored from the entity journal")
	return nil
}

func (a *app) startWork() error {
	drain := a.kafka.Embedded()
	var err error
	a.sink, err = sink.New(sink.Dependencies{Logger: a.log, Metrics: a.metrics, Kafka: a.kafka,
		Warehouse: a.clickhouse, Locks: a.redis, Drain: drain}, a.config.Sink)
	if err != nil {
		return err
	}
	a.attempts = a.kafka.NewWriter(kafka.TopicAttempts, smallBatch)
	a.onStop("attempts producer", "delivery records not yet acknowledged are missing from the postback report", noContext(a.attempts.Close))
	a.postback, err = postback.New(postback.Dependencies{Logger: a.log, Metrics: a.metrics, Kafka: a.kafka,
		Catalog: a.redis.Catalog(), State: a.redis, Attempts: a.attempts, Drain: drain}, a.config.Postback)
	if err != nil {
		return err
	}
	a.sink.Start()
	a.onStop("sink", "batches not committed are redelivered at the next start (lost on an embedded broker without CLICKRELAY_KAFKA_EMBEDDED_DIR)", a.sink.Stop)
	a.postback.Start()
	a.onStop("postback worker", "conversions not committed are redelivered at the next start; scheduled retries stay in Redis", a.postback.Stop)
	return nil
}

func (a *app) startServe(ctx context.Context) error {
	secret := []byte(a.config.ClickSecret)
	if len(secret) == 0 {
		var err error
		if secret, err = a.redis.Secret(ctx, "clickid"); err != nil {
			return err
		}
	}
	minter, err := clickid.NewMinter(secret)
	if err != nil {
		return fmt.Errorf("CLICKRELAY_CLICK_SECRET: %w", err)
	}
	adminHash, err := a.adminKeyHash(ctx)
	if err != nil {
		return err
	}
	// The tracker gathers clicks into batches itself: they go out as they
	// are. Conversions and events come one at a time, to be batched.
	clicks := a.kafka.NewBatchProducer(kafka.TopicClicks)
	conversions, events := a.kafka.NewWriter(kafka.TopicConversions, smallBatch), a.kafka.NewWriter(kafka.TopicEvents, smallBatch)
	a.writers = []*kafkago.Writer{conversions, events}
	for _, w := range a.writers {
		a.onStop("producer "+w.Topic, "messages not acknowledged were answered 503", noContext(w.Close))
	}
	a.tracker, err = tracker.New(tracker.Dependencies{Logger: a.log, Metrics: a.metrics, Catalog: a.redis.Catalog(),
		Store: a.redis, Producer: clicks, Minter: minter}, a.config.Tracker)
	if err != nil {
		return err
	}
	intake, err := ingest.New(ingest.Dependencies{Logger: a.log, Metrics: a.metrics, Catalog: a.redis.Catalog(),
		Store: a.redis, Producer: conversions, Events: events, Minter: minter, Tests: a.redis,
		Conversions: a.clickhouse, Statuses: a.redis, Clicks: a.clickhouse}, a.config.Ingest)
	if err != nil {
		return err
	}
	a.api, err = api.New(api.Dependencies{
		Logger: a.log, Metrics: a.metrics, Store: a.redis, Clicks: a.tracker, Conversions: intake,
		Warehouse: a.clickhouse, TestSessions: intake, Statuses: intake, AdminKeyHash: adminHash, Limiter: a.redis,
		Postbacks:  postback.NewSender(a.config.Postback, a.log), // test postbacks go out as deliveries do
		DeadLetter: a.redis, Deliveries: a.clickhouse, SignedOut: a.redis,
		Checks: []api.Check{{Name: "redis", Ping: a.redis.Ping}, {Name: "clickhouse", Ping: a.clickhouse.Ping},
			{Name: "clicks", Ping: a.clickWrites}},
		MetricHelp: metricHelp(),
	}, a.config.API)
	if err != nil {
		return err
	}
	a.tracker.Start()
	a.onStop("click queues", "clicks not stored are counted in clickrelay_clicks_lost_total", a.tracker.Stop)
	if err := a.api.Start(); err != nil {
		return err
	}
	a.onStop("http server", "connections of requests still running were closed", a.api.Stop)
	return nil
}

// serveMetrics serves /metrics on CLICKRELAY_METRICS_ADDR, apart from the
// public port: what the API's /metrics answers, for every role.
func (a *app) serveMetrics() error {
	ln, err := net.Listen("tcp", a.config.MetricsAddr)
	if err != nil {
		return fmt.Errorf("CLICKRELAY_METRICS_ADDR: cannot listen on %s: %w", a.config.MetricsAddr, err)
	}
	help := promtext.Merge(promtext.RuntimeHelp(), api.MetricHelp(), metricHelp())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		promtext.Expose(w, a.metrics, help)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	a.onStop("metrics listener", "a scrape under way was cut", srv.Shutdown)
	a.log.Info().Str("addr", ln.Addr().String()).Msg("serving /metrics")
	return nil
}

// metricHelp describes every metric family a process may expose: each
// component's table. A component that adds metrics adds its table here; a
// family left out fails TestMetricsPassPromtool.
func metricHelp() promtext.Help {
	return promtext.Merge(tracker.MetricHelp(), ingest.MetricHelp(), postback.MetricHelp(), sink.MetricHelp(),
		redis.MetricHelp(), kafka.MetricHelp())
}

// clickWrites is the readiness of the click path's writes to Redis: a Redis
// that answers PING may still refuse writes (maxmemory with noeviction).
// Clicks still redirect then; /ready tells the load balancer and the
// operator, in words that name no internals.
func (a *app) clickWrites(context.Context) error {
	switch err := a.tracker.Ready(); {
	case errors.Is(err, tracker.ErrRedisFull):
		return &api.NotReady{Reason: "redis is full: clicks are kept in memory until it has room", Err: err}
	case err != nil:
		return &api.NotReady{Reason: "clicks are waiting for redis", Err: err}
	}
	return nil
}

// adminKeyHash is the SHA-256 of CLICKRELAY_ADMIN_KEY. Unset, `all` on the
// embedded broker generates a key at first start, prints it once, and keeps
// only its hash (in Redis) for later starts; any other setup refuses.
func (a *app) adminKeyHash(ctx context.Context) ([32]byte, error) {
	if a.config.AdminKey != "" {
		if len(a.config.AdminKey) < 16 {
			return [32]byte{}, errors.New("CLICKRELAY_ADMIN_KEY must be at least 16 characters")
		}
		return sha256.Sum256([]byte(a.config.AdminKey)), nil
	}
	if a.role != roleAll || !a.config.Kafka.IsEmbedded() {
		return [32]byte{}, errors.New("CLICKRELAY_ADMIN_KEY is not set (only `clickrelay all` on the embedded broker generates one)")
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return [32]byte{}, err
	}
	key := fmt.Sprintf("admin_%x", raw)
	fresh := sha256.Sum256([]byte(key))
	stored, created, err := a.redis.SecretIfAbsent(ctx, "admin-key-sha256", fresh[:])
	if err != nil {
		return [32]byte{}, err
	}
	var hash [32]byte
	if len(stored) != len(hash) {
		return hash, errors.New("the stored admin key hash is corrupt; set CLICKRELAY_ADMIN_KEY")
	}
	copy(hash[:], stored)
	if created {
		fmt.Fprintf(a.notice, "\n  CLICKRELAY_ADMIN_KEY was not set, so one was generated. It is shown this once:\n\n      %s\n\n  Only its hash is kept. Set CLICKRELAY_ADMIN_KEY to choose your own.\n\n", key)
	} else {
		a.log.Info().Msg("using the admin key generated at first start (set CLICKRELAY_ADMIN_KEY to replace it)")
	}
	return hash, nil
}

// stopGrace is how long past the shutdown deadline stop waits, in all, for
// steps that do not heed it, before it abandons them to the exit; each step
// after that gets stopStragglerWait. So a stop ends within
// CLICKRELAY_SHUTDOWN_TIMEOUT plus about a second whatever an engine does.
const (
	stopGrace         = 500 * time.Millisecond
	stopStragglerWait = 20 * time.Millisecond
)

// stop stops every started component in reverse order of start, which is
// the order data flows: no new requests (the handlers under way drained),
// then the click queues, the producers, the consumers (which, on the
// embedded broker, first drain their topics), and the engines. Every step
// gets ctx; a step that fails or is cut short is logged with what it gave
// up, and the steps after it still run (with ctx done, they stop at once).
// It returns what was given up, nil after a clean stop.
func (a *app) stop(ctx context.Context) error {
	var hard <-chan time.Time
	if deadline, ok := ctx.Deadline(); ok {
		t := time.NewTimer(time.Until(deadline) + stopGrace)
		defer t.Stop()
		hard = t.C
	}
	// At the deadline, the engines' clients close under whatever still
	// waits on them.
	interrupt := context.AfterFunc(ctx, func() {
		for _, c := range a.started {
			if c.engine {
				go func() { _ = c.stop(ctx) }()
			}
		}
	})
	defer interrupt()
	abandoning := false
	var gaveUp []error
	for i := len(a.started) - 1; i >= 0; i-- {
		c := a.started[i]
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- c.stop(ctx) }()
		var err error
		if abandoning {
			select {
			case err = <-done:
			case <-time.After(stopStragglerWait):
				err = errors.New("abandoned: the shutdown deadline has passed")
			}
		} else {
			select {
			case err = <-done:
			case <-hard:
				abandoning = true
				err = fmt.Errorf("abandoned %s after the shutdown deadline", stopGrace)
			}
		}
		if err != nil {
			a.log.Error().Err(err).Str("step", c.name).Str("gave_up", c.cut).Dur("took", time.Since(start)).Msg("shutdown step cut short")
			gaveUp = append(gaveUp, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(gaveUp...)
}

// shutdownContext bounds the whole shutdown.
func (a *app) shutdownContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), a.config.ShutdownTimeout)
}
