package api

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
)

// Affiliates on an offer: GET /v2/offers/{id}/affiliates, GET, PUT and
// DELETE /v2/offers/{id}/affiliates/{affiliate_id}, and every record across
// offers (the console's queue of applications): GET /v2/offer-affiliates.

// offerAffiliateView is an affiliate's record on an offer as the admin
// reads it: with both names, the payout in force, and each cap with where
// it stands.
type offerAffiliateView struct {
	OfferID       string   `json:"offer_id"`
	OfferName     string   `json:"offer_name"`
	AffiliateID   string   `json:"affiliate_id"`
	AffiliateName string   `json:"affiliate_name"`
	Access        string   `json:"access"`
	Payout        *float64 `json:"payout"`
	// PayoutInForce is what the affiliate earns: its payout, else the
	// offer's.
	PayoutInForce float64           `json:"payout_in_force"`
	Caps          []capView         `json:"caps"`
	BlockedSubs   model.BlockedSubs `json:"blocked_subs"`
	// Targeting narrows the offer's for this affiliate ({}: none).
	Targeting *model.Targeting `json:"targeting"`
	CreatedAt string           `json:"created_at"`
	UpdatedAt string           `json:"updated_at"`
}

func (s *Server) viewOfferAffiliate(ctx *fasthttp.RequestCtx, offer *model.Offer, rec *model.OfferAffiliate) (offerAffiliateView, error) {
	caps, err := s.capViews(ctx, offer, rec)
	v := offerAffiliateView{OfferID: offer.ID, OfferName: offer.Name, AffiliateID: rec.AffiliateID, Access: rec.Access,
		Payout: rec.Payout, PayoutInForce: model.TermsFor(offer, rec).Payout, Caps: caps, BlockedSubs: rec.BlockedSubs,
		Targeting: targetingView(rec.Targeting), CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt}
	if a := s.catalog.Affiliate(rec.AffiliateID); a != nil {
		v.AffiliateName = a.Name
	}
	return v, err
}

// accessFilter reads access=, one of model.Accesses; "" lists all.
func accessFilter(ctx *fasthttp.RequestCtx) (string, bool) {
	access := string(ctx.QueryArgs().Peek("access"))
	if access != "" && !slices.Contains(model.Accesses, access) {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_access", "access must be approved, pending, rejected or blocked.")
		return "", false
	}
	return access, true
}

// listOfferAffiliates serves GET /v2/offers/{id}/affiliates?access=&page=&per_page=.
func (s *Server) listOfferAffiliates(ctx *fasthttp.RequestCtx, id string) {
	offer := s.catalog.Offer(id)
	if offer == nil {
		adminNotFound(ctx, "Offer")
		return
	}
	s.listRecords(ctx, func(r *model.OfferAffiliate) bool { return r.OfferID == offer.ID })
}

// listAllOfferAffiliates serves GET /v2/offer-affiliates?access=&page=&per_page=.
func (s *Server) listAllOfferAffiliates(ctx *fasthttp.RequestCtx) {
	s.listRecords(ctx, func(*model.OfferAffiliate) bool { return true })
}

// listRecords answers the page of the records keep accepts, by offer then
// affiliate, filtered by access=.
func (s *Server) listRecords(ctx *fasthttp.RequestCtx, keep func(*model.OfferAffiliate) bool) {
	page, perPage, ok := s.paging(ctx, envelopeError, "invalid_paging")
	if !ok {
		return
	}
	access, ok := accessFilter(ctx)
	if !ok {
		return
	}
	all := s.catalog.OfferAffiliatesWhere(func(r *model.OfferAffiliate) bool {
		return keep(r) && (access == "" || r.Access == access)
	})
	list := pageOf(all, page, perPage)
	views := make([]offerAffiliateView, 0, len(list))
	for _, r := range list {
		offer := s.catalog.Offer(r.OfferID)
		if offer == nil {
			continue
		}
		v, err := s.viewOfferAffiliate(ctx, offer, r)
		if err != nil {
			s.storageError(ctx, err)
			return
		}
		views = append(views, v)
	}
	writePage(ctx, "offer_affiliates", views, len(all), page, perPage)
}

// offerAndAffiliate finds the offer and the affiliate a path names,
// answering 404 when either is missing.
func (s *Server) offerAndAffiliate(ctx *fasthttp.RequestCtx, offerID, affiliateID string) (*model.Offer, *model.Affiliate, bool) {
	offer := s.catalog.Offer(offerID)
	if offer == nil {
		adminNotFound(ctx, "Offer")
		return nil, nil, false
	}
	aff := s.catalog.Affiliate(affiliateID)
	if aff == nil {
		adminNotFound(ctx, "Affiliate")
		return nil, nil, false
	}
	return offer, aff, true
}

// getOfferAffiliate serves GET /v2/offers/{id}/affiliates/{affiliate_id}:
// the record, or for an affiliate without one, what it has by default.
func (s *Server) getOfferAffiliate(ctx *fasthttp.RequestCtx, offerID, affiliateID string) {
	offer, aff, ok := s.offerAndAffiliate(ctx, offerID, affiliateID)
	if !ok {
		return
	}
	rec := s.catalog.OfferAffiliate(offer.ID, aff.ID)
	if rec == nil {
		adminNotFound(ctx, "The affiliate's record on the offer")
		return
	}
	s.answerOfferAffiliate(ctx, offer, rec)
}

func (s *Server) answerOfferAffiliate(ctx *fasthttp.RequestCtx, offer *model.Offer, rec *model.OfferAffiliate) {
	v, err := s.viewOfferAffiliate(ctx, offer, rec)
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "offer_affiliate": v})
}

// putOfferAffiliate serves PUT /v2/offers/{id}/affiliates/{affiliate_id}:
// creates the record, or changes the fields the body names on the record
// as stored now (access, payout, caps, blocked_subs, targeting).
func (s *Server) putOfferAffiliate(ctx *fasthttp.RequestCtx, offerID, affiliateID string) {
	offer, aff, ok := s.offerAndAffiliate(ctx, offerID, affiliateID)
	if !ok {
		return
	}
	fields, ok := jsonFields(ctx)
	if !ok {
		return
	}
	patch, ferr := parseRecordFields(offer, fields)
	if ferr != nil {
		envelopeError(ctx, fasthttp.StatusBadRequest, ferr.Code, ferr.Message)
		return
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	saved, err := s.deps.Store.UpsertEntity(rctx, model.KindOfferAffiliate, model.OfferAffiliateID(offer.ID, aff.ID),
		func(e model.Entity) (model.Entity, error) {
			rec, at := s.newRecord(e, offer.ID, aff.ID, model.AccessApproved)
			patch(rec)
			rec.UpdatedAt = at
			return rec, nil
		})
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	s.answerOfferAffiliate(ctx, offer, saved.(*model.OfferAffiliate))
}

// newRecord is e (an affiliate's record, nil when it has none) to change,
// or a new one with access; at is now, as records show times.
func (s *Server) newRecord(e model.Entity, offerID, affiliateID, access string) (*model.OfferAffiliate, string) {
	at := model.FormatTime(now(), model.APITimeLayout)
	if rec, ok := e.(*model.OfferAffiliate); ok && rec != nil {
		return rec, at
	}
	return &model.OfferAffiliate{OfferID: offerID, AffiliateID: affiliateID, Access: access, CreatedAt: at}, at
}

// parseRecordFields reads a PUT's fields, each optional, into the change
// they make to a record.
func parseRecordFields(offer *model.Offer, fields map[string]json.RawMessage) (func(*model.OfferAffiliate), *model.FieldError) {
	var changes []func(*model.OfferAffiliate)
	if raw, ok := fields["access"]; ok {
		var access string
		if json.Unmarshal(raw, &access) != nil || !slices.Contains(model.Accesses, access) {
			return nil, &model.FieldError{Code: "invalid_access", Message: "access must be approved, pending, rejected or blocked."}
		}
		changes = append(changes, func(r *model.OfferAffiliate) { r.Access = access })
	}
	if raw, ok := fields["payout"]; ok {
		var payout *float64
		if json.Unmarshal(raw, &payout) != nil || payout != nil && (*payout < 0 || *payout > model.MaxPayout) {
			return nil, &model.FieldError{Code: "invalid_payout", Message: fmt.Sprintf("payout must be a number from 0 to %d, or null for the offer's.", model.MaxPayout)}
		}
		if payout != nil && offer.IsPercentage() && *payout > 100 {
			return nil, &model.FieldError{Code: "invalid_payout", Message: "payout is a percentage of the sale on this offer: from 0 to 100."}
		}
		changes = append(changes, func(r *model.OfferAffiliate) { r.Payout = payout })
	}
	if raw, ok := fields["caps"]; ok {
		caps, err := model.ParseCaps(raw)
		if err != nil {
			return nil, err
		}
		changes = append(changes, func(r *model.OfferAffiliate) { r.Caps = caps })
	}
	if raw, ok := fields["blocked_subs"]; ok {
		blocked, err := model.ParseBlockedSubs(raw)
		if err != nil {
			return nil, err
		}
		changes = append(changes, func(r *model.OfferAffiliate) { r.BlockedSubs = blocked })
	}
	if raw, ok := fields["targeting"]; ok {
		targeting, err := model.ParseTargeting(raw)
		if err != nil {
			return nil, err
		}
		changes = append(changes, func(r *model.OfferAffiliate) { r.Targeting = targeting })
	}
	return func(r *model.OfferAffiliate) {
		for _, c := range changes {
			c(r)
		}
	}, nil
}

// deleteOfferAffiliate serves DELETE /v2/offers/{id}/affiliates/{affiliate_id}:
// the affiliate has the offer's defaults again.
func (s *Server) deleteOfferAffiliate(ctx *fasthttp.RequestCtx, offerID, affiliateID string) {
	offer, aff, ok := s.offerAndAffiliate(ctx, offerID, affiliateID)
	if !ok {
		return
	}
	if s.catalog.OfferAffiliate(offer.ID, aff.ID) == nil {
		adminNotFound(ctx, "The affiliate's record on the offer")
		return
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	if err := s.deps.Store.DeleteEntity(rctx, model.KindOfferAffiliate, model.OfferAffiliateID(offer.ID, aff.ID)); err != nil {
		s.storageError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "deleted": true})
}
