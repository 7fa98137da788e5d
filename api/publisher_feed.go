package api

import (
	"strconv"
	"strings"

	"github.com/phuslu/iploc"
	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
)

// The publisher offer feed (seed 001): GET /v1/s2s/offers?app_id=&os=...
// A publisher's server pulls the active offers it may run on one OS and in
// one country, each with a tracking link that attributes its clicks to the
// publisher's affiliate account.
//
// Answers are {"c": 0, "d": {"p", "n", "tot", "data"}}; errors are
// {"c": <code>, "msg": "..."} with these codes (c) and HTTP statuses:
//
//	1001  401  app_id missing, unknown, or its account not active
//	1002  400  os missing or not android / ios
//	1003  400  gaid missing (os=android) or too long
//	1004  400  andid missing (os=android) or too long
//	1005  400  country not an ISO 3166-1 alpha-2 code
//	1006  400  page or page_size not a whole number in range
//	1007  400  thirdparty_id too long
//	1400  4xx  a request that could not be read (too large, too slow)
//	1404  404  no such feed path
//	1405  405  a method other than GET
//	1500  5xx  a server or storage error; retry
const (
	feedOK           = 0
	feedBadAppID     = 1001
	feedBadRequest   = 1400
	feedNotFound     = 1404
	feedMethod       = 1405
	feedServerError  = 1500
	feedDefaultError = 1006
)

// feedParamCodes maps a rejected parameter to its code in the table above.
var feedParamCodes = map[string]int{
	"os": 1002, "gaid": 1003, "andid": 1004, "country": 1005,
	"page": 1006, "page_size": 1006, "thirdparty_id": 1007,
}

// feedOffer is seed 001's offer object.
type feedOffer struct {
	ID             string   `json:"id"`
	Icon           string   `json:"icon"`
	Name           string   `json:"name"`
	ConversionFlow string   `json:"conversion_flow"`
	TrackingLink   string   `json:"tracking_link"`
	Payout         string   `json:"payout"`
	PreviewURL     string   `json:"preview_url"`
	Package        string   `json:"package"`
	OfferType      string   `json:"offer_type"`
	PayoutType     string   `json:"payout_type"`
	OS             string   `json:"os"`
	Countries      []string `json:"countries"`
	OSVersion      string   `json:"os_version"`
}

// feedError answers seed 001's error envelope.
func feedError(ctx *fasthttp.RequestCtx, status, code int, msg string) {
	writeJSON(ctx, status, map[string]any{"c": code, "msg": msg})
}

// publisherFeed serves GET /v1/s2s/offers.
func (s *Server) publisherFeed(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	aff := s.catalog.AffiliateByAppID(strings.TrimSpace(string(args.Peek("app_id"))))
	if aff == nil || aff.Status != model.StatusActive {
		feedError(ctx, fasthttp.StatusUnauthorized, feedBadAppID, "app_id is missing, unknown, or its account is not active.")
		return
	}
	req, perr := parseFeedRequest(args)
	if perr != nil {
		code, ok := feedParamCodes[perr.Param]
		if !ok {
			code = feedDefaultError
		}
		feedError(ctx, fasthttp.StatusBadRequest, code, perr.Message)
		return
	}
	country := req.Country
	if country == "" {
		// Seed 001: an empty country means the caller IP's; an IP with no
		// known country (private, reserved) sees only untargeted offers.
		if ip := s.clientIP(ctx); ip.IsValid() {
			country = iploc.IPCountry(ip)
		}
	}

	var selected []*model.Offer
	for _, o := range s.catalog.Offers() {
		if o.Status == model.StatusActive && (o.OS == "" || o.OS == req.OS) && o.Targets(country) &&
			model.MayRun(o, s.catalog.OfferAffiliate(o.ID, aff.ID)) {
			selected = append(selected, o)
		}
	}
	from := min((req.Page-1)*req.PageSize, len(selected))
	page := selected[from:min(from+req.PageSize, len(selected))]
	base := s.publicBase(ctx)
	extra := []queryParam{{"gaid", req.GAID}, {"andid", req.AndID}, {"thirdparty_id", req.ThirdPartyID}}
	data := make([]feedOffer, 0, len(page))
	for _, o := range page {
		data = append(data, viewFeedOffer(o, s.catalog.OfferAffiliate(o.ID, aff.ID), trackingLink(base, o, aff, extra)))
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"c": feedOK,
		"d": map[string]any{"p": req.Page, "n": req.PageSize, "tot": len(selected), "data": data},
	})
}

// viewFeedOffer shows o to the publisher whose affiliate has record rec
// on it: its own payout.
func viewFeedOffer(o *model.Offer, rec *model.OfferAffiliate, link string) feedOffer {
	countries := o.Countries
	if countries == nil {
		countries = []string{}
	}
	return feedOffer{
		ID: o.ID, Icon: o.Icon, Name: o.Name, ConversionFlow: o.ConversionFlow, TrackingLink: link,
		Payout:     strconv.FormatFloat(model.TermsFor(o, rec).Payout, 'f', 2, 64),
		PreviewURL: o.PreviewURL, Package: o.Package,
		OfferType: feedOfferType(o), PayoutType: feedPayoutType(o),
		OS: o.OS, Countries: countries, OSVersion: o.OSVersion,
	}
}

// feedOfferType is "app" for an offer with a store package, else "web"
// (seed 001's example answers "app").
func feedOfferType(o *model.Offer) string {
	if o.Package != "" {
		return "app"
	}
	return "web"
}

// feedPayoutType is seed 001's payout type: CPI for a fixed payout on an
// app-store offer, else our payout type upper-cased (CPA, CPL, CPC, CPS,
// REVSHARE).
func feedPayoutType(o *model.Offer) string {
	if o.Package != "" && o.PayoutType == model.PayoutCPA {
		return "CPI"
	}
	return strings.ToUpper(o.PayoutType)
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
