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
// the visitor's key, so asking again about that click answers true.
func (c *Component) SaveClicks(ctx context.Context, clicks []ClickWrite) error {
	ttl := c.clickTTL()
	pipe := c.client.Pipeline()
	marks := make([]*goredis.StatusCmd, len(clicks)) // SET .. GET answers the old value
	var counts []*goredis.IntCmd                     // in the order of the clicks' caps
	var visitor [16]byte
	for i := range clicks {
		w := &clicks[i]
		pipe.Set(ctx, c.keys.click(string(w.ID)), w.Payload, ttl)
		if w.Visitor != 0 {
			key := c.keys.unique(w.OfferID, string(strconv.AppendUint(visitor[:0], w.Visitor, 16)))
			marks[i] = pipe.SetArgs(ctx, key, w.ID, goredis.SetArgs{Mode: "NX", Get: true, TTL: c.config.UniqueWindow})
		}
		for _, k := range w.Caps {
			counts = append(counts, pipe.IncrBy(ctx, k.Key, k.Add))
			if k.TTL > 0 {
				pipe.PExpire(ctx, k.Key, k.TTL)
			}
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
	for i, cmd := range marks {
		if cmd != nil {
			first, err := cmd.Result()
			// Nil: nothing was there, this click is the first.
			clicks[i].Unique = isNil(err) || first == string(clicks[i].ID)
		}
	}
	n := 0
	for i := range clicks {
		for j := range clicks[i].Caps {
			clicks[i].Caps[j].Total = counts[n].Val()
			n++
		}
	}
	return nil
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
