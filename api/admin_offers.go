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
	s.answerOffer(ctx, fasthttp.StatusCreated, offer)
}

// adminOffer is an offer as the admin reads it: its revenue in force (its
// payout's when it has none of its own), its visibility, and each cap with
// where it stands.
type adminOffer struct {
	*model.Offer
	// Revenue is the revenue in force; RevenueFollowsPayout says it is the
	// payout's, the offer having none of its own (a form that shows it
	// empty keeps it so).
	Revenue              float64   `json:"revenue"`
	RevenueFollowsPayout bool      `json:"revenue_follows_payout"`
	Visibility           string    `json:"visibility"`
	Caps                 []capView `json:"caps"`
	CTITMinSeconds       int64     `json:"ctit_min_seconds"`
	CTITMaxSeconds       int64     `json:"ctit_max_seconds"`
	// Targeting is always shown: {} when the offer has none.
	Targeting *model.Targeting `json:"targeting"`
}

// targetingView shows t, {} for none.
func targetingView(t *model.Targeting) *model.Targeting {
	if t == nil {
		return &model.Targeting{}
	}
	return t
}

// capView is a cap and where it stands in its current period: a count, or
// an amount in the offer's currency.
type capView struct {
	model.Cap
	Used float64 `json:"used"`
}

// viewOffer shows o to the admin.
func (s *Server) viewOffer(ctx *fasthttp.RequestCtx, o *model.Offer) (adminOffer, error) {
	caps, err := s.capViews(ctx, o, nil)
	visibility := o.Visibility
	if visibility == "" {
		visibility = model.VisibilityPublic
	}
	return adminOffer{Offer: o, Revenue: o.RevenueOrPayout(), RevenueFollowsPayout: o.Revenue == nil, Visibility: visibility, Caps: caps,
		CTITMinSeconds: o.CTITMinSeconds, CTITMaxSeconds: o.CTITMaxSeconds, Targeting: targetingView(o.Targeting)}, err
}

// capViews shows the caps of rec (an affiliate's on offer), or of offer
// when rec is nil, with where they stand.
func (s *Server) capViews(ctx *fasthttp.RequestCtx, offer *model.Offer, rec *model.OfferAffiliate) ([]capView, error) {
	caps := offer.Caps
	if rec != nil {
		caps = rec.Caps
	}
	out := make([]capView, len(caps))
	var used []int64
	if len(caps) > 0 && s.deps.Caps != nil {
		rctx, cancel := requestContext(ctx)
		defer cancel()
		var err error
		if used, err = s.deps.Caps.Used(rctx, offer, rec); err != nil {
			return nil, err
		}
	}
	for i, c := range caps {
		out[i].Cap = c
		if i < len(used) {
			out[i].Used = float64(used[i])
			if c.Money() {
				out[i].Used = model.MicrosToUnits(used[i])
			}
		}
	}
	return out, nil
}

// answerOffer answers {"success": true, "offer": ...}.
func (s *Server) answerOffer(ctx *fasthttp.RequestCtx, status int, o *model.Offer) {
	view, err := s.viewOffer(ctx, o)
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	writeJSON(ctx, status, map[string]any{"success": true, "offer": view})
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
	all := searched(search, s.catalog.Offers(), func(o *model.Offer) []string { return []string{o.ID, o.Name, o.Slug} })
	list := pageOf(all, page, perPage)
	views := make([]adminOffer, len(list))
	for i, o := range list {
		var err error
		if views[i], err = s.viewOffer(ctx, o); err != nil {
			s.storageError(ctx, err)
			return
		}
	}
	writePage(ctx, "offers", views, len(all), page, perPage)
}

func (s *Server) getOffer(ctx *fasthttp.RequestCtx, id string) {
	offer := s.catalog.Offer(id)
	if offer == nil {
		adminNotFound(ctx, "Offer")
		return
	}
	s.answerOffer(ctx, fasthttp.StatusOK, offer)
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
		s.answerOffer(ctx, fasthttp.StatusOK, saved.(*model.Offer))
	}
}
