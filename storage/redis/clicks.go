package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

func isNil(err error) bool { return errors.Is(err, goredis.Nil) }

// ClickWrite is one click record to store: its ID and its slim JSON.
type ClickWrite struct {
	ID      []byte
	Payload []byte
}

// SaveClicks stores a batch of click records in one pipeline, each expiring
// after the attribution window measured from its own click time.
func (c *Component) SaveClicks(ctx context.Context, clicks []ClickWrite) error {
	pipe := c.client.Pipeline()
	for i := range clicks {
		pipe.Set(ctx, c.keys.click(string(clicks[i].ID)), clicks[i].Payload, c.config.AttributionWindow)
	}
	_, err := pipe.Exec(ctx)
	if err != nil {
		return fmt.Errorf("saving %d clicks: %w", len(clicks), err)
	}
	return nil
}

// Click returns the slim JSON of a click, or found=false once the click is
// unknown or past its attribution window.
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

// AttributionWindow is how long clicks stay findable.
func (c *Component) AttributionWindow() time.Duration { return c.config.AttributionWindow }

// VisitorMark asks whether a click is its visitor's first on an offer
// within the unique window.
type VisitorMark struct {
	OfferID string
	Visitor string // a hash of what identifies the visitor
	ClickID string
}

// MarkUnique answers, for each mark, whether its click is the visitor's
// first on the offer. It records the first click's ID, so asking again about
// that same click (a redelivered message) still answers true.
func (c *Component) MarkUnique(ctx context.Context, marks []VisitorMark) ([]bool, error) {
	pipe := c.client.Pipeline()
	cmds := make([]*goredis.StatusCmd, len(marks)) // SET .. GET answers the old value
	for i, m := range marks {
		cmds[i] = pipe.SetArgs(ctx, c.keys.unique(m.OfferID, m.Visitor), m.ClickID,
			goredis.SetArgs{Mode: "NX", Get: true, TTL: c.config.UniqueWindow})
	}
	if _, err := pipe.Exec(ctx); err != nil && !isNil(err) {
		return nil, fmt.Errorf("marking unique visitors: %w", err)
	}
	unique := make([]bool, len(marks))
	for i, cmd := range cmds {
		first, err := cmd.Result()
		switch {
		case isNil(err):
			unique[i] = true // nothing was there: this click is the first
		case err != nil:
			return nil, err
		default:
			unique[i] = first == marks[i].ClickID
		}
	}
	return unique, nil
}
