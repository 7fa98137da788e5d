package api

import (
	"net"
	"net/netip"
	"strings"

	"github.com/valyala/fasthttp"
)

// Where a request comes from: the client's address behind trusted
// proxies, and whether it reached us over TLS.

// clientLocator is what the click handler offers to find the caller's
// address behind trusted proxies (tracker.Tracker does).
type clientLocator interface {
	ClientIP(ctx *fasthttp.RequestCtx) netip.Addr
}

// clientIP is the caller's address, judged by the click path's rules on
// trusted proxies when the click handler offers them, else the peer's.
func (s *Server) clientIP(ctx *fasthttp.RequestCtx) netip.Addr {
	if l, ok := s.deps.Clicks.(clientLocator); ok {
		return l.ClientIP(ctx)
	}
	if tcp, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		return tcp.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// proxyJudge is what the click handler offers to tell a trusted proxy.
type proxyJudge interface {
	TrustsPeer(ctx *fasthttp.RequestCtx) bool
}

// overTLS reports whether the browser reached us over TLS: directly, or
// through a trusted proxy that says so in X-Forwarded-Proto.
func (s *Server) overTLS(ctx *fasthttp.RequestCtx) bool {
	if ctx.IsTLS() {
		return true
	}
	j, ok := s.deps.Clicks.(proxyJudge)
	return ok && j.TrustsPeer(ctx) && strings.EqualFold(string(ctx.Request.Header.Peek("X-Forwarded-Proto")), "https")
}
