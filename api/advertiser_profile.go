package api

import (
	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
)

// GET /api/v1/profile (seed 002).

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
