package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

func isNil(err error) bool { return errors.Is(err, goredis.Nil) }

// ClickWrite is one click record to store: its ID and its hot record
// (model.DecodeStoredClick), and
// when Visitor is not 0, the unique-visitor question to ask with it.
type ClickWrite struct {
	ID      []byte
	Payload []byte
	OfferID string
	Visitor uint64 // a hash of what identifies the visitor; 0 asks nothing
	// Unique is the answer: whether this is the visitor's first click on
	// the offer within the unique window.
	Unique bool
	// Caps are the click caps the click counts against: each counter takes
	// its Add, and Total says where it stands after.
	Caps []CapCount
}

// SaveClicks stores a batch of click records in one pipeline, each expiring
// after the hot window (clickTTL), and in the same round trip answers each
// one's unique-visitor question: SET NX GET leaves the first click's ID on
// the visitor's key, so asking again about that click answers true. A
// question whose mark this process set is answered from its memory of the
// marks (markMemory), without a command.
//
// The batch's clicks on a cap counter are counted with one INCRBY of their
// sum (and one PEXPIRE), not one each: a busy capped offer's batch of
// hundreds of clicks costs Redis two commands per counter. Each click's
// Total is then where the counter stood once that click was added, as if
// the batch's clicks had been counted one after another in its order.
func (c *Component) SaveClicks(ctx context.Context, clicks []ClickWrite) error {
	ttl := c.clickTTL()
	pipe := c.client.Pipeline()
	marks := make([]askedMark, len(clicks))
	var counters map[string]*batchCounter
	var visitor [16]byte
	// A mark set now lives at least until sent plus the window (SET NX EX
	// starts its TTL when Redis runs it, after this), as markLife keeps.
	sent := c.marks.now()
	remembered := 0
	for i := range clicks {
		w := &clicks[i]
		pipe.Set(ctx, c.keys.click(string(w.ID)), w.Payload, ttl)
		if w.Visitor != 0 {
			mark := c.marks.key(w.OfferID, w.Visitor)
			if unique, known := c.marks.answer(mark, w.ID, sent); known {
				w.Unique = unique
				remembered++
			} else {
				key := c.keys.unique(w.OfferID, string(strconv.AppendUint(visitor[:0], w.Visitor, 16)))
				marks[i] = askedMark{mark, pipe.SetArgs(ctx, key, w.ID, goredis.SetArgs{Mode: "NX", Get: true, TTL: c.config.UniqueWindow})}
			}
		}
		for _, k := range w.Caps {
			if counters == nil {
				counters = map[string]*batchCounter{}
			}
			b := counters[k.Key]
			if b == nil {
				b = &batchCounter{}
				counters[k.Key] = b
			}
			b.sum += k.Add
			b.ttl = max(b.ttl, k.TTL)
		}
	}
	for key, b := range counters {
		b.total = pipe.IncrBy(ctx, key, b.sum)
		if b.ttl > 0 {
			pipe.PExpire(ctx, key, b.ttl)
		}
	}
	// Exec reports the first command that failed, and a first visit's
	// SET NX GET "fails" with Nil: every command is checked, so a failed
	// SET behind it is not taken for stored.
	cmds, _ := pipe.Exec(ctx)
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && !isNil(err) {
			return fmt.Errorf("saving %d clicks: %w", len(clicks), err)
		}
	}
	until := sent + markLife(c.config.UniqueWindow).Milliseconds()
	for i, m := range marks {
		if m.cmd != nil {
			w := &clicks[i]
			first, err := m.cmd.Result()
			// Nil: nothing was there, this click is the first.
			w.Unique = isNil(err) || first == string(w.ID)
			if isNil(err) {
				c.marks.remember(m.key, w.ID, until)
			}
		}
	}
	c.marksRemembered.Add(remembered)
	// From the last click back: each stands at the counter's total less
	// what the clicks after it added.
	for _, b := range counters {
		b.after = b.total.Val()
	}
	for i := len(clicks) - 1; i >= 0; i-- {
		for j := len(clicks[i].Caps) - 1; j >= 0; j-- {
			k := &clicks[i].Caps[j]
			b := counters[k.Key]
			k.Total = b.after
			b.after -= k.Add
		}
	}
	return nil
}

// askedMark is a click's unique-visitor question sent to Redis: its key
// in the mark memory, and the SET NX GET that answers the old value.
type askedMark struct {
	key uint64
	cmd *goredis.StatusCmd
}

// batchCounter is one cap counter as a batch of clicks counts it.
type batchCounter struct {
	sum   int64
	ttl   time.Duration
	total *goredis.IntCmd
	after int64 // the counter once a click was added, walking back
}

// clickTTL is how long Redis keeps a click: its hot window, never longer
// than it can convert.
func (c *Component) clickTTL() time.Duration {
	if c.config.HotWindow <= 0 || c.config.HotWindow > c.config.AttributionWindow {
		return c.config.AttributionWindow
	}
	return c.config.HotWindow
}

// Click returns the stored record of a click (model.DecodeStoredClick), or
// found=false once the click is unknown or past its hot window.
func (c *Component) Click(ctx context.Context, id string) (payload []byte, found bool, err error) {
	payload, err = c.client.Get(ctx, c.keys.click(id)).Bytes()
	if isNil(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading click %s: %w", id, err)
	}
	return payload, true, nil
}
