package redis

import "time"

// Configuration of the Redis engine.
type Configuration struct {
	// URL is CLICKRELAY_REDIS_URL, e.g. redis://127.0.0.1:6379/0.
	URL string
	// KeyPrefix starts every key and channel, so one Redis can hold several
	// networks (and tests can run side by side).
	KeyPrefix string
	// AttributionWindow is how long a click stays findable by a conversion
	// (in Redis for its hot window, in ClickHouse after).
	AttributionWindow time.Duration
	// HotWindow is how long Redis keeps a click: the conversions of most
	// clicks come within it and find it in Redis; older ones find it in
	// ClickHouse. Redis holds a click for the shorter of the hot and
	// attribution windows, so its memory grows with the hot window's
	// clicks, not the attribution window's.
	HotWindow time.Duration
	// DedupeWindow is how long a txid, customer or click claim lasts.
	DedupeWindow time.Duration
	// UniqueWindow is how long a visitor's first click on an offer keeps the
	// next ones from counting as unique.
	UniqueWindow time.Duration
	// CatalogResync reloads the whole entity catalog this often, a safety
	// net under pub/sub invalidation.
	CatalogResync time.Duration
}

// DefaultConfiguration returns the documented defaults.
func DefaultConfiguration() Configuration {
	return Configuration{
		KeyPrefix:         "cr:",
		AttributionWindow: 30 * 24 * time.Hour,
		HotWindow:         48 * time.Hour,
		DedupeWindow:      90 * 24 * time.Hour,
		UniqueWindow:      24 * time.Hour,
		CatalogResync:     time.Minute,
	}
}
