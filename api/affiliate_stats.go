package api

import (
	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

// GET /v1/stats (seed 000): the affiliate's own figures.

// Affiliate stats dimensions (seed 000's group_by, plus hour) and the key
// each takes in a row.
var affiliateDimensions = map[string]string{
	"date": "date", "hour": "hour", "offer": "offer_id", "geo": "geo", "device": "device", "os": "os",
	"sub1": "sub1", "sub2": "sub2", "sub3": "sub3", "sub4": "sub4", "sub5": "sub5",
}

func (s *Server) affiliateStats(ctx *fasthttp.RequestCtx, aff *model.Affiliate) {
	var groupBy []string
	args := ctx.QueryArgs()
	from, to, loc, perr := parseStatsRange(args, s.config.MaxStatsRange, s.config.Location)
	if perr == nil {
		groupBy, perr = parseGroupBy(args, affiliateDimensions, "date, hour, offer, geo, sub1..sub5, device, os")
	}
	if perr != nil {
		affiliateError(ctx, fasthttp.StatusBadRequest, "BAD_REQUEST", perr.Message)
		return
	}
	q := clickhouse.StatsQuery{From: from, To: to, AffiliateID: aff.ID, GroupBy: groupBy, Location: loc, Limit: maxStatsRows}
	q.OfferIDs = s.offerFilter(string(args.Peek("offer_id")))
	rctx, cancel := requestContext(ctx)
	defer cancel()
	rows, err := s.deps.Warehouse.Stats(rctx, q)
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	out := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		row := make(map[string]any, len(groupBy)+7)
		for i, d := range groupBy {
			row[affiliateDimensions[d]] = r.Keys[i]
		}
		revenue := model.MicrosToUnits(r.PayoutMicros)
		row["clicks"] = r.Clicks
		row["unique_clicks"] = r.UniqueClicks
		row["conversions"] = r.Conversions
		row["approved"] = r.Approved // conversions approved now; rejected and reversed ones pay no revenue
		row["cvr"] = ratio(float64(r.Conversions)*100, float64(r.Clicks), 2)
		row["revenue"] = round(revenue, 6)
		row["epc"] = ratio(revenue, float64(r.Clicks), 4)
		out = append(out, row)
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"data": out})
}
