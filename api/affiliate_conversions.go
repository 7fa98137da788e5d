package api

import (
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

// GET /v1/conversions (seed 000): the affiliate's own conversions.

// affiliateStatusFilter maps seed 000's status filter to the stored statuses
// it covers: an affiliate sees a reversed conversion as rejected, since it
// is not paid either way. "all" (the default) filters nothing.
var affiliateStatusFilter = map[string][]string{
	model.ConversionApproved: {model.ConversionApproved},
	model.ConversionPending:  {model.ConversionPending},
	model.ConversionRejected: {model.ConversionRejected, model.ConversionReversed},
	"all":                    nil,
}

// conversionFilter is a GET /v1/conversions request.
type conversionFilter struct {
	From, To time.Time // [From, To) in UTC; date_to is inclusive
	Statuses []string  // stored statuses; nil: all
	OfferID  string    // as given (ID or slug); empty: any
	Page     int
	PerPage  int
}

func parseConversionFilter(args *fasthttp.Args, maxRange time.Duration) (conversionFilter, *paramError) {
	var f conversionFilter
	var perr *paramError
	if f.From, f.To, perr = parseDayRange(args, time.UTC, maxRange); perr != nil {
		return f, perr
	}
	if st := strings.ToLower(strings.TrimSpace(string(args.Peek("status")))); st != "" {
		statuses, ok := affiliateStatusFilter[st]
		if !ok {
			return f, badParam("status", "status must be approved, pending, rejected or all.")
		}
		f.Statuses = statuses
	}
	f.OfferID = strings.TrimSpace(string(args.Peek("offer_id")))
	if len(f.OfferID) > maxIDParamLen {
		return f, badParam("offer_id", "offer_id must be at most %d characters.", maxIDParamLen)
	}
	f.Page, f.PerPage, perr = parsePage(args)
	return f, perr
}

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
