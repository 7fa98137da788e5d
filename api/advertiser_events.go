package api

import (
	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/ingest"
)

// Secondary events (seed 002): POST /api/v1/events, and the secondary kind
// of /pb/{endpointId}.

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
