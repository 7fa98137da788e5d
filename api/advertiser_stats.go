package api

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

// GET /api/v1/stats (seed 002): the advertiser's own figures.

// Ranges of GET /api/v1/stats.
const (
	// maxAdvertiserStatsRange is seed 002's stats range cap (ours: a year
	// and a day, so a full leap year fits).
	maxAdvertiserStatsRange = 366 * 24 * time.Hour
	defaultStatsRange       = 30 * 24 * time.Hour
	// maxStatsRowsPerQuery bounds each stats query: a year by day is 366
	// rows, and an advertiser's offers are far fewer than this.
	maxStatsRowsPerQuery = 10_000
)

// statsPeriods maps seed 002's group_by to the warehouse's dimensions.
var statsPeriods = map[string]string{"day": "date", "week": "week", "month": "month"}

// advertiserStats serves GET /api/v1/stats from the per-minute rollup.
func (s *Server) advertiserStats(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	advertiserID, ok := s.advertiserID(ctx, string(args.Peek("secure")))
	if !ok {
		return
	}
	now := time.Now().UTC()
	q := clickhouse.StatsQuery{AdvertiserID: advertiserID, Location: time.UTC, Limit: maxStatsRowsPerQuery}
	if q.OfferIDs, ok = s.offerCodeFilter(ctx, advertiserID); !ok {
		return
	}
	from, fromSet, ok := queryMillis(ctx, "start_date")
	if !ok {
		return
	}
	to, toSet, ok := queryMillis(ctx, "end_date")
	if !ok {
		return
	}
	switch {
	case !toSet:
		to = now
	default:
		to = to.Add(time.Millisecond) // inclusive
	}
	if !fromSet {
		from = to.Add(-defaultStatsRange)
	}
	if !to.After(from) {
		validationError(ctx, "start_date must not be after end_date")
		return
	}
	if to.Sub(from) > maxAdvertiserStatsRange {
		validationError(ctx, fmt.Sprintf("the range from start_date to end_date may span at most %d days", int(maxAdvertiserStatsRange.Hours()/24)))
		return
	}
	q.From, q.To = from, to
	period := "day"
	if raw := string(args.Peek("group_by")); raw != "" {
		if _, known := statsPeriods[raw]; !known {
			validationError(ctx, "group_by must be one of day, week, month")
			return
		}
		period = raw
	}

	rctx, cancel := requestContext(ctx)
	defer cancel()
	byOfferQ := q
	byOfferQ.GroupBy = []string{"offer"}
	offers, err := s.deps.Warehouse.Stats(rctx, byOfferQ)
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	seriesQ := q
	seriesQ.GroupBy = []string{statsPeriods[period]}
	series, err := s.deps.Warehouse.Stats(rctx, seriesQ)
	if err != nil {
		s.storageError(ctx, err)
		return
	}

	var clicks, conversions uint64
	var approved, revenue int64
	byOffer := make([]map[string]any, 0, len(offers))
	for i := range offers {
		r := &offers[i]
		if len(r.Keys) != 1 {
			continue // the all-zero row of an empty range carries no offer
		}
		clicks += r.Clicks
		conversions += r.Conversions
		approved += max(r.Approved, 0)
		rev := advertiserRevenueMicros(r)
		revenue += rev
		row := map[string]any{"offerCode": r.Keys[0], "offerName": "", "currency": "USD",
			"clicks": r.Clicks, "conversions": r.Conversions, "revenueCents": cents(rev)}
		if o := s.catalog.Offer(r.Keys[0]); o != nil {
			row["offerCode"], row["offerName"] = s.offerCode(o.ID), o.Name
			if o.Currency != "" {
				row["currency"] = o.Currency
			}
		}
		byOffer = append(byOffer, row)
	}
	timeSeries := make([]map[string]any, 0, len(series))
	for _, r := range series {
		if len(r.Keys) == 1 && (r.Clicks > 0 || r.Conversions > 0) {
			timeSeries = append(timeSeries, map[string]any{"date": r.Keys[0], "clicks": r.Clicks, "conversions": r.Conversions})
		}
	}
	rate := 0.0
	if clicks > 0 {
		rate = float64(conversions) * 100 / float64(clicks)
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"success": true,
		"data": map[string]any{
			"summary": map[string]any{
				"totalClicks":         clicks,
				"totalConversions":    conversions,
				"approvedConversions": approved,
				"totalRevenueCents":   cents(revenue),
				"conversionRate":      strconv.FormatFloat(math.Round(rate*100)/100, 'f', 2, 64),
			},
			"byOffer":    byOffer,
			"timeSeries": timeSeries,
		},
	})
}
