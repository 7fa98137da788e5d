// Package redis is clickrelay's Redis engine: the entity store and the
// in-process catalog that caches it, click records for attribution, dedupe
// claims, unique-visitor marks, and the postback retry queue.
package redis

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"

	"github.com/VictoriaMetrics/metrics"
	goredis "github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// Dependencies of the component.
type Dependencies struct {
	Logger  zerolog.Logger
	Metrics *metrics.Set
}

// Component holds the Redis connection pool and what lives in Redis.
type Component struct {
	config  Configuration
	log     zerolog.Logger
	client  *goredis.Client
	catalog *Catalog
	keys    keys

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New checks the configuration and prepares the client; Start connects.
func New(deps Dependencies, config Configuration) (*Component, error) {
	if config.URL == "" {
		return nil, errors.New("CLICKRELAY_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
	}
	opts, err := goredis.ParseURL(config.URL)
	if err != nil {
		return nil, fmt.Errorf("CLICKRELAY_REDIS_URL: %w", err)
	}
	// The click path's flushers each hold a connection while a pipeline is
	// in flight; leave room for them and for the API.
	opts.PoolSize = max(opts.PoolSize, 64)
	opts.MinIdleConns = 8
	c := &Component{
		config: config,
		log:    deps.Logger.With().Str("component", "redis").Logger(),
		client: goredis.NewClient(opts),
		keys:   keys{prefix: config.KeyPrefix},
	}
	c.catalog = newCatalog(c, deps.Metrics)
	return c, nil
}

// Start connects, loads the catalog and follows invalidations.
func (c *Component) Start(ctx context.Context) error {
	if err := c.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("CLICKRELAY_REDIS_URL: cannot reach Redis at %s: %w", c.client.Options().Addr, err)
	}
	// Subscribed first, loaded second: an invalidation published while the
	// catalog loads is then applied after it, never lost, and the load is
	// not repeated when the subscription is confirmed.
	sub := c.client.Subscribe(ctx, c.keys.invalidations())
	if _, err := sub.Receive(ctx); err != nil {
		sub.Close()
		return fmt.Errorf("subscribing to catalog invalidations: %w", err)
	}
	if err := c.catalog.reloadAll(ctx); err != nil {
		sub.Close()
		return fmt.Errorf("loading the entity catalog from Redis: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.catalog.follow(runCtx, sub)
	}()
	c.log.Info().Str("addr", c.client.Options().Addr).Int("db", c.client.Options().DB).Msg("redis ready")
	return nil
}

// Stop ends the invalidation follower and closes the pool.
func (c *Component) Stop() error {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	return c.client.Close()
}

// Catalog returns the in-process cache of every entity.
func (c *Component) Catalog() *Catalog { return c.catalog }

// Ping checks Redis answers, for readiness probes.
func (c *Component) Ping(ctx context.Context) error { return c.client.Ping(ctx).Err() }

// Secret returns the network-wide secret called name, creating a random one
// on first use. Every process sharing this Redis gets the same value.
func (c *Component) Secret(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	v, _, err := c.SecretIfAbsent(ctx, name, fresh)
	return v, err
}

// SecretIfAbsent stores value as the secret called name unless one exists,
// and returns the secret in force and whether it is value, just stored.
func (c *Component) SecretIfAbsent(ctx context.Context, name string, value []byte) ([]byte, bool, error) {
	key := c.keys.secret(name)
	created, err := c.client.SetNX(ctx, key, value, 0).Result()
	if err != nil {
		return nil, false, fmt.Errorf("creating secret %s: %w", name, err)
	}
	v, err := c.client.Get(ctx, key).Bytes()
	if err != nil {
		return nil, false, fmt.Errorf("reading secret %s: %w", name, err)
	}
	return v, created, nil
}
