package api

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/valyala/fasthttp"
)

// Each surface answers errors in the envelope of the document it follows.

// writeJSON answers status with v encoded as JSON. URLs are the common
// payload here, so "&" stays "&" rather than "\u0026": answers are never
// embedded in HTML.
func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = fasthttp.StatusInternalServerError
		body.Reset()
		body.WriteString(`{"success":false,"error":{"code":"server_error","message":"An unexpected error occurred on the server."}}`)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBody(bytes.TrimSuffix(body.Bytes(), []byte("\n")))
}

// envelopeError is the {"success": false, "error": {code, message}}
// envelope the admin API and seed 002's advertiser API share; they differ
// in their codes (seed 003's lower-case ones, seed 002's upper-case ones).
func envelopeError(ctx *fasthttp.RequestCtx, status int, code, message string) {
	writeJSON(ctx, status, map[string]any{
		"success": false,
		"error":   map[string]string{"code": code, "message": message},
	})
}

// affiliateError is seed 000's envelope, status repeated in the body.
func affiliateError(ctx *fasthttp.RequestCtx, status int, code, message string) {
	writeJSON(ctx, status, map[string]any{
		"error": map[string]any{"code": code, "message": message, "status": status},
	})
}

// Errors every admin handler may answer (seed 003's wording where it has one).
func adminUnauthorized(ctx *fasthttp.RequestCtx) {
	envelopeError(ctx, fasthttp.StatusUnauthorized, "unauthorized", "API key is missing or invalid.")
}

func adminNotFound(ctx *fasthttp.RequestCtx, what string) {
	envelopeError(ctx, fasthttp.StatusNotFound, "not_found", what+" not found.")
}

func adminBadJSON(ctx *fasthttp.RequestCtx) {
	envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_json", "The request body must be a JSON object.")
}

// validationError answers seed 002's 400 VALIDATION_ERROR.
func validationError(ctx *fasthttp.RequestCtx, message string) {
	envelopeError(ctx, fasthttp.StatusBadRequest, codeValidation, message)
}

func advertiserNotFound(ctx *fasthttp.RequestCtx) {
	envelopeError(ctx, fasthttp.StatusNotFound, codeNotFound, msgNotFound)
}

func methodNotAllowed(ctx *fasthttp.RequestCtx, fail func(*fasthttp.RequestCtx, int, string, string), code string, allow string) {
	ctx.Response.Header.Set("Allow", allow)
	fail(ctx, fasthttp.StatusMethodNotAllowed, code, "Method not allowed; use "+allow+".")
}

// surfaceErrors are a surface's answers to a path or method it lacks, and
// to any other failure (fail: an error code in the admin API's lower-case
// words, such as "server_error", answered in the surface's own words).
type surfaceErrors struct {
	notFound   func(ctx *fasthttp.RequestCtx)
	notAllowed func(ctx *fasthttp.RequestCtx, allow string)
	fail       func(ctx *fasthttp.RequestCtx, status int, code, message string)
}

// upperCode is a seed 000 or 002 error code: upper case, and a server error
// is INTERNAL_ERROR, as seed 002 names it.
func upperCode(code string) string {
	if code == "server_error" {
		return "INTERNAL_ERROR"
	}
	return strings.ToUpper(code)
}

var (
	adminSurface = surfaceErrors{
		notFound: func(ctx *fasthttp.RequestCtx) {
			envelopeError(ctx, fasthttp.StatusNotFound, "not_found", "No such endpoint.")
		},
		notAllowed: func(ctx *fasthttp.RequestCtx, allow string) {
			methodNotAllowed(ctx, envelopeError, "method_not_allowed", allow)
		},
		fail: envelopeError,
	}
	advertiserSurface = surfaceErrors{
		notFound: func(ctx *fasthttp.RequestCtx) {
			envelopeError(ctx, fasthttp.StatusNotFound, codeNotFound, msgNotFound)
		},
		notAllowed: func(ctx *fasthttp.RequestCtx, allow string) {
			methodNotAllowed(ctx, envelopeError, "METHOD_NOT_ALLOWED", allow)
		},
		fail: func(ctx *fasthttp.RequestCtx, status int, code, message string) {
			envelopeError(ctx, status, upperCode(code), message)
		},
	}
	affiliateSurface = surfaceErrors{
		notFound: func(ctx *fasthttp.RequestCtx) {
			affiliateError(ctx, fasthttp.StatusNotFound, "NOT_FOUND", "Resource does not exist.")
		},
		notAllowed: func(ctx *fasthttp.RequestCtx, allow string) {
			methodNotAllowed(ctx, affiliateError, "METHOD_NOT_ALLOWED", allow)
		},
		fail: func(ctx *fasthttp.RequestCtx, status int, code, message string) {
			affiliateError(ctx, status, upperCode(code), message)
		},
	}
	publisherSurface = surfaceErrors{
		notFound: func(ctx *fasthttp.RequestCtx) {
			feedError(ctx, fasthttp.StatusNotFound, feedNotFound, "No such endpoint; the offer feed is GET /v1/s2s/offers.")
		},
		notAllowed: func(ctx *fasthttp.RequestCtx, allow string) {
			ctx.Response.Header.Set("Allow", allow)
			feedError(ctx, fasthttp.StatusMethodNotAllowed, feedMethod, "Method not allowed; use "+allow+".")
		},
		fail: func(ctx *fasthttp.RequestCtx, status int, _, message string) {
			c := feedServerError
			if status < 500 {
				c = feedBadRequest
			}
			feedError(ctx, status, c, message)
		},
	}
)

// surfaceOf is the surface a path belongs to, by its prefix.
func surfaceOf(path string) surfaceErrors {
	switch {
	case strings.HasPrefix(path, "/api/v1/") || strings.HasPrefix(path, "/pb/"):
		return advertiserSurface
	case strings.HasPrefix(path, "/v1/s2s/"):
		return publisherSurface
	case strings.HasPrefix(path, "/v1/") && !strings.HasPrefix(path, "/v1/networks/"):
		return affiliateSurface
	}
	return adminSurface
}

// storageError answers 503 when an engine failed: the request may be
// retried, and no half-done state is visible.
func (s *Server) storageError(ctx *fasthttp.RequestCtx, err error) {
	s.log.Error().Err(err).Bytes("path", ctx.Path()).Msg("storage error")
	ctx.Response.Header.Set("Retry-After", "1")
	s.fail(ctx, fasthttp.StatusServiceUnavailable, "service_unavailable", "A storage engine is unavailable; retry shortly.")
}

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
