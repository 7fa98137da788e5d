package api

import (
	"net/url"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
)

// The smart links an affiliate may send traffic to (seed 000's envelope
// and paging, as /v1/offers): GET /v1/smart-links.

// affiliateSmartLink is a smart link with the affiliate's own link. Which
// offers it routes to, by what weights, is the network's.
type affiliateSmartLink struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Slug         string `json:"slug"`
	Status       string `json:"status"`
	TrackingLink string `json:"tracking_link"`
	CreatedAt    string `json:"created_at"`
}

// listAffiliateSmartLinks lists the active smart links with at least one
// offer the affiliate may run (its access on the offer: a link whose every
// offer is closed to it would send all its traffic to the fallback).
func (s *Server) listAffiliateSmartLinks(ctx *fasthttp.RequestCtx, aff *model.Affiliate) {
	page, perPage, perr := parsePage(ctx.QueryArgs())
	if perr != nil {
		affiliateError(ctx, fasthttp.StatusBadRequest, "BAD_REQUEST", perr.Message)
		return
	}
	var selected []*model.SmartLink
	for _, l := range s.catalog.SmartLinks() {
		if l.Status == model.StatusActive && s.mayRunSome(l, aff) {
			selected = append(selected, l)
		}
	}
	base := s.publicBase(ctx)
	list := pageOf(selected, page, perPage)
	out := make([]affiliateSmartLink, len(list))
	for i, l := range list {
		out[i] = affiliateSmartLink{ID: l.ID, Name: l.Name, Slug: l.Slug, Status: l.Status,
			TrackingLink: smartLinkTrackingLink(base, l, aff), CreatedAt: l.CreatedAt}
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"data": out,
		"meta": map[string]int{"total": len(selected), "page": page, "per_page": perPage},
	})
}

// mayRunSome reports whether aff may run at least one offer of l.
func (s *Server) mayRunSome(l *model.SmartLink, aff *model.Affiliate) bool {
	for _, o := range l.Offers {
		if offer := s.catalog.Offer(o.OfferID); offer != nil && model.MayRun(offer, s.catalog.OfferAffiliate(offer.ID, aff.ID)) {
			return true
		}
	}
	return false
}

// smartLinkTrackingLink is <base>/s/<slug>?aff_id=<affiliate id>.
func smartLinkTrackingLink(base string, l *model.SmartLink, aff *model.Affiliate) string {
	return base + "/s/" + url.PathEscape(l.Slug) + "?aff_id=" + url.QueryEscape(aff.ID)
}
