package api

import (
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

// The advertiser API's reads (seed 002): conversions, stats, offers and
// profile, each limited to the calling advertiser's own data.

// Page sizes of seed 002's listings: its maxima, and our defaults.
const (
	defaultConversionsPage = 50
	maxConversionsPage     = 500 // seed 002
	defaultOffersPage      = 50
	maxOffersPage          = 100 // seed 002
	// maxAdvertiserStatsRange is seed 002's stats range cap (ours: a year
	// and a day, so a full leap year fits).
	maxAdvertiserStatsRange = 366 * 24 * time.Hour
	defaultStatsRange       = 30 * 24 * time.Hour
	// maxPathIDLen bounds an ID taken from a path; longer ones name nothing.
	maxPathIDLen = 128
	// maxStatsRowsPerQuery bounds each stats query: a year by day is 366
	// rows, and an advertiser's offers are far fewer than this.
	maxStatsRowsPerQuery = 10_000
)

// Offer statuses as seed 002 names them: our active offer is "published".
const (
	offerPublished = "published"
	offerDraft     = "draft"
	offerArchived  = "archived"
)

// validationError answers seed 002's 400 VALIDATION_ERROR.
func validationError(ctx *fasthttp.RequestCtx, message string) {
	envelopeError(ctx, fasthttp.StatusBadRequest, codeValidation, message)
}

func advertiserNotFound(ctx *fasthttp.RequestCtx) {
	envelopeError(ctx, fasthttp.StatusNotFound, codeNotFound, msgNotFound)
}

// cents converts micro-units to cents, rounding half away from zero.
func cents(micros int64) int64 {
	if micros < 0 {
		return -cents(-micros)
	}
	return (micros + 5_000) / 10_000
}

// queryLimit reads "limit": def when absent, else a whole number in
// [1, maxLimit]. ok is false and the answer sent otherwise.
func queryLimit(ctx *fasthttp.RequestCtx, def, maxLimit int) (int, bool) {
	raw := ctx.QueryArgs().Peek("limit")
	if len(raw) == 0 {
		return def, true
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 1 || n > maxLimit {
		validationError(ctx, fmt.Sprintf("limit must be a whole number from 1 to %d", maxLimit))
		return 0, false
	}
	return n, true
}

// queryMillis reads a Unix-milliseconds parameter; present is false when
// it is absent. ok is false and the answer sent when it is not a number of
// milliseconds between 1970 and 9999.
func queryMillis(ctx *fasthttp.RequestCtx, name string) (t time.Time, present, ok bool) {
	raw := ctx.QueryArgs().Peek(name)
	if len(raw) == 0 {
		return time.Time{}, false, true
	}
	const maxMillis = 253402300799999 // 9999-12-31T23:59:59.999Z
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < 0 || n > maxMillis {
		validationError(ctx, name+" must be a Unix timestamp in milliseconds")
		return time.Time{}, false, false
	}
	return time.UnixMilli(n).UTC(), true, true
}

// ownOffer returns the advertiser's offer by slug or ID; another
// advertiser's offer is as unknown as a missing one.
func (s *Server) ownOffer(advertiserID, code string) *model.Offer {
	if code == "" || len(code) > maxPathIDLen {
		return nil
	}
	o := s.catalog.Offer(code)
	if o == nil || o.AdvertiserID != advertiserID {
		return nil
	}
	return o
}

// offerCode is the code seed 002 shows for an offer: its slug.
func (s *Server) offerCode(offerID string) string {
	if o := s.catalog.Offer(offerID); o != nil && o.Slug != "" {
		return o.Slug
	}
	return offerID
}

// Cursors are opaque to the caller: base64url of a tagged position, so a
// cursor of one listing is refused by another.

func encodeCursor(kind, position string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + position))
}

// decodeCursor returns the position in a cursor of kind; ok is false for
// anything this server did not hand out.
func decodeCursor(kind, cursor string) (string, bool) {
	if len(cursor) > 256 {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", false
	}
	tag, position, found := strings.Cut(string(raw), ":")
	if !found || tag != kind || position == "" {
		return "", false
	}
	return position, true
}

const msgBadCursor = "cursor is not valid; pass the nextCursor of the previous page"

// A conversions cursor is "c:<created ms>.<conversion id>" inside.
func conversionCursor(c *model.Conversion) string {
	pos := clickhouse.CursorOf(c)
	return encodeCursor("c", strconv.FormatInt(pos.Time, 10)+"."+pos.ID)
}

func parseConversionCursor(cursor string) (*clickhouse.ConversionCursor, bool) {
	pos, ok := decodeCursor("c", cursor)
	if !ok {
		return nil, false
	}
	ms, id, found := strings.Cut(pos, ".")
	t, err := strconv.ParseInt(ms, 10, 64)
	if !found || err != nil || t < 0 || !validConversionID(id) {
		return nil, false
	}
	return &clickhouse.ConversionCursor{Time: t, ID: id}, true
}

// validConversionID: "conv_" and a click-ID-like tail, nothing longer.
func validConversionID(id string) bool {
	if !strings.HasPrefix(id, "conv_") || len(id) > maxPathIDLen {
		return false
	}
	for _, c := range id[len("conv_"):] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
			return false
		}
	}
	return len(id) > len("conv_")
}

// offerCodeFilter reads the offer_code filter: nil for none, or the one
// offer of the advertiser it names. ok is false and the 400 sent when it
// names none.
func (s *Server) offerCodeFilter(ctx *fasthttp.RequestCtx, advertiserID string) (offerIDs []string, ok bool) {
	code := string(ctx.QueryArgs().Peek("offer_code"))
	if code == "" {
		return nil, true
	}
	o := s.ownOffer(advertiserID, code)
	if o == nil {
		validationError(ctx, "offer_code does not name one of your offers")
		return nil, false
	}
	return []string{o.ID}, true
}

// conversionJSON is seed 002's conversion object.
func (s *Server) conversionJSON(c *model.Conversion) map[string]any {
	var txID any
	if c.TxID != "" {
		txID = c.TxID
	}
	return map[string]any{
		"id":                    c.ID,
		"offerCode":             s.offerCode(c.OfferID),
		"vendorTxId":            txID,
		"currency":              c.Currency,
		"saleAmountCents":       cents(c.AmountMicros),
		"advertiserPayoutCents": cents(c.PayoutMicros),
		"status":                c.Status,
		"createdAt":             c.Time,
	}
}

// listConversions serves GET /api/v1/conversions: newest first, by cursor.
func (s *Server) listConversions(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	advertiserID, ok := s.advertiserID(ctx, string(args.Peek("secure")))
	if !ok {
		return
	}
	// Test conversions are never listed: Test stays false.
	q := clickhouse.ConversionQuery{AdvertiserID: advertiserID}
	if q.OfferIDs, ok = s.offerCodeFilter(ctx, advertiserID); !ok {
		return
	}
	if status := string(args.Peek("status")); status != "" {
		if !slices.Contains(model.ConversionStatuses, status) {
			validationError(ctx, "status must be one of pending, approved, rejected, reversed")
			return
		}
		q.Statuses = []string{status}
	}
	var present bool
	if q.From, _, ok = queryMillis(ctx, "start_date"); !ok {
		return
	}
	if q.To, present, ok = queryMillis(ctx, "end_date"); !ok {
		return
	}
	if present {
		q.To = q.To.Add(time.Millisecond) // end_date is inclusive, To is not
	}
	if !q.From.IsZero() && present && !q.To.After(q.From) {
		validationError(ctx, "start_date must not be after end_date")
		return
	}
	limit, ok := queryLimit(ctx, defaultConversionsPage, maxConversionsPage)
	if !ok {
		return
	}
	if cursor := string(args.Peek("cursor")); cursor != "" {
		if q.After, ok = parseConversionCursor(cursor); !ok {
			validationError(ctx, msgBadCursor)
			return
		}
	}
	q.Limit = limit + 1 // one more tells whether a next page exists
	rctx, cancel := requestContext(ctx)
	defer cancel()
	rows, err := s.deps.Warehouse.Conversions(rctx, q)
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	hasMore := len(rows) > limit
	rows = rows[:min(len(rows), limit)]
	data := make([]map[string]any, 0, len(rows))
	for i := range rows {
		data = append(data, s.conversionJSON(&rows[i]))
	}
	var next any
	if hasMore {
		next = conversionCursor(&rows[len(rows)-1])
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"success": true,
		"data":    data,
		"meta":    map[string]any{"pagination": map[string]any{"hasMore": hasMore, "nextCursor": next}},
	})
}

// getConversion serves GET /api/v1/conversions/{id}.
func (s *Server) getConversion(ctx *fasthttp.RequestCtx, id string) {
	advertiserID, ok := s.advertiserID(ctx, string(ctx.QueryArgs().Peek("secure")))
	if !ok {
		return
	}
	if !validConversionID(id) {
		advertiserNotFound(ctx)
		return
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	// Another advertiser's conversion is filtered out, so it is as unknown
	// as a missing one.
	rows, err := s.deps.Warehouse.Conversions(rctx, clickhouse.ConversionQuery{ID: id, AdvertiserID: advertiserID, Limit: 1})
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	if len(rows) == 0 {
		advertiserNotFound(ctx)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "data": s.conversionJSON(&rows[0])})
}

// statsPeriods maps seed 002's group_by to the warehouse's dimensions.
var statsPeriods = map[string]string{"day": "date", "week": "week", "month": "month"}

// revenueMicros is the revenue the network generated for the advertiser
// in a stats group: the sale amount. A CPA conversion reported without an
// amount has none, so a group with no amount at all counts its payout
// instead (what the advertiser valued the action at). The rollup keeps
// sums, not which conversions carried an amount, so a CPA offer mixing
// both counts only the amounts: documented as a lower bound.
func revenueMicros(r *clickhouse.StatsRow) int64 {
	if r.AmountMicros > 0 {
		return r.AmountMicros
	}
	return r.PayoutMicros
}

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
		rev := revenueMicros(r)
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

// offerStatus is seed 002's name for an offer's status.
func offerStatus(o *model.Offer) string {
	if o.Status == model.StatusActive {
		return offerPublished
	}
	return o.Status
}

// payoutTerms: what the advertiser pays per conversion. A CPS / RevShare
// offer pays a percentage of the sale, so it has no fixed amount: percent
// says how much, advertiserPayoutCents is null.
func payoutTerms(o *model.Offer) map[string]any {
	if o.IsPercentage() {
		return map[string]any{"advertiserPayoutCents": nil, "percent": o.Payout}
	}
	return map[string]any{"advertiserPayoutCents": cents(model.UnitsToMicros(o.Payout))}
}

// listAdvertiserOffers serves GET /api/v1/offers: the advertiser's offers
// in ID order, by cursor.
func (s *Server) listAdvertiserOffers(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	advertiserID, ok := s.advertiserID(ctx, string(args.Peek("secure")))
	if !ok {
		return
	}
	status := string(args.Peek("status"))
	if status != "" && !slices.Contains([]string{offerPublished, model.StatusPaused, offerDraft, offerArchived}, status) {
		validationError(ctx, "status must be one of published, paused, draft, archived")
		return
	}
	limit, ok := queryLimit(ctx, defaultOffersPage, maxOffersPage)
	if !ok {
		return
	}
	after := ""
	if cursor := string(args.Peek("cursor")); cursor != "" {
		if after, ok = decodeCursor("o", cursor); !ok || len(after) > maxPathIDLen {
			validationError(ctx, msgBadCursor)
			return
		}
	}
	all := s.catalog.Offers() // in ID order, so a cursor is the last ID seen
	data := make([]map[string]any, 0, min(limit, len(all)))
	var last string
	hasMore := false
	for _, o := range all {
		if o.AdvertiserID != advertiserID || (status != "" && offerStatus(o) != status) ||
			(after != "" && compareOfferIDs(o.ID, after) <= 0) {
			continue
		}
		if len(data) == limit {
			hasMore = true
			break
		}
		data = append(data, map[string]any{
			"code": s.offerCode(o.ID), "name": o.Name, "status": offerStatus(o), "currency": offerCurrency(o),
			"commissionType": o.PayoutType, "payoutTerms": payoutTerms(o),
		})
		last = o.ID
	}
	var next any
	if hasMore {
		next = encodeCursor("o", last)
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"success": true,
		"data":    data,
		"meta":    map[string]any{"pagination": map[string]any{"hasMore": hasMore, "nextCursor": next}},
	})
}

// compareOfferIDs orders IDs as the catalog lists them: numeric IDs by
// value (shorter first), any others by text.
func compareOfferIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

func offerCurrency(o *model.Offer) string {
	if o.Currency == "" {
		return "USD"
	}
	return o.Currency
}

// getAdvertiserOffer serves GET /api/v1/offers/{code}.
func (s *Server) getAdvertiserOffer(ctx *fasthttp.RequestCtx, code string) {
	advertiserID, ok := s.advertiserID(ctx, string(ctx.QueryArgs().Peek("secure")))
	if !ok {
		return
	}
	o := s.ownOffer(advertiserID, code)
	if o == nil {
		advertiserNotFound(ctx)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "data": map[string]any{
		"code": s.offerCode(o.ID), "name": o.Name, "status": offerStatus(o), "currency": offerCurrency(o),
		"commissionType": o.PayoutType, "primaryUrl": o.TrackingURL, "payoutTerms": payoutTerms(o),
	}})
}

// profile serves GET /api/v1/profile.
func (s *Server) profile(ctx *fasthttp.RequestCtx) {
	advertiserID, ok := s.advertiserID(ctx, string(ctx.QueryArgs().Peek("secure")))
	if !ok {
		return
	}
	adv := s.catalog.Advertiser(advertiserID)
	if adv == nil { // the key outlived its advertiser
		envelopeError(ctx, fasthttp.StatusUnauthorized, codeInvalidKey, msgKeyInvalid)
		return
	}
	status := adv.Status
	if status == model.StatusActive || status == "" {
		status = "approved"
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "data": map[string]any{
		"companyName": adv.Name, "contactEmail": adv.ContactEmail, "status": status, "hasApiKey": true,
	}})
}
