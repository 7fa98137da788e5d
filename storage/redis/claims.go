package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

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
	// Group is the conversion's advertiser: the claims one conversion
	// takes are taken in one script, so on a Redis Cluster they share a
	// hash slot, and this is their hash tag. Every claim of one call must
	// have the same Group; on one Redis it is not part of the key.
	Group string
}

// A claim's life, and why it cannot be stranded nor doubled.
//
// A claim key holds one of two values:
//
//	p|<lease until, Unix ms>|<owner conversion ID>|<owner conversion JSON>   pending
//	c|<owner conversion ID>                                                confirmed
//
// The intake takes every claim of a conversion as pending, with the
// conversion itself and a lease (the broker's write timeout and a margin),
// publishes it, then confirms: the value shrinks to the owner's ID. A
// confirmed claim answers "duplicate" for the dedupe window, as seed 002
// asks.
//
// A pending claim whose lease has run out belongs to an owner that never
// confirmed: its process died between the claim and the broker's
// acknowledgement, or the broker's answer was an error that may have come
// after it appended (a timeout). Whether the conversion reached Kafka is
// unknown, so the next request that meets the claim re-publishes the
// owner's conversion, byte for byte and under its own ID, then confirms
// it. Re-publishing what was already appended folds (ClickHouse keeps one
// row per conversion ID, the sink skips an ID it already stored, postbacks
// are marked delivered per conversion ID); re-publishing what was never
// appended records it for the first time. Either way there is exactly one
// conversion, and no advertiser's retry is told "duplicate" for a
// conversion that was never recorded.
//
// A pending claim within its lease belongs to an owner still in flight: the
// request meeting it is answered "try again" (503), never "duplicate",
// since the owner may yet fail.
//
// A value of neither shape (written before this scheme) counts as
// confirmed.

// ClaimResult is what Claim found.
type ClaimResult struct {
	// Held is the index of the first claim another conversion holds (none
	// was taken then), or -1 when every claim was taken.
	Held int
	// InFlight: that claim's owner is within its lease, and may yet be
	// acknowledged or fail.
	InFlight bool
	// Stranded is the JSON of the owner of a claim whose lease ran out
	// without a confirmation. The caller now holds that owner's lease: it
	// re-publishes Stranded and confirms it under the owner's ID.
	Stranded []byte
	// CapReached is the index of the first cap the conversion did not fit
	// in, or -1 when it fit in them all (and was added to each). Either
	// way every claim was taken (Held is -1): a conversion past a cap is
	// recorded, as rejected, so its retry is a duplicate.
	CapReached int
}

// claimLua parses a claim value: state ("p", "c" or nil for a legacy
// value), lease end, owner and payload.
const claimLua = `
local function parse(v)
  local kind = string.sub(v, 1, 2)
  if kind == 'c|' then return 'c', 0, string.sub(v, 3), '' end
  if kind ~= 'p|' then return nil, 0, v, '' end
  local a = string.find(v, '|', 3, true)
  local b = string.find(v, '|', a + 1, true)
  return 'p', tonumber(string.sub(v, 3, a - 1)), string.sub(v, a + 1, b - 1), string.sub(v, b + 1)
end
`

// claimScript takes every claim or none, then checks the conversion against
// its caps. KEYS: the claims (ARGV[7] of them), then the cap counters.
// ARGV: owner, dedupe window (ms), now (ms), lease end (ms), payload,
// payload as rejected past a cap, the number of claims, then for each cap
// its limit, what the conversion adds and the counter's TTL (ms, 0 for
// none). It answers {i, 0} when claim i is confirmed, {i, 1} when it is
// pending within its lease, {i, 2, payload} when it is stranded (its lease
// is then the caller's), taking nothing; otherwise it takes every claim and
// answers {0, 0} when the conversion fits in every cap (and adds it to
// each), or {0, j} when it does not fit in cap j (and adds it to none; the
// claims then hold the rejected payload).
var claimScript = goredis.NewScript(claimLua + `
local claims = tonumber(ARGV[7])
for i = 1, claims do
  local v = redis.call('GET', KEYS[i])
  if v then
    local state, lease, owner, body = parse(v)
    if state ~= 'p' then return {i, 0} end
    if lease > tonumber(ARGV[3]) then return {i, 1} end
    redis.call('SET', KEYS[i], 'p|' .. ARGV[4] .. '|' .. owner .. '|' .. body, 'KEEPTTL')
    return {i, 2, body}
  end
end
local reached = 0
for j = 1, #KEYS - claims do
  local limit, add = tonumber(ARGV[5 + 3 * j]), tonumber(ARGV[6 + 3 * j])
  if (tonumber(redis.call('GET', KEYS[claims + j]) or '0')) + add > limit then
    reached = j
    break
  end
end
if reached == 0 then
  for j = 1, #KEYS - claims do
    local k, ttl = KEYS[claims + j], tonumber(ARGV[7 + 3 * j])
    redis.call('INCRBY', k, ARGV[6 + 3 * j])
    if ttl > 0 then redis.call('PEXPIRE', k, ttl) end
  end
end
local payload = ARGV[5]
if reached > 0 then payload = ARGV[6] end
local value = 'p|' .. ARGV[4] .. '|' .. ARGV[1] .. '|' .. payload
for i = 1, claims do
  redis.call('SET', KEYS[i], value, 'PX', ARGV[2])
end
return {0, reached}`)

// confirmScript confirms the claims ARGV[1] holds pending, and no others.
var confirmScript = goredis.NewScript(claimLua + `
for _, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v then
    local state, _, owner = parse(v)
    if state == 'p' and owner == ARGV[1] then redis.call('SET', k, 'c|' .. owner, 'KEEPTTL') end
  end
end
return 0`)

// abandonScript ends the lease of the claims ARGV[1] holds pending, so the
// next request meeting them re-publishes the owner at once.
var abandonScript = goredis.NewScript(claimLua + `
for _, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v then
    local state, _, owner, body = parse(v)
    if state == 'p' and owner == ARGV[1] then redis.call('SET', k, 'p|0|' .. owner .. '|' .. body, 'KEEPTTL') end
  end
end
return 0`)

// releaseScript drops the claims still held by ARGV[1], and no others.
var releaseScript = goredis.NewScript(claimLua + `
for _, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v then
    local _, _, owner = parse(v)
    if owner == ARGV[1] then redis.call('DEL', k) end
  end
end
return 0`)

// Claim atomically takes every claim for owner, pending until now+lease,
// with payload (the owner's conversion) kept for whoever must re-publish it
// should the owner never confirm; claims expire after the dedupe window.
// In the same step it checks the conversion against caps: past one, the
// claims keep rejected instead (the conversion as recorded past a cap) and
// no counter changes; within them all, each counter takes what the
// conversion adds.
func (c *Component) Claim(ctx context.Context, owner string, claims []Claim, caps []CapCount, payload, rejected []byte,
	now time.Time, lease time.Duration) (ClaimResult, error) {
	if len(claims) == 0 && len(caps) == 0 {
		return ClaimResult{Held: -1, CapReached: -1}, nil
	}
	keys, err := c.claimKeys(claims)
	if err != nil {
		return ClaimResult{}, err
	}
	args := []any{owner, c.config.DedupeWindow.Milliseconds(), strconv.FormatInt(now.UnixMilli(), 10),
		strconv.FormatInt(now.Add(lease).UnixMilli(), 10), payload, rejected, len(claims)}
	for _, k := range caps {
		keys = append(keys, k.Key)
		args = append(args, k.Limit, k.Add, k.TTL.Milliseconds())
	}
	res, err := claimScript.Run(ctx, c.client, keys, args...).Slice()
	if err != nil {
		return ClaimResult{}, fmt.Errorf("claiming dedupe keys and caps: %w", err)
	}
	index, _ := res[0].(int64)
	if index == 0 {
		reached, _ := res[1].(int64)
		return ClaimResult{Held: -1, CapReached: int(reached) - 1}, nil
	}
	out := ClaimResult{Held: int(index) - 1, CapReached: -1}
	if len(res) > 1 {
		switch state, _ := res[1].(int64); state {
		case 1:
			out.InFlight = true
		case 2:
			body, _ := res[2].(string)
			out.Stranded = []byte(body)
		}
	}
	return out, nil
}

// Confirm marks owner's pending claims as recorded: from now on they answer
// "duplicate". Claims owner does not hold are left alone.
func (c *Component) Confirm(ctx context.Context, owner string, claims []Claim) error {
	return c.runOwned(ctx, confirmScript, "confirming", owner, claims)
}

// Abandon ends the lease of owner's pending claims: the broker's answer
// left it unknown whether owner was recorded, so the next request meeting
// a claim re-publishes owner (same ID) instead of waiting out the lease.
func (c *Component) Abandon(ctx context.Context, owner string, claims []Claim) error {
	return c.runOwned(ctx, abandonScript, "abandoning", owner, claims)
}

// Release gives back claims owner took, whatever their state. The intake
// no longer releases (a release after an ambiguous broker error let a
// retry record a second conversion); it stays for operators' tools.
func (c *Component) Release(ctx context.Context, owner string, claims []Claim) error {
	return c.runOwned(ctx, releaseScript, "releasing", owner, claims)
}

func (c *Component) runOwned(ctx context.Context, script *goredis.Script, verb, owner string, claims []Claim) error {
	if len(claims) == 0 {
		return nil
	}
	keys, err := c.claimKeys(claims)
	if err != nil {
		return err
	}
	if err := script.Run(ctx, c.client, keys, owner).Err(); err != nil && !isNil(err) {
		return fmt.Errorf("%s dedupe keys: %w", verb, err)
	}
	return nil
}

func (c *Component) claimKeys(claims []Claim) ([]string, error) {
	keys := make([]string, len(claims))
	for i, cl := range claims {
		if c.cluster && (cl.Group == "" || cl.Group != claims[0].Group) {
			return nil, fmt.Errorf("dedupe claims %s:%s: on a Redis Cluster the claims of one conversion need one non-empty group (its advertiser), got %q and %q",
				cl.Scope, cl.ID, claims[0].Group, cl.Group)
		}
		keys[i] = c.keys.claim(cl.Group, cl.Scope, cl.ID)
	}
	return keys, nil
}
