package api

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/ingest"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

// The advertiser's conversions (seed 002): POST /api/v1/conversions and
// GET /pb/{endpointId} take them; GET and PATCH /api/v1/conversions read
// and change its own.

// Page sizes of seed 002's conversion listing: its maximum, and our default.
const (
	defaultConversionsPage = 50
	maxConversionsPage     = 500 // seed 002
)

func (s *Server) postConversion(ctx *fasthttp.RequestCtx) {
	if req, advertiserID, ok := parseAuthenticated(s, ctx, ingest.ParseJSON, func(r ingest.Request) string { return r.Secure }); ok {
		s.convert(ctx, ingest.Scope{AdvertiserID: advertiserID}, req)
	}
}

// endpointCallback serves GET /pb/{endpointId}: a named endpoint standing
// for the POST of its kind.
func (s *Server) endpointCallback(ctx *fasthttp.RequestCtx, id string) {
	args := ctx.QueryArgs()
	advertiserID, ok := s.advertiserID(ctx, string(args.Peek("secure")))
	if !ok {
		return
	}
	ep := s.catalog.Endpoint(id)
	if ep == nil || ep.AdvertiserID != advertiserID {
		// Another advertiser's endpoint is as good as unknown to this key.
		envelopeError(ctx, fasthttp.StatusNotFound, codeNotFound, msgNotFound)
		return
	}
	// The query is parsed once, as the endpoint's kind reads it.
	peek := func(name string) ([]byte, bool) { return args.Peek(name), args.Has(name) }
	scope := ingest.Scope{AdvertiserID: advertiserID, OfferID: ep.OfferID}
	if ep.Kind == model.EndpointSecondary {
		s.event(ctx, scope, ingest.ParseEventQuery(peek))
		return
	}
	s.convert(ctx, scope, ingest.ParseQuery(peek))
}

// convert runs a conversion and answers as seed 002 does.
func (s *Server) convert(ctx *fasthttp.RequestCtx, scope ingest.Scope, req ingest.Request) {
	req.SourceIP = s.clientIP(ctx) // for the advertiser's allow list
	rctx, cancel := requestContext(ctx)
	defer cancel()
	res, err := s.deps.Conversions.Convert(rctx, scope, req)
	if s.refused(ctx, err) {
		return
	}
	switch {
	case res.Tracked:
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{
			"success": true,
			"data": map[string]any{
				"tracked":      true,
				"conversionId": res.Conversion.ID,
				"status":       res.Conversion.Status,
				"currency":     res.Conversion.Currency,
			},
		})
	case res.Rejected():
		// Seed 002's not-tracked answer, and the conversion as recorded
		// (rejected: past a cap, a click-to-conversion bound, an address
		// not allowed) for the advertiser to reconcile against.
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{
			"success": true,
			"tracked": false,
			"reason":  res.Reason,
			"message": res.Message,
			"data": map[string]any{
				"tracked":      false,
				"reason":       res.Reason,
				"conversionId": res.Conversion.ID,
				"status":       res.Conversion.Status,
				"currency":     res.Conversion.Currency,
			},
		})
	default:
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{
			"success": true,
			"tracked": false,
			"reason":  res.Reason,
			"message": res.Message,
		})
	}
}

// refused answers a failed conversion or event: VALIDATION_ERROR for a
// refusal, 503 when it could not be made durable. It reports whether it
// answered.
func (s *Server) refused(ctx *fasthttp.RequestCtx, err error) bool {
	var fe *ingest.FieldError
	switch {
	case err == nil:
		return false
	case errors.As(err, &fe):
		envelopeError(ctx, fasthttp.StatusBadRequest, codeValidation, fe.Message)
	default:
		ctx.Response.Header.Set("Retry-After", retryAfterSeconds)
		envelopeError(ctx, fasthttp.StatusServiceUnavailable, codeUnavailable, msgUnavailable)
	}
	return true
}

// statusBody is the advertiser's PATCH body.
type statusBody struct {
	Status, Secure string
}

// parseStatusBody reads {"status": ..., "secure"?: ...}; a body that is not
// a JSON object, or whose fields are not strings, is refused with seed
// 002's VALIDATION_ERROR message.
func parseStatusBody(body []byte) (statusBody, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return statusBody{}, &ingest.FieldError{Message: "request body must be a JSON object"}
	}
	var out statusBody
	for name, dst := range map[string]*string{"status": &out.Status, "secure": &out.Secure} {
		raw, ok := fields[name]
		if !ok || string(raw) == "null" {
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return statusBody{}, &ingest.FieldError{Message: name + " must be a string"}
		}
	}
	out.Status = strings.TrimSpace(out.Status)
	return out, nil
}

// advertiserStatusCodes are seed 002's answers to a refused status change.
var advertiserStatusCodes = statusCodes{
	invalid: codeValidation, invalidMessage: ingest.ErrInvalidStatus.Error(),
	notFound: codeNotFound, notFoundMessage: msgNotFound,
	unavailable: codeUnavailable,
}

// patchConversionAdvertiser serves PATCH /api/v1/conversions/{id}: an
// advertiser approves, rejects or reverses one of its own conversions.
func (s *Server) patchConversionAdvertiser(ctx *fasthttp.RequestCtx, id string) {
	req, advertiserID, ok := parseAuthenticated(s, ctx, parseStatusBody, func(b statusBody) string { return b.Secure })
	if !ok {
		return
	}
	switch {
	case req.Status == "":
		envelopeError(ctx, fasthttp.StatusBadRequest, codeValidation, msgStatusRequired)
		return
	case len(req.Status) > maxStatusLen || !ingest.ValidStatus(req.Status):
		envelopeError(ctx, fasthttp.StatusBadRequest, codeValidation, ingest.ErrInvalidStatus.Error())
		return
	}
	res, answered := s.changeStatus(ctx, ingest.Scope{AdvertiserID: advertiserID}, id, req.Status, envelopeError, advertiserStatusCodes)
	if answered {
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "data": s.conversionJSON(&res.Conversion)})
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
		"advertiserPayoutCents": cents(c.RevenueMicros), // what the advertiser pays: revenue, never the payout
		"status":                c.Status,
		"createdAt":             c.Time,
	}
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
