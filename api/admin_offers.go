package api

import (
	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
)

// The network's offers: POST, GET and PATCH /v2/offers[/{id}].

func (s *Server) createOffer(ctx *fasthttp.RequestCtx) {
	fields, ok := jsonFields(ctx)
	if !ok {
		return
	}
	offer := model.DefaultOffer()
	if err := model.ApplyOfferFields(offer, fields); err != nil {
		envelopeError(ctx, fasthttp.StatusBadRequest, err.Code, err.Message)
		return
	}
	if err := model.ValidateOffer(offer); err != nil {
		envelopeError(ctx, fasthttp.StatusBadRequest, err.Code, err.Message)
		return
	}
	if !s.checkAdvertiser(ctx, offer) {
		return
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	id, err := s.deps.Store.NextID(rctx, model.KindOffer)
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	offer.ID = id
	offer.Slug = "ofr_" + model.Slugify(offer.Name, 40) + "_" + hexToken(3)
	offer.CreatedAt = model.FormatTime(now(), model.OfferTimeLayout)
	offer.UpdatedAt = offer.CreatedAt
	if err := s.deps.Store.SaveEntity(rctx, offer); err != nil {
		s.storageError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusCreated, map[string]any{"success": true, "offer": offer})
}

// checkAdvertiser refuses an offer naming an advertiser that does not exist.
func (s *Server) checkAdvertiser(ctx *fasthttp.RequestCtx, offer *model.Offer) bool {
	if offer.AdvertiserID != "" && s.catalog.Advertiser(offer.AdvertiserID) == nil {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_advertiser_id", "advertiser_id does not name an existing advertiser.")
		return false
	}
	return true
}

func (s *Server) listOffers(ctx *fasthttp.RequestCtx) {
	page, perPage, ok := s.paging(ctx, envelopeError, "invalid_paging")
	if !ok {
		return
	}
	search, ok := searchTerm(ctx)
	if !ok {
		return
	}
	all := s.catalog.Offers()
	if search != "" {
		found := []*model.Offer{}
		for _, o := range all {
			if search.matches(o.ID, o.Name, o.Slug) {
				found = append(found, o)
			}
		}
		all = found
	}
	writeListing(ctx, "offers", all, page, perPage)
}

func (s *Server) getOffer(ctx *fasthttp.RequestCtx, id string) {
	offer := s.catalog.Offer(id)
	if offer == nil {
		adminNotFound(ctx, "Offer")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "offer": offer})
}

func (s *Server) patchOffer(ctx *fasthttp.RequestCtx, id string) {
	current := s.catalog.Offer(id)
	if current == nil {
		adminNotFound(ctx, "Offer")
		return
	}
	fields, ok := jsonFields(ctx)
	if !ok {
		return
	}
	saved, ok := s.update(ctx, current, envelopeError, func(e model.Entity) (model.Entity, error) {
		offer := e.(*model.Offer)
		if err := model.ApplyOfferFields(offer, fields); err != nil {
			envelopeError(ctx, fasthttp.StatusBadRequest, err.Code, err.Message)
			return nil, errAnswered
		}
		if err := model.ValidateOffer(offer); err != nil {
			envelopeError(ctx, fasthttp.StatusBadRequest, err.Code, err.Message)
			return nil, errAnswered
		}
		if !s.checkAdvertiser(ctx, offer) {
			return nil, errAnswered
		}
		offer.UpdatedAt = model.FormatTime(now(), model.OfferTimeLayout)
		return offer, nil
	})
	if ok {
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "offer": saved})
	}
}
