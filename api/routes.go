package api

import (
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
)

// Route is one method and path template the server answers, path
// parameters in braces as in the OpenAPI document ("/v2/offers/{id}").
type Route struct {
	Method string
	Path   string
}

// route is a Route and what answers it; params are the path's values for
// the template's braces, in order.
type route struct {
	Route
	handle func(s *Server, ctx *fasthttp.RequestCtx, params []string)
	// limit is the seed 002 rate limit the route counts against; unset,
	// GETs count as reads and other methods as writes.
	limit limitClass
	segs  []string // the template split at "/"; "" where a parameter stands
	index int      // in routeTable, for the server's per-route metrics
}

// Routes returns every route the server answers (the click redirect
// included), so tests can check each is in the OpenAPI document.
func Routes() []Route {
	out := []Route{{"GET", "/click/{offer_id}"}, {"GET", "/click"}, {"GET", "/s/{slug}"}}
	for _, r := range routeTable {
		out = append(out, r.Route)
	}
	return out
}

type handler = func(s *Server, ctx *fasthttp.RequestCtx, p []string)

// routeTable is the whole API but the click path, which serve tests first
// and alone. Under /v2/ the admin key is checked before routing.
var routeTable = compile([]route{
	// Operations (ops_health.go, ops_openapi.go).
	{Route: Route{"GET", "/health"}, handle: func(s *Server, ctx *fasthttp.RequestCtx, _ []string) { s.health(ctx) }},
	{Route: Route{"GET", "/ready"}, handle: func(s *Server, ctx *fasthttp.RequestCtx, _ []string) { s.ready(ctx) }},
	{Route: Route{"GET", "/metrics"}, handle: func(s *Server, ctx *fasthttp.RequestCtx, _ []string) { s.metrics(ctx) }},
	{Route: Route{"GET", "/openapi.json"}, handle: func(s *Server, ctx *fasthttp.RequestCtx, _ []string) { s.openAPI(ctx) }},

	// The web console (console_pages.go, console_sessions.go).
	{Route: Route{"GET", "/"}, handle: plain((*Server).consoleIndex)},
	{Route: Route{"GET", "/assets/{file}"}, handle: withParam((*Server).consoleAsset)},
	{Route: Route{"POST", "/console/session"}, handle: plain((*Server).signIn)},
	{Route: Route{"GET", "/console/session"}, handle: plain((*Server).currentSession)},
	{Route: Route{"DELETE", "/console/session"}, handle: plain((*Server).signOut)},

	// Network admin API. Accounts (admin_accounts.go, admin_advertisers.go, admin_affiliates.go).
	{Route: Route{"POST", "/v2/advertisers"}, handle: plain((*Server).createAdvertiser)},
	{Route: Route{"GET", "/v2/advertisers"}, handle: listAccounts(model.KindAdvertiser)},
	{Route: Route{"GET", "/v2/advertisers/{id}"}, handle: withAccount(model.KindAdvertiser, (*Server).getAccount)},
	{Route: Route{"PATCH", "/v2/advertisers/{id}"}, handle: withAccount(model.KindAdvertiser, (*Server).patchAccount)},
	{Route: Route{"POST", "/v2/advertisers/{id}/rotate-key"}, handle: withAccount(model.KindAdvertiser, (*Server).rotateKey)},
	{Route: Route{"POST", "/v2/affiliates"}, handle: plain((*Server).createAffiliate)},
	{Route: Route{"GET", "/v2/affiliates"}, handle: listAccounts(model.KindAffiliate)},
	{Route: Route{"GET", "/v2/affiliates/{id}"}, handle: withAccount(model.KindAffiliate, (*Server).getAccount)},
	{Route: Route{"PATCH", "/v2/affiliates/{id}"}, handle: withAccount(model.KindAffiliate, (*Server).patchAccount)},
	{Route: Route{"POST", "/v2/affiliates/{id}/rotate-key"}, handle: withAccount(model.KindAffiliate, (*Server).rotateKey)},
	{Route: Route{"POST", "/v2/affiliates/{id}/signing-secret"}, handle: withAccount(model.KindAffiliate, (*Server).adminRotateAffiliateSecret)},
	{Route: Route{"DELETE", "/v2/affiliates/{id}/signing-secret"}, handle: withAccount(model.KindAffiliate, (*Server).adminDeleteAffiliateSecret)},

	// Offers, affiliates on them, and conversion endpoints (admin_offers.go,
	// admin_offer_affiliates.go, admin_endpoints.go).
	{Route: Route{"POST", "/v2/offers"}, handle: plain((*Server).createOffer)},
	{Route: Route{"GET", "/v2/offers"}, handle: plain((*Server).listOffers)},
	{Route: Route{"GET", "/v2/offers/{id}"}, handle: withParam((*Server).getOffer)},
	{Route: Route{"PATCH", "/v2/offers/{id}"}, handle: withParam((*Server).patchOffer)},
	{Route: Route{"GET", "/v2/offers/{id}/affiliates"}, handle: withParam((*Server).listOfferAffiliates)},
	{Route: Route{"GET", "/v2/offers/{id}/affiliates/{affiliate_id}"}, handle: withParams((*Server).getOfferAffiliate)},
	{Route: Route{"PUT", "/v2/offers/{id}/affiliates/{affiliate_id}"}, handle: withParams((*Server).putOfferAffiliate)},
	{Route: Route{"DELETE", "/v2/offers/{id}/affiliates/{affiliate_id}"}, handle: withParams((*Server).deleteOfferAffiliate)},
	{Route: Route{"GET", "/v2/offer-affiliates"}, handle: plain((*Server).listAllOfferAffiliates)},
	{Route: Route{"POST", "/v2/pb-endpoints"}, handle: plain((*Server).createEndpoint)},
	// The network's traffic controls (admin_traffic_controls.go).
	{Route: Route{"GET", "/v2/traffic-controls"}, handle: plain((*Server).getTrafficControls)},
	{Route: Route{"PUT", "/v2/traffic-controls"}, handle: plain((*Server).putTrafficControls)},

	// Smart links (admin_smart_links.go).
	{Route: Route{"POST", "/v2/smart-links"}, handle: plain((*Server).createSmartLink)},
	{Route: Route{"GET", "/v2/smart-links"}, handle: plain((*Server).listSmartLinks)},
	{Route: Route{"GET", "/v2/smart-links/{id}"}, handle: withParam((*Server).getSmartLink)},
	{Route: Route{"PATCH", "/v2/smart-links/{id}"}, handle: withParam((*Server).patchSmartLink)},
	{Route: Route{"GET", "/v2/pb-endpoints"}, handle: plain((*Server).listEndpoints)},

	// Stats and conversions (admin_stats.go, admin_live_stats.go, admin_ctit.go, admin_conversions.go).
	{Route: Route{"GET", "/v2/stats"}, handle: plain((*Server).adminStats)},
	{Route: Route{"GET", "/v2/stats/live"}, handle: plain((*Server).liveStats)},
	{Route: Route{"GET", "/v2/stats/ctit"}, handle: plain((*Server).adminCTIT)},
	{Route: Route{"GET", "/v2/conversions"}, handle: plain((*Server).adminConversions)},
	{Route: Route{"GET", "/v2/conversions/{id}"}, handle: withParam((*Server).adminConversion)},
	{Route: Route{"PATCH", "/v2/conversions/{id}"}, handle: withParam((*Server).patchConversionAdmin)},

	// Postbacks (admin_postbacks.go; their deliveries: affiliate_deliveries.go).
	{Route: Route{"POST", "/v2/postbacks/{id}/test"}, handle: adminPostback((*Server).adminTestPostback)},
	{Route: Route{"GET", "/v2/postbacks"}, handle: plain((*Server).listAdminPostbacks)},
	{Route: Route{"GET", "/v2/postbacks/{id}"}, handle: adminPostback((*Server).getAdminPostback)},
	{Route: Route{"PATCH", "/v2/postbacks/{id}"}, handle: adminPostback((*Server).patchPostback)},
	{Route: Route{"GET", "/v2/postbacks/{id}/deliveries"}, handle: adminPostback((*Server).listDeliveries)},
	{Route: Route{"POST", "/v2/postbacks/{id}/redrive"}, handle: adminPostback((*Server).redrive)},
	{Route: Route{"POST", "/v2/postbacks/{id}/enable"}, handle: adminPostback((*Server).enablePostback)},

	// Postback report (seed 004, report_pixels.go), admin key also in X-Eflow-API-Key.
	{Route: Route{"POST", "/v1/networks/reporting/affiliate/pixels"}, handle: adminOnly(func(s *Server, ctx *fasthttp.RequestCtx) { s.reportPixels(ctx, false) })},
	{Route: Route{"POST", "/v1/networks/reporting/affiliate/pixels/export"}, handle: adminOnly(func(s *Server, ctx *fasthttp.RequestCtx) { s.reportPixels(ctx, true) })},

	// Advertiser API (seed 002): advertiser_conversions.go, advertiser_events.go,
	// advertiser_stats.go, advertiser_offers.go, advertiser_profile.go,
	// advertiser_test_sessions.go.
	{Route: Route{"POST", "/api/v1/conversions"}, handle: plain((*Server).postConversion), limit: limitConversions},
	{Route: Route{"GET", "/api/v1/conversions"}, handle: plain((*Server).listConversions)},
	{Route: Route{"GET", "/api/v1/conversions/{id}"}, handle: withParam((*Server).getConversion)},
	{Route: Route{"PATCH", "/api/v1/conversions/{id}"}, handle: withParam((*Server).patchConversionAdvertiser)},
	{Route: Route{"POST", "/api/v1/events"}, handle: plain((*Server).postEvent)},
	{Route: Route{"GET", "/api/v1/stats"}, handle: plain((*Server).advertiserStats), limit: limitStats},
	{Route: Route{"GET", "/api/v1/offers"}, handle: plain((*Server).listAdvertiserOffers)},
	{Route: Route{"GET", "/api/v1/offers/{code}"}, handle: withParam((*Server).getAdvertiserOffer)},
	{Route: Route{"GET", "/api/v1/profile"}, handle: plain((*Server).profile)},
	{Route: Route{"POST", "/api/v1/test-sessions"}, handle: plain((*Server).createTestSession)},
	{Route: Route{"GET", "/api/v1/test-sessions/{token}"}, handle: withParam((*Server).getTestSession)},
	{Route: Route{"GET", "/pb/{endpointId}"}, handle: withParam((*Server).endpointCallback), limit: limitEndpoint},
	{Route: Route{"POST", "/pb/{endpointId}"}, handle: withParam((*Server).endpointCallback), limit: limitEndpoint},

	// Publisher offer feed (seed 001, publisher_feed.go).
	{Route: Route{"GET", "/v1/s2s/offers"}, handle: plain((*Server).publisherFeed)},

	// Affiliate API (seed 000): affiliate_postbacks.go, affiliate_secrets.go,
	// affiliate_deliveries.go, affiliate_stats.go, affiliate_offers.go,
	// affiliate_conversions.go, affiliate_smart_links.go.
	{Route: Route{"POST", "/v1/postbacks"}, handle: scoped(model.ScopeWritePostback, (*Server).createPostback)},
	// Listing one's own postbacks needs a valid key, not write:postback.
	{Route: Route{"GET", "/v1/postbacks"}, handle: scoped(anyScope, (*Server).listPostbacks)},
	{Route: Route{"DELETE", "/v1/postbacks/{id}"}, handle: scopedParam(model.ScopeWritePostback, (*Server).deletePostback)},
	{Route: Route{"PATCH", "/v1/postbacks/{id}"}, handle: affiliatePostback(model.ScopeWritePostback, (*Server).patchPostback)},
	{Route: Route{"POST", "/v1/postbacks/{id}/signing-secret"}, handle: scopedParam(model.ScopeWritePostback, (*Server).rotatePostbackSecret)},
	{Route: Route{"DELETE", "/v1/postbacks/{id}/signing-secret"}, handle: scopedParam(model.ScopeWritePostback, (*Server).deletePostbackSecret)},
	{Route: Route{"POST", "/v1/postbacks/{id}/test"}, handle: scopedParam(model.ScopeWritePostback, (*Server).testPostback)},
	{Route: Route{"POST", "/v1/signing-secret"}, handle: scoped(model.ScopeWritePostback, (*Server).rotateAffiliateSecret)},
	{Route: Route{"DELETE", "/v1/signing-secret"}, handle: scoped(model.ScopeWritePostback, (*Server).deleteAffiliateSecret)},
	// Reading one's own deliveries needs a valid key; changing them, write:postback.
	{Route: Route{"GET", "/v1/postbacks/{id}/deliveries"}, handle: affiliatePostback(anyScope, (*Server).listDeliveries)},
	{Route: Route{"POST", "/v1/postbacks/{id}/redrive"}, handle: affiliatePostback(model.ScopeWritePostback, (*Server).redrive)},
	{Route: Route{"POST", "/v1/postbacks/{id}/enable"}, handle: affiliatePostback(model.ScopeWritePostback, (*Server).enablePostback)},
	{Route: Route{"GET", "/v1/stats"}, handle: scoped(model.ScopeReadStats, (*Server).affiliateStats)},
	{Route: Route{"GET", "/v1/offers"}, handle: scoped(model.ScopeReadOffers, (*Server).listAffiliateOffers)},
	{Route: Route{"GET", "/v1/offers/{offer_id}"}, handle: scopedParam(model.ScopeReadOffers, (*Server).getAffiliateOffer)},
	{Route: Route{"POST", "/v1/offers/{offer_id}/apply"}, handle: scopedParam(model.ScopeReadOffers, (*Server).applyToOffer)},
	{Route: Route{"GET", "/v1/smart-links"}, handle: scoped(model.ScopeReadOffers, (*Server).listAffiliateSmartLinks)},
	{Route: Route{"GET", "/v1/conversions"}, handle: scoped(model.ScopeReadConversions, (*Server).listAffiliateConversions)},
})

func compile(routes []route) []route {
	for i := range routes {
		routes[i].index = i
		if routes[i].Path == "/" {
			continue // no segments: it matches only "/"
		}
		for _, seg := range strings.Split(strings.Trim(routes[i].Path, "/"), "/") {
			if strings.HasPrefix(seg, "{") {
				seg = ""
			}
			routes[i].segs = append(routes[i].segs, seg)
		}
	}
	return routes
}

func plain(h func(*Server, *fasthttp.RequestCtx)) handler {
	return func(s *Server, ctx *fasthttp.RequestCtx, _ []string) { h(s, ctx) }
}

func withParam(h func(*Server, *fasthttp.RequestCtx, string)) handler {
	return func(s *Server, ctx *fasthttp.RequestCtx, p []string) { h(s, ctx, p[0]) }
}

func withParams(h func(*Server, *fasthttp.RequestCtx, string, string)) handler {
	return func(s *Server, ctx *fasthttp.RequestCtx, p []string) { h(s, ctx, p[0], p[1]) }
}

func adminOnly(h func(*Server, *fasthttp.RequestCtx)) handler {
	return func(s *Server, ctx *fasthttp.RequestCtx, _ []string) {
		if !s.isAdmin(ctx) {
			s.denyAdmin(ctx)
			return
		}
		h(s, ctx)
	}
}

func scoped(scope string, h func(*Server, *fasthttp.RequestCtx, *model.Affiliate)) handler {
	return func(s *Server, ctx *fasthttp.RequestCtx, _ []string) {
		s.withAffiliate(ctx, scope, func(ctx *fasthttp.RequestCtx, aff *model.Affiliate) { h(s, ctx, aff) })
	}
}

func scopedParam(scope string, h func(*Server, *fasthttp.RequestCtx, *model.Affiliate, string)) handler {
	return func(s *Server, ctx *fasthttp.RequestCtx, p []string) {
		s.withAffiliate(ctx, scope, func(ctx *fasthttp.RequestCtx, aff *model.Affiliate) { h(s, ctx, aff, p[0]) })
	}
}

// route answers a request from the table: the route whose template and
// method match, a 405 listing the methods the path takes, or a 404, each
// in the envelope of the surface the path belongs to. Under /v2/ any
// request without the admin key is a 401, whether the path exists or not.
// It points stats at the matched route's metrics before answering.
func (s *Server) route(ctx *fasthttp.RequestCtx, path string, stats **routeStats) {
	admin := !strings.HasPrefix(path, "/v2/") || s.isAdmin(ctx)
	var segs []string // none for "/"
	if trimmed := strings.Trim(path, "/"); trimmed != "" {
		segs = strings.Split(trimmed, "/")
	}
	method := string(ctx.Method())
	if method == fasthttp.MethodHead {
		method = fasthttp.MethodGet // what a GET answers, the body dropped by fasthttp
	}
	var params []string
	var allow []string
	for i := range routeTable {
		r := &routeTable[i]
		p, ok := r.match(segs, params[:0])
		if !ok {
			continue
		}
		if r.Method == method {
			*stats = &s.stats.routes[r.index]
			if !admin {
				s.denyAdmin(ctx)
				return
			}
			ctx.SetUserValue(routeKey, r)
			r.handle(s, ctx, p)
			return
		}
		params = p
		allow = append(allow, r.Method)
	}
	if !admin {
		s.denyAdmin(ctx)
		return
	}
	if len(allow) > 0 {
		if slices.Contains(allow, fasthttp.MethodGet) {
			allow = append(allow, fasthttp.MethodHead)
		}
		surfaceOf(path).notAllowed(ctx, strings.Join(allow, ", "))
		return
	}
	surfaceOf(path).notFound(ctx)
}

// routeKey holds a request's route among its user values.
const routeKey = "clickrelay.route"

// routeOf is the route serving ctx, nil outside the table.
func routeOf(ctx *fasthttp.RequestCtx) *route {
	r, _ := ctx.UserValue(routeKey).(*route)
	return r
}

// match reports whether segs fit the template, appending the parameters'
// values to params.
func (r *route) match(segs, params []string) ([]string, bool) {
	if len(segs) != len(r.segs) {
		return params, false
	}
	for i, want := range r.segs {
		switch {
		case want == "" && segs[i] != "":
			params = append(params, segs[i])
		case want != segs[i] || want == "":
			return params, false
		}
	}
	return params, true
}
