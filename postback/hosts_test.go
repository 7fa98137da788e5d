package postback

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

func newTestTable(t *testing.T, limits hostLimits) (*hostTable, *testkit.Clock) {
	c := testkit.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	return newHostTable(limits, c.Now, zerolog.New(zerolog.NewTestWriter(t))), c
}

// timeoutErr is what the HTTP client returns when a receiver never answers.
var timeoutErr = &url.Error{Op: "Get", URL: "http://hang.test/pb", Err: context.DeadlineExceeded}

// refusedErr is what it returns when nothing listens on the port.
var refusedErr = &url.Error{Op: "Get", URL: "http://down.test/pb",
	Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}

func mustAdmit(t *testing.T, table *hostTable, host string) *hostSlot {
	t.Helper()
	slot, got, _ := table.acquire(host)
	if got != admitted {
		t.Fatalf("%s: admission %d, want admitted", host, got)
	}
	return slot
}

func TestHostTableBoundsEachHost(t *testing.T) {
	table, _ := newTestTable(t, hostLimits{concurrency: 2, failures: 3, backoff: time.Second, backoffMax: time.Minute})
	first := mustAdmit(t, table, "slow.test:80")
	mustAdmit(t, table, "slow.test:80")
	if _, got, _ := table.acquire("slow.test:80"); got != hostBusy {
		t.Fatalf("third request to a host bounded at 2: admission %d, want busy", got)
	}
	// Another host is not affected by the first one's bound.
	mustAdmit(t, table, "fast.test:80").report(nil)
	// A slot given back is free again, once: release after report is a no-op.
	first.report(nil)
	first.release()
	mustAdmit(t, table, "slow.test:80")
	if _, got, _ := table.acquire("slow.test:80"); got != hostBusy {
		t.Fatalf("a slot released twice counted twice: admission %d", got)
	}
	// No host (an invalid URL) is never bounded.
	for range 5 {
		mustAdmit(t, table, "").release()
	}
}

func TestHostTableBacksOffAndProbes(t *testing.T) {
	const probeWait = 3 * time.Second // the request timeout
	table, clock := newTestTable(t, hostLimits{concurrency: 8, failures: 3, backoff: time.Second, backoffMax: 5 * time.Second,
		busyDelay: 100 * time.Millisecond, probeWait: probeWait})
	host := "hang.test:80"
	fail := func() { mustAdmit(t, table, host).report(timeoutErr) }

	// Failures below the threshold, or broken by an answer, do not back off.
	fail()
	fail()
	mustAdmit(t, table, host).report(nil)
	fail()
	fail()
	if n := table.backedOffHosts(); n != 0 {
		t.Fatalf("backed off after 2 failures in a row (threshold 3): %d hosts", n)
	}
	fail()
	if n := table.backedOffHosts(); n != 1 {
		t.Fatalf("not backed off after 3 failures in a row: %d hosts", n)
	}

	// The backoff doubles with each failed probe, up to the cap. During
	// it, the first job turned away is due when it ends, to be the probe;
	// the others when the probe has had its time or one more backoff,
	// whichever is shorter; while the probe is out, jobs wait for its
	// verdict.
	for _, backoff := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		ends := clock.Now().Add(backoff)
		for _, want := range []time.Time{ends, ends.Add(min(probeWait, backoff)), ends.Add(min(probeWait, backoff))} {
			_, got, retryAt := table.acquire(host)
			if got != hostBackedOff || !retryAt.Equal(want) {
				t.Fatalf("during a %v backoff: admission %d, retry at +%v, want +%v", backoff, got, retryAt.Sub(clock.Now()), want.Sub(clock.Now()))
			}
		}
		clock.Advance(backoff - time.Millisecond)
		if _, got, _ := table.acquire(host); got != hostBackedOff {
			t.Fatalf("a millisecond before the %v backoff ends: admission %d", backoff, got)
		}
		clock.Advance(time.Millisecond)
		probe := mustAdmit(t, table, host)
		clock.Advance(time.Second)
		// While the probe is out, a job looks again when the probe has had
		// its time or after one backoff, whichever comes first.
		want := clock.Now().Add(min(probeWait-time.Second, backoff))
		if _, got, retryAt := table.acquire(host); got != hostBackedOff || !retryAt.Equal(want) {
			t.Fatalf("while the probe is out: admission %d, retry at +%v, want +%v", got, retryAt.Sub(clock.Now()), want.Sub(clock.Now()))
		}
		probe.report(refusedErr)
	}

	// A probe that makes no request (its postback was deleted meanwhile)
	// decides nothing: the next job is the probe.
	clock.Advance(5 * time.Second)
	mustAdmit(t, table, host).release()
	probe := mustAdmit(t, table, host)
	// A probe that gets an answer, whatever its status, ends the backoff.
	probe.report(nil)
	if n := table.backedOffHosts(); n != 0 {
		t.Fatalf("still backed off after the probe got an answer: %d hosts", n)
	}
	for range 8 {
		mustAdmit(t, table, host)
	}
	// A recovered host starts counting failures from zero.
	table.mu.Lock()
	failures := table.hosts[host].failures
	table.mu.Unlock()
	if failures != 0 {
		t.Fatalf("failures in a row after recovery: %d", failures)
	}
}

// Jobs a busy host turns away come due spaced by its pace, not all a
// moment later: a slow host's backlog is not churned through Redis.
func TestHostTableSpacesBusyHostsJobs(t *testing.T) {
	table, clock := newTestTable(t, hostLimits{concurrency: 2, failures: 3, backoff: time.Second, backoffMax: time.Minute,
		busyDelay: 200 * time.Millisecond, probeWait: 5 * time.Second})
	host := "slow.test:80"
	mustAdmit(t, table, host)
	mustAdmit(t, table, host)
	clock.Advance(time.Second) // full for 1 s: a request takes at least that, 500 ms a slot
	start := clock.Now()
	for _, want := range []time.Duration{200 * time.Millisecond, 700 * time.Millisecond, 1200 * time.Millisecond} {
		_, got, retryAt := table.acquire(host)
		if got != hostBusy || retryAt.Sub(start) != want {
			t.Fatalf("busy: admission %d, retry at +%v, want +%v", got, retryAt.Sub(start), want)
		}
	}
	// A host that is fast but at its bound a moment spaces little.
	fast := "fast.test:80"
	for range 2 {
		mustAdmit(t, table, fast)
	}
	for range 3 {
		if _, got, retryAt := table.acquire(fast); got != hostBusy || retryAt.Sub(clock.Now()) != 200*time.Millisecond {
			t.Fatalf("fast host busy: admission %d, retry at +%v, want +200ms", got, retryAt.Sub(clock.Now()))
		}
	}
}

// A backed-off host no job comes for is forgotten a longest backoff after
// its own ended; one still probed is kept.
func TestHostTablePrunesAbandonedBackoffs(t *testing.T) {
	table, clock := newTestTable(t, hostLimits{concurrency: 4, failures: 1, backoff: time.Second, backoffMax: 10 * time.Second,
		busyDelay: 100 * time.Millisecond, probeWait: time.Second})
	mustAdmit(t, table, "gone.test:80").report(refusedErr)
	mustAdmit(t, table, "probed.test:80").report(refusedErr)
	clock.Advance(time.Second)
	probe := mustAdmit(t, table, "probed.test:80")
	clock.Advance(10 * time.Second)
	table.prune()
	if n := table.backedOffHosts(); n != 2 {
		t.Fatalf("pruned at the longest backoff's end, not after: %d hosts backed off", n)
	}
	clock.Advance(time.Millisecond)
	table.prune()
	if n := table.backedOffHosts(); n != 1 {
		t.Fatalf("%d hosts backed off, want only the one whose probe is out", n)
	}
	probe.report(nil)
	if n := table.backedOffHosts(); n != 0 {
		t.Fatalf("%d hosts backed off after the probe's answer", n)
	}
}

func TestHostTableForgetsHealthyIdleHosts(t *testing.T) {
	table, _ := newTestTable(t, hostLimits{concurrency: 4, failures: 2, backoff: time.Second, backoffMax: time.Minute})
	for i := range 100 {
		mustAdmit(t, table, fmt.Sprintf("h%d.test:80", i)).report(nil)
	}
	mustAdmit(t, table, "down.test:80").report(refusedErr)
	table.mu.Lock()
	n := len(table.hosts)
	table.mu.Unlock()
	if n != 1 {
		t.Fatalf("table holds %d hosts, want only the failing one", n)
	}
}

// signaled takes a token from ch if one is there, without waiting.
func signaled(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Jobs turned away as busy may wait for room, as many as the host's bound;
// each request that ends wakes one of them, who retakes its place.
func TestHostTableWaitsForRoom(t *testing.T) {
	const host = "slow.test:80"
	table, _ := newTestTable(t, hostLimits{concurrency: 2, failures: 1, backoff: time.Second, backoffMax: time.Minute})
	first := mustAdmit(t, table, host)
	mustAdmit(t, table, host)
	if _, got, _ := table.acquire(host); got != hostBusy {
		t.Fatalf("admission %d, want busy", got)
	}
	room, ok1 := table.wait(host)
	_, ok2 := table.wait(host)
	if !ok1 || !ok2 || signaled(room) {
		t.Fatalf("two waits on a full host bounded at 2: accepted %v %v, woken %v; want accepted, none woken", ok1, ok2, !ok1 || signaled(room))
	}
	if _, ok := table.wait(host); ok {
		t.Fatal("a third wait accepted: waiters are bounded by the host's bound")
	}
	first.report(nil)
	if !signaled(room) || signaled(room) {
		t.Fatal("a request ended: want exactly one waiter woken")
	}
	// The woken one takes the place; the other waits on, for the next end.
	if _, got, _ := table.retake(host); got != admitted {
		t.Fatalf("the woken waiter retakes: admission %d, want admitted", got)
	}
	table.endWait(host)
	if _, got, _ := table.retake(host); got != hostBusy {
		t.Fatalf("admission %d while the host is full, want busy", got)
	}
	if signaled(room) {
		t.Fatal("a waiter woken while the host is full")
	}
	table.endWait(host)

	// A host with room, or with no entry at all, wakes its waiter at once.
	if room, ok := table.wait("idle.test:80"); !ok || !signaled(room) {
		t.Fatalf("wait on an idle host: accepted %v; want a waiter woken at once", ok)
	}
	table.endWait("idle.test:80")

	// A backed-off host is not waited for: its backoff decides.
	mustAdmit(t, table, "down.test:80").report(refusedErr)
	if _, ok := table.wait("down.test:80"); ok {
		t.Fatal("a wait on a backed-off host accepted")
	}
	table.mu.Lock()
	_, kept := table.hosts["idle.test:80"]
	table.mu.Unlock()
	if kept {
		t.Fatal("an idle host's entry outlived its last waiter")
	}
}

// A waiter turned away again is given no due time: the jobs the host
// turns away later come due as if it had never retaken.
func TestHostTableRetakesDoNotSpaceTheHostsJobs(t *testing.T) {
	limits := hostLimits{concurrency: 1, failures: 3, backoff: time.Second, backoffMax: time.Minute, busyDelay: time.Millisecond}
	dueOfSecondBusy := func(retakes int) time.Time {
		table, clock := newTestTable(t, limits)
		// One request of 100 ms sets the host's pace; then it is full.
		first := mustAdmit(t, table, "slow.test:80")
		clock.Advance(100 * time.Millisecond)
		first.report(nil)
		mustAdmit(t, table, "slow.test:80")
		table.acquire("slow.test:80")
		for range retakes {
			if _, got, due := table.retake("slow.test:80"); got != hostBusy || !due.IsZero() {
				t.Fatalf("retake of a full host: admission %d, due %v; want busy, no due time", got, due)
			}
		}
		_, _, due := table.acquire("slow.test:80")
		return due
	}
	if with, without := dueOfSecondBusy(5), dueOfSecondBusy(0); !with.Equal(without) {
		t.Fatalf("a job turned away after 5 retakes is due %v, without them %v", with, without)
	}
}

func TestSignalOf(t *testing.T) {
	blocked := &url.Error{Op: "Get", URL: "http://10.0.0.1/pb",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("10.0.0.1: %w", ErrBlocked)}}
	cases := []struct {
		name string
		err  error
		want hostSignal
	}{
		{"an answer", nil, signalAlive},
		{"a timeout", timeoutErr, signalDown},
		{"a refused connection", refusedErr, signalDown},
		{"the SSRF guard's refusal", blocked, signalNone},
		{"a connection closed mid-answer", &url.Error{Op: "Get", URL: "http://x.test/", Err: io.ErrUnexpectedEOF}, signalNone},
	}
	for _, c := range cases {
		if got := signalOf(c.err); got != c.want {
			t.Errorf("%s: signal %d, want %d", c.name, got, c.want)
		}
	}
}

func TestHostKey(t *testing.T) {
	cases := map[string]string{
		"http://Tracker.Example.com/pb?cid=1":      "tracker.example.com:80",
		"https://tracker.example.com/pb":           "tracker.example.com:443",
		"http://127.0.0.1:8081/pb":                 "127.0.0.1:8081",
		"http://user:secret@[::1]:9000/pb?token=x": "[::1]:9000",
		"not a url":      "",
		"/relative/path": "",
	}
	for target, want := range cases {
		if got := hostKey(target); got != want {
			t.Errorf("hostKey(%q) = %q, want %q", target, got, want)
		}
	}
}
