package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The postback retry queue is a sorted set scored by due time (Unix ms), so
// a retry survives a worker's restart and any worker may take it.

// ScheduleRetry queues job to be taken at or after due.
func (c *Component) ScheduleRetry(ctx context.Context, due time.Time, job []byte) error {
	err := c.client.ZAdd(ctx, c.keys.retryQueue(), goredis.Z{Score: float64(due.UnixMilli()), Member: job}).Err()
	if err != nil {
		return fmt.Errorf("scheduling a postback retry: %w", err)
	}
	return nil
}

// takeDueScript leases up to ARGV[2] jobs due by ARGV[1]: each is pushed
// back to ARGV[3] rather than removed, in one step so two workers never
// take the same job, and a worker that dies holding one only delays it.
var takeDueScript = goredis.NewScript(`
local jobs = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, job in ipairs(jobs) do redis.call('ZADD', KEYS[1], 'XX', ARGV[3], job) end
return jobs`)

// TakeDueRetries leases up to limit jobs due by now for the lease
// duration. FinishRetry ends a lease for good; an unfinished lease makes
// the job due again when it runs out.
func (c *Component) TakeDueRetries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]string, error) {
	jobs, err := takeDueScript.Run(ctx, c.client, []string{c.keys.retryQueue()},
		strconv.FormatInt(now.UnixMilli(), 10), limit, strconv.FormatInt(now.Add(lease).UnixMilli(), 10)).StringSlice()
	if err != nil && !isNil(err) {
		return nil, fmt.Errorf("taking due postback retries: %w", err)
	}
	return jobs, nil
}

// FinishRetry removes a leased job from the queue.
func (c *Component) FinishRetry(ctx context.Context, job string) error {
	return c.client.ZRem(ctx, c.keys.retryQueue(), job).Err()
}

// PendingRetries counts queued retries.
func (c *Component) PendingRetries(ctx context.Context) (int64, error) {
	return c.client.ZCard(ctx, c.keys.retryQueue()).Result()
}

// MarkDelivered records that a postback landed, so a redelivered conversion
// never fires it again.
func (c *Component) MarkDelivered(ctx context.Context, conversion, postback, event string) error {
	return c.client.Set(ctx, c.keys.delivered(conversion, postback, event), 1, c.config.DedupeWindow).Err()
}

// Delivered reports whether a postback already landed.
func (c *Component) Delivered(ctx context.Context, conversion, postback, event string) (bool, error) {
	n, err := c.client.Exists(ctx, c.keys.delivered(conversion, postback, event)).Result()
	return n == 1, err
}
