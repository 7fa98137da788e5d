package api

// Route is one method and path template the server answers, with path
// parameters in braces as in the OpenAPI document ("/v2/offers/{id}").
type Route struct {
	Method string
	Path   string
}

// routes is what serve and the surface routers (admin, advertiser,
// affiliate, reporting) dispatch today. Those routers are switch
// statements, so this list is declared by hand; TestRoutesAreServed proves
// each row is answered by a real handler and TestRoutesAreDocumented that
// each is in openapi.json. Add a row with every route you add.
var routes = []Route{
	// The click redirect.
	{"GET", "/click/{offer_id}"},
	{"GET", "/click"},
	// Operations.
	{"GET", "/health"},
	{"GET", "/ready"},
	{"GET", "/metrics"},
	{"GET", "/openapi.json"},
	// Network admin API.
	{"POST", "/v2/advertisers"},
	{"POST", "/v2/affiliates"},
	{"POST", "/v2/offers"},
	{"GET", "/v2/offers"},
	{"GET", "/v2/offers/{id}"},
	{"PATCH", "/v2/offers/{id}"},
	{"POST", "/v2/pb-endpoints"},
	// Seed 004 report.
	{"POST", "/v1/networks/reporting/affiliate/pixels"},
	{"POST", "/v1/networks/reporting/affiliate/pixels/export"},
	// Advertiser API (seed 002).
	{"POST", "/api/v1/conversions"},
	{"POST", "/api/v1/events"},
	{"GET", "/pb/{endpointId}"},
	{"POST", "/pb/{endpointId}"},
	// Affiliate API (seed 000).
	{"POST", "/v1/postbacks"},
	{"GET", "/v1/postbacks"},
	{"DELETE", "/v1/postbacks/{id}"},
	{"GET", "/v1/stats"},
}

// Routes returns every route the server serves.
func Routes() []Route { return append([]Route(nil), routes...) }
