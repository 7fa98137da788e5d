package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The postback dead letter. Per postback:
//
//   - pb:dead:{postback}     ZSET  delivery id → when it died (Unix ms)
//   - pb:deadjob:{postback}  HASH  delivery id → the job to queue on a re-drive
//   - pb:fails:{postback}    HASH  count, first: consecutive failed deliveries
//     and when the first of them died; any delivery that lands deletes it
//
// A delivery id is "{conversion_id}:{event}" (unique within its postback).
// Entries older than the TTL are dropped on the next add, and both keys
// expire a TTL after their last add; past the cap, the oldest entries go.
// Moving in and out is one script each, so a delivery is never both queued
// and dead, and a re-drive takes each entry at most once.
//
// The scripts derive the delivered marks' names from the delivery ids, so
// they suit one Redis (or a Cluster where clickrelay's prefix is a hash tag).

// DeadLetterLimits bound one postback's dead letter.
type DeadLetterLimits struct {
	// Max entries kept; the oldest are evicted past it.
	Max int
	// TTL is how long an entry is kept.
	TTL time.Duration
}

// DeadLetterAdd is what adding an entry came to.
type DeadLetterAdd struct {
	// Evicted is how many older entries the cap or the TTL dropped.
	Evicted int64
	// Failures is the count of consecutive failed deliveries of the
	// postback, and FirstFailure when the first of them died (zero when
	// the add was not counted).
	Failures     int64
	FirstFailure time.Time
}

func (k keys) deadLetter(postback string) string     { return k.prefix + "pb:dead:" + postback }
func (k keys) deadLetterJobs(postback string) string { return k.prefix + "pb:deadjob:" + postback }
func (k keys) failures(postback string) string       { return k.prefix + "pb:fails:" + postback }

// deliveredPrefix is the delivered marks' names up to the conversion id
// (keys.delivered is prefix + conversion:postback:event).
func (k keys) deliveredPrefix() string { return k.prefix + "pb:done:" }

// addDeadScript adds ARGV[1] (job ARGV[3]) at time ARGV[2], drops entries
// older than ARGV[5] ms and the oldest past ARGV[4], refreshes the TTL, and
// when ARGV[6] is 1 counts a consecutive failure.
var addDeadScript = goredis.NewScript(`
local now, cap, ttl = tonumber(ARGV[2]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
local evicted = 0
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - ttl))
for _, id in ipairs(old) do redis.call('HDEL', KEYS[2], id) end
if #old > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - ttl)) end
evicted = evicted + #old
local n = redis.call('ZCARD', KEYS[1])
if n > cap then
  local over = redis.call('ZRANGE', KEYS[1], 0, n - cap - 1)
  for _, id in ipairs(over) do redis.call('HDEL', KEYS[2], id) end
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - cap - 1)
  evicted = evicted + #over
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
local count, first = 0, 0
if ARGV[6] == '1' then
  count = redis.call('HINCRBY', KEYS[3], 'count', 1)
  redis.call('HSETNX', KEYS[3], 'first', now)
  first = tonumber(redis.call('HGET', KEYS[3], 'first'))
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return {evicted, count, first}`)

// AddDeadLetter puts a delivery in its postback's dead letter; job is
// what a re-drive queues. countFailure says whether it counts towards the
// postback's consecutive failures (a delivery kept while the postback is
// disabled does not).
func (c *Component) AddDeadLetter(ctx context.Context, postbackID, deliveryID string, job []byte, now time.Time,
	limits DeadLetterLimits, countFailure bool) (DeadLetterAdd, error) {
	count := "0"
	if countFailure {
		count = "1"
	}
	res, err := addDeadScript.Run(ctx, c.client,
		[]string{c.keys.deadLetter(postbackID), c.keys.deadLetterJobs(postbackID), c.keys.failures(postbackID)},
		deliveryID, now.UnixMilli(), job, max(limits.Max, 1), max(limits.TTL.Milliseconds(), 1), count).Int64Slice()
	if err != nil {
		return DeadLetterAdd{}, fmt.Errorf("adding postback %s delivery %s to the dead letter: %w", postbackID, deliveryID, err)
	}
	out := DeadLetterAdd{Evicted: res[0], Failures: res[1]}
	if res[2] > 0 {
		out.FirstFailure = time.UnixMilli(res[2]).UTC()
	}
	return out, nil
}

// RecordDelivered marks a delivery as landed (see MarkDelivered) and ends
// its postback's run of consecutive failures, in one round trip.
func (c *Component) RecordDelivered(ctx context.Context, conversion, postback, event string) error {
	_, err := c.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		p.Set(ctx, c.keys.delivered(conversion, postback, event), 1, c.config.DedupeWindow)
		p.Del(ctx, c.keys.failures(postback))
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording postback %s delivered for %s: %w", postback, conversion, err)
	}
	return nil
}

// ResetFailures forgets a postback's run of consecutive failures (on
// re-enabling it).
func (c *Component) ResetFailures(ctx context.Context, postbackID string) error {
	if err := c.client.Del(ctx, c.keys.failures(postbackID)).Err(); err != nil {
		return fmt.Errorf("resetting postback %s's failures: %w", postbackID, err)
	}
	return nil
}

// DeadDelivery is one entry of a dead letter.
type DeadDelivery struct {
	ID   string
	Died time.Time
	Job  []byte
}

// DeadLetters lists a postback's entries that died in [from, to), newest
// first, skipping offset and returning at most limit, with how many the
// range holds.
func (c *Component) DeadLetters(ctx context.Context, postbackID string, from, to time.Time, offset, limit int) ([]DeadDelivery, int64, error) {
	key := c.keys.deadLetter(postbackID)
	minScore, maxScore := strconv.FormatInt(from.UnixMilli(), 10), "("+strconv.FormatInt(to.UnixMilli(), 10)
	var total *goredis.IntCmd
	var page *goredis.ZSliceCmd
	_, err := c.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		total = p.ZCount(ctx, key, minScore, maxScore)
		page = p.ZRevRangeByScoreWithScores(ctx, key, &goredis.ZRangeBy{Min: minScore, Max: maxScore, Offset: int64(offset), Count: int64(limit)})
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("reading postback %s's dead letter: %w", postbackID, err)
	}
	entries := page.Val()
	if len(entries) == 0 {
		return nil, total.Val(), nil
	}
	ids := make([]string, len(entries))
	for i, z := range entries {
		ids[i] = z.Member.(string)
	}
	jobs, err := c.client.HMGet(ctx, c.keys.deadLetterJobs(postbackID), ids...).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("reading postback %s's dead letter: %w", postbackID, err)
	}
	out := make([]DeadDelivery, 0, len(ids))
	for i, id := range ids {
		job, _ := jobs[i].(string)
		out = append(out, DeadDelivery{ID: id, Died: time.UnixMilli(int64(entries[i].Score)).UTC(), Job: []byte(job)})
	}
	return out, total.Val(), nil
}

// DeadLetterIndex returns every delivery id in a postback's dead letter
// with when it died (at most the cap).
func (c *Component) DeadLetterIndex(ctx context.Context, postbackID string) (map[string]time.Time, error) {
	entries, err := c.client.ZRangeWithScores(ctx, c.keys.deadLetter(postbackID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("reading postback %s's dead letter: %w", postbackID, err)
	}
	out := make(map[string]time.Time, len(entries))
	for _, z := range entries {
		out[z.Member.(string)] = time.UnixMilli(int64(z.Score)).UTC()
	}
	return out, nil
}

// DeadLetterCount counts the deliveries of these postbacks that died in
// [from, to), in one pipelined round trip: the console's postback health.
func (c *Component) DeadLetterCount(ctx context.Context, postbackIDs []string, from, to time.Time) (int64, error) {
	if len(postbackIDs) == 0 {
		return 0, nil
	}
	minScore, maxScore := strconv.FormatInt(from.UnixMilli(), 10), "("+strconv.FormatInt(to.UnixMilli(), 10)
	counts := make([]*goredis.IntCmd, len(postbackIDs))
	_, err := c.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range postbackIDs {
			counts[i] = p.ZCount(ctx, c.keys.deadLetter(id), minScore, maxScore)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("counting dead postback deliveries: %w", err)
	}
	var n int64
	for _, cmd := range counts {
		n += cmd.Val()
	}
	return n, nil
}

// DeadLetterSize counts a postback's dead letter.
func (c *Component) DeadLetterSize(ctx context.Context, postbackID string) (int64, error) {
	n, err := c.client.ZCard(ctx, c.keys.deadLetter(postbackID)).Result()
	if err != nil {
		return 0, fmt.Errorf("counting postback %s's dead letter: %w", postbackID, err)
	}
	return n, nil
}

// redriveScript moves dead deliveries to the retry queue (KEYS[3]), due at
// ARGV[1]: those named in ARGV[6..] (ARGV[2] = "ids"), or the first
// ARGV[5] that died in [ARGV[6], ARGV[7]) ms (ARGV[2] = "range"). One
// whose delivered mark (ARGV[3] .. conversion:postback:event, postback
// ARGV[4]) exists is dropped instead: it landed since. Returns how many
// were queued, how many dropped as delivered, and how many of the range
// are left.
var redriveScript = goredis.NewScript(`
local ids
if ARGV[2] == 'range' then
  ids = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[6], '(' .. ARGV[7], 'LIMIT', 0, tonumber(ARGV[5]))
else
  ids = {}
  for i = 6, #ARGV do ids[#ids + 1] = ARGV[i] end
end
local queued, delivered = 0, 0
for _, id in ipairs(ids) do
  local job = redis.call('HGET', KEYS[2], id)
  if job then
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    local conv, event = string.match(id, '^(.*):([^:]*)$')
    if conv and redis.call('EXISTS', ARGV[3] .. conv .. ':' .. ARGV[4] .. ':' .. event) == 1 then
      delivered = delivered + 1
    else
      redis.call('ZADD', KEYS[3], ARGV[1], job)
      queued = queued + 1
    end
  end
end
local left = 0
if ARGV[2] == 'range' then left = redis.call('ZCOUNT', KEYS[1], ARGV[6], '(' .. ARGV[7]) end
return {queued, delivered, left}`)

// Redrive is what a re-drive came to.
type Redrive struct {
	// Queued deliveries go to the retry queue; AlreadyDelivered ones had
	// landed since and were dropped; Left is what the range still holds
	// past the count asked for.
	Queued, AlreadyDelivered, Left int64
}

// RedriveDeliveries moves the named dead deliveries of a postback to the
// retry queue, due at due. Ids not in the dead letter are ignored, so a
// second re-drive of the same id (or one racing it) queues nothing.
func (c *Component) RedriveDeliveries(ctx context.Context, postbackID string, ids []string, due time.Time) (Redrive, error) {
	args := []any{due.UnixMilli(), "ids", c.keys.deliveredPrefix(), postbackID, 0}
	for _, id := range ids {
		args = append(args, id)
	}
	return c.redrive(ctx, postbackID, args)
}

// RedriveRange moves up to limit dead deliveries of a postback that died
// in [from, to), oldest first, to the retry queue, due at due.
func (c *Component) RedriveRange(ctx context.Context, postbackID string, from, to time.Time, limit int, due time.Time) (Redrive, error) {
	return c.redrive(ctx, postbackID, []any{due.UnixMilli(), "range", c.keys.deliveredPrefix(), postbackID, limit,
		from.UnixMilli(), to.UnixMilli()})
}

func (c *Component) redrive(ctx context.Context, postbackID string, args []any) (Redrive, error) {
	res, err := redriveScript.Run(ctx, c.client,
		[]string{c.keys.deadLetter(postbackID), c.keys.deadLetterJobs(postbackID), c.keys.retryQueue()}, args...).Int64Slice()
	if err != nil {
		return Redrive{}, fmt.Errorf("re-driving postback %s: %w", postbackID, err)
	}
	return Redrive{Queued: res[0], AlreadyDelivered: res[1], Left: res[2]}, nil
}
