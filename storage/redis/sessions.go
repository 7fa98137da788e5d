package redis

import (
	"context"
	"fmt"
	"time"
)

// RevokeSession remembers that the console session id was signed out, until
// it would have expired anyway: every process refuses it from then on.
func (c *Component) RevokeSession(ctx context.Context, id string, until time.Time) error {
	ttl := time.Until(until)
	if ttl <= 0 {
		return nil // expired already: refused on its own
	}
	if err := c.client.Set(ctx, c.keys.revokedSession(id), 1, ttl).Err(); err != nil {
		return fmt.Errorf("revoking a console session: %w", err)
	}
	return nil
}

// SessionRevoked reports whether the console session id was signed out.
func (c *Component) SessionRevoked(ctx context.Context, id string) (bool, error) {
	n, err := c.client.Exists(ctx, c.keys.revokedSession(id)).Result()
	if err != nil {
		return false, fmt.Errorf("checking a console session: %w", err)
	}
	return n == 1, nil
}
