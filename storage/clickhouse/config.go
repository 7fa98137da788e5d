package clickhouse

import "time"

// Configuration of the ClickHouse engine.
type Configuration struct {
	// DSN is CLICKRELAY_CLICKHOUSE_DSN, e.g.
	// clickhouse://127.0.0.1:9000/clickrelay. Its database is created when
	// missing.
	DSN string
	// QueryTimeout bounds every read query.
	QueryTimeout time.Duration
	// AttributionWindow is CLICKRELAY_ATTRIBUTION_WINDOW. No conversion may
	// name a click older than it, so click_lookup's months whose clicks are
	// all past it are dropped (lookup_retention.go).
	AttributionWindow time.Duration
}

// DefaultConfiguration returns the documented defaults.
func DefaultConfiguration() Configuration {
	return Configuration{QueryTimeout: 30 * time.Second, AttributionWindow: 30 * 24 * time.Hour}
}
