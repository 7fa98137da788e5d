package redis

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/clickrelay/clickrelay/model"
)

// Journal is the durable copy of the network's configuration: every entity
// write, API key and generated secret is appended to it before Redis is
// changed, and Redis is rebuilt from it when it has lost its data. In
// clickrelay it is ClickHouse's entity_journal table; it is an interface
// here so that this package does not depend on that engine.
type Journal interface {
	AppendJournal(ctx context.Context, records []model.JournalRecord) error
	LoadJournal(ctx context.Context) ([]model.JournalRecord, error)
}

// lastVersion makes journal versions strictly increasing within a process,
// even when the clock stands still or steps back.
var lastVersion atomic.Uint64

func journalVersion() uint64 {
	for {
		last := lastVersion.Load()
		v := max(uint64(time.Now().UnixNano()), last+1)
		if lastVersion.CompareAndSwap(last, v) {
			return v
		}
	}
}

// journal appends records before the write they describe reaches Redis: a
// write the journal refused is not made, so the API answers 503 and Redis
// never holds what the journal lacks. (The reverse can happen: the journal
// took the write and Redis then failed; the caller got an error, and a
// restore brings that write back. A retried PATCH converges either way.)
func (c *Component) journal(ctx context.Context, records ...model.JournalRecord) error {
	if c.journalStore == nil || len(records) == 0 {
		return nil
	}
	for i := range records {
		records[i].Version = journalVersion()
	}
	if err := c.journalStore.AppendJournal(ctx, records); err != nil {
		return fmt.Errorf("the entity journal refused the write, so Redis was not changed: %w", err)
	}
	return nil
}

// RestoreReport counts what a restore wrote back.
type RestoreReport struct {
	// Restored counts live records by kind (entity kinds, "apikey",
	// "secret"); Deleted the deletions applied.
	Restored map[string]int
	Deleted  int
}

// Total is how many live records were restored.
func (r RestoreReport) Total() int {
	n := 0
	for _, v := range r.Restored {
		n += v
	}
	return n
}

// raiseScript sets a sequence to ARGV[1] unless it is already higher, so a
// restore never makes NextID hand out an ID the journal has seen.
var raiseScript = goredis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local want = tonumber(ARGV[1])
if want > cur then redis.call('SET', KEYS[1], ARGV[1]) end
return 0`)

// Restore makes Redis hold what the journal holds: every live entity and
// API key is written back, deleted ones are removed, secrets missing from
// Redis are put back (one in force is never replaced: clicks already carry
// MACs under it), and each ID sequence is raised past every ID the journal
// has seen. Every process is then told to reload its whole catalog. It is
// idempotent, so several processes restoring at once do no harm.
func (c *Component) Restore(ctx context.Context) (RestoreReport, error) {
	report := RestoreReport{Restored: map[string]int{}}
	if c.journalStore == nil {
		return report, fmt.Errorf("restoring Redis: no entity journal is configured")
	}
	records, err := c.journalStore.LoadJournal(ctx)
	if err != nil {
		return report, fmt.Errorf("restoring Redis: %w", err)
	}
	highest := map[model.Kind]int64{}
	pipe := c.client.Pipeline()
	for _, r := range records {
		var key string
		switch r.Kind {
		case model.JournalSecret:
			if !r.Deleted {
				pipe.SetNX(ctx, c.keys.secret(r.ID), r.Body, 0)
				report.Restored[r.Kind]++
			}
			continue
		case model.JournalAPIKey:
			key = c.keys.apiKeys()
		default:
			kind := model.Kind(r.Kind)
			if !isEntityKind(kind) {
				c.log.Warn().Str("kind", r.Kind).Str("id", r.ID).Msg("skipping a journal record of an unknown kind")
				continue
			}
			key = c.keys.entities(kind)
			if n, err := strconv.ParseInt(strings.TrimPrefix(r.ID, "pb_"), 10, 64); err == nil {
				highest[kind] = max(highest[kind], n)
			}
		}
		if r.Deleted {
			pipe.HDel(ctx, key, r.ID)
			report.Deleted++
		} else {
			pipe.HSet(ctx, key, r.ID, r.Body)
			report.Restored[r.Kind]++
		}
	}
	for kind, n := range highest {
		raiseScript.Eval(ctx, pipe, []string{c.keys.sequence(kind)}, n)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return report, fmt.Errorf("restoring Redis from the entity journal: %w", err)
	}
	c.publish(ctx, reloadAllMessage)
	return report, nil
}

func isEntityKind(kind model.Kind) bool {
	for _, k := range model.Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// reloadAllMessage, published on the invalidation channel, makes every
// process reload its whole catalog (after a restore).
const reloadAllMessage = "*"

// neverAllRemoved are the kinds Redis never holds none of once it held
// some (none can be deleted): a hash of them gone is data lost. API keys,
// only ever replaced, are the other such hash.
var neverAllRemoved = []model.Kind{model.KindAdvertiser, model.KindAffiliate, model.KindOffer}

// lostHashes names the hashes Redis lacks although the journal holds live
// records of them, when they can only have been lost: every hash at once
// (Redis restarted empty), or one of those never all removed (API keys,
// advertisers, affiliates, offers), as when one master of a Redis Cluster
// restarted empty and the others did not.
func (c *Component) lostHashes(ctx context.Context, records []model.JournalRecord) ([]string, error) {
	live := map[string]int{}
	for _, r := range records {
		if r.Deleted || r.Kind == model.JournalSecret {
			continue
		}
		if r.Kind == model.JournalAPIKey {
			live[c.keys.apiKeys()]++
		} else {
			live[c.keys.entities(model.Kind(r.Kind))]++
		}
	}
	names := []string{c.keys.apiKeys()}
	neverEmptied := map[string]bool{c.keys.apiKeys(): true}
	for _, kind := range model.Kinds {
		names = append(names, c.keys.entities(kind))
		if slices.Contains(neverAllRemoved, kind) {
			neverEmptied[c.keys.entities(kind)] = true
		}
	}
	// One EXISTS per key: on a Redis Cluster they live in different slots.
	pipe := c.client.Pipeline()
	found := make([]*goredis.IntCmd, len(names))
	for i, name := range names {
		found[i] = pipe.Exists(ctx, name)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("checking Redis for entities: %w", err)
	}
	var missing, lost []string
	holdsAny := false
	for i, name := range names {
		if found[i].Val() > 0 {
			holdsAny = true
			continue
		}
		if live[name] > 0 {
			missing = append(missing, name)
			if neverEmptied[name] {
				lost = append(lost, name)
			}
		}
	}
	if !holdsAny {
		return missing, nil
	}
	return lost, nil
}

// reconcileJournal runs at start. Redis lacking what the journal holds and
// is never all removed (lostHashes) means Redis lost its data: it is
// restored, loudly. Otherwise whatever Redis holds that the journal has
// never seen (entities written before the journal existed) is appended to
// the journal, so the journal becomes a full copy.
func (c *Component) reconcileJournal(ctx context.Context) error {
	records, err := c.journalStore.LoadJournal(ctx)
	if err != nil {
		return fmt.Errorf("reading the entity journal at start: %w", err)
	}
	lost, err := c.lostHashes(ctx, records)
	if err != nil {
		return err
	}
	if len(lost) > 0 {
		report, err := c.Restore(ctx)
		if err != nil {
			return err
		}
		c.log.Error().Strs("lost", lost).Int("restored", report.Total()).Interface("by_kind", report.Restored).
			Msg("Redis lacked what the entity journal holds: Redis lost its data (restarted without an append-only file, flushed, or replaced; on a Redis Cluster, one master may have). " +
				"Advertisers, affiliates, offers, keys, postbacks and secrets were restored from the journal; clicks, dedupe claims and postback retries that lived only in Redis are gone")
		return nil
	}
	return c.backfillJournal(ctx, records)
}

// backfillJournal appends to the journal the entities and keys Redis holds
// and the journal has no record of. Secrets are copied when they are read
// (SecretIfAbsent): finding them here would take a SCAN of the whole
// keyspace, millions of click records, at every start.
func (c *Component) backfillJournal(ctx context.Context, records []model.JournalRecord) error {
	seen := make(map[[2]string]bool, len(records))
	for _, r := range records {
		seen[[2]string{r.Kind, r.ID}] = true
	}
	var missing []model.JournalRecord
	add := func(kind, id string, body []byte) {
		if !seen[[2]string{kind, id}] {
			missing = append(missing, model.JournalRecord{Kind: kind, ID: id, Body: body})
		}
	}
	for _, kind := range model.Kinds {
		all, err := c.client.HGetAll(ctx, c.keys.entities(kind)).Result()
		if err != nil {
			return fmt.Errorf("reading Redis to fill the entity journal: %w", err)
		}
		for id, body := range all {
			add(string(kind), id, []byte(body))
		}
	}
	keys, err := c.client.HGetAll(ctx, c.keys.apiKeys()).Result()
	if err != nil {
		return fmt.Errorf("reading Redis to fill the entity journal: %w", err)
	}
	for h, body := range keys {
		add(model.JournalAPIKey, h, []byte(body))
	}
	if len(missing) == 0 {
		return nil
	}
	if err := c.journal(ctx, missing...); err != nil {
		return err
	}
	c.log.Info().Int("records", len(missing)).Msg("copied entities the entity journal did not hold yet into it")
	return nil
}

// checkPersistence warns when Redis keeps no append-only file: a restart
// of that Redis then loses everything written since its last snapshot.
// Entities come back from the journal; clicks awaiting conversion, dedupe
// claims and postback retries do not. A Redis that refuses CONFIG (some
// managed services) cannot be checked, and says so.
func (c *Component) checkPersistence(ctx context.Context) {
	// Each master of a cluster keeps its own file: every one is checked.
	_ = c.forEachMaster(ctx, func(ctx context.Context, node goredis.UniversalClient) error {
		log := c.log
		if c.cluster {
			if n, ok := node.(*goredis.Client); ok {
				log = c.log.With().Str("node", n.Options().Addr).Logger()
			}
		}
		v, err := node.ConfigGet(ctx, "appendonly").Result()
		if err != nil {
			log.Warn().Err(err).Msg("cannot read Redis's appendonly setting (CONFIG GET refused?); make sure Redis persists with an append-only file")
			return nil
		}
		if v["appendonly"] != "yes" {
			log.Warn().Str("appendonly", v["appendonly"]).
				Msg("Redis runs WITHOUT an append-only file: a Redis restart loses every click not yet converted, the dedupe claims and the postback retry queue " +
					"(entities and keys come back from the entity journal). Set `appendonly yes` and `appendfsync everysec` in redis.conf")
		}
		return nil
	})
}

// apiKeyRecord is the journal record of an API key's hash.
func apiKeyRecord(hash [32]byte, p *model.Principal) model.JournalRecord {
	r := model.JournalRecord{Kind: model.JournalAPIKey, ID: hex.EncodeToString(hash[:])}
	if p == nil {
		r.Deleted = true
	} else {
		r.Body, _ = json.Marshal(p)
	}
	return r
}
