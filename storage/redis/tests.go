//go:build !release

// Test helpers of this package, for its tests and other packages'; left
// out of release builds (go build -tags release), as the binary needs none.

package redis

import (
	"context"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
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
		// SCAN walks one server: on a Redis Cluster, each master's keys.
		_ = c.forEachMaster(ctx, func(ctx context.Context, node goredis.UniversalClient) error {
			iter := node.Scan(ctx, 0, config.KeyPrefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				node.Del(ctx, iter.Val())
			}
			return iter.Err()
		})
		_ = c.Stop(context.Background())
	})
	return c
}

// ClientForTest connects to what a CLICKRELAY_REDIS_URL names, one Redis or
// a Redis Cluster, as clickrelay does, for tests that reach into a stack's
// Redis; the client is closed when the test ends.
func ClientForTest(t testing.TB, url string) goredis.UniversalClient {
	t.Helper()
	client, _, _, err := newClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// ClickKeyForTest is the name of click id's record, with the key prefix,
// in what url names (on a Redis Cluster the ID is a hash tag).
func ClickKeyForTest(url, prefix, id string) string {
	return keys{prefix: prefix, cluster: isClusterURL(url)}.click(id)
}

// KeysForTest lists the keys matching pattern on every master (SCAN walks
// one server: on a Redis Cluster it would see a third of them).
func KeysForTest(t testing.TB, client goredis.UniversalClient, pattern string) []string {
	t.Helper()
	var mu sync.Mutex // the masters are scanned at once
	var names []string
	err := forEachMaster(context.Background(), client, func(ctx context.Context, node goredis.UniversalClient) error {
		iter := node.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			names = append(names, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}
