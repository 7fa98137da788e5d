// Package tracker is the click hot path: it resolves a tracking link to an
// offer and an affiliate from the in-process catalog, mints a click ID,
// classifies the visitor, answers the 302, and makes the click durable
// behind it (Redis within about a millisecond, Kafka just after).
package tracker

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/clickrelay/clickrelay/clickid"
	"github.com/clickrelay/clickrelay/internal/daemon"
	"github.com/clickrelay/clickrelay/internal/hotlog"
	"github.com/clickrelay/clickrelay/internal/promtext"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/smartlink"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// catalog is what the click path reads entities from.
type catalog interface {
	OfferBytes(idOrSlug []byte) *model.Offer
	Offer(idOrSlug string) *model.Offer
	AffiliateBytes(id []byte) *model.Affiliate
	OfferAffiliateBytes(offerID string, affiliateID []byte) *model.OfferAffiliate
	// TrafficControls are the network's block lists; nil: none.
	TrafficControls() *model.TrafficControls
	SmartLinkBytes(idOrSlug []byte) *model.SmartLink
}

// clickCaps knows which click caps are reached, and counts clicks against
// them behind the 302 (caps.Caps).
type clickCaps interface {
	ClickCapped(offer *model.Offer, rec *model.OfferAffiliate, now time.Time) bool
	AppendClickCounts(dst []redis.CapCount, offer *model.Offer, rec *model.OfferAffiliate, now time.Time) []redis.CapCount
	ClicksCounted(counts []redis.CapCount)
}

// clickStore keeps click records where conversions find them.
type clickStore interface {
	SaveClicks(ctx context.Context, clicks []redis.ClickWrite) error
}

// producer writes to the clicks topic.
type producer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Dependencies of the tracker.
type Dependencies struct {
	Logger   zerolog.Logger
	Metrics  *metrics.Set
	Catalog  catalog
	Store    clickStore
	Producer producer
	Minter   *clickid.Minter
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Failer hears of a click queue that cannot go on (it panicked).
	Failer daemon.Failer
	// Caps turns away clicks past a reached click cap; nil: no caps.
	Caps clickCaps
	// EPC ranks the offers of EPC-mode smart links (smartlink.Refresher);
	// nil: they choose by weight.
	EPC smartlink.EPCs
	// Random draws smart links' choices; nil: math/rand/v2's.
	Random smartlink.Random
}

// component names the click queues in the failures they report.
const component = "click queues"

// Tracker serves /click.
type Tracker struct {
	config   Configuration
	log      zerolog.Logger
	catalog  catalog
	minter   *clickid.Minter
	now      func() time.Time
	location *time.Location // the network's, for day-parting
	agents   *agentCache
	recorder *recorder
	metrics  *trackerMetrics
	caps     clickCaps // nil: no caps
	chooser  smartlink.Chooser
}

// New returns a tracker; Start starts its flushers.
func New(deps Dependencies, config Configuration) (*Tracker, error) {
	if deps.Catalog == nil || deps.Store == nil || deps.Producer == nil || deps.Minter == nil {
		return nil, errors.New("tracker: catalog, store, producer and minter are required")
	}
	if config.Flushers < 1 || config.Shippers < 1 || config.MaxBatch < 1 || config.ShipBatch < 1 {
		return nil, errors.New("tracker: flushers, shippers and batch sizes must be at least 1")
	}
	set := deps.Metrics
	if set == nil {
		set = metrics.NewSet()
	}
	t := &Tracker{
		config:  config,
		log:     deps.Logger.With().Str("component", "tracker").Logger(),
		catalog: deps.Catalog,
		minter:  deps.Minter,
		now:     deps.Now,
		agents:  newAgentCache(config.AgentCacheSize),
		metrics: newTrackerMetrics(set),
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.location = config.Location; t.location == nil {
		t.location = time.UTC
	}
	// An outage repeats these per batch, every few milliseconds: sampled.
	sampled := hotlog.Sampled(t.log)
	t.recorder = newRecorder(config, deps.Store, deps.Producer, t.metrics, recorderReports{
		lost: func(n int, err error) {
			t.log.Error().Err(err).Int("clicks", n).Msg("clicks lost: answered with a 302 but not stored in Redis or Kafka (clickrelay_clicks_lost_total)")
		},
		redisRefused: func(n int, err error) {
			sampled.Warn().Err(err).Int("clicks", n).Msg("Redis refused clicks; they are retried until it answers, and reach ClickHouse meanwhile")
		},
		redisGaveUp: func(n int, err error) {
			t.log.Warn().Err(err).Int("clicks", n).Msg("clicks not stored in Redis (clickrelay_click_redis_gave_up_total): " +
				"they were sent to Kafka, and conversions find them in ClickHouse")
		},
		failer: deps.Failer,
	})
	t.caps, t.recorder.caps = deps.Caps, deps.Caps
	t.chooser = smartlink.Chooser{EPC: deps.EPC, Rand: deps.Random}
	return t, nil
}

// Start starts the flushers and shippers.
func (t *Tracker) Start(context.Context) error {
	t.recorder.start()
	return nil
}

// Stop writes every click already answered to Redis and Kafka. Call it after
// the HTTP server has stopped taking requests.
//
// Its error counts the clicks the stop had to give up, if any.
func (t *Tracker) Stop(ctx context.Context) error {
	lost, gaveUp := t.metrics.lost.Get(), t.metrics.redisGaveUp.Get()
	err := t.recorder.stop(ctx)
	lost, gaveUp = t.metrics.lost.Get()-lost, t.metrics.redisGaveUp.Get()-gaveUp
	if lost == 0 && gaveUp == 0 {
		return err
	}
	if err == nil {
		err = errors.New("the retry list was full")
	}
	return fmt.Errorf("%d clicks answered with a 302 lost (clickrelay_clicks_lost_total), %d not stored in Redis but sent to Kafka (clickrelay_click_redis_gave_up_total): %w",
		lost, gaveUp, err)
}

type trackerMetrics struct {
	redirects, notFound, fallbacks         *metrics.Counter
	offTarget, paused, blocked, capped     *metrics.Counter
	denied                                 *metrics.Counter
	redisErrors, shipped, shipErrors, lost *metrics.Counter
	redisGaveUp                            *metrics.Counter
	queueFull, shipQueueFull               *metrics.Counter
	redisRetried                           *metrics.Counter
	retryQueue                             *atomicGauge
	redisFull                              *atomicGauge
	redisBatch                             *promtext.Histogram
	smartLinkMetrics
}

// smartLinkMetrics count the smart links' clicks.
type smartLinkMetrics struct {
	// unrouted is clickrelay_clicks_total's: a smart link's visitor no
	// offer could take.
	unrouted *metrics.Counter
	// Each smart link click by what became of it.
	smartLinkRouted, smartLinkUnrouted, smartLinkPaused, smartLinkDenied *metrics.Counter
}

func newSmartLinkMetrics(set *metrics.Set) smartLinkMetrics {
	return smartLinkMetrics{
		unrouted:          set.NewCounter(`clickrelay_clicks_total{outcome="unrouted"}`),
		smartLinkRouted:   set.NewCounter(`clickrelay_smart_link_clicks_total{result="routed"}`),
		smartLinkUnrouted: set.NewCounter(`clickrelay_smart_link_clicks_total{result="unrouted"}`),
		smartLinkPaused:   set.NewCounter(`clickrelay_smart_link_clicks_total{result="paused"}`),
		smartLinkDenied:   set.NewCounter(`clickrelay_smart_link_clicks_total{result="denied"}`),
	}
}

// smartLinkOutcome is the counter of a smart link's clicks not routed to
// an offer, for outcome.
func (m *smartLinkMetrics) smartLinkOutcome(outcome string) *metrics.Counter {
	switch outcome {
	case model.ClickPaused:
		return m.smartLinkPaused
	case model.ClickDenied:
		return m.smartLinkDenied
	}
	return m.smartLinkUnrouted
}

func newTrackerMetrics(set *metrics.Set) *trackerMetrics {
	return &trackerMetrics{
		// Every click answered, by what became of it.
		redirects:   set.NewCounter(`clickrelay_clicks_total{outcome="redirected"}`),
		notFound:    set.NewCounter(`clickrelay_clicks_total{outcome="not_found"}`),
		offTarget:   set.NewCounter(`clickrelay_clicks_total{outcome="off_target"}`),
		paused:      set.NewCounter(`clickrelay_clicks_total{outcome="paused"}`),
		blocked:     set.NewCounter(`clickrelay_clicks_total{outcome="blocked"}`),
		capped:      set.NewCounter(`clickrelay_clicks_total{outcome="capped"}`),
		denied:      set.NewCounter(`clickrelay_clicks_total{outcome="denied"}`),
		fallbacks:   set.NewCounter(`clickrelay_click_fallbacks_total`),
		redisErrors: set.NewCounter(`clickrelay_click_redis_errors_total`),
		shipped:     set.NewCounter(`clickrelay_clicks_shipped_total`),
		shipErrors:  set.NewCounter(`clickrelay_click_ship_errors_total`),
		lost:        set.NewCounter(`clickrelay_clicks_lost_total`),
		// Clicks the Redis retry list gave up on (full, or a stop's
		// deadline): in Kafka, so in ClickHouse, where conversions find them.
		redisGaveUp: set.NewCounter(`clickrelay_click_redis_gave_up_total`),
		// Each time the click path (or a flusher) had to wait for room.
		queueFull:     set.NewCounter(`clickrelay_click_queue_full_total`),
		shipQueueFull: set.NewCounter(`clickrelay_click_ship_queue_full_total`),
		redisBatch:    promtext.NewHistogram(set, `clickrelay_click_redis_batch_size`, promtext.BatchSizes),
		// Clicks Redis refused at first and took on a retry, and those
		// waiting for it now.
		redisRetried: set.NewCounter(`clickrelay_click_redis_retried_total`),
		retryQueue:   newAtomicGauge(set, `clickrelay_click_redis_retry_queue`),
		// 1 while Redis refuses click writes for want of memory.
		redisFull:        newAtomicGauge(set, `clickrelay_redis_full`),
		smartLinkMetrics: newSmartLinkMetrics(set),
	}
}

// outcome is the counter of clicks turned away for outcome.
func (m *trackerMetrics) outcome(outcome string) *metrics.Counter {
	switch outcome {
	case model.ClickPaused:
		return m.paused
	case model.ClickBlocked:
		return m.blocked
	case model.ClickCapped:
		return m.capped
	case model.ClickDenied:
		return m.denied
	case model.ClickUnrouted:
		return m.unrouted
	}
	return m.offTarget
}

// atomicGauge is a gauge set from the code rather than read by a callback.
type atomicGauge struct{ v atomic.Uint64 }

func newAtomicGauge(set *metrics.Set, name string) *atomicGauge {
	g := &atomicGauge{}
	set.NewGauge(name, func() float64 { return float64(g.v.Load()) })
	return g
}

func (g *atomicGauge) Set(v uint64) { g.v.Store(v) }
