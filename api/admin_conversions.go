package api

import (
	"fmt"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/ingest"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

// The network's conversions: GET /v2/conversions, and GET and PATCH
// /v2/conversions/{id}.

// consoleConversion is a conversion as the console shows it: everything
// the warehouse keeps of it.
type consoleConversion struct {
	ID           string            `json:"conversion_id"`
	Status       string            `json:"status"`
	Version      uint32            `json:"version"`
	CreatedAt    string            `json:"created_at"`
	UpdatedAt    string            `json:"updated_at"`
	ClickID      string            `json:"click_id"`
	ClickTime    string            `json:"click_time"`
	OfferID      string            `json:"offer_id"`
	AffiliateID  string            `json:"affiliate_id"`
	AdvertiserID string            `json:"advertiser_id"`
	Subs         map[string]string `json:"subs"`
	AffClickID   string            `json:"aff_click_id"`
	Geo          string            `json:"geo"`
	Device       string            `json:"device"`
	OS           string            `json:"os"`
	TxID         string            `json:"txid"`
	CustomerID   string            `json:"customer_id"`
	Goal         string            `json:"goal"`
	Currency     string            `json:"currency"`
	Amount       float64           `json:"amount"`
	Payout       float64           `json:"payout"`
	PayoutType   string            `json:"payout_type"`
}

func viewConsoleConversion(c *model.Conversion) consoleConversion {
	at := func(ms int64) string { return model.FormatTime(time.UnixMilli(ms).UTC(), model.APITimeLayout) }
	subs := make(map[string]string, len(c.Subs))
	for i, v := range c.Subs {
		subs[fmt.Sprintf("sub%d", i+1)] = v
	}
	return consoleConversion{
		ID: c.ID, Status: c.Status, Version: c.Version, CreatedAt: at(c.Time), UpdatedAt: at(c.UpdatedTime),
		ClickID: c.ClickID, ClickTime: at(c.ClickTime), OfferID: c.OfferID, AffiliateID: c.AffiliateID,
		AdvertiserID: c.AdvertiserID, Subs: subs, AffClickID: c.AffClickID, Geo: c.Country, Device: c.Device,
		OS: c.OS, TxID: c.TxID, CustomerID: c.CustomerID, Goal: c.Goal, Currency: c.Currency,
		Amount: model.MicrosToUnits(c.AmountMicros), Payout: model.MicrosToUnits(c.PayoutMicros), PayoutType: c.PayoutType,
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
		today := now().Truncate(24 * time.Hour)
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
	out := make([]consoleConversion, 0, len(list))
	for i := range list {
		out = append(out, viewConsoleConversion(&list[i]))
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
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "conversion": viewConsoleConversion(&list[0])})
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
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "conversion": adminConversionOf(&res.Conversion)})
}

// adminConversionView is a conversion as the admin API shows it.
type adminConversionView struct {
	ID             string  `json:"id"`
	Version        uint32  `json:"version"`
	Status         string  `json:"status"`
	PreviousStatus string  `json:"previous_status"`
	ClickID        string  `json:"click_id"`
	OfferID        string  `json:"offer_id"`
	AffiliateID    string  `json:"affiliate_id"`
	AdvertiserID   string  `json:"advertiser_id"`
	TxID           string  `json:"txid"`
	CustomerID     string  `json:"customer_id"`
	Goal           string  `json:"goal"`
	Currency       string  `json:"currency"`
	Amount         float64 `json:"amount"`
	Payout         float64 `json:"payout"`
	PayoutType     string  `json:"payout_type"`
	Country        string  `json:"country"`
	CreatedAt      string  `json:"created_at"`
	UpdatedAt      string  `json:"updated_at"`
}

func adminConversionOf(c *model.Conversion) adminConversionView {
	return adminConversionView{
		ID: c.ID, Version: c.Version, Status: c.Status, PreviousStatus: c.PrevStatus,
		ClickID: c.ClickID, OfferID: c.OfferID, AffiliateID: c.AffiliateID, AdvertiserID: c.AdvertiserID,
		TxID: c.TxID, CustomerID: c.CustomerID, Goal: c.Goal, Currency: c.Currency,
		Amount: model.MicrosToUnits(c.AmountMicros), Payout: model.MicrosToUnits(c.PayoutMicros), PayoutType: c.PayoutType,
		Country:   c.Country,
		CreatedAt: model.FormatTime(time.UnixMilli(c.Time).UTC(), model.APITimeLayout),
		UpdatedAt: model.FormatTime(time.UnixMilli(c.UpdatedTime).UTC(), model.APITimeLayout),
	}
}

// adminStatusCodes are the admin API's answers to a refused status change.
var adminStatusCodes = statusCodes{
	invalid: "invalid_status", invalidMessage: "The status value is not pending, approved, rejected or reversed.",
	notFound: "not_found", notFoundMessage: "Conversion not found.",
	unavailable: "service_unavailable",
}
