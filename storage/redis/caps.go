package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Cap counters: what an offer, or an affiliate on it, has taken in a cap's
// current period, one key per cap and period.
//
// Conversion caps are exact: a conversion's counters are checked and
// added to in the script that takes its dedupe claims (claimScript), so no
// number of concurrent requests over any number of processes takes one more
// than a limit. Click caps are counted behind the 302, in the pipeline that
// stores the clicks (SaveClicks).

// CapCount is one cap's counter in its current period, and what a record
// (a click, a conversion) adds to it.
type CapCount struct {
	// Key is the counter's full name (CapKey).
	Key string
	// Limit is the cap's, and Add what the record adds: 1, or its payout
	// or revenue in micros.
	Limit, Add int64
	// TTL is how long the counter lives past now: its period's end and a
	// margin (0: no expiry to set: a total's counter, kept for ever, or a
	// click cap's whose expiry this process set within the minute).
	TTL time.Duration
	// Total is the counter once the record was added, set by SaveClicks.
	Total int64
}

// CapKey names the counter of counter (the caps component's name of a
// cap and period) for an offer of advertiser: on a Redis Cluster the
// advertiser is its hash tag, as the claims of its conversions', so the
// script that takes both runs in one slot.
func (c *Component) CapKey(advertiser, counter string) string {
	return c.keys.prefix + "cap:" + c.keys.slot(advertiser) + counter
}

// capsBuilt marks that the cap counters hold what ClickHouse holds: a Redis
// that lost its data lacks it, and the caps component rebuilds them.
func (k keys) capsBuilt() string { return k.prefix + "caps:built" }

// CapTotals reads counters (0 for one not set). Each is read on its own,
// in one pipeline: a Redis Cluster refuses an MGET across slots.
func (c *Component) CapTotals(ctx context.Context, keys []string) ([]int64, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	pipe := c.client.Pipeline()
	cmds := make([]*goredis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Get(ctx, k)
	}
	_, _ = pipe.Exec(ctx)
	out := make([]int64, len(keys))
	for i, cmd := range cmds {
		v, err := cmd.Int64()
		if err != nil && !isNil(err) {
			return nil, fmt.Errorf("reading cap counters: %w", err)
		}
		out[i] = v
	}
	return out, nil
}

// ReleaseCaps takes back what a conversion added to its counters when it
// could not be recorded, and has no claim a retry would re-publish it by.
func (c *Component) ReleaseCaps(ctx context.Context, counts []CapCount) error {
	if len(counts) == 0 {
		return nil
	}
	pipe := c.client.Pipeline()
	for _, k := range counts {
		pipe.DecrBy(ctx, k.Key, k.Add)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("releasing cap counters: %w", err)
	}
	return nil
}

// CapsBuilt reports whether the counters are known to hold what ClickHouse
// holds (RebuildCaps has run since Redis last lost its data).
func (c *Component) CapsBuilt(ctx context.Context) (bool, error) {
	n, err := c.client.Exists(ctx, c.keys.capsBuilt()).Result()
	if err != nil {
		return false, fmt.Errorf("reading the caps' mark: %w", err)
	}
	return n == 1, nil
}

// SetCapTotals sets counters to what was counted elsewhere (ClickHouse,
// after Redis lost its data; counts.Total each), then marks them built.
func (c *Component) SetCapTotals(ctx context.Context, counts []CapCount) error {
	pipe := c.client.Pipeline()
	for _, k := range counts {
		pipe.Set(ctx, k.Key, strconv.FormatInt(k.Total, 10), k.TTL)
	}
	pipe.Set(ctx, c.keys.capsBuilt(), "1", 0)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("setting cap counters: %w", err)
	}
	return nil
}

// PublishCapReached tells every process (and this one) that a cap's
// counter reached its limit, on the catalog's invalidation channel.
func (c *Component) PublishCapReached(ctx context.Context, key string) {
	c.publish(ctx, capReachedPrefix+key)
}

// capReachedPrefix starts an invalidation that names a reached cap
// counter rather than an entity.
const capReachedPrefix = "capreached:"
