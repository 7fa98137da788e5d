package api

import (
	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
)

// Every affiliate's postbacks, for the admin: GET /v2/postbacks[/{id}] and
// POST /v2/postbacks/{id}/test; their deliveries are affiliate_deliveries.go.

// adminPostbackView is a postback as the admin reads it: with its
// affiliate.
type adminPostbackView struct {
	postbackView
	AffiliateID string `json:"affiliate_id"`
}

func viewAdminPostback(p *model.Postback) adminPostbackView {
	return adminPostbackView{postbackView: viewPostback(p), AffiliateID: p.AffiliateID}
}

// listAdminPostbacks serves GET /v2/postbacks?affiliate_id=&status=&page=&per_page=.
func (s *Server) listAdminPostbacks(ctx *fasthttp.RequestCtx) {
	page, perPage, ok := s.paging(ctx, envelopeError, "invalid_paging")
	if !ok {
		return
	}
	args := ctx.QueryArgs()
	affiliateID, status := string(args.Peek("affiliate_id")), string(args.Peek("status"))
	if status != "" && status != model.StatusActive && status != model.StatusDisabled {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_status", "status must be active or disabled.")
		return
	}
	search, ok := searchTerm(ctx)
	if !ok {
		return
	}
	all := []adminPostbackView{} // none is [], not null
	for _, aff := range s.catalog.Affiliates() {
		if affiliateID != "" && aff.ID != affiliateID {
			continue
		}
		for _, pb := range s.catalog.Postbacks(aff.ID) {
			if (status == "" || pb.Status == status) && search.matches(pb.ID, pb.URL, aff.Name) {
				all = append(all, viewAdminPostback(pb))
			}
		}
	}
	writeListing(ctx, "postbacks", all, page, perPage)
}

// getAdminPostback serves GET /v2/postbacks/{id}.
func (s *Server) getAdminPostback(ctx *fasthttp.RequestCtx, pb *model.Postback, _ postbackCaller) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "postback": viewAdminPostback(pb)})
}

// adminTestPostback serves POST /v2/postbacks/{id}/test.
func (s *Server) adminTestPostback(ctx *fasthttp.RequestCtx, pb *model.Postback, _ postbackCaller) {
	if s.deps.Postbacks == nil {
		envelopeError(ctx, fasthttp.StatusServiceUnavailable, "unavailable", "Postback tests are not available on this server.")
		return
	}
	s.answerTest(ctx, pb, s.catalog.Affiliate(pb.AffiliateID))
}
