package daemon

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// stopOnly is a part that does nothing at start and runs stop at stop.
func stopOnly(name string, engine bool, stop func(context.Context) error) Part {
	return Part{Name: name, Engine: engine, GivesUp: "something", Component: Hook{OnStop: stop}}
}

// Stop walks the started parts backwards, bounds every one by the
// shutdown context, closes the engines' clients at the deadline so that
// parts blocked on an engine return, abandons a part that heeds nothing,
// and reports each part it cut short.
func TestStopIsOrderedAndBounded(t *testing.T) {
	var mu sync.Mutex
	var order []string
	note := func(name string) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, name)
	}
	engineClosed := make(chan struct{})
	never := make(chan struct{})
	defer close(never)

	s := New(zerolog.Nop())
	err := s.Start(context.Background(),
		stopOnly("redis", true, func(context.Context) error {
			note("redis")
			close(engineClosed) // closes only once: an engine's stop runs once
			return nil
		}),
		stopOnly("deaf", false, func(context.Context) error {
			note("deaf")
			<-never // heeds nothing: abandoned
			return nil
		}),
		stopOnly("blocked on redis", false, func(context.Context) error {
			note("blocked on redis")
			<-engineClosed // as a go-redis call on a frozen server, until its client closes
			return errors.New("12 clicks lost")
		}),
		stopOnly("clean", false, func(context.Context) error {
			note("clean")
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}

	const timeout = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- s.Stop(ctx) }()
	err = testkit.Receive(t, "the stop's end, within its timeout plus a second", timeout+time.Second, done)
	t.Logf("stop took %s: %v", time.Since(start), err)
	mu.Lock()
	defer mu.Unlock()
	// Redis's client is closed at the deadline, which is what ends the
	// part blocked on it; its own turn comes last and finds it closed.
	if want := []string{"clean", "blocked on redis", "redis", "deaf"}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	if err == nil || !strings.Contains(err.Error(), "blocked on redis: 12 clicks lost") || !strings.Contains(err.Error(), "deaf: abandoned") ||
		strings.Contains(err.Error(), "clean") {
		t.Errorf("report %v: want the two parts cut short, and only them", err)
	}
}

// A stop that nothing cuts short reports nothing.
func TestStopCleanReportsNothing(t *testing.T) {
	s := New(zerolog.Nop())
	nothing := func(context.Context) error { return nil }
	if err := s.Start(context.Background(), stopOnly("one", false, nothing), stopOnly("two", true, nothing)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// A start that fails names the part, and the parts after it do not start;
// Stop then stops only those started before it.
func TestStartStopsAtTheFirstFailure(t *testing.T) {
	var started, stopped []string
	part := func(name string, startErr error) Part {
		return Part{Name: name, Component: Hook{
			OnStart: func(context.Context) error { started = append(started, name); return startErr },
			OnStop:  func(context.Context) error { stopped = append(stopped, name); return nil },
		}}
	}
	s := New(zerolog.Nop())
	err := s.Start(context.Background(), part("first", nil), part("second", errors.New("CLICKRELAY_ADDR: cannot listen")), part("third", nil))
	if err == nil || err.Error() != "second: CLICKRELAY_ADDR: cannot listen" {
		t.Errorf("start: %v, want the second part's error, named", err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Errorf("stop: %v", err)
	}
	if !slices.Equal(started, []string{"first", "second"}) || !slices.Equal(stopped, []string{"first"}) {
		t.Errorf("started %v, stopped %v: want first and second started, only first stopped", started, stopped)
	}
}

// The first failure of a running part is delivered; later ones are only
// logged, so that a component failing in a loop cannot block.
func TestFailedDeliversTheFirstFailure(t *testing.T) {
	s := New(zerolog.Nop())
	s.Fail("http server", errors.New("accept: invalid argument"))
	s.Fail("sink clicks", errors.New("a consequence"))
	select {
	case f := <-s.Failed():
		if f.Error() != "http server: accept: invalid argument" {
			t.Errorf("failure %q, want the http server's", f.Error())
		}
	default:
		t.Fatal("no failure delivered")
	}
	select {
	case f := <-s.Failed():
		t.Errorf("a second failure was delivered: %v", f)
	default:
	}
}

// Recover turns a goroutine's panic into its component's failure, with
// the stack; without a Failer the panic goes on.
func TestRecoverReportsAPanic(t *testing.T) {
	s := New(zerolog.Nop())
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer Recover(s, "click queues")
		var flushed []int
		_ = flushed[3] // an index out of range panics
	}()
	testkit.Receive(t, "the panicking goroutine's end", 5*time.Second, done)
	select {
	case f := <-s.Failed():
		if f.Component != "click queues" || !strings.Contains(f.Err.Error(), "panic: runtime error: index out of range") ||
			!strings.Contains(f.Err.Error(), "daemon_test.go") {
			t.Errorf("failure %v: want the click queues' panic with its stack", f)
		}
	default:
		t.Fatal("the panic was not reported")
	}

	defer func() {
		if r := recover(); r == nil {
			t.Error("without a Failer the panic should go on")
		}
	}()
	func() {
		defer Recover(nil, "nobody")
		panic("on")
	}()
}
