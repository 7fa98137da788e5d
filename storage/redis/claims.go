package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"
)

// Claim scopes, one per dedupe reason of seed 002.
const (
	ClaimTxID     = "tx"    // an advertiser's transaction ID
	ClaimCustomer = "cust"  // a customer on a CPA offer
	ClaimClick    = "click" // a click on a CPA offer
)

// Claim is one dedupe key: a scope and the identity within it.
type Claim struct {
	Scope string
	ID    string
}

// claimScript takes every claim or none: it answers the 1-based index of
// the first claim already held, or 0 after taking them all for ARGV[1].
var claimScript = goredis.NewScript(`
for i, k in ipairs(KEYS) do
  if redis.call('EXISTS', k) == 1 then return i end
end
for _, k in ipairs(KEYS) do
  redis.call('SET', k, ARGV[1], 'PX', ARGV[2])
end
return 0`)

// releaseScript drops the claims still held by ARGV[1], and no others.
var releaseScript = goredis.NewScript(`
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end
end
return 0`)

// Claim atomically takes every claim for owner. It returns the index of the
// first claim someone already holds (none taken then), or -1 when all were
// taken. Claims expire after the dedupe window.
func (c *Component) Claim(ctx context.Context, owner string, claims []Claim) (int, error) {
	if len(claims) == 0 {
		return -1, nil
	}
	n, err := claimScript.Run(ctx, c.client, c.claimKeys(claims), owner, c.config.DedupeWindow.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("claiming dedupe keys: %w", err)
	}
	return n - 1, nil
}

// Release gives back claims owner took, so a retry of a request that could
// not be made durable is accepted.
func (c *Component) Release(ctx context.Context, owner string, claims []Claim) error {
	if len(claims) == 0 {
		return nil
	}
	if err := releaseScript.Run(ctx, c.client, c.claimKeys(claims), owner).Err(); err != nil && !isNil(err) {
		return fmt.Errorf("releasing dedupe keys: %w", err)
	}
	return nil
}

func (c *Component) claimKeys(claims []Claim) []string {
	keys := make([]string, len(claims))
	for i, cl := range claims {
		keys[i] = c.keys.claim(cl.Scope, cl.ID)
	}
	return keys
}
