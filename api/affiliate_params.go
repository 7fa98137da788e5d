package api

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
)

// Parameter parsing of the affiliate reads (seed 000) and the publisher
// feed (seed 001): pure functions of the query, so they are unit tested and
// fuzzed without a server. Each error names the parameter at fault.

// Limits of the affiliate API's listings (seed 000: per_page max 100,
// default 25). maxPage bounds the offset a request can make the warehouse
// skip.
const (
	affiliateDefaultPerPage = 25
	affiliateMaxPerPage     = 100
	maxPage                 = 100_000
	// maxIDParamLen bounds an offer_id parameter: longer is no ID of ours.
	maxIDParamLen = 255
)

// paramError is a rejected query parameter.
type paramError struct {
	Param   string
	Message string
}

func (e *paramError) Error() string { return e.Message }

func badParam(param, format string, args ...any) *paramError {
	return &paramError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// parsePositive reads an optional whole number in [1, max]; def when absent.
func parsePositive(args *fasthttp.Args, name string, def, max int) (int, *paramError) {
	raw := args.Peek(name)
	if len(raw) == 0 {
		return def, nil
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 1 || n > max {
		return 0, badParam(name, "%s must be a whole number from 1 to %d.", name, max)
	}
	return n, nil
}

// parsePage reads seed 000's page and per_page.
func parsePage(args *fasthttp.Args) (page, perPage int, perr *paramError) {
	if page, perr = parsePositive(args, "page", 1, maxPage); perr != nil {
		return 0, 0, perr
	}
	if perPage, perr = parsePositive(args, "per_page", affiliateDefaultPerPage, affiliateMaxPerPage); perr != nil {
		return 0, 0, perr
	}
	return page, perPage, nil
}

// parseCountry reads an optional ISO 3166-1 alpha-2 code, any case.
func parseCountry(args *fasthttp.Args, name string) (string, *paramError) {
	c := strings.ToUpper(strings.TrimSpace(string(args.Peek(name))))
	if c == "" {
		return "", nil
	}
	if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return "", badParam(name, "%s must be an ISO 3166-1 alpha-2 country code such as US or DE.", name)
	}
	return c, nil
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

// Publisher feed limits (seed 001: page_size no greater than 10000). The
// default page is small enough to answer fast and large enough that most
// publishers need one request.
const (
	feedDefaultPageSize = 100
	feedMaxPageSize     = 10_000
	// maxDeviceIDLen bounds gaid, andid and thirdparty_id: a GAID is a
	// 36-character UUID and an Android ID 16 hex digits; anything far
	// longer is not one, and each is copied into every tracking link.
	maxDeviceIDLen = 128
)

// feedRequest is a GET /v1/s2s/offers request, app_id aside.
type feedRequest struct {
	OS           string // android or ios
	Country      string // alpha-2; empty: the caller's IP decides
	GAID, AndID  string
	ThirdPartyID string
	Page         int
	PageSize     int
}

func parseFeedRequest(args *fasthttp.Args) (feedRequest, *paramError) {
	r := feedRequest{}
	switch r.OS = strings.ToLower(strings.TrimSpace(string(args.Peek("os")))); r.OS {
	case "android", "ios":
	case "":
		return r, badParam("os", "os is required: android or ios.")
	default:
		return r, badParam("os", "os must be android or ios.")
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"gaid", &r.GAID}, {"andid", &r.AndID}, {"thirdparty_id", &r.ThirdPartyID}} {
		*p.dst = strings.TrimSpace(string(args.Peek(p.name)))
		if len(*p.dst) > maxDeviceIDLen {
			return r, badParam(p.name, "%s must be at most %d characters.", p.name, maxDeviceIDLen)
		}
	}
	if r.OS == "android" {
		if r.GAID == "" {
			return r, badParam("gaid", "gaid is required when os is android.")
		}
		if r.AndID == "" {
			return r, badParam("andid", "andid is required when os is android.")
		}
	}
	var perr *paramError
	if r.Country, perr = parseCountry(args, "country"); perr != nil {
		return r, perr
	}
	if r.Page, perr = parsePositive(args, "page", 1, maxPage); perr != nil {
		return r, perr
	}
	r.PageSize, perr = parsePositive(args, "page_size", feedDefaultPageSize, feedMaxPageSize)
	return r, perr
}
