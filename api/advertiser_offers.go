package api

import (
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
)

// The advertiser's offers (seed 002): GET /api/v1/offers and
// /api/v1/offers/{code}, its own offers only.

// Page sizes of seed 002's offer listing: its maximum, and our default.
const (
	defaultOffersPage = 50
	maxOffersPage     = 100 // seed 002
)

// Offer statuses as seed 002 names them: our active offer is "published".
const (
	offerPublished = "published"
	offerDraft     = "draft"
	offerArchived  = "archived"
)

// ownOffer returns the advertiser's offer by slug or ID; another
// advertiser's offer is as unknown as a missing one.
func (s *Server) ownOffer(advertiserID, code string) *model.Offer {
	if code == "" || len(code) > maxPathIDLen {
		return nil
	}
	o := s.catalog.Offer(code)
	if o == nil || o.AdvertiserID != advertiserID {
		return nil
	}
	return o
}

// offerCode is the code seed 002 shows for an offer: its slug.
func (s *Server) offerCode(offerID string) string {
	if o := s.catalog.Offer(offerID); o != nil && o.Slug != "" {
		return o.Slug
	}
	return offerID
}

// offerStatus is seed 002's name for an offer's status.
func offerStatus(o *model.Offer) string {
	if o.Status == model.StatusActive {
		return offerPublished
	}
	return o.Status
}

// payoutTerms: what the advertiser pays per conversion. A CPS / RevShare
// offer pays a percentage of the sale, so it has no fixed amount: percent
// says how much, advertiserPayoutCents is null.
func payoutTerms(o *model.Offer) map[string]any {
	if o.IsPercentage() {
		return map[string]any{"advertiserPayoutCents": nil, "percent": o.RevenueOrPayout()}
	}
	return map[string]any{"advertiserPayoutCents": cents(model.UnitsToMicros(o.RevenueOrPayout()))}
}

// listAdvertiserOffers serves GET /api/v1/offers: the advertiser's offers
// in ID order, by cursor.
func (s *Server) listAdvertiserOffers(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	advertiserID, ok := s.advertiserID(ctx, string(args.Peek("secure")))
	if !ok {
		return
	}
	status := string(args.Peek("status"))
	if status != "" && !slices.Contains([]string{offerPublished, model.StatusPaused, offerDraft, offerArchived}, status) {
		validationError(ctx, "status must be one of published, paused, draft, archived")
		return
	}
	limit, ok := queryLimit(ctx, defaultOffersPage, maxOffersPage)
	if !ok {
		return
	}
	after := ""
	if cursor := string(args.Peek("cursor")); cursor != "" {
		if after, ok = decodeCursor("o", cursor); !ok || len(after) > maxPathIDLen {
			validationError(ctx, msgBadCursor)
			return
		}
	}
	all := s.catalog.Offers() // in ID order, so a cursor is the last ID seen
	data := make([]map[string]any, 0, min(limit, len(all)))
	var last string
	hasMore := false
	for _, o := range all {
		if o.AdvertiserID != advertiserID || (status != "" && offerStatus(o) != status) ||
			(after != "" && compareOfferIDs(o.ID, after) <= 0) {
			continue
		}
		if len(data) == limit {
			hasMore = true
			break
		}
		data = append(data, map[string]any{
			"code": s.offerCode(o.ID), "name": o.Name, "status": offerStatus(o), "currency": offerCurrency(o),
			"commissionType": o.PayoutType, "payoutTerms": payoutTerms(o),
		})
		last = o.ID
	}
	var next any
	if hasMore {
		next = encodeCursor("o", last)
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"success": true,
		"data":    data,
		"meta":    map[string]any{"pagination": map[string]any{"hasMore": hasMore, "nextCursor": next}},
	})
}

// compareOfferIDs orders IDs as the catalog lists them: numeric IDs by
// value (shorter first), any others by text.
func compareOfferIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

func offerCurrency(o *model.Offer) string {
	if o.Currency == "" {
		return "USD"
	}
	return o.Currency
}

// getAdvertiserOffer serves GET /api/v1/offers/{code}.
func (s *Server) getAdvertiserOffer(ctx *fasthttp.RequestCtx, code string) {
	advertiserID, ok := s.advertiserID(ctx, string(ctx.QueryArgs().Peek("secure")))
	if !ok {
		return
	}
	o := s.ownOffer(advertiserID, code)
	if o == nil {
		advertiserNotFound(ctx)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "data": map[string]any{
		"code": s.offerCode(o.ID), "name": o.Name, "status": offerStatus(o), "currency": offerCurrency(o),
		"commissionType": o.PayoutType, "primaryUrl": o.TrackingURL, "payoutTerms": payoutTerms(o),
	}})
}
