package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"slices"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/clickrelay/clickrelay/api"
	"github.com/clickrelay/clickrelay/caps"
	"github.com/clickrelay/clickrelay/clickid"
	"github.com/clickrelay/clickrelay/ingest"
	"github.com/clickrelay/clickrelay/internal/daemon"
	"github.com/clickrelay/clickrelay/internal/promtext"
	"github.com/clickrelay/clickrelay/postback"
	"github.com/clickrelay/clickrelay/sink"
	"github.com/clickrelay/clickrelay/smartlink"
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

// app holds the components of one process; its supervisor starts them in
// the order of the role's steps and stops them in reverse.
type app struct {
	role       string
	config     Config
	log        zerolog.Logger
	metrics    *metrics.Set
	notice     io.Writer // where a generated admin key is printed, once
	supervisor *daemon.Supervisor

	redis      *redis.Component
	kafka      *kafka.Component
	clickhouse *clickhouse.Component
	tracker    *tracker.Tracker
}

func newApp(role string, config Config, log zerolog.Logger, notice io.Writer) *app {
	return &app{role: role, config: config, log: log, metrics: metrics.NewSet(), notice: notice, supervisor: daemon.New(log)}
}

// step builds the next parts of a role, with what the parts before it,
// already started, provide (a secret kept in Redis, the catalog).
type step func(a *app, ctx context.Context) ([]daemon.Part, error)

// roles are the steps of each role, in start order. The engines' clients
// are prepared first, so that a setting missing from the configuration is
// named before any engine is waited for.
var roles = map[string][]step{
	roleMigrate: {(*app).newClickHouse, (*app).clickhouseEngine, (*app).schema},
	roleRestore: {(*app).newClickHouse, (*app).newRedis, (*app).redisEngine, (*app).clickhouseEngine, (*app).journal, (*app).restore},
	roleServe:   join(spine, (*app).journal, (*app).catalog, (*app).kafkaEngine, (*app).serveSide, (*app).debugListeners),
	roleWork:    join(spine, (*app).schema, (*app).catalog, (*app).kafkaEngine, (*app).workSide, (*app).debugListeners),
	roleAll: join(spine, (*app).schema, (*app).catalog, (*app).kafkaEngine, (*app).workSide, (*app).serveSide,
		(*app).debugListeners),
}

// spine is how every long-running role begins: the three engines'
// clients, then Redis and ClickHouse reached.
var spine = []step{(*app).newClickHouse, (*app).newRedis, (*app).newKafka, (*app).redisEngine, (*app).clickhouseEngine}

func join(first []step, then ...step) []step { return append(slices.Clip(first), then...) }

// start brings up what the role needs. On error, what was started is stopped.
func (a *app) start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			stopCtx, cancel := a.shutdownContext()
			defer cancel()
			_ = a.stop(stopCtx) // each step logs its own failure
		}
	}()
	if a.config.Kafka.IsEmbedded() && (a.role == roleServe || a.role == roleWork) {
		return errors.New("CLICKRELAY_KAFKA_BROKERS=embedded works only with `clickrelay all`: the embedded broker lives inside that one process")
	}
	for _, build := range roles[a.role] {
		parts, err := build(a, ctx)
		if err != nil {
			return err
		}
		if err := a.supervisor.Start(ctx, parts...); err != nil {
			return err
		}
	}
	if a.role != roleMigrate && a.role != roleRestore {
		a.log.Info().Str("role", a.role).Msg("clickrelay started")
	}
	return nil
}

// stop stops every started part in reverse order (daemon.Supervisor.Stop).
func (a *app) stop(ctx context.Context) error { return a.supervisor.Stop(ctx) }

// engine is an engine's client as a part: its start waits for the engine
// to answer (reach), and it is closed at once at the stop deadline.
func (a *app) engine(name, engine string, c daemon.Component, ping func(context.Context) error) daemon.Part {
	return daemon.Part{Name: name, Engine: true, GivesUp: "connections left to the exit",
		Component: daemon.Hook{
			OnStart: func(ctx context.Context) error {
				if err := a.reach(ctx, engine, ping); err != nil {
					return err
				}
				return c.Start(ctx)
			},
			OnStop: c.Stop,
		}}
}

// newClickHouse, newRedis and newKafka prepare the engines' clients: each
// checks its settings, and none connects yet.
func (a *app) newClickHouse(context.Context) ([]daemon.Part, error) {
	var err error
	a.clickhouse, err = clickhouse.New(clickhouse.Dependencies{Logger: a.log}, a.config.ClickHouse)
	return nil, err
}

// newRedis prepares Redis, ClickHouse's entity journal its durable copy.
func (a *app) newRedis(context.Context) ([]daemon.Part, error) {
	var err error
	a.redis, err = redis.New(redis.Dependencies{Logger: a.log, Metrics: a.metrics, Journal: a.clickhouse, Failer: a.supervisor}, a.config.Redis)
	return nil, err
}

func (a *app) newKafka(context.Context) ([]daemon.Part, error) {
	var err error
	a.kafka, err = kafka.New(kafka.Dependencies{Logger: a.log}, a.config.Kafka)
	return nil, err
}

// redisEngine reaches Redis. Stopping it ends the catalog's follower too.
func (a *app) redisEngine(context.Context) ([]daemon.Part, error) {
	ping := func(ctx context.Context) error {
		if err := a.redis.Ping(ctx); err != nil {
			return fmt.Errorf("CLICKRELAY_REDIS_URL: cannot reach Redis: %w", err)
		}
		return nil
	}
	return []daemon.Part{a.engine("redis", "Redis", daemon.Hook{OnStop: a.redis.Stop}, ping)}, nil
}

// clickhouseEngine reaches ClickHouse.
func (a *app) clickhouseEngine(context.Context) ([]daemon.Part, error) {
	// Connecting is what answers: the start is reached, then done.
	return []daemon.Part{a.engine("clickhouse", "ClickHouse", daemon.Hook{OnStop: a.clickhouse.Stop}, a.clickhouse.Start)}, nil
}

// schema applies the ClickHouse schema (migrate, work and all).
func (a *app) schema(context.Context) ([]daemon.Part, error) {
	return []daemon.Part{{Name: "schema", Component: daemon.Hook{OnStart: a.clickhouse.Migrate}}}, nil
}

// journal makes sure the entity journal exists (serve and restore), which
// Redis is restored from and written through.
func (a *app) journal(context.Context) ([]daemon.Part, error) {
	return []daemon.Part{{Name: "entity journal", Component: daemon.Hook{OnStart: a.clickhouse.EnsureJournal}}}, nil
}

// catalog loads the entities from Redis, restoring Redis from the journal
// first if it lost its data, and follows their changes. Its follower ends
// with the redis part.
func (a *app) catalog(context.Context) ([]daemon.Part, error) {
	return []daemon.Part{{Name: "catalog", Component: daemon.Hook{OnStart: a.redis.Start}}}, nil
}

// kafkaEngine reaches the brokers (or starts the embedded one) and creates
// the topics.
func (a *app) kafkaEngine(context.Context) ([]daemon.Part, error) {
	ping := a.kafka.Ping
	if a.config.Kafka.IsEmbedded() {
		ping = func(context.Context) error { return nil } // Start starts it
	}
	part := a.engine("kafka", "Kafka", a.kafka, ping)
	// The embedded broker is not a client: stopped in its turn, after the
	// consumers that drain it, never at the deadline under them.
	part.Engine, part.GivesUp = false, "the embedded broker, if any, left to the exit"
	return []daemon.Part{part}, nil
}

// restore rebuilds Redis from the entity journal, for `clickrelay restore`.
func (a *app) restore(context.Context) ([]daemon.Part, error) {
	return []daemon.Part{{Name: "restore", Component: daemon.Hook{OnStart: a.restoreRedis}}}, nil
}

func (a *app) restoreRedis(ctx context.Context) error {
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

// workSide is the consumers: the ClickHouse sink and the postback worker
// with its attempts producer.
func (a *app) workSide(context.Context) ([]daemon.Part, error) {
	drain := a.kafka.Embedded()
	clickhouseSink, err := sink.New(sink.Dependencies{Logger: a.log, Metrics: a.metrics, Kafka: a.kafka,
		Warehouse: a.clickhouse, Locks: a.redis, Drain: drain, Failer: a.supervisor}, a.config.Sink)
	if err != nil {
		return nil, err
	}
	attempts := a.kafka.NewWriter(kafka.TopicAttempts, smallBatch)
	worker, err := postback.New(postback.Dependencies{Logger: a.log, Metrics: a.metrics, Kafka: a.kafka,
		Catalog: a.redis.Catalog(), State: a.redis, Attempts: attempts, Drain: drain, Failer: a.supervisor}, a.config.Postback)
	if err != nil {
		return nil, err
	}
	return []daemon.Part{
		{Name: "attempts producer", Component: producer(attempts),
			GivesUp: "delivery records not yet acknowledged are missing from the postback report"},
		{Name: "sink", Component: clickhouseSink,
			GivesUp: "batches not committed are redelivered at the next start (lost on an embedded broker without CLICKRELAY_KAFKA_EMBEDDED_DIR)"},
		{Name: "postback worker", Component: worker,
			GivesUp: "conversions not committed are redelivered at the next start; scheduled retries stay in Redis"},
	}, nil
}

// producer is a Kafka producer as a part: nothing to start, closed at stop.
func producer(w *kafkago.Writer) daemon.Component {
	return daemon.Hook{OnStop: func(context.Context) error { return w.Close() }}
}

// serveSide is the HTTP side: the click queues, the conversion intake with
// its producers, and the HTTP server.
func (a *app) serveSide(ctx context.Context) ([]daemon.Part, error) {
	secret := []byte(a.config.ClickSecret)
	if len(secret) == 0 {
		var err error
		if secret, err = a.redis.Secret(ctx, "clickid"); err != nil {
			return nil, err
		}
	}
	minter, err := clickid.NewMinter(secret)
	if err != nil {
		return nil, fmt.Errorf("CLICKRELAY_CLICK_SECRET: %w", err)
	}
	adminHash, err := a.adminKeyHash(ctx)
	if err != nil {
		return nil, err
	}
	// The tracker gathers clicks into batches itself: they go out as they
	// are. Conversions and events come one at a time, to be batched.
	clicks := a.kafka.NewBatchProducer(kafka.TopicClicks)
	conversions, events := a.kafka.NewWriter(kafka.TopicConversions, smallBatch), a.kafka.NewWriter(kafka.TopicEvents, smallBatch)
	networkCaps, err := caps.New(caps.Dependencies{Logger: a.log, Metrics: a.metrics, Store: a.redis, Catalog: a.redis.Catalog(),
		Warehouse: a.clickhouse, Failer: a.supervisor}, a.config.Caps)
	if err != nil {
		return nil, err
	}
	epc, err := smartlink.New(smartlink.Dependencies{Logger: a.log, Metrics: a.metrics, Catalog: a.redis.Catalog(),
		Warehouse: a.clickhouse, Failer: a.supervisor}, a.config.SmartLinks)
	if err != nil {
		return nil, err
	}
	a.tracker, err = tracker.New(tracker.Dependencies{Logger: a.log, Metrics: a.metrics, Catalog: a.redis.Catalog(),
		Store: a.redis, Producer: clicks, Minter: minter, Failer: a.supervisor, Caps: networkCaps, EPC: epc}, a.config.Tracker)
	if err != nil {
		return nil, err
	}
	intake, err := ingest.New(ingest.Dependencies{Logger: a.log, Metrics: a.metrics, Catalog: a.redis.Catalog(),
		Store: a.redis, Producer: conversions, Events: events, Minter: minter, Tests: a.redis,
		Conversions: a.clickhouse, Statuses: a.redis, Clicks: a.clickhouse, Caps: networkCaps}, a.config.Ingest)
	if err != nil {
		return nil, err
	}
	server, err := api.New(api.Dependencies{
		Logger: a.log, Metrics: a.metrics, Store: a.redis, Clicks: a.tracker, Conversions: intake,
		Warehouse: a.clickhouse, TestSessions: intake, Statuses: intake, AdminKeyHash: adminHash, Limiter: a.redis,
		Postbacks:  postback.NewSender(a.config.Postback, a.log), // test postbacks go out as deliveries do
		DeadLetter: a.redis, Deliveries: a.clickhouse, SignedOut: a.redis,
		Checks: []api.Check{{Name: "redis", Ping: a.redis.Ping}, {Name: "clickhouse", Ping: a.clickhouse.Ping},
			{Name: "clicks", Ping: a.clickWrites}},
		MetricHelp: metricHelp(), Failer: a.supervisor, Caps: networkCaps,
	}, a.config.API)
	if err != nil {
		return nil, err
	}
	const unanswered = "messages not acknowledged were answered 503"
	return []daemon.Part{
		{Name: "producer " + conversions.Topic, Component: producer(conversions), GivesUp: unanswered},
		{Name: "producer " + events.Topic, Component: producer(events), GivesUp: unanswered},
		{Name: "caps", Component: networkCaps},
		{Name: "smart link EPCs", Component: epc},
		{Name: "click queues", Component: a.tracker, GivesUp: "clicks not stored are counted in clickrelay_clicks_lost_total"},
		{Name: "conversion intake", Component: intake},
		{Name: "http server", Component: server, GivesUp: "connections of requests still running were closed"},
	}, nil
}

// debugListeners are the optional listeners apart from the public port:
// /metrics on CLICKRELAY_METRICS_ADDR (what the API's /metrics answers, for
// every role: how Prometheus scrapes a work process), and Go's profiler on
// CLICKRELAY_PPROF_ADDR.
func (a *app) debugListeners(context.Context) ([]daemon.Part, error) {
	var parts []daemon.Part
	if a.config.MetricsAddr != "" {
		help := promtext.Merge(promtext.RuntimeHelp(), api.MetricHelp(), metricHelp())
		mux := http.NewServeMux()
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			promtext.Expose(w, a.metrics, help)
		})
		parts = append(parts, daemon.Part{Name: "metrics listener", GivesUp: "a scrape under way was cut",
			Component: a.sideListener("metrics listener", "CLICKRELAY_METRICS_ADDR", a.config.MetricsAddr, mux)})
	}
	if a.config.PprofAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		parts = append(parts, daemon.Part{Name: "pprof listener", GivesUp: "a profile under way was cut",
			Component: a.sideListener("pprof listener", "CLICKRELAY_PPROF_ADDR", a.config.PprofAddr, mux)})
	}
	return parts, nil
}

// metricHelp describes every metric family a process may expose: each
// component's table. A component that adds metrics adds its table here; a
// family left out fails TestMetricsPassPromtool.
func metricHelp() promtext.Help {
	return promtext.Merge(tracker.MetricHelp(), ingest.MetricHelp(), postback.MetricHelp(), sink.MetricHelp(),
		redis.MetricHelp(), kafka.MetricHelp(), caps.MetricHelp(), smartlink.MetricHelp())
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

// shutdownContext bounds the whole shutdown.
func (a *app) shutdownContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), a.config.ShutdownTimeout)
}
