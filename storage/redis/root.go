// Package redis is clickrelay's Redis engine: the entity store and the
// in-process catalog that caches it, click records for attribution, dedupe
// claims, unique-visitor marks, and the postback retry queue.
package redis

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	goredis "github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/internal/daemon"
	"github.com/clickrelay/clickrelay/model"
)

// Dependencies of the component.
type Dependencies struct {
	Logger  zerolog.Logger
	Metrics *metrics.Set
	// Journal, when set, is the durable copy of entities, keys and
	// secrets: written before Redis, and Redis is rebuilt from it.
	Journal Journal
	// Failer hears of a catalog that stopped following invalidations.
	Failer daemon.Failer
}

// Component holds the Redis connection pool and what lives in Redis.
type Component struct {
	config Configuration
	log    zerolog.Logger
	client goredis.UniversalClient
	// saving orders this process's writes of one entity: its journal
	// record, its Redis write and its catalog write (store, entityLock).
	saving [entityLocks]sync.Mutex
	// cluster: client is a Redis Cluster client, and keys carry hash tags.
	cluster bool
	addr    string // the Redis, or the cluster's seed nodes, for messages
	catalog *Catalog
	keys    keys
	// marks remembers the unique-visitor marks this process set
	// (SaveClicks); marksRemembered counts the questions it answered.
	marks           *markMemory
	marksRemembered *metrics.Counter
	// journalStore is Dependencies.Journal (nil: no journal).
	journalStore Journal
	failer       daemon.Failer

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New checks the configuration and prepares the client; Start connects.
func New(deps Dependencies, config Configuration) (*Component, error) {
	useClientLog(deps.Logger.With().Str("component", "redis").Logger())
	if config.URL == "" {
		return nil, errors.New("CLICKRELAY_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
	}
	client, cluster, addr, err := newClient(config.URL)
	if err != nil {
		return nil, err
	}
	c := &Component{
		config:  config,
		log:     deps.Logger.With().Str("component", "redis").Logger(),
		client:  client,
		cluster: cluster,
		addr:    addr,
		keys:    keys{prefix: config.KeyPrefix, cluster: cluster},
		marks:   newMarkMemory(),

		journalStore: deps.Journal,
		failer:       deps.Failer,
	}
	set := deps.Metrics
	if set == nil {
		set = metrics.NewSet() // counted all the same, for tests without a registry
	}
	c.catalog = newCatalog(c, set)
	c.marksRemembered = set.NewCounter(`clickrelay_unique_marks_remembered_total`)
	if deps.Metrics != nil {
		// The queue is shared by every process: each reports the same
		// number, so dashboards take the max over processes.
		deps.Metrics.NewGauge(`clickrelay_postback_retry_queue`, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			n, err := c.PendingRetries(ctx)
			if err != nil {
				return math.NaN() // unknown, rather than an old value
			}
			return float64(n)
		})
	}
	return c, nil
}

// Start connects, loads the catalog and follows invalidations.
func (c *Component) Start(ctx context.Context) error {
	if err := c.ping(ctx); err != nil {
		return fmt.Errorf("CLICKRELAY_REDIS_URL: cannot reach Redis at %s: %w", c.addr, err)
	}
	c.checkPersistence(ctx)
	if c.journalStore != nil {
		if err := c.reconcileJournal(ctx); err != nil {
			return err
		}
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
		defer daemon.Recover(c.failer, "catalog")
		if err := c.catalog.follow(runCtx, sub); err != nil {
			if c.failer == nil {
				c.log.Error().Err(err).Msg("the catalog stopped following invalidations")
				return
			}
			c.failer.Fail("catalog", err)
		}
	}()
	c.log.Info().Str("addr", c.addr).Bool("cluster", c.cluster).Msg("redis ready")
	return nil
}

// maxLoadingWait bounds the wait for a Redis that answers LOADING: one
// restarting reads its append-only file before it serves, and a process
// started alongside it (a host reboot, a fault suite) should wait, not fail.
const maxLoadingWait = 2 * time.Minute

// ping checks Redis answers, waiting while it is loading its data.
func (c *Component) ping(ctx context.Context) error {
	deadline := time.Now().Add(maxLoadingWait)
	for {
		err := c.client.Ping(ctx).Err()
		if err == nil || !strings.HasPrefix(err.Error(), "LOADING") || time.Now().After(deadline) {
			return err
		}
		c.log.Info().Msg("Redis is loading its data; waiting")
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop ends the invalidation follower and closes the pool. It does not
// wait on Redis, so ctx has nothing to bound.
func (c *Component) Stop(context.Context) error {
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
//
// With a journal, a secret missing from Redis is first looked for there
// (Redis lost it: the click IDs in the wild carry MACs under the old one),
// and a newly created one is journaled before it is used; if the journal
// refuses it, it is taken back out of Redis and the start fails.
func (c *Component) SecretIfAbsent(ctx context.Context, name string, value []byte) ([]byte, bool, error) {
	key := c.keys.secret(name)
	v, err := c.client.Get(ctx, key).Bytes()
	if err != nil && !isNil(err) {
		return nil, false, fmt.Errorf("reading secret %s: %w", name, err)
	}
	var journaled []byte
	if c.journalStore != nil {
		records, err := c.journalStore.LoadJournal(ctx)
		if err != nil {
			return nil, false, fmt.Errorf("looking for secret %s in the entity journal: %w", name, err)
		}
		for _, r := range records {
			if r.Kind == model.JournalSecret && r.ID == name && !r.Deleted {
				journaled = r.Body
			}
		}
	}
	if v != nil {
		// A secret created before the journal existed is copied into it.
		if c.journalStore != nil && journaled == nil {
			if err := c.journal(ctx, model.JournalRecord{Kind: model.JournalSecret, ID: name, Body: v}); err != nil {
				return nil, false, fmt.Errorf("secret %s: %w", name, err)
			}
		}
		return v, false, nil
	}
	restored := journaled != nil
	if restored {
		value = journaled
		c.log.Error().Str("secret", name).Msg("Redis had lost a secret; it was restored from the entity journal")
	}
	created, err := c.client.SetNX(ctx, key, value, 0).Result()
	if err != nil {
		return nil, false, fmt.Errorf("creating secret %s: %w", name, err)
	}
	if created && !restored {
		if err := c.journal(ctx, model.JournalRecord{Kind: model.JournalSecret, ID: name, Body: value}); err != nil {
			c.dropSecret(key, value)
			return nil, false, fmt.Errorf("secret %s: %w", name, err)
		}
	}
	if v, err = c.client.Get(ctx, key).Bytes(); err != nil {
		return nil, false, fmt.Errorf("reading secret %s: %w", name, err)
	}
	return v, created && !restored, nil
}

// dropSecret takes back a secret this process created, unless another
// process has replaced it meanwhile.
func (c *Component) dropSecret(key string, value []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := dropIfEqual.Run(ctx, c.client, []string{key}, value).Err(); err != nil && !isNil(err) {
		c.log.Error().Err(err).Str("key", key).Msg("cannot take back a secret the journal refused")
	}
}

var dropIfEqual = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
