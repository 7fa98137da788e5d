// Package testkit holds what the tests of several packages share: waiting
// on a condition with a deadline (Wait, Poll, Settle, Receive), an HTTP
// receiver that records what it is sent (Receiver), JSON answers read
// field by field (JSON), values compared with a diff on failure (Equal,
// Diff), and components started for a test (Start). Test code only: only
// tests import it, so no release build links it.
package testkit

import (
	"context"
	"testing"
)

// starter is a component's start (daemon.Component).
type starter interface {
	Start(ctx context.Context) error
}

// Start starts c, failing the test if it cannot.
func Start(t testing.TB, c starter) {
	t.Helper()
	if err := c.Start(t.Context()); err != nil {
		t.Fatalf("start: %v", err)
	}
}
