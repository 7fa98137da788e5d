package api

import (
	"context"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// The offers an affiliate runs (seed 000): GET /v1/offers and
// /v1/offers/{offer_id}.

// epcWindow is the span epc_avg averages over.
const epcWindow = 30 * 24 * time.Hour

// affiliateOffer is seed 000's offer, plus the affiliate's own ready link.
// The advertiser's tracking_url is never shown: affiliates send traffic
// through the click path, which records and attributes it.
type affiliateOffer struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Vertical       string   `json:"vertical"`
	Payout         float64  `json:"payout"`
	PayoutType     string   `json:"payout_type"`
	Geo            []string `json:"geo"`
	Status         string   `json:"status"`
	PreviewURL     string   `json:"preview_url"`
	CreativesCount int      `json:"creatives_count"`
	EPCAvg         float64  `json:"epc_avg"`
	// TrackingLink is there only when the affiliate may send traffic to
	// the offer.
	TrackingLink string `json:"tracking_link,omitempty"`
	// Visibility is the offer's; ApprovalStatus where the affiliate stands
	// on it: approved (a public offer, or approved on it), not_applied,
	// pending, or rejected.
	Visibility     string `json:"visibility"`
	ApprovalStatus string `json:"approval_status"`
}

// affiliateOfferDetail is GET /v1/offers/{offer_id}: the list's fields and
// everything else an affiliate needs to run the offer.
type affiliateOfferDetail struct {
	affiliateOffer
	Slug           string   `json:"slug"`
	Currency       string   `json:"currency"`
	OS             string   `json:"os"`
	Icon           string   `json:"icon"`
	Package        string   `json:"package"`
	ConversionFlow string   `json:"conversion_flow"`
	OSVersion      string   `json:"os_version"`
	Creatives      []string `json:"creatives"`
	// TrackingLinkTemplate is TrackingLink with every parameter the click
	// path reads, each value a {placeholder} for the affiliate's tracker to
	// fill; TrackingParameters says what each one is for.
	TrackingLinkTemplate string              `json:"tracking_link_template,omitempty"`
	TrackingParameters   []trackingParameter `json:"tracking_parameters"`
	CreatedAt            string              `json:"created_at"`
	UpdatedAt            string              `json:"updated_at"`
}

type trackingParameter struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// trackingParameters are the optional parameters of a tracking link, in
// the order the template lists them.
var trackingParameters = []trackingParameter{
	{"sub1", "Your sub-ID 1 (e.g. campaign); up to 512 characters, returned in stats, conversions and the {sub1} postback macro."},
	{"sub2", "Your sub-ID 2 (e.g. ad set); returned as sub2 and {sub2}."},
	{"sub3", "Your sub-ID 3 (e.g. creative); returned as sub3 and {sub3}."},
	{"sub4", "Your sub-ID 4; returned as sub4 and {sub4}."},
	{"sub5", "Your sub-ID 5; returned as sub5 and {sub5}."},
	{"aff_click_id", "Your own click ID, returned in the {aff_click_id} postback macro."},
}

// Offer status filters (seed 000).
const offerStatusAll = "all"

// offerFilter is a GET /v1/offers request.
type offerFilter struct {
	Geo        string // alpha-2, upper case; empty: any
	PayoutType string // one of model.PayoutTypes; empty: any
	Status     string // active, paused or all
	Page       int
	PerPage    int
}

func parseOfferFilter(args *fasthttp.Args) (offerFilter, *paramError) {
	f := offerFilter{Status: model.StatusActive}
	var perr *paramError
	if f.Geo, perr = parseCountry(args, "geo"); perr != nil {
		return f, perr
	}
	if pt := strings.ToLower(strings.TrimSpace(string(args.Peek("payout_type")))); pt != "" {
		if !model.ValidPayoutType(pt) {
			return f, badParam("payout_type", "payout_type must be one of %s.", strings.Join(model.PayoutTypes, ", "))
		}
		f.PayoutType = pt
	}
	if st := strings.ToLower(strings.TrimSpace(string(args.Peek("status")))); st != "" {
		if st != model.StatusActive && st != model.StatusPaused && st != offerStatusAll {
			return f, badParam("status", "status must be active, paused or all.")
		}
		f.Status = st
	}
	f.Page, f.PerPage, perr = parsePage(args)
	return f, perr
}

// matches reports whether the filter selects o.
func (f *offerFilter) matches(o *model.Offer) bool {
	return (f.Status == offerStatusAll || o.Status == f.Status) &&
		(f.PayoutType == "" || o.PayoutType == f.PayoutType) &&
		(f.Geo == "" || o.Targets(f.Geo))
}

func (s *Server) listAffiliateOffers(ctx *fasthttp.RequestCtx, aff *model.Affiliate) {
	f, perr := parseOfferFilter(ctx.QueryArgs())
	if perr != nil {
		affiliateError(ctx, fasthttp.StatusBadRequest, "BAD_REQUEST", perr.Message)
		return
	}
	var selected []*model.Offer
	for _, o := range s.catalog.Offers() {
		if f.matches(o) && model.Sees(o, s.catalog.OfferAffiliate(o.ID, aff.ID)) {
			selected = append(selected, o)
		}
	}
	from := min((f.Page-1)*f.PerPage, len(selected))
	page := selected[from:min(from+f.PerPage, len(selected))]

	rctx, cancel := requestContext(ctx)
	defer cancel()
	epc, err := s.offerEPC(rctx, page)
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	base := s.publicBase(ctx)
	out := make([]affiliateOffer, 0, len(page))
	for _, o := range page {
		out = append(out, s.viewAffiliateOffer(o, aff, base, epc[o.ID]))
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"data": out,
		"meta": map[string]int{"total": len(selected), "page": f.Page, "per_page": f.PerPage},
	})
}

func (s *Server) getAffiliateOffer(ctx *fasthttp.RequestCtx, aff *model.Affiliate, idOrSlug string) {
	o := s.visibleOffer(ctx, aff, idOrSlug)
	if o == nil {
		return
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	epc, err := s.offerEPC(rctx, []*model.Offer{o})
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	base := s.publicBase(ctx)
	view := affiliateOfferDetail{
		affiliateOffer: s.viewAffiliateOffer(o, aff, base, epc[o.ID]),
		Slug:           o.Slug, Currency: o.Currency, OS: o.OS,
		Icon: o.Icon, Package: o.Package, ConversionFlow: o.ConversionFlow, OSVersion: o.OSVersion,
		Creatives:          []string{},
		TrackingParameters: trackingParameters,
		CreatedAt:          o.CreatedAt, UpdatedAt: o.UpdatedAt,
	}
	if view.TrackingLink != "" {
		view.TrackingLinkTemplate = view.TrackingLink
		for _, p := range trackingParameters {
			view.TrackingLinkTemplate += "&" + p.Name + "={" + p.Name + "}"
		}
	}
	writeJSON(ctx, fasthttp.StatusOK, view)
}

func (s *Server) viewAffiliateOffer(o *model.Offer, aff *model.Affiliate, base string, epc float64) affiliateOffer {
	geo := o.Countries
	if geo == nil {
		geo = []string{} // no targeting: every country, and a list either way
	}
	rec := s.catalog.OfferAffiliate(o.ID, aff.ID)
	v := affiliateOffer{
		ID: o.ID, Name: o.Name, Vertical: o.Vertical, Payout: model.TermsFor(o, rec).Payout, PayoutType: o.PayoutType,
		Geo: geo, Status: o.Status, PreviewURL: o.PreviewURL, EPCAvg: epc,
		Visibility: visibilityOf(o), ApprovalStatus: approvalStatus(o, rec),
	}
	if model.MayRun(o, rec) {
		v.TrackingLink = trackingLink(base, o, aff, nil)
	}
	return v
}

// visibilityOf is o's visibility, public when it names none.
func visibilityOf(o *model.Offer) string {
	if o.Visibility == "" {
		return model.VisibilityPublic
	}
	return o.Visibility
}

// approvalStatus is where an affiliate with record rec stands on o: its
// record's access, or without one approved on a public offer and
// not_applied on the others.
func approvalStatus(o *model.Offer, rec *model.OfferAffiliate) string {
	switch {
	case rec != nil:
		return rec.Access
	case visibilityOf(o) == model.VisibilityPublic:
		return model.AccessApproved
	}
	return "not_applied"
}

// visibleOffer is the offer idOrSlug names if the affiliate sees it; a
// private offer it is not approved on, or one it is rejected or blocked
// on, is answered 404 as a missing one.
func (s *Server) visibleOffer(ctx *fasthttp.RequestCtx, aff *model.Affiliate, idOrSlug string) *model.Offer {
	o := s.catalog.Offer(idOrSlug)
	if o == nil || !model.Sees(o, s.catalog.OfferAffiliate(o.ID, aff.ID)) {
		affiliateError(ctx, fasthttp.StatusNotFound, "NOT_FOUND", "Offer does not exist.")
		return nil
	}
	return o
}

// applyToOffer serves POST /v1/offers/{offer_id}/apply: the affiliate asks
// to run the offer. On a public offer it is approved at once; on the others
// it waits (pending) for the network. Asking again changes nothing.
func (s *Server) applyToOffer(ctx *fasthttp.RequestCtx, aff *model.Affiliate, idOrSlug string) {
	o := s.visibleOffer(ctx, aff, idOrSlug)
	if o == nil {
		return
	}
	access := model.AccessPending
	if visibilityOf(o) == model.VisibilityPublic {
		access = model.AccessApproved
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	saved, err := s.deps.Store.UpsertEntity(rctx, model.KindOfferAffiliate, model.OfferAffiliateID(o.ID, aff.ID),
		func(e model.Entity) (model.Entity, error) {
			if e != nil {
				return nil, redis.ErrNoChange // applied already: its access stands
			}
			rec, at := s.newRecord(nil, o.ID, aff.ID, access)
			rec.UpdatedAt = at
			return rec, nil
		})
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	rec := saved.(*model.OfferAffiliate)
	out := map[string]any{"offer_id": o.ID, "approval_status": rec.Access}
	if model.MayRun(o, rec) {
		out["tracking_link"] = trackingLink(s.publicBase(ctx), o, aff, nil)
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}

// offerEPC is each offer's network-wide earnings per click over the last
// epcWindow: what the network paid affiliates on it divided by its clicks,
// from the per-minute rollup in one query. Offers without clicks are
// absent (0).
func (s *Server) offerEPC(ctx context.Context, offers []*model.Offer) (map[string]float64, error) {
	if len(offers) == 0 {
		return nil, nil
	}
	ids := make([]string, len(offers))
	for i, o := range offers {
		ids[i] = o.ID
	}
	// Whole hours, the current one included: the hourly rollup answers
	// them alone (an average over 30 days misses nothing by it).
	to := now().Truncate(time.Hour).Add(time.Hour)
	rows, err := s.deps.Warehouse.Stats(ctx, clickhouse.StatsQuery{
		From: to.Add(-epcWindow), To: to, OfferIDs: ids, GroupBy: []string{"offer"}, Limit: len(ids),
	})
	if err != nil {
		return nil, err
	}
	epc := make(map[string]float64, len(rows))
	for _, r := range rows {
		if len(r.Keys) == 1 {
			epc[r.Keys[0]] = ratio(model.MicrosToUnits(r.PayoutMicros), float64(r.Clicks), 4)
		}
	}
	return epc, nil
}
