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
	msgUnavailable    = "The conversion could not be stored; retry the same request."
	retryAfterSeconds = "1"
)

// advertiser serves /api/v1/... (seed 002).
func (s *Server) advertiser(ctx *fasthttp.RequestCtx, seg []string) {
	switch {
	case len(seg) == 1 && seg[0] == "conversions":
		if !ctx.IsPost() {
			methodNotAllowed(ctx, envelopeError, "METHOD_NOT_ALLOWED", "POST")
			return
		}
		s.postConversion(ctx)
	default:
		envelopeError(ctx, fasthttp.StatusNotFound, codeNotFound, msgNotFound)
	}
}

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
	if !ok {
		envelopeError(ctx, fasthttp.StatusUnauthorized, codeInvalidKey, msgKeyInvalid)
		return "", false
	}
	return id, true
}

func (s *Server) postConversion(ctx *fasthttp.RequestCtx) {
	req, err := ingest.ParseJSON(ctx.PostBody())
	if err != nil {
		// Authenticate first: an anonymous caller learns nothing of the body.
		if _, ok := s.advertiserID(ctx, ""); ok {
			envelopeError(ctx, fasthttp.StatusBadRequest, codeValidation, err.Error())
		}
		return
	}
	advertiserID, ok := s.advertiserID(ctx, req.Secure)
	if !ok {
		return
	}
	s.convert(ctx, ingest.Scope{AdvertiserID: advertiserID}, req)
}

// endpointCallback serves GET /pb/{endpointId}: a named endpoint standing
// for the POST of its kind.
func (s *Server) endpointCallback(ctx *fasthttp.RequestCtx, id string) {
	if !ctx.IsGet() && !ctx.IsPost() {
		methodNotAllowed(ctx, envelopeError, "METHOD_NOT_ALLOWED", "GET")
		return
	}
	args := ctx.QueryArgs()
	req := ingest.ParseQuery(func(name string) ([]byte, bool) { return args.Peek(name), args.Has(name) })
	advertiserID, ok := s.advertiserID(ctx, req.Secure)
	if !ok {
		return
	}
	ep := s.catalog.Endpoint(id)
	if ep == nil || ep.AdvertiserID != advertiserID {
		// Another advertiser's endpoint is as good as unknown to this key.
		envelopeError(ctx, fasthttp.StatusNotFound, codeNotFound, msgNotFound)
		return
	}
	if ep.Kind != model.EndpointPrimary {
		envelopeError(ctx, fasthttp.StatusNotFound, codeNotFound, "Secondary event endpoints are not served yet")
		return
	}
	s.convert(ctx, ingest.Scope{AdvertiserID: advertiserID, OfferID: ep.OfferID}, req)
}

// convert runs a conversion and answers as seed 002 does.
func (s *Server) convert(ctx *fasthttp.RequestCtx, scope ingest.Scope, req ingest.Request) {
	rctx, cancel := requestContext(ctx)
	defer cancel()
	res, err := s.deps.Conversions.Convert(rctx, scope, req)
	var fe *ingest.FieldError
	switch {
	case errors.As(err, &fe):
		envelopeError(ctx, fasthttp.StatusBadRequest, codeValidation, fe.Message)
	case err != nil:
		ctx.Response.Header.Set("Retry-After", retryAfterSeconds)
		envelopeError(ctx, fasthttp.StatusServiceUnavailable, codeUnavailable, msgUnavailable)
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
