//go:build !release

// Test helpers of this package, for its tests and other packages'; left
// out of release builds (go build -tags release), as the binary needs none.

package redis

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/internal/testenv"
)

// NewForTest starts a component on the test Redis with a key prefix of its
// own, and deletes its keys when the test ends.
func NewForTest(t testing.TB) *Component {
	t.Helper()
	config := DefaultConfiguration()
	config.URL = testenv.RedisURL(t)
	config.KeyPrefix = "crtest:" + testenv.Token(t) + ":"
	c, err := New(Dependencies{Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)}, config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.client.Scan(ctx, 0, config.KeyPrefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.client.Del(ctx, iter.Val())
		}
		_ = c.Stop()
	})
	return c
}
