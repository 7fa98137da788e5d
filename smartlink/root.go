// Package smartlink is the smart links' choice of an offer for each
// visitor (Chooser), and the EPCs it ranks offers by in EPC mode, read
// from ClickHouse in the background (Refresher) so that the click path
// only reads memory.
package smartlink

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/internal/daemon"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

// catalog lists the smart links.
type catalog interface {
	SmartLinks() []*model.SmartLink
}

// warehouse answers the offers' clicks and revenue (storage/clickhouse).
type warehouse interface {
	Stats(ctx context.Context, q clickhouse.StatsQuery) ([]clickhouse.StatsRow, error)
}

// Dependencies of the refresher.
type Dependencies struct {
	Logger    zerolog.Logger
	Metrics   *metrics.Set
	Catalog   catalog
	Warehouse warehouse
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Failer daemon.Failer
}

// Refresher keeps the EPC of every offer of an EPC-mode smart link: the
// network's revenue per click on it over the last Window (whole hours,
// the current one included), read from the stats rollups every Refresh.
// The click path reads them from an atomically swapped map.
type Refresher struct {
	config Configuration
	deps   Dependencies
	log    zerolog.Logger
	// errLog is sampled: a ClickHouse outage fails every refresh.
	errLog zerolog.Logger
	now    func() time.Time

	epc atomic.Pointer[map[string]float64]

	cancel context.CancelFunc
	done   chan struct{}

	refreshes, errs *metrics.Counter
	offers          atomic.Int64
}

// New prepares a refresher; Start reads the EPCs and keeps them fresh.
func New(deps Dependencies, config Configuration) (*Refresher, error) {
	if deps.Catalog == nil || deps.Warehouse == nil {
		return nil, errors.New("smartlink: catalog and warehouse are required")
	}
	if config.Refresh <= 0 || config.Window < time.Hour {
		return nil, errors.New("smartlink: the refresh must be positive and the window at least an hour")
	}
	if deps.Metrics == nil {
		deps.Metrics = metrics.NewSet()
	}
	r := &Refresher{
		config:    config,
		deps:      deps,
		log:       deps.Logger.With().Str("component", "smart links").Logger(),
		now:       deps.Now,
		refreshes: deps.Metrics.NewCounter(`clickrelay_smart_link_epc_refreshes_total`),
		errs:      deps.Metrics.NewCounter(`clickrelay_smart_link_epc_refresh_errors_total`),
	}
	r.errLog = r.log.Sample(&zerolog.BurstSampler{Burst: 1, Period: 10 * time.Minute})
	deps.Metrics.NewGauge(`clickrelay_smart_link_epc_offers`, func() float64 { return float64(r.offers.Load()) })
	if r.now == nil {
		r.now = time.Now
	}
	empty := map[string]float64{}
	r.epc.Store(&empty)
	return r, nil
}

// EPC is offerID's revenue per click, in currency units, as last read (0:
// no clicks in the window, or not an offer of an EPC-mode link). It reads
// memory only.
func (r *Refresher) EPC(offerID string) float64 { return (*r.epc.Load())[offerID] }

// Start reads the EPCs in the background at once, then every Refresh.
// Until the first read, EPC-mode links choose by weight.
func (r *Refresher) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		defer daemon.Recover(r.deps.Failer, "smart links")
		tick := time.NewTicker(r.config.Refresh)
		defer tick.Stop()
		for {
			if err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
				r.errLog.Warn().Err(err).Msg("cannot read the smart links' EPCs; EPC-mode links go on with those read before " +
					"(clickrelay_smart_link_epc_refresh_errors_total)")
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return nil
}

// Stop ends the refresher.
func (r *Refresher) Stop(ctx context.Context) error {
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Refresh reads the EPCs of the offers of every EPC-mode smart link now.
func (r *Refresher) Refresh(ctx context.Context) error {
	seen := map[string]bool{}
	var ids []string
	for _, l := range r.deps.Catalog.SmartLinks() {
		if !l.IsEPC() {
			continue
		}
		for _, o := range l.Offers {
			if !seen[o.OfferID] {
				seen[o.OfferID] = true
				ids = append(ids, o.OfferID)
			}
		}
	}
	fresh := make(map[string]float64, len(ids))
	if len(ids) > 0 {
		// Whole hours, the current one included: the hourly rollup
		// answers them alone.
		to := r.now().UTC().Truncate(time.Hour).Add(time.Hour)
		rows, err := r.deps.Warehouse.Stats(ctx, clickhouse.StatsQuery{
			From: to.Add(-r.config.Window), To: to, OfferIDs: ids, GroupBy: []string{"offer"}, Limit: len(ids),
		})
		if err != nil {
			r.errs.Inc()
			return fmt.Errorf("reading the offers' EPCs: %w", err)
		}
		for _, row := range rows {
			if len(row.Keys) == 1 && row.Clicks > 0 {
				fresh[row.Keys[0]] = model.MicrosToUnits(row.RevenueMicros) / float64(row.Clicks)
			}
		}
	}
	r.epc.Store(&fresh)
	r.offers.Store(int64(len(fresh)))
	r.refreshes.Inc()
	return nil
}
