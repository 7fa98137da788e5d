package api

import (
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/ingest"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

// The network's conversions: GET /v2/conversions, and GET and PATCH
// /v2/conversions/{id}.

// adminConversion is a conversion as the admin API answers it, in GET
// /v2/conversions, GET /v2/conversions/{id} and PATCH's answer alike
// (api/openapi.json, Conversion): everything the warehouse keeps of it,
// with the names of its offer, affiliate and advertiser beside their IDs.
type adminConversion struct {
	ID             string  `json:"id"`
	Status         string  `json:"status"`
	PreviousStatus string  `json:"previous_status"`
	Version        uint32  `json:"version"`
	CreatedAt      string  `json:"created_at"`
	UpdatedAt      string  `json:"updated_at"`
	ClickID        string  `json:"click_id"`
	ClickedAt      string  `json:"clicked_at"`
	OfferID        string  `json:"offer_id"`
	OfferName      string  `json:"offer_name"`
	AffiliateID    string  `json:"affiliate_id"`
	AffiliateName  string  `json:"affiliate_name"`
	AdvertiserID   string  `json:"advertiser_id"`
	AdvertiserName string  `json:"advertiser_name"`
	Sub1           string  `json:"sub1"`
	Sub2           string  `json:"sub2"`
	Sub3           string  `json:"sub3"`
	Sub4           string  `json:"sub4"`
	Sub5           string  `json:"sub5"`
	AffClickID     string  `json:"aff_click_id"`
	Country        string  `json:"country"`
	Device         string  `json:"device"`
	OS             string  `json:"os"`
	TxID           string  `json:"txid"`
	CustomerID     string  `json:"customer_id"`
	Goal           string  `json:"goal"`
	Currency       string  `json:"currency"`
	Amount         float64 `json:"amount"`
	Payout         float64 `json:"payout"`
	Revenue        float64 `json:"revenue"`
	PayoutType     string  `json:"payout_type"`
	Reason         string  `json:"reason"`
	// SmartLinkID is the smart link its click came through, which chose
	// its offer (empty: the offer's own link).
	SmartLinkID string `json:"smart_link_id"`
}

// viewConversion is c as the admin API answers it. A name is empty when
// its entity is no longer in the catalog.
func (s *Server) viewConversion(c *model.Conversion) adminConversion {
	at := func(ms int64) string { return model.FormatTime(time.UnixMilli(ms).UTC(), model.APITimeLayout) }
	name := func(dimension, id string) string {
		n, _ := s.entityName(dimension, id)
		return n
	}
	return adminConversion{
		ID: c.ID, Status: c.Status, PreviousStatus: c.PrevStatus, Version: c.Version,
		CreatedAt: at(c.Time), UpdatedAt: at(c.UpdatedTime), ClickID: c.ClickID, ClickedAt: at(c.ClickTime),
		OfferID: c.OfferID, OfferName: name("offer", c.OfferID),
		AffiliateID: c.AffiliateID, AffiliateName: name("affiliate", c.AffiliateID),
		AdvertiserID: c.AdvertiserID, AdvertiserName: name("advertiser", c.AdvertiserID),
		Sub1: c.Subs[0], Sub2: c.Subs[1], Sub3: c.Subs[2], Sub4: c.Subs[3], Sub5: c.Subs[4],
		AffClickID: c.AffClickID, Country: c.Country, Device: c.Device, OS: c.OS,
		TxID: c.TxID, CustomerID: c.CustomerID, Goal: c.Goal, Currency: c.Currency,
		Amount: model.MicrosToUnits(c.AmountMicros), Payout: model.MicrosToUnits(c.PayoutMicros),
		Revenue: model.MicrosToUnits(c.RevenueMicros), PayoutType: c.PayoutType, Reason: c.Reason, SmartLinkID: c.SmartLinkID,
	}
}

// adminConversionDays is the admin conversion listing's range without
// dates: the last days. Its page and per_page are the affiliate API's.
const adminConversionDays = 7

// adminConversionStatuses are the status filter's values.
var adminConversionStatuses = map[string][]string{
	"all": nil, model.ConversionPending: {model.ConversionPending}, model.ConversionApproved: {model.ConversionApproved},
	model.ConversionRejected: {model.ConversionRejected}, model.ConversionReversed: {model.ConversionReversed},
}

// adminConversions serves GET /v2/conversions.
func (s *Server) adminConversions(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	bad := func(perr *paramError) {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_"+perr.Param, perr.Message)
	}
	var q clickhouse.ConversionQuery
	var perr *paramError
	if len(args.Peek("date_from")) == 0 && len(args.Peek("date_to")) == 0 {
		t := now().In(s.config.Location)
		today := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, s.config.Location) // the network's
		q.From, q.To = today.AddDate(0, 0, 1-adminConversionDays), today.AddDate(0, 0, 1)
	} else if q.From, q.To, _, perr = parseStatsRange(args, s.config.MaxStatsRange, s.config.Location); perr != nil {
		bad(perr)
		return
	}
	if st := strings.ToLower(strings.TrimSpace(string(args.Peek("status")))); st != "" {
		statuses, ok := adminConversionStatuses[st]
		if !ok {
			bad(badParam("status", "status must be pending, approved, rejected, reversed or all."))
			return
		}
		q.Statuses = statuses
	}
	if perr = s.entityFilters(args, &q.OfferIDs, &q.AffiliateID, &q.AdvertiserID); perr != nil {
		bad(perr)
		return
	}
	page, perPage, perr := parsePage(args)
	if perr != nil {
		bad(perr)
		return
	}
	q.Offset, q.Limit = (page-1)*perPage, perPage
	list, total, ok := s.conversionPage(ctx, q)
	if !ok {
		return
	}
	out := make([]adminConversion, 0, len(list))
	for i := range list {
		out = append(out, s.viewConversion(&list[i]))
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"success":     true,
		"conversions": out,
		"meta":        map[string]any{"total": total, "page": page, "per_page": perPage},
	})
}

// adminConversion serves GET /v2/conversions/{id}.
func (s *Server) adminConversion(ctx *fasthttp.RequestCtx, id string) {
	if !validConversionID(id) {
		adminNotFound(ctx, "Conversion")
		return
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	list, err := s.deps.Warehouse.Conversions(rctx, clickhouse.ConversionQuery{ID: id, Limit: 1})
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	if len(list) == 0 {
		adminNotFound(ctx, "Conversion")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "conversion": s.viewConversion(&list[0])})
}

// patchConversionAdmin serves PATCH /v2/conversions/{id}.
func (s *Server) patchConversionAdmin(ctx *fasthttp.RequestCtx, id string) {
	f, ok := readForm(ctx)
	if !ok {
		return
	}
	status := f.str("status", maxStatusLen)
	switch {
	case f.failed:
		return
	case status == "":
		f.fail(adminStatusCodes.invalid, "The status field was not provided; it is pending, approved, rejected or reversed.")
		return
	}
	res, answered := s.changeStatus(ctx, ingest.Scope{}, id, status, envelopeError, adminStatusCodes)
	if answered {
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "conversion": s.viewConversion(&res.Conversion)})
}

// adminStatusCodes are the admin API's answers to a refused status change.
var adminStatusCodes = statusCodes{
	invalid: "invalid_status", invalidMessage: "The status value is not pending, approved, rejected or reversed.",
	notFound: "not_found", notFoundMessage: "Conversion not found.",
	unavailable: "service_unavailable",
}
