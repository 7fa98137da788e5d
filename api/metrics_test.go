package api

import (
	"net"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/internal/promtext"
)

func TestRequestsAreCountedPerRoute(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	admin := map[string]string{"Authorization": "Bearer " + testAdminKey}
	doRaw(s, "GET", "/click/12?aff_id=1", nil, "")
	doRaw(s, "GET", "/v2/offers/999999", admin, "")
	doRaw(s, "HEAD", "/v2/offers/999999", admin, "")
	doRaw(s, "GET", "/v2/offers/1", nil, "") // 401 before the handler, on its route
	doRaw(s, "GET", "/no/such/path", nil, "")
	doRaw(s, "POST", "/click/12", nil, "") // 405: the click route takes GET only
	body := string(doRaw(s, "GET", "/metrics", nil, "").Body())
	for _, want := range []string{
		`clickrelay_http_requests_total{method="GET",route="/click/{offer_id}",code="3xx"} 1`,
		`clickrelay_http_requests_total{method="GET",route="/v2/offers/{id}",code="4xx"} 3`,
		`clickrelay_http_requests_total{method="other",route="other",code="4xx"} 2`,
		`clickrelay_http_request_duration_seconds_count{method="GET",route="/v2/offers/{id}"} 3`,
		`clickrelay_http_request_duration_seconds_bucket{method="GET",route="/click/{offer_id}",le="+Inf"} 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if u := promtext.Undocumented([]byte(body)); len(u) != 0 {
		t.Errorf("families without HELP text: %v (add them to MetricHelp)", u)
	}
}

// TestClickPathAllocatesNothing: counting a click per route adds no
// allocation to the hot path (the tracker stands in as noClicks here; its
// own benchmark is tracker's BenchmarkClick).
func TestClickPathAllocatesNothing(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	var req fasthttp.Request
	req.SetRequestURI("/click/12?aff_id=1")
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, nil)
	if n := testing.AllocsPerRun(1000, func() {
		ctx.Response.Reset()
		s.serve(ctx)
	}); n != 0 {
		t.Errorf("a click through the server allocates %v times", n)
	}
}
