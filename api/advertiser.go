package api

import (
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/ingest"
	"github.com/clickrelay/clickrelay/model"
)

// Seed 002's error codes and messages.
const (
	codeUnauthorized  = "UNAUTHORIZED"
	codeInvalidKey    = "INVALID_API_KEY"
	codeValidation    = "VALIDATION_ERROR"
	codeNotFound      = "NOT_FOUND"
	msgKeyRequired    = "API key required"
	msgKeyInvalid     = "API key is invalid"
	msgNotFound       = "Resource not found"
	codeUnavailable   = "SERVICE_UNAVAILABLE"
	msgUnavailable    = "The request could not be stored; retry the same request."
	retryAfterSeconds = "1"
)

// advertiserID authenticates a seed 002 request: X-API-Key, a Bearer
// token, or the "secure" field. ok is false and the answer sent otherwise.
func (s *Server) advertiserID(ctx *fasthttp.RequestCtx, secure string) (string, bool) {
	key := presentedKey(ctx, "X-API-Key")
	if key == "" {
		key = secure
	}
	if key == "" {
		envelopeError(ctx, fasthttp.StatusUnauthorized, codeUnauthorized, msgKeyRequired)
		return "", false
	}
	id, ok := s.principal(key, model.KindAdvertiser)
	adv := s.catalog.Advertiser(id)
	if !ok || adv == nil {
		envelopeError(ctx, fasthttp.StatusUnauthorized, codeInvalidKey, msgKeyInvalid)
		return "", false
	}
	if adv.Status != model.StatusActive {
		envelopeError(ctx, fasthttp.StatusForbidden, codeAccountInactive, inactiveMessage(adv.Status))
		return "", false
	}
	if !s.limitAdvertiser(ctx, id) {
		return "", false
	}
	return id, true
}

func (s *Server) postConversion(ctx *fasthttp.RequestCtx) {
	if req, advertiserID, ok := parseAuthenticated(s, ctx, ingest.ParseJSON, func(r ingest.Request) string { return r.Secure }); ok {
		s.convert(ctx, ingest.Scope{AdvertiserID: advertiserID}, req)
	}
}

// parseAuthenticated reads a JSON body that may itself carry the key (the
// "secure" field), then authenticates. A body that does not parse is
// reported only to an authenticated caller: an anonymous one learns nothing
// of it. ok is false when the answer has been sent.
func parseAuthenticated[R any](s *Server, ctx *fasthttp.RequestCtx, parse func([]byte) (R, error), secure func(R) string) (R, string, bool) {
	req, err := parse(ctx.PostBody())
	if err != nil {
		if _, ok := s.advertiserID(ctx, ""); ok {
			envelopeError(ctx, fasthttp.StatusBadRequest, codeValidation, err.Error())
		}
		return req, "", false
	}
	advertiserID, ok := s.advertiserID(ctx, secure(req))
	return req, advertiserID, ok
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

func (s *Server) postEvent(ctx *fasthttp.RequestCtx) {
	if req, advertiserID, ok := parseAuthenticated(s, ctx, ingest.ParseEventJSON, func(r ingest.EventRequest) string { return r.Secure }); ok {
		s.event(ctx, ingest.Scope{AdvertiserID: advertiserID}, req)
	}
}

// event records a secondary event and answers as seed 002 does.
func (s *Server) event(ctx *fasthttp.RequestCtx, scope ingest.Scope, req ingest.EventRequest) {
	rctx, cancel := requestContext(ctx)
	defer cancel()
	ev, err := s.deps.Conversions.Event(rctx, scope, req)
	if s.refused(ctx, err) {
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"success": true,
		"data":    map[string]any{"tracked": true, "event_id": ev.ID, "reason": nil},
	})
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

// convert runs a conversion and answers as seed 002 does.
func (s *Server) convert(ctx *fasthttp.RequestCtx, scope ingest.Scope, req ingest.Request) {
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
	default:
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{
			"success": true,
			"tracked": false,
			"reason":  res.Reason,
			"message": res.Message,
		})
	}
}
