package api

import (
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/internal/promtext"
)

// MetricHelp describes the server's metrics for /metrics.
func MetricHelp() promtext.Help {
	return promtext.Help{
		"clickrelay_http_panics_total":             "Requests whose handler panicked (answered 500).",
		"clickrelay_http_server_errors_total":      "API answers with a 5xx status, the click path aside.",
		"clickrelay_http_requests_total":           "HTTP requests answered, by method, route template and status class; route \"other\" is any path outside the route table (404, 405).",
		"clickrelay_http_request_duration_seconds": "Time from a request read to its answer written to the connection's buffer, by method and route template.",
		"clickrelay_postback_tests_total":          "Test postbacks fired through the API (never counted as deliveries).",
		"clickrelay_postback_redriven_total":       "Dead postback deliveries queued again by a re-drive or an enable.",
	}
}

// statusClasses are the code label's values; a status below 200 counts as
// 2xx and above 599 as 5xx (the server answers neither).
var statusClasses = [4]string{"2xx", "3xx", "4xx", "5xx"}

// routeStats are one route's request metrics. They are made for every
// route when the server is, so counting a request is two atomic adds and
// a clock read: no map, no label string, nothing allocated.
type routeStats struct {
	codes   [len(statusClasses)]*metrics.Counter
	seconds *promtext.Histogram
}

// serverStats has a routeStats per routeTable entry (by route.index), one
// for the click path, and one for whatever matched no route.
type serverStats struct {
	routes    []routeStats
	click     routeStats
	smartLink routeStats
	other     routeStats
}

func newServerStats(set *metrics.Set) *serverStats {
	seconds := promtext.NewHistogramFamily(set, `clickrelay_http_request_duration_seconds`, promtext.RequestSeconds)
	statsOf := func(method, route string) routeStats {
		labels := `method="` + method + `",route="` + route + `"`
		st := routeStats{seconds: seconds.With(labels)}
		for i, class := range statusClasses {
			st.codes[i] = set.NewCounter(`clickrelay_http_requests_total{` + labels + `,code="` + class + `"}`)
		}
		return st
	}
	ss := &serverStats{routes: make([]routeStats, len(routeTable))}
	ss.click = statsOf("GET", clickRoute)
	ss.smartLink = statsOf("GET", smartLinkRoute)
	for i, r := range routeTable {
		ss.routes[i] = statsOf(r.Method, r.Path)
	}
	ss.other = statsOf("other", "other")
	return ss
}

// clickRoute is the click path's route label: /click and /click/{offer_id}
// are one route.
const clickRoute = "/click/{offer_id}"

// smartLinkRoute is a smart link's clicks' route label.
const smartLinkRoute = "/s/{slug}"

// observe counts the request ctx has just been answered.
func (st *routeStats) observe(ctx *fasthttp.RequestCtx) {
	class := min(max(ctx.Response.StatusCode()/100-2, 0), len(statusClasses)-1)
	st.codes[class].Inc()
	// ctx.Time() is when fasthttp handed the request over (after reading
	// it), so this is the server's own time, without the network's.
	st.seconds.Update(time.Since(ctx.Time()).Seconds())
}
