package api

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// RateLimits are the per-key limits of the affiliate (seed 000) and
// advertiser (seed 002) APIs. Counts live in Redis, so every serve process
// enforces one limit. None applies to the click path.
type RateLimits struct {
	// Off disables rate limiting altogether.
	Off bool
	// Seed 000: per hour by tier, and a burst limit per minute.
	AffiliateStandard, AffiliatePremium, AffiliateBurst redis.Window
	// Seed 002, per minute: GET endpoints, writes (events, secondary
	// /pb endpoints, test sessions, PATCH), stats, and conversions
	// (POST /api/v1/conversions and primary /pb endpoints).
	AdvertiserGet, AdvertiserWrite, AdvertiserStats, AdvertiserConversions redis.Window
}

// DefaultRateLimits are the seeds' tables.
func DefaultRateLimits() RateLimits {
	return RateLimits{
		AffiliateStandard:     redis.Window{Name: "hour", Limit: 1000, Period: time.Hour},
		AffiliatePremium:      redis.Window{Name: "hour", Limit: 10000, Period: time.Hour},
		AffiliateBurst:        redis.Window{Name: "burst", Limit: 100, Period: time.Minute},
		AdvertiserGet:         redis.Window{Name: "get", Limit: 100, Period: time.Minute},
		AdvertiserWrite:       redis.Window{Name: "write", Limit: 30, Period: time.Minute},
		AdvertiserStats:       redis.Window{Name: "stats", Limit: 20, Period: time.Minute},
		AdvertiserConversions: redis.Window{Name: "conversions", Limit: 1000, Period: time.Minute},
	}
}

// rateLimitNames maps the names of CLICKRELAY_RATE_LIMITS to the windows.
func (r *RateLimits) byName() map[string]*redis.Window {
	return map[string]*redis.Window{
		"affiliate_standard":     &r.AffiliateStandard,
		"affiliate_premium":      &r.AffiliatePremium,
		"affiliate_burst":        &r.AffiliateBurst,
		"advertiser_get":         &r.AdvertiserGet,
		"advertiser_write":       &r.AdvertiserWrite,
		"advertiser_stats":       &r.AdvertiserStats,
		"advertiser_conversions": &r.AdvertiserConversions,
	}
}

// ParseRateLimits reads CLICKRELAY_RATE_LIMITS: empty for the seeds'
// limits, "off", or a comma list of overrides such as
// "advertiser_conversions=100000/min,affiliate_burst=500/min" (periods s,
// min, h).
func ParseRateLimits(spec string) (RateLimits, error) {
	limits := DefaultRateLimits()
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return limits, nil
	}
	if spec == "off" {
		limits.Off = true
		return limits, nil
	}
	windows := limits.byName()
	for _, item := range strings.Split(spec, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(item), "=")
		w := windows[name]
		if !ok || w == nil {
			return limits, fmt.Errorf("unknown limit %q: the names are affiliate_standard, affiliate_premium, affiliate_burst, advertiser_get, advertiser_write, advertiser_stats, advertiser_conversions, or the word off", name)
		}
		count, period, ok := strings.Cut(value, "/")
		n, err := strconv.ParseInt(count, 10, 64)
		d, known := map[string]time.Duration{"s": time.Second, "min": time.Minute, "h": time.Hour}[period]
		if !ok || err != nil || n < 1 || !known {
			return limits, fmt.Errorf("limit %s=%q: want a positive count per s, min or h, e.g. 100/min", name, value)
		}
		w.Limit, w.Period = n, d
	}
	return limits, nil
}

// countRequest counts a request of subject against windows. When Redis
// cannot count, the request is let through: a rate limit protects the
// service, and refusing conversions because Redis hiccupped would lose
// what it protects.
func (s *Server) countRequest(subject string, windows ...redis.Window) ([]redis.WindowCount, bool) {
	if s.config.RateLimits.Off || s.deps.Limiter == nil {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	counts, err := s.deps.Limiter.CountRequest(ctx, subject, time.Now(), windows)
	if err != nil {
		s.sampledLog.Warn().Err(err).Msg("rate limits not counted; letting requests through")
		return nil, false
	}
	return counts, true
}

// limitAffiliate applies seed 000's limits: it sets the X-RateLimit
// headers on every answer and reports whether the request may go on (the
// 429 sent when not).
func (s *Server) limitAffiliate(ctx *fasthttp.RequestCtx, aff *model.Affiliate) bool {
	hourly := s.config.RateLimits.AffiliateStandard
	if aff.Tier == model.TierPremium {
		hourly = s.config.RateLimits.AffiliatePremium
	}
	counts, ok := s.countRequest("aff:"+aff.ID, hourly, s.config.RateLimits.AffiliateBurst)
	if !ok {
		return true
	}
	// The tighter window speaks: the one with fewer requests left (the
	// exceeded one, when refused), so Reset says when a retry succeeds.
	hour, burst := counts[0], counts[1]
	binding := hour
	if burst.Exceeded() || !hour.Exceeded() && burst.Remaining() < hour.Remaining() {
		binding = burst
	}
	h := &ctx.Response.Header
	h.Set("X-RateLimit-Limit", strconv.FormatInt(hour.Limit, 10))
	h.Set("X-RateLimit-Remaining", strconv.FormatInt(min(hour.Remaining(), burst.Remaining()), 10))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(binding.Reset.Unix(), 10))
	if !hour.Exceeded() && !burst.Exceeded() {
		return true
	}
	h.Set("Retry-After", retryAfter(binding.Reset))
	affiliateError(ctx, fasthttp.StatusTooManyRequests, "RATE_LIMITED",
		fmt.Sprintf("Rate limit exceeded: %d requests per %s. Retry after %s (X-RateLimit-Reset).",
			binding.Limit, periodName(binding.Period), binding.Reset.UTC().Format(time.RFC3339)))
	return false
}

// limitAdvertiser applies seed 002's limit for the request's class and
// reports whether it may go on (the 429 sent when not).
func (s *Server) limitAdvertiser(ctx *fasthttp.RequestCtx, advertiserID string) bool {
	w := s.advertiserWindow(ctx)
	counts, ok := s.countRequest("adv:"+advertiserID, w)
	if !ok || !counts[0].Exceeded() {
		return true
	}
	ctx.Response.Header.Set("Retry-After", retryAfter(counts[0].Reset))
	envelopeError(ctx, fasthttp.StatusTooManyRequests, "RATE_LIMITED",
		fmt.Sprintf("Too many requests: at most %d per %s for this endpoint. Check the Retry-After header.", w.Limit, periodName(w.Period)))
	return false
}

// limitClass names a row of seed 002's rate limit table.
type limitClass uint8

const (
	limitByMethod    limitClass = iota // GETs read, others write
	limitConversions                   // POST /api/v1/conversions
	limitStats                         // GET /api/v1/stats
	limitEndpoint                      // /pb/{id}: conversions or writes by the endpoint's kind
)

// advertiserWindow is the limit seed 002's table gives the request's route.
func (s *Server) advertiserWindow(ctx *fasthttp.RequestCtx) redis.Window {
	l := &s.config.RateLimits
	var class limitClass
	if r := routeOf(ctx); r != nil {
		class = r.limit
	}
	switch class {
	case limitConversions:
		return l.AdvertiserConversions
	case limitStats:
		return l.AdvertiserStats
	case limitEndpoint:
		id := strings.Trim(strings.TrimPrefix(string(ctx.Path()), "/pb/"), "/") // the route is /pb/{endpointId}
		if ep := s.catalog.Endpoint(id); ep != nil && ep.Kind == model.EndpointSecondary {
			return l.AdvertiserWrite
		}
		return l.AdvertiserConversions
	}
	if ctx.IsGet() || ctx.IsHead() {
		return l.AdvertiserGet
	}
	return l.AdvertiserWrite
}

// retryAfter is whole seconds until reset, at least 1.
func retryAfter(reset time.Time) string {
	return strconv.FormatInt(max(int64(time.Until(reset)/time.Second)+1, 1), 10)
}

func periodName(d time.Duration) string {
	switch d {
	case time.Second:
		return "second"
	case time.Minute:
		return "minute"
	case time.Hour:
		return "hour"
	}
	return d.String()
}
