package api

import (
	"context"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

// The affiliate API's reads (seed 000): GET /v1/offers, GET
// /v1/offers/{offer_id} and GET /v1/conversions.

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
	TrackingLink   string   `json:"tracking_link"`
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
	TrackingLinkTemplate string              `json:"tracking_link_template"`
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

func (s *Server) listAffiliateOffers(ctx *fasthttp.RequestCtx, aff *model.Affiliate) {
	f, perr := parseOfferFilter(ctx.QueryArgs())
	if perr != nil {
		affiliateError(ctx, fasthttp.StatusBadRequest, "BAD_REQUEST", perr.Message)
		return
	}
	var selected []*model.Offer
	for _, o := range s.catalog.Offers() {
		if f.matches(o) {
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
		out = append(out, viewAffiliateOffer(o, aff, base, epc[o.ID]))
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"data": out,
		"meta": map[string]int{"total": len(selected), "page": f.Page, "per_page": f.PerPage},
	})
}

func (s *Server) getAffiliateOffer(ctx *fasthttp.RequestCtx, aff *model.Affiliate, idOrSlug string) {
	o := s.catalog.Offer(idOrSlug)
	if o == nil {
		affiliateError(ctx, fasthttp.StatusNotFound, "NOT_FOUND", "Offer does not exist.")
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
		affiliateOffer: viewAffiliateOffer(o, aff, base, epc[o.ID]),
		Slug:           o.Slug, Currency: o.Currency, OS: o.OS,
		Icon: o.Icon, Package: o.Package, ConversionFlow: o.ConversionFlow, OSVersion: o.OSVersion,
		Creatives:            []string{},
		TrackingLinkTemplate: trackingLink(base, o, aff, nil),
		TrackingParameters:   trackingParameters,
		CreatedAt:            o.CreatedAt, UpdatedAt: o.UpdatedAt,
	}
	for _, p := range trackingParameters {
		view.TrackingLinkTemplate += "&" + p.Name + "={" + p.Name + "}"
	}
	writeJSON(ctx, fasthttp.StatusOK, view)
}

func viewAffiliateOffer(o *model.Offer, aff *model.Affiliate, base string, epc float64) affiliateOffer {
	geo := o.Countries
	if geo == nil {
		geo = []string{} // no targeting: every country, and a list either way
	}
	return affiliateOffer{
		ID: o.ID, Name: o.Name, Vertical: o.Vertical, Payout: o.Payout, PayoutType: o.PayoutType,
		Geo: geo, Status: o.Status, PreviewURL: o.PreviewURL, EPCAvg: epc,
		TrackingLink: trackingLink(base, o, aff, nil),
	}
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

// publicBase is the scheme and host of the click path for tracking links:
// CLICKRELAY_PUBLIC_URL, else the host this request reached.
func (s *Server) publicBase(ctx *fasthttp.RequestCtx) string {
	if s.config.PublicURL != "" {
		return s.config.PublicURL
	}
	host := string(ctx.Host())
	if host == "" || !validHost(host) {
		host = ctx.LocalAddr().String()
	}
	return "http://" + host
}

// validHost accepts a host[:port] of letters, digits, '.', '-', ':' and
// brackets (IPv6): a Host header with anything else is not echoed into links.
func validHost(h string) bool {
	if len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

// trackingLink is the click path's link attributing traffic on o to aff:
// <base>/click/<offer id>?aff_id=<affiliate id>, then extra's parameters.
func trackingLink(base string, o *model.Offer, aff *model.Affiliate, extra []queryParam) string {
	link := base + "/click/" + url.PathEscape(o.ID) + "?aff_id=" + url.QueryEscape(aff.ID)
	for _, p := range extra {
		if p.value != "" {
			link += "&" + p.name + "=" + url.QueryEscape(p.value)
		}
	}
	return link
}

type queryParam struct{ name, value string }

// affiliateConversion is one record of GET /v1/conversions: the
// affiliate's view, without the advertiser's customer, order or sale data.
type affiliateConversion struct {
	ID         string  `json:"conversion_id"`
	ClickID    string  `json:"click_id"`
	AffClickID string  `json:"aff_click_id"`
	OfferID    string  `json:"offer_id"`
	Status     string  `json:"status"`
	Payout     float64 `json:"payout"`
	Currency   string  `json:"currency"`
	Goal       string  `json:"goal"`
	Sub1       string  `json:"sub1"`
	Sub2       string  `json:"sub2"`
	Sub3       string  `json:"sub3"`
	Sub4       string  `json:"sub4"`
	Sub5       string  `json:"sub5"`
	Geo        string  `json:"geo"`
	Device     string  `json:"device"`
	OS         string  `json:"os"`
	CreatedAt  string  `json:"created_at"`
	UpdatedAt  string  `json:"updated_at"`
}

func viewAffiliateConversion(c *model.Conversion) affiliateConversion {
	status := c.Status
	if status == model.ConversionReversed {
		status = model.ConversionRejected // unpaid either way; see affiliateStatusFilter
	}
	return affiliateConversion{
		ID: c.ID, ClickID: c.ClickID, AffClickID: c.AffClickID, OfferID: c.OfferID, Status: status,
		Payout: model.MicrosToUnits(c.PayoutMicros), Currency: c.Currency, Goal: c.Goal,
		Sub1: c.Subs[0], Sub2: c.Subs[1], Sub3: c.Subs[2], Sub4: c.Subs[3], Sub5: c.Subs[4],
		Geo: c.Country, Device: c.Device, OS: c.OS,
		CreatedAt: model.FormatTime(time.UnixMilli(c.Time), model.APITimeLayout),
		UpdatedAt: model.FormatTime(time.UnixMilli(c.UpdatedTime), model.APITimeLayout),
	}
}

func (s *Server) listAffiliateConversions(ctx *fasthttp.RequestCtx, aff *model.Affiliate) {
	f, perr := parseConversionFilter(ctx.QueryArgs(), s.config.MaxStatsRange)
	if perr != nil {
		affiliateError(ctx, fasthttp.StatusBadRequest, "BAD_REQUEST", perr.Message)
		return
	}
	// The affiliate filter is what keeps other affiliates' conversions out;
	// Test is false so test conversions never show.
	q := clickhouse.ConversionQuery{From: f.From, To: f.To, AffiliateID: aff.ID, Statuses: f.Statuses,
		Offset: (f.Page - 1) * f.PerPage, Limit: f.PerPage, OfferIDs: s.offerFilter(f.OfferID)}
	list, total, ok := s.conversionPage(ctx, q)
	if !ok {
		return
	}
	out := make([]affiliateConversion, 0, len(list))
	for i := range list {
		out = append(out, viewAffiliateConversion(&list[i]))
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"data": out,
		"meta": map[string]any{"total": total, "page": f.Page, "per_page": f.PerPage},
	})
}

// conversionPage reads one page of the conversions q selects and how many
// it selects in all; a storage failure is answered (ok false). The list is
// read only when the page starts inside the total.
func (s *Server) conversionPage(ctx *fasthttp.RequestCtx, q clickhouse.ConversionQuery) (list []model.Conversion, total uint64, ok bool) {
	rctx, cancel := requestContext(ctx)
	defer cancel()
	total, err := s.deps.Warehouse.CountConversions(rctx, q)
	if err != nil {
		s.storageError(ctx, err)
		return nil, 0, false
	}
	if uint64(q.Offset) < total {
		if list, err = s.deps.Warehouse.Conversions(rctx, q); err != nil {
			s.storageError(ctx, err)
			return nil, 0, false
		}
	}
	return list, total, true
}
