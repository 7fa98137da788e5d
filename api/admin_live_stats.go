package api

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

// GET /v2/stats/live: the console's overview, per minute.

// Live overview limits: minutes of GET /v2/stats/live, and its top lists.
const (
	liveDefaultMinutes = 180
	liveMaxMinutes     = 1440
	liveTopN           = 5
)

// liveMinute is one minute of the live chart.
type liveMinute struct {
	Minute       string  `json:"minute"`
	Clicks       uint64  `json:"clicks"`
	UniqueClicks uint64  `json:"unique_clicks"`
	Conversions  uint64  `json:"conversions"`
	SaleAmount   float64 `json:"sale_amount"`
	Revenue      float64 `json:"revenue"`
	Payout       float64 `json:"payout"`
	Profit       float64 `json:"profit"`
	// Clicks turned away (see statsNumbers).
	OffTarget uint64 `json:"off_target"`
	Paused    uint64 `json:"paused"`
	Blocked   uint64 `json:"blocked"`
	Capped    uint64 `json:"capped"`
	Denied    uint64 `json:"denied"`
	Unrouted  uint64 `json:"unrouted"`
}

// liveTop is one entry of a top list.
type liveTop struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Clicks      uint64  `json:"clicks"`
	Conversions uint64  `json:"conversions"`
	Revenue     float64 `json:"revenue"`
	Profit      float64 `json:"profit"`
}

// deadLetterCounter counts dead deliveries across postbacks
// (storage/redis); the live overview reports 0 dead without it.
type deadLetterCounter interface {
	DeadLetterCount(ctx context.Context, postbackIDs []string, from, to time.Time) (int64, error)
}

// postbackHealthReader is the attempt log's summary (storage/clickhouse).
type postbackHealthReader interface {
	PostbackHealth(ctx context.Context, from, to time.Time) (clickhouse.PostbackHealth, error)
}

// liveStats serves GET /v2/stats/live: the last minutes per minute, the
// top offers, affiliates and countries, and postback health, read
// concurrently.
func (s *Server) liveStats(ctx *fasthttp.RequestCtx) {
	minutes, perr := parsePositive(ctx.QueryArgs(), "minutes", liveDefaultMinutes, liveMaxMinutes)
	if perr != nil {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_minutes", perr.Message)
		return
	}
	to := now().Truncate(time.Minute).Add(time.Minute) // the current minute included
	from := to.Add(-time.Duration(minutes) * time.Minute)
	rctx, cancel := requestContext(ctx)
	defer cancel()

	// The top lists cover the window's whole hours (its start rounded down
	// to the hour, its end up, where no clicks are yet): the hourly rollups
	// answer those alone, where the partial hours would be read from
	// stats_minute, a row per click on a busy network.
	queries := []clickhouse.StatsQuery{{From: from, To: to, GroupBy: []string{"minute"}, Limit: minutes}}
	topFrom, topTo := from.Truncate(time.Hour), to.Add(time.Hour-time.Nanosecond).Truncate(time.Hour)
	for _, d := range []string{"offer", "affiliate", "geo"} {
		queries = append(queries, clickhouse.StatsQuery{From: topFrom, To: topTo, GroupBy: []string{d}, Limit: liveTopN, ByClicks: true})
	}
	results := make([][]clickhouse.StatsRow, len(queries))
	errs := make([]error, len(queries)+2)
	var health clickhouse.PostbackHealth
	var dead int64
	var wg sync.WaitGroup
	for i := range queries {
		wg.Go(func() { results[i], errs[i] = s.deps.Warehouse.Stats(rctx, queries[i]) })
	}
	if h, ok := s.deps.Warehouse.(postbackHealthReader); ok {
		wg.Go(func() { health, errs[len(queries)] = h.PostbackHealth(rctx, from, to) })
	}
	if d, ok := s.deps.DeadLetter.(deadLetterCounter); ok {
		wg.Go(func() {
			var ids []string
			for _, aff := range s.catalog.Affiliates() {
				for _, pb := range s.catalog.Postbacks(aff.ID) {
					ids = append(ids, pb.ID)
				}
			}
			dead, errs[len(queries)+1] = d.DeadLetterCount(rctx, ids, from, to)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			s.storageError(ctx, err)
			return
		}
	}

	byMinute := make(map[string]*clickhouse.StatsRow, len(results[0]))
	for i := range results[0] {
		if r := &results[0][i]; len(r.Keys) == 1 {
			byMinute[r.Keys[0]] = r
		}
	}
	series := make([]liveMinute, 0, minutes)
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		point := liveMinute{Minute: m.Format(time.RFC3339)}
		if r := byMinute[strconv.FormatInt(m.Unix(), 10)]; r != nil {
			var m statsMicros
			m.add(r)
			n := m.numbers()
			point.Clicks, point.UniqueClicks, point.Conversions = n.Clicks, n.UniqueClicks, n.Conversions
			point.SaleAmount, point.Revenue, point.Payout, point.Profit = n.SaleAmount, n.Revenue, n.Payout, n.Profit
			point.OffTarget, point.Paused, point.Blocked, point.Capped = n.OffTarget, n.Paused, n.Blocked, n.Capped
			point.Denied, point.Unrouted = n.Denied, n.Unrouted
		}
		series = append(series, point)
	}
	top := map[string][]liveTop{}
	for i, list := range []string{"offers", "affiliates", "countries"} {
		entries := make([]liveTop, 0, liveTopN)
		for _, r := range results[i+1] {
			if len(r.Keys) != 1 || r.Clicks == 0 && r.Conversions == 0 {
				continue
			}
			e := liveTop{ID: r.Keys[0], Name: r.Keys[0], Clicks: r.Clicks, Conversions: r.Conversions,
				Revenue: model.MicrosToUnits(r.RevenueMicros), Profit: model.MicrosToUnits(r.RevenueMicros - r.PayoutMicros)}
			if name, ok := s.entityName(queries[i+1].GroupBy[0], e.ID); ok {
				e.Name = name
			}
			entries = append(entries, e)
		}
		top[list] = entries
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"success": true,
		"from":    from.Format(time.RFC3339),
		"to":      to.Format(time.RFC3339),
		"series":  series,
		"top":     top,
		"postbacks": map[string]any{
			"delivered": health.Delivered, "retrying": health.Retrying, "failed": health.Failed, "dead": dead,
			"p99_latency_ms": round(float64(health.P99Latency)/float64(time.Millisecond), 1),
		},
	})
}
