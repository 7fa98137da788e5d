package main

import (
	"net/url"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// What console_test.go and console_api_test.go, rewritten on another
// branch, still call: thin names for the kit's waits and Receiver. Every
// other test uses the kit itself; these go once those two files do.

// waitFor is testkit.Wait.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	testkit.Wait(t, what, within, cond)
}

// pollUntilEmpty is testkit.Settle within stackWait.
func pollUntilEmpty(t *testing.T, what string, check func() string) {
	t.Helper()
	testkit.Settle(t, what, stackWait, check)
}

// affiliateTracker is a testkit.Receiver seen as its server (srv.URL) and
// a channel of its requests (hits).
type affiliateTracker struct {
	srv  *testkit.Receiver
	hits chan hit
}

type hit struct {
	at    time.Time
	query url.Values
}

func newAffiliateTracker(t *testing.T) *affiliateTracker {
	a := &affiliateTracker{hits: make(chan hit, 100)}
	a.srv = testkit.NewReceiver(t, testkit.Default(testkit.Answer{Body: "OK"}),
		testkit.OnRequest(func(r testkit.Request) { a.hits <- hit{at: r.Time, query: r.Query} }))
	return a
}
