package api

import (
	"context"
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/internal/promtext"
)

// What operators and load balancers read: /health, /ready and /metrics.

// health is seed 002's health check: the process answers. It touches no
// engine, so a load balancer never drops a node for a slow dependency.
func (s *Server) health(ctx *fasthttp.RequestCtx) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"status": "ok", "timestamp": time.Now().UnixMilli()})
}

// ready answers 200 only when every engine this process uses answers.
func (s *Server) ready(ctx *fasthttp.RequestCtx) {
	checks := map[string]string{}
	status := fasthttp.StatusOK
	for _, c := range s.deps.Checks {
		pingCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := c.Ping(pingCtx)
		cancel()
		if err != nil {
			// The answer is public: it names the check and a generic
			// reason; the error itself (addresses, driver text) goes to
			// the log.
			checks[c.Name] = "unavailable"
			var nr *NotReady
			if errors.As(err, &nr) {
				checks[c.Name] = nr.Reason
			}
			s.sampledLog.Warn().Err(err).Str("check", c.Name).Msg("not ready")
			status = fasthttp.StatusServiceUnavailable
		} else {
			checks[c.Name] = "ok"
		}
	}
	state := "ready"
	if status != fasthttp.StatusOK {
		state = "unavailable"
	}
	writeJSON(ctx, status, map[string]any{"status": state, "checks": checks, "timestamp": time.Now().UnixMilli()})
}

// metrics writes every metric in the Prometheus text format, each family
// with its HELP and TYPE.
func (s *Server) metrics(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	promtext.Expose(ctx, s.deps.Metrics, s.metricHelp)
}

// NotReady is a readiness failure whose Reason may be shown to anyone:
// /ready answers it instead of "unavailable".
type NotReady struct {
	Reason string
	Err    error
}

func (e *NotReady) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

func (e *NotReady) Unwrap() error { return e.Err }
