//go:build !release

// Test helpers of this package, for its tests and other packages'; left
// out of release builds (go build -tags release), as the binary needs none.

package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/internal/testenv"
)

// NewForTest starts an embedded broker on a free port, with topics of the
// test's own, and stops it when the test ends.
func NewForTest(t testing.TB) *Component {
	t.Helper()
	config := DefaultConfiguration()
	config.Brokers = []string{Embedded}
	config.EmbeddedPort = 0
	config.Partitions = 4
	config.TopicPrefix = "t" + testenv.Token(t) + "."
	c, err := New(Dependencies{Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)}, config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}
