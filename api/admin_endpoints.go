package api

import (
	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
)

// Named conversion endpoints of advertisers: POST and GET /v2/pb-endpoints.
// Each is served at /pb/{endpointId} (advertiser_conversions.go).

func (s *Server) createEndpoint(ctx *fasthttp.RequestCtx) {
	f, ok := readForm(ctx)
	if !ok {
		return
	}
	advertiserID := f.str("advertiser_id", model.MaxShortFieldLen)
	kind := f.str("kind", 32)
	offerID := f.str("offer_id", model.MaxShortFieldLen)
	switch {
	case f.failed:
		return
	case s.catalog.Advertiser(advertiserID) == nil:
		f.fail("invalid_advertiser_id", "advertiser_id does not name an existing advertiser.")
		return
	case kind != model.EndpointPrimary && kind != model.EndpointSecondary:
		f.fail("invalid_kind", "The kind value is not primary or secondary.")
		return
	case offerID != "":
		if o := s.catalog.Offer(offerID); o == nil || o.AdvertiserID != advertiserID {
			f.fail("invalid_offer_id", "offer_id does not name an offer of this advertiser.")
			return
		}
	}
	id := token("", 20) // unguessable: the URL is handed to third-party trackers
	ep := &model.Endpoint{ID: id, AdvertiserID: advertiserID, Kind: kind, OfferID: offerID, URL: "/pb/" + id,
		CreatedAt: model.FormatTime(now(), model.APITimeLayout)}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	if err := s.deps.Store.SaveEntity(rctx, ep); err != nil {
		s.storageError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusCreated, map[string]any{"success": true, "endpoint": ep})
}

// listEndpoints serves GET /v2/pb-endpoints?advertiser_id=&q=&page=&per_page=.
func (s *Server) listEndpoints(ctx *fasthttp.RequestCtx) {
	page, perPage, ok := s.paging(ctx, envelopeError, "invalid_paging")
	if !ok {
		return
	}
	args := ctx.QueryArgs()
	advertiserID := string(args.Peek("advertiser_id"))
	search, ok := searchTerm(ctx)
	if !ok {
		return
	}
	all := make([]*model.Endpoint, 0)
	for _, ep := range s.catalog.Endpoints() {
		if (advertiserID == "" || ep.AdvertiserID == advertiserID) && search.matches(ep.ID, ep.OfferID) {
			all = append(all, ep)
		}
	}
	writeListing(ctx, "endpoints", all, page, perPage)
}
