package api

import "time"

// Configuration of the HTTP server.
type Configuration struct {
	// Addr is CLICKRELAY_ADDR.
	Addr string
	// MaxBodyBytes caps every request body; larger ones get 413.
	MaxBodyBytes int
	// ReadTimeout and WriteTimeout bound one request; IdleTimeout a
	// keep-alive connection between requests.
	// (CLICKRELAY_READ_TIMEOUT, CLICKRELAY_WRITE_TIMEOUT,
	// CLICKRELAY_IDLE_TIMEOUT). A stop does not wait for them: it closes
	// connections that are not in a handler (see Server.Stop).
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// MaxConnsPerIP caps the open connections from one client address
	// (CLICKRELAY_MAX_CONNS_PER_IP); past it a connection gets 429 and is
	// closed. 0: no cap. Behind a proxy every client shares its address.
	MaxConnsPerIP int
	// MaxPageSize caps list endpoints.
	MaxPageSize int
	// MaxStatsRange caps a stats query's date range.
	MaxStatsRange time.Duration
	// RateLimits of the affiliate and advertiser APIs (CLICKRELAY_RATE_LIMITS).
	RateLimits RateLimits
	// PublicURL is the scheme and host end users reach the click path on
	// (CLICKRELAY_PUBLIC_URL, e.g. https://trk.example.com), the base of
	// every tracking link the affiliate API and the publisher feed hand
	// out. Empty: "http://" + the request's Host.
	PublicURL string
	// Location is the network's time zone (CLICKRELAY_TIMEZONE): the
	// zone of every report whose request names none.
	Location *time.Location
}

// DefaultConfiguration returns the documented defaults.
func DefaultConfiguration() Configuration {
	return Configuration{
		Addr:          ":8080",
		MaxBodyBytes:  1 << 20,
		ReadTimeout:   10 * time.Second,
		WriteTimeout:  30 * time.Second,
		IdleTimeout:   90 * time.Second,
		MaxConnsPerIP: 1000,
		MaxPageSize:   500,
		MaxStatsRange: 366 * 24 * time.Hour,
		RateLimits:    DefaultRateLimits(),
		Location:      time.UTC,
	}
}
