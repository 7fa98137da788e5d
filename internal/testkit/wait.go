package testkit

import (
	"testing"
	"time"
)

// Wait and Poll look at their condition at once, then again after
// firstLook, each look twice as long after the last, up to every lastLook:
// a condition that holds in a moment is seen in a moment (a test may log
// how long it took), and one that takes seconds does not busy a machine
// whose cores other tests share.
const (
	firstLook = time.Millisecond
	lastLook  = 50 * time.Millisecond
)

// Wait polls cond until it holds, failing the test with what when within
// passes first. It is how a test waits for something to happen: never a
// sleep, never a bare channel receive. It is for a yes-or-no condition,
// whose last look is what failed; Poll tells what it saw.
func Wait(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	Poll(t, what, within, func() (bool, string) { return cond(), "" })
}

// Poll is Wait for a condition worth describing when it fails: check says
// whether it holds and what it saw, and a failure names the last thing
// seen.
func Poll(t testing.TB, what string, within time.Duration, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	pause := firstLook
	for {
		done, seen := check()
		if done {
			return
		}
		if time.Now().After(deadline) {
			if seen != "" {
				t.Fatalf("%s: not within %v; last seen: %s", what, within, seen)
			}
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(min(pause, max(time.Until(deadline), 0)+time.Millisecond))
		pause = min(2*pause, lastLook)
	}
}

// Settle is Poll for a check that answers what is still wrong, or ""
// once nothing is: it waits until nothing is, and a failure names what
// was wrong last.
func Settle(t testing.TB, what string, within time.Duration, wrong func() string) {
	t.Helper()
	Poll(t, what, within, func() (bool, string) {
		w := wrong()
		return w == "", w
	})
}

// Receive takes a value from ch, failing the test with what when within
// passes first.
func Receive[T any](t testing.TB, what string, within time.Duration, ch <-chan T) T {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("%s: not within %v", what, within)
		var zero T
		return zero
	}
}
