package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// unlockScript drops a lock only while ARGV[1] holds it.
var unlockScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// extendScript moves a lock's expiry while ARGV[1] holds it.
var extendScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)

// Lock takes the lock name for owner for at most ttl, if no one holds it.
// A holder that dies lets go when ttl runs out.
func (c *Component) Lock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	ok, err := c.client.SetNX(ctx, c.keys.lock(name), owner, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("taking lock %s: %w", name, err)
	}
	return ok, nil
}

// Unlock gives back a lock owner holds; one that ran out and was taken by
// another is left alone.
func (c *Component) Unlock(ctx context.Context, name, owner string) error {
	if err := unlockScript.Run(ctx, c.client, []string{c.keys.lock(name)}, owner).Err(); err != nil && !isNil(err) {
		return fmt.Errorf("releasing lock %s: %w", name, err)
	}
	return nil
}

// Extend gives a lock owner holds ttl more; false when it is no longer
// owner's.
func (c *Component) Extend(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	n, err := extendScript.Run(ctx, c.client, []string{c.keys.lock(name)}, owner, ttl.Milliseconds()).Int()
	if err != nil && !isNil(err) {
		return false, fmt.Errorf("extending lock %s: %w", name, err)
	}
	return n == 1, nil
}
