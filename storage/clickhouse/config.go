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
}

// DefaultConfiguration returns the documented defaults.
func DefaultConfiguration() Configuration {
	return Configuration{QueryTimeout: 30 * time.Second}
}
