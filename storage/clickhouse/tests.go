//go:build !release

// Test helpers of this package, for its tests and other packages'; left
// out of release builds (go build -tags release), as the binary needs none.

package clickhouse

import (
	"context"
	"math"
	"net/url"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/internal/testenv"
)

// NewForTest starts a component on a database of the test's own, migrated,
// and drops the database when the test ends.
func NewForTest(t testing.TB) *Component {
	t.Helper()
	return newMigratedThrough(t, math.MaxUint32)
}

// newMigratedThrough is NewForTest with the migrations up to version last
// applied only, for tests of what a migration does to the data before it.
func newMigratedThrough(t testing.TB, last uint32) *Component {
	t.Helper()
	u, err := url.Parse(testenv.ClickHouseDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/crtest_" + testenv.Token(t)
	config := DefaultConfiguration()
	config.DSN = u.String()
	// Tests date their clicks anywhere in time; click_lookup keeps them all
	// unless a test sets a window (lookup_retention.go).
	config.AttributionWindow = 0
	c, err := New(Dependencies{Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)}, config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.migrateThrough(ctx, last); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.DropDatabase(context.Background())
		_ = c.Stop(context.Background())
	})
	return c
}

// DropDatabase drops clickrelay's database, for tests cleaning up.
func (c *Component) DropDatabase(ctx context.Context) error {
	return c.conn.Exec(ctx, "DROP DATABASE IF EXISTS `"+c.database+"`")
}

// Count runs a SELECT count() (or any one-number query) for tests.
func (c *Component) Count(ctx context.Context, query string, args ...any) (uint64, error) {
	var n uint64
	err := c.conn.QueryRow(ctx, query, args...).Scan(&n)
	return n, err
}

// Table is table for tests: a table's fully qualified name.
func (c *Component) Table(name string) string { return c.table(name) }
