// Package caps counts what offers, and affiliates on them, take per period
// against their caps, and tells the click path which click caps are
// reached.
//
// Conversion caps are exact: the intake adds a conversion to its counters
// in the script that takes its dedupe claims (ConversionCounts, and
// storage/redis's Claim). Click caps cannot be without making the 302 wait
// on Redis: the click path asks only this process's memory whether a cap is
// reached (ClickCapped: the total Redis last answered this process, and the
// clicks it let through since), each click is counted behind the 302 with
// the Redis write that stores it (AppendClickCounts, then ClicksCounted),
// and a counter that reaches its limit is broadcast to every process, which
// also reads the click caps' counters every Refresh. The overshoot is what
// the other processes let through that a process had not heard of yet (the
// README states it as measured).
//
// Redis is not the only copy: when Redis has lost the counters (a mark
// kept with them is missing), the counts of every cap's current period are
// rebuilt from ClickHouse, as entities are from the journal.
package caps

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/internal/daemon"
	"github.com/clickrelay/clickrelay/internal/hotlog"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// store keeps the counters (storage/redis).
type store interface {
	CapKey(advertiser, counter string) string
	CapTotals(ctx context.Context, keys []string) ([]int64, error)
	SetCapTotals(ctx context.Context, counts []redis.CapCount) error
	CapsBuilt(ctx context.Context) (bool, error)
	PublishCapReached(ctx context.Context, key string)
	Lock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	Unlock(ctx context.Context, name, owner string) error
}

// catalog is where offers and affiliates' records on them are found.
type catalog interface {
	Offers() []*model.Offer
	OfferAffiliatesWhere(keep func(*model.OfferAffiliate) bool) []*model.OfferAffiliate
	OnCapReached(fn func(key string))
}

// warehouse answers what was taken since a time, to rebuild counters.
type warehouse interface {
	CapUsage(ctx context.Context, from time.Time, offerIDs []string) ([]clickhouse.CapUsage, error)
}

// Dependencies of the caps.
type Dependencies struct {
	Logger    zerolog.Logger
	Metrics   *metrics.Set
	Store     store
	Catalog   catalog
	Warehouse warehouse
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Failer daemon.Failer
}

// Caps is one process's view of every cap.
type Caps struct {
	config Configuration
	deps   Dependencies
	log    zerolog.Logger
	hotLog zerolog.Logger
	now    func() time.Time
	owner  string // this process, for the rebuild's lock

	// scopes holds each offer's and each record's compiled caps, by the
	// catalog's entity (a pointer: looking one up costs the click path no
	// allocation; an updated entity is a new one, and refresh forgets the
	// old); periods holds each cap's current period, by counter key.
	scopes  sync.Map // model.Entity → *scope
	periods sync.Map // string → *period

	cancel context.CancelFunc
	done   chan struct{}

	reached, rebuilds, refreshErrors *metrics.Counter
}

// scope is the caps of one offer (name "o:<offer>") or of one affiliate on
// it ("a:<offer>:<affiliate>"), compiled from that catalog entity.
type scope struct {
	source     model.Entity // the entity compiled: one updated replaces it
	name       string
	advertiser string
	caps       []model.Cap
	current    []atomic.Pointer[period] // per cap
}

// period is one cap's counter in its current period.
type period struct {
	key     string
	limit   int64
	end     time.Time // zero for a total
	reached atomic.Bool
	// announced: this process broadcast the limit reached, once.
	announced atomic.Bool
	// expiryAt is when this process last asked Redis to set the counter's
	// expiry with a click's count (Unix nanoseconds; clickExpiry).
	expiryAt atomic.Int64
	*tally   // shared by the states of one counter (a limit changed)
}

// tally is where a click cap's counter stands as this process knows it:
// known, the total Redis last answered (a write of this process's clicks,
// or a refresh); inFlight, the clicks this process let through since that
// Redis has not counted yet. A process turns clicks away once the two
// reach the limit, without waiting for Redis to say so: what the others
// let through meanwhile is all the overshoot.
type tally struct {
	known, inFlight atomic.Int64
}

// full reports whether the clicks known and in flight reach the limit.
func (p *period) full() bool { return p.known.Load()+p.inFlight.Load() >= p.limit }

// learn raises known to total: a total read before this process's last
// writes answered is lower than one they answered, never news.
func (p *period) learn(total int64) {
	for {
		k := p.known.Load()
		if total <= k || p.known.CompareAndSwap(k, total) {
			return
		}
	}
}

// New prepares the caps; Start follows broadcasts and refreshes counters.
func New(deps Dependencies, config Configuration) (*Caps, error) {
	if config.Location == nil {
		config.Location = time.UTC
	}
	if config.Refresh <= 0 {
		config.Refresh = DefaultConfiguration().Refresh
	}
	if deps.Metrics == nil {
		deps.Metrics = metrics.NewSet()
	}
	owner := make([]byte, 8)
	_, _ = rand.Read(owner)
	c := &Caps{
		config:        config,
		deps:          deps,
		log:           deps.Logger.With().Str("component", "caps").Logger(),
		now:           deps.Now,
		owner:         hex.EncodeToString(owner),
		reached:       deps.Metrics.NewCounter(`clickrelay_click_caps_reached_total`),
		rebuilds:      deps.Metrics.NewCounter(`clickrelay_cap_rebuilds_total`),
		refreshErrors: deps.Metrics.NewCounter(`clickrelay_cap_refresh_errors_total`),
	}
	c.hotLog = hotlog.Sampled(c.log)
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Location is the network's time zone.
func (c *Caps) Location() *time.Location { return c.config.Location }

// Start follows the broadcasts of reached caps and refreshes the click
// caps' counters every Refresh. The first refresh runs before Start
// returns, so that counters Redis lost are rebuilt before the process
// counts anything (when it fails, the refreshes after retry it).
func (c *Caps) Start(ctx context.Context) error {
	if c.deps.Store == nil || c.deps.Catalog == nil {
		return nil // a process that only reads caps' definitions
	}
	c.deps.Catalog.OnCapReached(c.reachedElsewhere)
	c.refresh(ctx)
	runCtx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{})
	go func() {
		defer close(c.done)
		defer daemon.Recover(c.deps.Failer, "caps")
		tick := time.NewTicker(c.config.Refresh)
		defer tick.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-tick.C:
			}
			c.refresh(runCtx)
		}
	}()
	return nil
}

// Stop ends the refresher, at once: counters live in Redis.
func (c *Caps) Stop(ctx context.Context) error {
	if c.cancel == nil {
		return nil
	}
	c.cancel()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// scopeOf is the compiled caps of rec (the affiliate's record on offer),
// or of offer when rec is nil.
func (c *Caps) scopeOf(offer *model.Offer, rec *model.OfferAffiliate) *scope {
	var source model.Entity = offer
	if rec != nil {
		source = rec
	}
	if v, ok := c.scopes.Load(source); ok {
		if sc := v.(*scope); sc.advertiser == offer.AdvertiserID {
			return sc
		}
	}
	name, caps := "o:"+offer.ID, offer.Caps
	if rec != nil {
		name, caps = "a:"+offer.ID+":"+rec.AffiliateID, rec.Caps
	}
	sc := &scope{source: source, name: name, advertiser: offer.AdvertiserID, caps: caps, current: make([]atomic.Pointer[period], len(caps))}
	c.scopes.Store(source, sc)
	return sc
}

// period is cap i of sc in the period holding now.
func (c *Caps) period(sc *scope, i int, now time.Time) *period {
	p := sc.current[i].Load()
	if p != nil && (p.end.IsZero() || now.Before(p.end)) {
		return p
	}
	cp := sc.caps[i]
	key, end := model.PeriodKey(cp.Period, now, c.config.Location)
	next := &period{key: c.deps.Store.CapKey(sc.advertiser, sc.name+":"+cp.Metric+":"+key), limit: cp.Units(), end: end, tally: &tally{}}
	if v, ok := c.periods.Load(next.key); ok {
		next = v.(*period) // the same counter, known already (a recompiled scope)
		if next.limit != cp.Units() {
			// A limit changed: judged again, on the same count.
			next = &period{key: next.key, limit: cp.Units(), end: end, tally: next.tally}
		}
	}
	if sc.current[i].CompareAndSwap(p, next) {
		c.periods.Store(next.key, next)
		if p != nil && p.key != next.key {
			c.periods.Delete(p.key)
		}
		return next
	}
	return sc.current[i].Load()
}

// ttl is how long a counter of period p lives past now: to its period's
// end and a day, for reading it back (0: a total, for ever).
func ttl(p *period, now time.Time) time.Duration {
	if p.end.IsZero() {
		return 0
	}
	return p.end.Sub(now) + 24*time.Hour
}

// clickExpiry is the expiry a click's count asks Redis to set on its
// counter: at most once a minute per process and counter, not with every
// click (a PEXPIRE per counter per click was most of a capped click's
// Redis commands). A counter Redis recreated meanwhile (evicted, flushed)
// gets its expiry within the minute; the period's end is a day away.
func clickExpiry(p *period, now time.Time) time.Duration {
	if p.end.IsZero() {
		return 0
	}
	last, n := p.expiryAt.Load(), now.UnixNano()
	if n-last < int64(time.Minute) || !p.expiryAt.CompareAndSwap(last, n) {
		return 0
	}
	return ttl(p, now)
}

// scopes are offer's and, when it has a record, its affiliate's.
func (c *Caps) scopesOf(offer *model.Offer, rec *model.OfferAffiliate) [2]*scope {
	var out [2]*scope
	if len(offer.Caps) > 0 {
		out[0] = c.scopeOf(offer, nil)
	}
	if rec != nil && len(rec.Caps) > 0 {
		out[1] = c.scopeOf(offer, rec)
	}
	return out
}

// ClickCapped reports whether a click cap of offer, or of the affiliate on
// it (rec, nil when it has no record), is reached in its current period,
// as this process knows (its clicks in flight included): it never waits
// on Redis.
func (c *Caps) ClickCapped(offer *model.Offer, rec *model.OfferAffiliate, now time.Time) bool {
	if len(offer.Caps) == 0 && (rec == nil || len(rec.Caps) == 0) {
		return false
	}
	for _, sc := range c.scopesOf(offer, rec) {
		if sc == nil {
			continue
		}
		for i, cp := range sc.caps {
			if cp.Metric != model.CapClicks {
				continue
			}
			if p := c.period(sc, i, now); p.reached.Load() || p.full() {
				return true
			}
		}
	}
	return false
}

// AppendClickCounts appends to dst the click caps a click on offer by the
// affiliate with record rec counts against, and takes its place in them
// here at once (in flight, until ClicksCounted).
func (c *Caps) AppendClickCounts(dst []redis.CapCount, offer *model.Offer, rec *model.OfferAffiliate, now time.Time) []redis.CapCount {
	return c.appendCounts(dst, offer, rec, now, true, 0, 0)
}

// ConversionCounts are the caps a conversion on offer by the affiliate
// with record rec counts against, with what it adds to each: 1, or its
// payout or revenue in micros (a money cap is checked even when it adds
// nothing: a reached one takes nothing more).
func (c *Caps) ConversionCounts(offer *model.Offer, rec *model.OfferAffiliate, payout, revenue int64, now time.Time) []redis.CapCount {
	return c.appendCounts(nil, offer, rec, now, false, payout, revenue)
}

// appendCounts appends the counters of the click caps (clicks) or of the
// other caps, with what a click or the conversion adds to each.
func (c *Caps) appendCounts(dst []redis.CapCount, offer *model.Offer, rec *model.OfferAffiliate, now time.Time,
	clicks bool, payout, revenue int64) []redis.CapCount {
	if len(offer.Caps) == 0 && (rec == nil || len(rec.Caps) == 0) {
		return dst
	}
	for _, sc := range c.scopesOf(offer, rec) {
		if sc == nil {
			continue
		}
		for i, cp := range sc.caps {
			if (cp.Metric == model.CapClicks) != clicks {
				continue
			}
			add := int64(1)
			switch cp.Metric {
			case model.CapPayout:
				add = max(payout, 0)
			case model.CapRevenue:
				add = max(revenue, 0)
			}
			p := c.period(sc, i, now)
			if clicks {
				p.inFlight.Add(add)
			}
			var expiry time.Duration
			if clicks {
				expiry = clickExpiry(p, now)
			} else {
				expiry = ttl(p, now)
			}
			dst = append(dst, redis.CapCount{Key: p.key, Limit: p.limit, Add: add, TTL: expiry})
		}
	}
	return dst
}

// ClicksCounted takes what storing clicks answered for their caps: the
// clicks are no longer in flight but known, and a counter at its limit is
// reached, here at once and, broadcast, in every other process.
func (c *Caps) ClicksCounted(counts []redis.CapCount) {
	for _, k := range counts {
		v, ok := c.periods.Load(k.Key)
		if !ok {
			continue // a period that has ended meanwhile
		}
		p := v.(*period)
		p.learn(k.Total)
		p.inFlight.Add(-k.Add)
		if k.Total < k.Limit || p.reached.Swap(true) || !p.announced.CompareAndSwap(false, true) {
			continue
		}
		c.reached.Inc()
		c.log.Info().Str("counter", p.key).Int64("limit", p.limit).Msg("click cap reached: its clicks go to the offer's fallback")
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c.deps.Store.PublishCapReached(ctx, p.key)
		}()
	}
}

// reachedElsewhere hears another process's broadcast.
func (c *Caps) reachedElsewhere(key string) {
	if v, ok := c.periods.Load(key); ok {
		v.(*period).reached.Store(true)
	}
}

// Used is where each cap of the scope (rec's when not nil, else offer's)
// stands in its current period: counts, or micros of money.
func (c *Caps) Used(ctx context.Context, offer *model.Offer, rec *model.OfferAffiliate) ([]int64, error) {
	caps := offer.Caps
	if rec != nil {
		caps = rec.Caps
	}
	if len(caps) == 0 {
		return nil, nil
	}
	sc := c.scopeOf(offer, rec)
	now := c.now()
	keys := make([]string, len(caps))
	for i := range caps {
		keys[i] = c.period(sc, i, now).key
	}
	return c.deps.Store.CapTotals(ctx, keys)
}

// capped is every scope with caps the catalog holds now.
func (c *Caps) capped() []*scope {
	var out []*scope
	offers := map[string]*model.Offer{}
	for _, o := range c.deps.Catalog.Offers() {
		offers[o.ID] = o
		if len(o.Caps) > 0 {
			out = append(out, c.scopeOf(o, nil))
		}
	}
	for _, r := range c.deps.Catalog.OfferAffiliatesWhere(func(r *model.OfferAffiliate) bool { return len(r.Caps) > 0 }) {
		if o := offers[r.OfferID]; o != nil {
			out = append(out, c.scopeOf(o, r))
		}
	}
	return out
}

// refresh rebuilds the counters if Redis lost them, then reads every click
// cap's counter: a process learns of a cap reached even without its
// broadcast.
func (c *Caps) refresh(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	built, err := c.deps.Store.CapsBuilt(rctx)
	if err == nil && !built {
		err = c.rebuild(rctx)
	}
	if err != nil {
		c.refreshErrors.Inc()
		if ctx.Err() == nil {
			c.hotLog.Warn().Err(err).Msg("cannot refresh the caps' counters; retrying")
		}
		return
	}
	now := c.now()
	var ps []*period
	var keys []string
	capped := c.capped()
	live := make(map[model.Entity]bool, len(capped))
	for _, sc := range capped {
		live[sc.source] = true
	}
	c.scopes.Range(func(source, _ any) bool {
		if !live[source.(model.Entity)] {
			c.scopes.Delete(source) // an entity updated (or its caps removed) since
		}
		return true
	})
	for _, sc := range capped {
		for i, cp := range sc.caps {
			if cp.Metric == model.CapClicks {
				p := c.period(sc, i, now)
				ps, keys = append(ps, p), append(keys, p.key)
			}
		}
	}
	totals, err := c.deps.Store.CapTotals(rctx, keys)
	if err != nil {
		c.refreshErrors.Inc()
		if ctx.Err() == nil {
			c.hotLog.Warn().Err(err).Msg("cannot read the click caps' counters; retrying")
		}
		return
	}
	// A refresh only ever finds caps reached: a count read before this
	// process's own last clicks must not open a cap they closed. A limit
	// raised, or a new period, is a new period state, judged afresh.
	for i, p := range ps {
		p.learn(totals[i])
		if totals[i] >= p.limit {
			p.reached.Store(true)
		}
	}
}

// rebuildLock keeps two processes from rebuilding at once.
const rebuildLock = "caps-rebuild"

// rebuild sets every cap's counter of its current period to what ClickHouse
// holds, and marks the counters built. What the sink has not stored yet
// (about a second of traffic) is not counted.
func (c *Caps) rebuild(ctx context.Context) error {
	locked, err := c.deps.Store.Lock(ctx, rebuildLock, c.owner, time.Minute)
	if err != nil || !locked {
		return err // another process rebuilds; the next refresh looks again
	}
	defer func() { _ = c.deps.Store.Unlock(context.WithoutCancel(ctx), rebuildLock, c.owner) }()
	if built, err := c.deps.Store.CapsBuilt(ctx); err != nil || built {
		return err
	}
	now := c.now()
	scopes := c.capped()
	// One usage query per period kind in use, since that period began.
	usage := map[string]map[[2]string]clickhouse.CapUsage{}
	for _, kind := range model.CapPeriods {
		var offerIDs []string
		for _, sc := range scopes {
			for _, cp := range sc.caps {
				if cp.Period == kind {
					offerIDs = append(offerIDs, offerOf(sc))
				}
			}
		}
		if len(offerIDs) == 0 {
			continue
		}
		slices.Sort(offerIDs)
		rows, err := c.deps.Warehouse.CapUsage(ctx, model.PeriodStart(kind, now, c.config.Location), slices.Compact(offerIDs))
		if err != nil {
			return err
		}
		byKey := map[[2]string]clickhouse.CapUsage{}
		for _, r := range rows {
			byKey[[2]string{r.OfferID, r.AffiliateID}] = r
			offer := byKey[[2]string{r.OfferID, ""}]
			offer.Clicks += r.Clicks
			offer.Conversions += r.Conversions
			offer.PayoutMicros += r.PayoutMicros
			offer.RevenueMicros += r.RevenueMicros
			byKey[[2]string{r.OfferID, ""}] = offer
		}
		usage[kind] = byKey
	}
	var counts []redis.CapCount
	for _, sc := range scopes {
		offerID, affiliateID := offerOf(sc), affiliateOf(sc)
		for i, cp := range sc.caps {
			u := usage[cp.Period][[2]string{offerID, affiliateID}]
			p := c.period(sc, i, now)
			total := int64(u.Clicks)
			switch cp.Metric {
			case model.CapConversions:
				total = int64(u.Conversions)
			case model.CapPayout:
				total = u.PayoutMicros
			case model.CapRevenue:
				total = u.RevenueMicros
			}
			counts = append(counts, redis.CapCount{Key: p.key, Total: total, TTL: ttl(p, now)})
		}
	}
	if err := c.deps.Store.SetCapTotals(ctx, counts); err != nil {
		return err
	}
	c.rebuilds.Inc()
	c.log.Warn().Int("counters", len(counts)).Msg("Redis lacked the caps' counters: rebuilt from ClickHouse")
	return nil
}

// offerOf and affiliateOf read a scope's entity.
func offerOf(sc *scope) string {
	if r, ok := sc.source.(*model.OfferAffiliate); ok {
		return r.OfferID
	}
	return sc.source.EntityID()
}

func affiliateOf(sc *scope) string {
	if r, ok := sc.source.(*model.OfferAffiliate); ok {
		return r.AffiliateID
	}
	return ""
}
