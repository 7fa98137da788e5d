package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/clickrelay/clickrelay/model"
)

// NextID returns a new numeric ID for kind, unique across processes.
//
// A sequence Redis has lost would start again at 1 and hand out IDs of
// entities that exist: an ID the catalog already holds raises the sequence
// past the catalog's highest and the ID is drawn again.
func (c *Component) NextID(ctx context.Context, kind model.Kind) (string, error) {
	for range 3 {
		n, err := c.client.Incr(ctx, c.keys.sequence(kind)).Result()
		if err != nil {
			return "", fmt.Errorf("allocating a %s ID: %w", kind, err)
		}
		id := strconv.FormatInt(n, 10)
		highest, taken := c.catalog.highestID(kind, id)
		if !taken {
			return id, nil
		}
		c.log.Error().Str("kind", string(kind)).Str("id", id).Int64("highest", highest).
			Msg("the ID sequence handed out an ID in use: Redis lost its sequence; raising it")
		if err := raiseScript.Run(ctx, c.client, []string{c.keys.sequence(kind)}, highest).Err(); err != nil {
			return "", fmt.Errorf("raising the %s ID sequence: %w", kind, err)
		}
	}
	return "", fmt.Errorf("allocating a %s ID: the sequence keeps handing out IDs in use", kind)
}

// SaveEntity stores e, makes this process's catalog see it at once and
// tells every other process to reload it.
func (c *Component) SaveEntity(ctx context.Context, e model.Entity) error {
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	kind, id := e.EntityKind(), e.EntityID()
	if _, err := c.store(ctx, kind, id, e, body, nil, func() (bool, error) {
		return true, c.client.HSet(ctx, c.keys.entities(kind), id, body).Err()
	}); err != nil {
		return err
	}
	c.publish(ctx, string(kind)+":"+id)
	return nil
}

// store journals one entity's write (e as body; nil: deleted), runs write,
// the Redis write, and if it stored puts e in this process's catalog, all under
// the entity's lock (entityLock). Two goroutines writing one entity
// otherwise journal, store and update the catalog each in either order: the
// journal's latest version could be one Redis was overwritten with, which a
// restore would bring back, and the catalog's last write an older version,
// which the invalidations that follow skip as this process's own newer one.
// still, when not nil, runs first under the lock: false (an update whose
// entity changed since it was read) journals and writes nothing, so a lost
// try leaves no version in the journal that Redis never held.
// A journal error is returned as it is (Redis was not changed); a Redis
// error is wrapped, naming the write ("saving", "deleting"). The journal
// write has journalTimeout of its own, so a stalled ClickHouse holds the
// lock, and the writes of the entities that share it, no longer than that.
func (c *Component) store(ctx context.Context, kind model.Kind, id string, e model.Entity, body []byte,
	still, write func() (bool, error)) (bool, error) {
	verb := "saving"
	if e == nil {
		verb = "deleting"
	}
	mu := c.entityLock(kind, id)
	mu.Lock()
	defer mu.Unlock()
	if still != nil {
		ok, err := still()
		if err != nil {
			return false, fmt.Errorf("%s %s %s: %w", verb, kind, id, err)
		}
		if !ok {
			return false, nil
		}
	}
	jctx, cancel := context.WithTimeout(ctx, journalTimeout)
	err := c.journal(jctx, model.JournalRecord{Kind: string(kind), ID: id, Body: body, Deleted: e == nil})
	cancel()
	if err != nil {
		return false, err
	}
	stored, err := write()
	if err != nil {
		return false, fmt.Errorf("%s %s %s: %w", verb, kind, id, err)
	}
	if stored {
		c.catalog.write(kind, id, e)
	}
	return stored, nil
}

// journalTimeout bounds store's journal write, made under an entity's lock.
const journalTimeout = 5 * time.Second

// entityLocks are the locks store takes, one entity's writes always on the
// same one: it holds a journal write and a Redis round trip, so writes of
// different entities (an admin's, the dead-letter worker's) rarely wait
// for each other.
const entityLocks = 64

func (c *Component) entityLock(kind model.Kind, id string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(id))
	return &c.saving[h.Sum32()%entityLocks]
}

// ErrNoEntity is UpdateEntity's answer for an entity Redis does not hold.
var ErrNoEntity = errors.New("no such entity")

// ErrNoChange, returned by an UpdateEntity change, leaves the entity as it
// is: what change would do is done already, or no longer applies.
var ErrNoChange = errors.New("no change")

// maxUpdateTries bounds UpdateEntity's reads and writes when other writes
// keep coming in between: each try loses only to a write that succeeded,
// and a lost try waits a little (updateBackoff), so a crowd of writers on
// one entity spreads out instead of colliding again at once.
const maxUpdateTries = 50

// updateBackoff is how long UpdateEntity waits after its try-th lost try: a
// random time up to a millisecond doubled each try, at most 64 ms.
func updateBackoff(try int) time.Duration {
	return time.Duration(rand.Int64N(int64(time.Millisecond) << min(try, 6)))
}

// updateScript replaces the body of entity ARGV[1] with ARGV[3] only if it
// is still ARGV[2], the body the change was computed from ("" when there
// was none: no entity's body is empty).
var updateScript = goredis.NewScript(`
if (redis.call('HGET', KEYS[1], ARGV[1]) or '') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`)

// UpdateEntity applies change to the entity as Redis holds it now, not as
// this process's catalog may still show it, and saves the result only if
// no other write came in between; otherwise it reads the newer version and
// applies change to that. So writers that each change their own fields (an
// admin's PATCH, the postback worker disabling a failing postback) never
// undo each other, as they would saving whole copies: last writer wins.
//
// change gets a copy it may modify and return (or return another entity of
// the same kind and ID); ErrNoChange saves nothing and returns the current
// entity, any other error is returned as it is. The saved entity goes
// through the journal first, as SaveEntity's do. A try that lost to
// another write of this process journals nothing (store's check); one that
// lost to another process's write in the instant between that check and
// the write has been journaled, and the journal then holds a version Redis
// never did until the retry's (or for good, when the retry ends in an
// error: see journal).
func (c *Component) UpdateEntity(ctx context.Context, kind model.Kind, id string, change func(model.Entity) (model.Entity, error)) (model.Entity, error) {
	return c.updateEntity(ctx, kind, id, false, change)
}

// UpsertEntity is UpdateEntity for an entity that may not exist yet:
// change then gets nil and may create it. Two upserts at once of a new
// entity do not both create it: the second applies its change to what the
// first made.
func (c *Component) UpsertEntity(ctx context.Context, kind model.Kind, id string, change func(model.Entity) (model.Entity, error)) (model.Entity, error) {
	return c.updateEntity(ctx, kind, id, true, change)
}

func (c *Component) updateEntity(ctx context.Context, kind model.Kind, id string, create bool, change func(model.Entity) (model.Entity, error)) (model.Entity, error) {
	key := c.keys.entities(kind)
	for try := range maxUpdateTries {
		if try > 0 {
			select {
			case <-time.After(updateBackoff(try)):
			case <-ctx.Done():
				return nil, fmt.Errorf("updating %s %s: %w", kind, id, ctx.Err())
			}
		}
		old, err := c.client.HGet(ctx, key, id).Result()
		absent := isNil(err)
		switch {
		case absent && !create:
			return nil, ErrNoEntity
		case err != nil && !absent:
			return nil, fmt.Errorf("reading %s %s: %w", kind, id, err)
		}
		var current model.Entity
		if !absent {
			current = model.NewEntity(kind)
			if err := json.Unmarshal([]byte(old), current); err != nil {
				return nil, fmt.Errorf("decoding %s %s: %w", kind, id, err)
			}
		}
		next, err := change(current)
		if errors.Is(err, ErrNoChange) {
			return current, nil
		}
		if err != nil {
			return nil, err
		}
		if next.EntityKind() != kind || next.EntityID() != id {
			return nil, fmt.Errorf("updating %s %s: the change returned %s %s", kind, id, next.EntityKind(), next.EntityID())
		}
		body, err := json.Marshal(next)
		if err != nil {
			return nil, err
		}
		// Whether Redis still holds what change was applied to, asked under
		// the lock: this process's other writes of the entity wait, so only
		// another process's can still come in before the script, which
		// checks again.
		unchanged := func() (bool, error) {
			now, err := c.client.HGet(ctx, key, id).Result()
			if isNil(err) {
				return old == "", nil
			}
			return now == old, err
		}
		saved, err := c.store(ctx, kind, id, next, body, unchanged, func() (bool, error) {
			saved, err := updateScript.Run(ctx, c.client, []string{key}, id, old, body).Int()
			return saved == 1, err
		})
		if err != nil {
			return nil, err
		}
		if saved {
			c.publish(ctx, string(kind)+":"+id)
			return next, nil
		}
	}
	return nil, fmt.Errorf("updating %s %s: it changed under %d tries in a row", kind, id, maxUpdateTries)
}

// DeleteEntity removes an entity everywhere.
func (c *Component) DeleteEntity(ctx context.Context, kind model.Kind, id string) error {
	if _, err := c.store(ctx, kind, id, nil, nil, nil, func() (bool, error) {
		return true, c.client.HDel(ctx, c.keys.entities(kind), id).Err()
	}); err != nil {
		return err
	}
	c.publish(ctx, string(kind)+":"+id)
	return nil
}

// SaveAPIKey stores the hash of key as belonging to p. The key itself is
// never stored.
func (c *Component) SaveAPIKey(ctx context.Context, key string, p model.Principal) error {
	hash := HashKey(key)
	body, _ := json.Marshal(p)
	h := hex.EncodeToString(hash[:])
	if err := c.journal(ctx, apiKeyRecord(hash, &p)); err != nil {
		return err
	}
	if err := c.client.HSet(ctx, c.keys.apiKeys(), h, body).Err(); err != nil {
		return fmt.Errorf("saving an API key: %w", err)
	}
	c.catalog.writeKey(hash, &p)
	c.publish(ctx, "key:"+h)
	return nil
}

// ReplaceAPIKeys makes key the only API key of p: every other key of p
// stops working at once in this process, and in the others as soon as
// the invalidation reaches them (milliseconds).
func (c *Component) ReplaceAPIKeys(ctx context.Context, key string, p model.Principal) error {
	var old []string
	iter := c.client.HScan(ctx, c.keys.apiKeys(), 0, "", 1000).Iterator()
	for iter.Next(ctx) {
		h := iter.Val()
		if !iter.Next(ctx) {
			break
		}
		var owner model.Principal
		if json.Unmarshal([]byte(iter.Val()), &owner) == nil && owner == p {
			old = append(old, h)
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("listing the API keys of %s %s: %w", p.Kind, p.ID, err)
	}
	hash := HashKey(key)
	h := hex.EncodeToString(hash[:])
	body, _ := json.Marshal(p)
	records := []model.JournalRecord{apiKeyRecord(hash, &p)}
	for _, o := range old {
		if raw, err := hex.DecodeString(o); err == nil && len(raw) == len(hash) {
			records = append(records, apiKeyRecord([32]byte(raw), nil))
		}
	}
	if err := c.journal(ctx, records...); err != nil {
		return err
	}
	_, err := c.client.TxPipelined(ctx, func(pipe goredis.Pipeliner) error {
		if len(old) > 0 {
			pipe.HDel(ctx, c.keys.apiKeys(), old...)
		}
		pipe.HSet(ctx, c.keys.apiKeys(), h, body)
		return nil
	})
	if err != nil {
		return fmt.Errorf("replacing the API key of %s %s: %w", p.Kind, p.ID, err)
	}
	for _, o := range old {
		if raw, err := hex.DecodeString(o); err == nil && len(raw) == len(hash) {
			c.catalog.writeKey([32]byte(raw), nil)
		}
		c.publish(ctx, "key:"+o)
	}
	c.catalog.writeKey(hash, &p)
	c.publish(ctx, "key:"+h)
	return nil
}

// HashKey is how API keys are stored and looked up.
func HashKey(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// publish announces a change. A lost message is repaired by the catalog's
// periodic resync, so a failure here is logged, not returned: the write
// itself has succeeded.
func (c *Component) publish(ctx context.Context, msg string) {
	if err := c.client.Publish(ctx, c.keys.invalidations(), msg).Err(); err != nil {
		c.log.Warn().Err(err).Str("entity", msg).Msg("cannot publish a catalog invalidation; other processes see it at their next resync")
	}
}

func (c *Component) loadEntity(ctx context.Context, kind model.Kind, id string) (model.Entity, bool, error) {
	body, err := c.client.HGet(ctx, c.keys.entities(kind), id).Bytes()
	if isNil(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	e := model.NewEntity(kind)
	if err := json.Unmarshal(body, e); err != nil {
		return nil, false, fmt.Errorf("decoding %s %s: %w", kind, id, err)
	}
	return e, true, nil
}
