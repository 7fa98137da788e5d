package api

import (
	"bytes"
	"encoding/json"

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

func methodNotAllowed(ctx *fasthttp.RequestCtx, fail func(*fasthttp.RequestCtx, int, string, string), code string, allow string) {
	ctx.Response.Header.Set("Allow", allow)
	fail(ctx, fasthttp.StatusMethodNotAllowed, code, "Method not allowed; use "+allow+".")
}
