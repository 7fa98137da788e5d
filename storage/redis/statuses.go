package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// A conversion's status changes are numbered versions (ClickHouse keeps the
// highest). Redis holds, per conversion, the version and status last handed
// out, so two concurrent changes never get the same number: the hash at
// conversionStatus(id) has
//
//	v, s, ps, ut      the current version, status, status it replaced, and
//	                  updated time (Unix ms)
//	lease, owner      set while a change is being published to Kafka: the
//	                  lease's end (Redis clock, Unix ms) and its holder
//	bv, bs, bps, but  the state before that change, restored on a rollback
//
// The hash is a cache of what Kafka and ClickHouse hold: when it is absent
// (expired, or Redis lost it) it is seeded from ClickHouse's latest version.

// conversionStatus is the key of a conversion's status state.
func (k keys) conversionStatus(id string) string { return k.prefix + "convstatus:" + id }

// StatusVersion is a conversion's version and status.
type StatusVersion struct {
	Version     uint32
	Status      string
	PrevStatus  string
	UpdatedTime int64 // Unix milliseconds
}

// StatusOutcome says what AdvanceStatus did.
type StatusOutcome int

const (
	// StatusUnchanged: the conversion already has the status asked for;
	// nothing was taken. The answer is the current state.
	StatusUnchanged StatusOutcome = iota
	// StatusAdvanced: the next version was taken for the caller, under a
	// lease it must end with CommitStatus or RollbackStatus. The answer is
	// the state it replaced; the new version is its Version+1.
	StatusAdvanced
	// StatusBusy: another change is being published; try again shortly.
	StatusBusy
)

// advanceStatusScript takes the next version of KEYS[1] for a change to
// ARGV[5], unless a change is in flight (busy) or the status is already
// ARGV[5] (unchanged). ARGV[1..4] seed the state from ClickHouse's latest
// version when Redis has none or an older one. ARGV[6] is the owner token,
// ARGV[7] the lease in ms, ARGV[8] the key's time to live in ms, ARGV[9]
// the new version's updated time. It answers {outcome, version, status,
// prev status, updated time}: the current state, or for an advance the
// state replaced.
var advanceStatusScript = goredis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local st = redis.call('HMGET', KEYS[1], 'v', 's', 'ps', 'ut', 'lease')
local v, s, ps, ut = tonumber(st[1]), st[2], st[3], st[4]
local seedv = tonumber(ARGV[1])
if v == nil or seedv > v then v, s, ps, ut = seedv, ARGV[2], ARGV[3], ARGV[4] end
local lease = tonumber(st[5])
if lease ~= nil and lease > now then return {2, v, s, ps, ut} end
if s == ARGV[5] then
  redis.call('HSET', KEYS[1], 'v', v, 's', s, 'ps', ps, 'ut', ut)
  redis.call('HDEL', KEYS[1], 'lease', 'owner', 'bv', 'bs', 'bps', 'but')
  redis.call('PEXPIRE', KEYS[1], ARGV[8])
  return {0, v, s, ps, ut}
end
redis.call('HSET', KEYS[1], 'v', v + 1, 's', ARGV[5], 'ps', s, 'ut', ARGV[9],
  'lease', now + tonumber(ARGV[7]), 'owner', ARGV[6], 'bv', v, 'bs', s, 'bps', ps, 'but', ut)
redis.call('PEXPIRE', KEYS[1], ARGV[8])
return {1, v, s, ps, ut}`)

// commitStatusScript ends ARGV[1]'s lease: its version is durable.
var commitStatusScript = goredis.NewScript(`
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'lease', 'owner', 'bv', 'bs', 'bps', 'but')
return 1`)

// rollbackStatusScript restores the state ARGV[1]'s change replaced, if
// the lease is still ARGV[1]'s.
var rollbackStatusScript = goredis.NewScript(`
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
local b = redis.call('HMGET', KEYS[1], 'bv', 'bs', 'bps', 'but')
redis.call('HSET', KEYS[1], 'v', b[1], 's', b[2], 'ps', b[3], 'ut', b[4])
redis.call('HDEL', KEYS[1], 'lease', 'owner', 'bv', 'bs', 'bps', 'but')
return 1`)

// AdvanceStatus atomically takes the next version of conversion id for a
// change to status, for owner. seed is ClickHouse's latest version, used
// when Redis knows none newer. A taken version is leased for lease: the
// owner publishes it, then calls CommitStatus, or RollbackStatus when it
// could not. A lease that runs out (its owner died mid-publish) counts as
// committed: the version may be in Kafka, and numbering past it is safe
// whereas reusing it is not.
func (c *Component) AdvanceStatus(ctx context.Context, id string, seed StatusVersion, status, owner string, lease time.Duration, updated time.Time) (StatusOutcome, StatusVersion, error) {
	res, err := advanceStatusScript.Run(ctx, c.client, []string{c.keys.conversionStatus(id)},
		seed.Version, seed.Status, seed.PrevStatus, seed.UpdatedTime, status, owner,
		lease.Milliseconds(), c.config.DedupeWindow.Milliseconds(), updated.UnixMilli()).Slice()
	if err != nil {
		return 0, StatusVersion{}, fmt.Errorf("advancing the status of %s: %w", id, err)
	}
	if len(res) != 5 {
		return 0, StatusVersion{}, fmt.Errorf("advancing the status of %s: unexpected answer %v", id, res)
	}
	outcome, _ := res[0].(int64)
	version, _ := res[1].(int64)
	state := StatusVersion{Version: uint32(version), Status: scriptString(res[2]), PrevStatus: scriptString(res[3])}
	if state.UpdatedTime, err = strconv.ParseInt(scriptString(res[4]), 10, 64); err != nil {
		return 0, StatusVersion{}, fmt.Errorf("advancing the status of %s: bad updated time %v", id, res[4])
	}
	return StatusOutcome(outcome), state, nil
}

// CommitStatus ends owner's lease on id: the version it took is durable.
// It reports whether the lease was still owner's.
func (c *Component) CommitStatus(ctx context.Context, id, owner string) (bool, error) {
	n, err := commitStatusScript.Run(ctx, c.client, []string{c.keys.conversionStatus(id)}, owner).Int()
	if err != nil {
		return false, fmt.Errorf("committing the status of %s: %w", id, err)
	}
	return n == 1, nil
}

// RollbackStatus gives back the version owner took on id, if its lease is
// still owner's, so the next change gets that number again. It reports
// whether it did.
func (c *Component) RollbackStatus(ctx context.Context, id, owner string) (bool, error) {
	n, err := rollbackStatusScript.Run(ctx, c.client, []string{c.keys.conversionStatus(id)}, owner).Int()
	if err != nil {
		return false, fmt.Errorf("rolling back the status of %s: %w", id, err)
	}
	return n == 1, nil
}

func scriptString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return ""
}
