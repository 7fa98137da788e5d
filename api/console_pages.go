package api

import (
	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/console"
)

// The web console's page and assets: GET / and /assets/{file}. The page
// calls the same JSON APIs as any client (console_sessions.go).

// consoleHeaders are the security headers of every console answer.
func consoleHeaders(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set("Content-Security-Policy", console.ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// consoleIndex serves the page every hash route (#/overview, ...) lives in.
func (s *Server) consoleIndex(ctx *fasthttp.RequestCtx) {
	consoleHeaders(ctx)
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetBody(console.Index())
}

// consoleAsset serves a script, style sheet or image of the console.
func (s *Server) consoleAsset(ctx *fasthttp.RequestCtx, name string) {
	body, contentType, ok := console.Asset(name)
	if !ok {
		adminNotFound(ctx, "Asset")
		return
	}
	consoleHeaders(ctx)
	// Revalidated on every load (fasthttp answers no ETag): the assets
	// change with the binary, and a stale script against a new API is
	// worse than a few kilobytes.
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.SetContentType(contentType)
	ctx.SetBody(body)
}
