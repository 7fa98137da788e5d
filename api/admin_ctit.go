package api

import (
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

// The time from click to conversion: GET /v2/stats/ctit, the distribution
// of an offer's, an affiliate's or an advertiser's conversions over
// buckets, where a bot's seconds and a stale claim's weeks show.

// ctitBucket is one bucket as the API answers it.
type ctitBucket struct {
	// Bucket names it ("10s", ..., "7d", "more"); UpToSeconds is its
	// upper bound (exclusive), absent on the last.
	Bucket      string `json:"bucket"`
	UpToSeconds *int64 `json:"up_to_seconds,omitempty"`
	Conversions uint64 `json:"conversions"`
	// RejectedAtIntake are those taken as rejected on arrival (past a
	// cap, outside the offer's bounds, an address not allowed).
	RejectedAtIntake uint64 `json:"rejected_at_intake"`
}

// ctitBucketNames name clickhouse.CTITBounds' buckets, and the last.
var ctitBucketNames = []string{"10s", "1m", "10m", "1h", "1d", "7d", "more"}

// adminCTIT serves GET /v2/stats/ctit?date_from&date_to&timezone&offer_id&affiliate_id&advertiser_id.
func (s *Server) adminCTIT(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	bad := func(perr *paramError) {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_"+perr.Param, perr.Message)
	}
	from, to, _, perr := parseStatsRange(args, s.config.MaxStatsRange, s.config.Location)
	if perr != nil {
		bad(perr)
		return
	}
	q := clickhouse.CTITQuery{From: from, To: to}
	if perr = s.entityFilters(args, &q.OfferIDs, &q.AffiliateID, &q.AdvertiserID); perr != nil {
		bad(perr)
		return
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	buckets, err := s.deps.Warehouse.CTIT(rctx, q)
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	out := make([]ctitBucket, len(buckets))
	var total uint64
	for i, b := range buckets {
		out[i] = ctitBucket{Bucket: ctitBucketNames[min(i, len(ctitBucketNames)-1)], Conversions: b.Conversions, RejectedAtIntake: b.RejectedAtIntake}
		if i < len(clickhouse.CTITBounds) {
			out[i].UpToSeconds = &clickhouse.CTITBounds[i]
		}
		total += b.Conversions
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"success": true, "from": from.UTC().Format(time.RFC3339), "to": to.UTC().Format(time.RFC3339),
		"total": total, "buckets": out,
	})
}
