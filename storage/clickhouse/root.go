// Package clickhouse is clickrelay's ClickHouse engine: the schema and its
// migrations, batch inserts of the raw records, and the queries behind the
// stats and report APIs.
//
// Everything here runs on ClickHouse 18.16 (Debian's, used by the tests) and
// on current releases (docker-compose): inserts name their columns, settings
// are integers, and the schema keeps to engines and functions both know.
package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"
)

// Dependencies of the component.
type Dependencies struct {
	Logger zerolog.Logger
}

// Component holds the connection pool.
type Component struct {
	config   Configuration
	log      zerolog.Logger
	options  *clickhouse.Options
	database string
	conn     driver.Conn
	// lookups batches the lookups of clicks by ID (clicks.go).
	lookups clickLookups
	// lookupsCheckedAt is when click_lookup was last looked at for months
	// past the attribution window, in Unix nanoseconds
	// (lookup_retention.go).
	lookupsCheckedAt atomic.Int64
}

// New checks the configuration; Start connects.
func New(deps Dependencies, config Configuration) (*Component, error) {
	if config.DSN == "" {
		return nil, errors.New("CLICKRELAY_CLICKHOUSE_DSN is not set (e.g. clickhouse://127.0.0.1:9000/clickrelay)")
	}
	opts, err := clickhouse.ParseDSN(config.DSN)
	if err != nil {
		return nil, fmt.Errorf("CLICKRELAY_CLICKHOUSE_DSN: %w", err)
	}
	database := opts.Auth.Database
	if database == "" || database == "default" {
		return nil, errors.New("CLICKRELAY_CLICKHOUSE_DSN must name clickrelay's own database, e.g. clickhouse://127.0.0.1:9000/clickrelay")
	}
	if !validIdentifier(database) {
		return nil, fmt.Errorf("CLICKRELAY_CLICKHOUSE_DSN: database name %q must be letters, digits and underscores", database)
	}
	// Connect without a database, so a missing one can be created; every
	// statement names its tables in full.
	opts.Auth.Database = ""
	opts.MaxOpenConns = max(opts.MaxOpenConns, 16)
	return &Component{
		config:   config,
		log:      deps.Logger.With().Str("component", "clickhouse").Logger(),
		options:  opts,
		database: database,
	}, nil
}

// Start connects and checks the server answers. Migrate creates the schema.
func (c *Component) Start(ctx context.Context) error {
	conn, err := clickhouse.Open(c.options)
	if err != nil {
		return fmt.Errorf("CLICKRELAY_CLICKHOUSE_DSN: %w", err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return fmt.Errorf("CLICKRELAY_CLICKHOUSE_DSN: cannot reach ClickHouse at %s: %w", strings.Join(c.options.Addr, ","), err)
	}
	c.conn = conn
	version, err := conn.ServerVersion()
	if err == nil {
		c.log.Info().Str("version", version.Version.String()).Str("database", c.database).Msg("clickhouse ready")
	}
	return nil
}

// Stop closes the pool.
func (c *Component) Stop(context.Context) error {
	if c.conn == nil {
		return nil
	}
	return c.conn.Close()
}

// Ping checks ClickHouse answers, for readiness probes.
func (c *Component) Ping(ctx context.Context) error { return c.conn.Ping(ctx) }

// table returns a table's fully qualified name.
func (c *Component) table(name string) string { return "`" + c.database + "`." + name }

func validIdentifier(s string) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch == '_' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || i > 0 && ch >= '0' && ch <= '9') {
			return false
		}
	}
	return s != ""
}

// queryContext bounds a read query by QueryTimeout.
func (c *Component) queryContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.config.QueryTimeout)
}
