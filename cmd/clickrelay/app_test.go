package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// stop walks the started components backwards, bounds every step by the
// shutdown context, closes the engines' clients at the deadline so that
// steps blocked on an engine return, abandons a step that heeds nothing,
// and reports each step it cut short.
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

	a := &app{log: zerolog.Nop()}
	a.onStopEngine("redis", func() error {
		note("redis")
		close(engineClosed) // closes only once: onStopEngine runs it once
		return nil
	})
	a.onStop("deaf", "nothing", func(context.Context) error {
		note("deaf")
		<-never // heeds nothing: abandoned
		return nil
	})
	a.onStop("blocked on redis", "clicks", func(context.Context) error {
		note("blocked on redis")
		<-engineClosed // as a go-redis call on a frozen server, until its client closes
		return errors.New("12 clicks lost")
	})
	a.onStop("clean", "nothing", func(ctx context.Context) error {
		note("clean")
		return nil
	})

	const timeout = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- a.stop(ctx) }()
	var err error
	select {
	case err = <-done:
	case <-time.After(timeout + time.Second):
		t.Fatalf("stop did not end within its timeout plus a second")
	}
	t.Logf("stop took %s: %v", time.Since(start), err)
	mu.Lock()
	defer mu.Unlock()
	// Redis's client is closed at the deadline, which is what ends the
	// step blocked on it; its own turn comes last and finds it closed.
	if want := []string{"clean", "blocked on redis", "redis", "deaf"}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	if err == nil || !strings.Contains(err.Error(), "blocked on redis: 12 clicks lost") || !strings.Contains(err.Error(), "deaf: abandoned") ||
		strings.Contains(err.Error(), "clean") {
		t.Errorf("report %v: want the two steps cut short, and only them", err)
	}
}

// A stop that nothing cuts short reports nothing.
func TestStopCleanReportsNothing(t *testing.T) {
	a := &app{log: zerolog.Nop()}
	a.onStop("one", "", func(context.Context) error { return nil })
	a.onStopEngine("two", func() error { return nil })
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := a.stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
}
