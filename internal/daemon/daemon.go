// Package daemon is the lifecycle every component of a clickrelay process
// shares: one Component interface, started in order and stopped in
// reverse by a Supervisor, within a deadline whatever an engine does, and a
// Failer through which a component that cannot go on while running (its
// listener failed, a loop panicked) stops the whole process.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Component is a part of a process with a life: the engines' clients, the
// producers and consumers, the click queues, the HTTP server.
type Component interface {
	// Start brings the component up. ctx bounds the start only: what the
	// component runs afterwards lives until Stop.
	Start(ctx context.Context) error
	// Stop brings it down, flushing what it holds. Past ctx's deadline it
	// gives up what is left and returns, saying what in its error.
	Stop(ctx context.Context) error
}

// Failer is told when a running component cannot go on. The process then
// stops, the rest of it gracefully, and exits with a non-zero status.
type Failer interface {
	Fail(component string, err error)
}

// Hook is a Component made of two functions, either of which may be nil:
// a step of a start with nothing to stop (a schema migration), or a client
// with nothing to start (a producer, closed at stop).
type Hook struct {
	OnStart func(ctx context.Context) error
	OnStop  func(ctx context.Context) error
}

// Start runs OnStart.
func (h Hook) Start(ctx context.Context) error {
	if h.OnStart == nil {
		return nil
	}
	return h.OnStart(ctx)
}

// Stop runs OnStop.
func (h Hook) Stop(ctx context.Context) error {
	if h.OnStop == nil {
		return nil
	}
	return h.OnStop(ctx)
}

// Recover, deferred at the top of a component's goroutine, turns a panic
// in it into a failure of component reported to f, with the stack in the
// error: the rest of the process then stops gracefully (flushing the
// clicks and conversions it holds) instead of dying with them. Without a
// Failer (a unit test), the panic goes on.
func Recover(f Failer, component string) {
	if f == nil {
		return
	}
	if r := recover(); r != nil {
		f.Fail(component, fmt.Errorf("panic: %v\n%s", r, debug.Stack()))
	}
}

// Part is a component as the supervisor runs it.
type Part struct {
	// Name says which component, in the log.
	Name string
	Component
	// GivesUp says what is given up when the stop fails or the deadline
	// cuts it short, for the operator reading the log.
	GivesUp string
	// Engine marks a client of an engine: when the shutdown deadline
	// passes it is stopped at once, whatever part the stop is at, so that
	// calls blocked on an engine that does not answer (Redis frozen by
	// SIGSTOP: go-redis heeds a context's deadline, not its cancellation)
	// return and the parts before it end. Its Stop may then run twice.
	Engine bool
}

// Failure is a running component's failure.
type Failure struct {
	Component string
	Err       error
}

func (f Failure) Error() string { return f.Component + ": " + f.Err.Error() }

// Supervisor starts parts in order, stops them in reverse, and hears of
// the failures of running ones.
type Supervisor struct {
	log     zerolog.Logger
	started []Part
	failed  chan Failure
}

// New returns a supervisor with nothing started.
func New(log zerolog.Logger) *Supervisor {
	return &Supervisor{log: log, failed: make(chan Failure, 1)}
}

// Start starts each part in turn. On the first error it returns, naming
// the part: a part whose Start fails undoes what it did itself, and Stop
// then stops those started before it.
func (s *Supervisor) Start(ctx context.Context, parts ...Part) error {
	for _, p := range parts {
		if err := p.Start(ctx); err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
		if p.Engine {
			p.Component = &once{Component: p.Component}
		}
		s.started = append(s.started, p)
	}
	return nil
}

// Fail reports a running component's failure. The first one is kept for
// Failed; later ones, often consequences of the first, are only logged.
func (s *Supervisor) Fail(component string, err error) {
	select {
	case s.failed <- Failure{Component: component, Err: err}:
	default:
		s.log.Error().Err(err).Str("component", component).Msg("component failed while the process is stopping")
	}
}

// Failed delivers the first failure of a running component.
func (s *Supervisor) Failed() <-chan Failure { return s.failed }

// stopGrace is how long past the shutdown deadline Stop waits, in all, for
// parts that do not heed it, before it abandons them to the exit; each part
// after that gets stopStragglerWait. So a stop ends within its deadline
// plus about a second, whatever an engine does.
const (
	stopGrace         = 500 * time.Millisecond
	stopStragglerWait = 20 * time.Millisecond
)

// Stop stops every started part in reverse order of start, which is the
// order data flows: no new requests (the handlers under way drained), then
// the click queues, the producers, the consumers (which, on the embedded
// broker, first drain their topics), and the engines. Every part gets ctx;
// one that fails or is cut short is logged with what it gave up, and the
// parts after it still run (with ctx done, they stop at once). It returns
// what was given up, nil after a clean stop.
func (s *Supervisor) Stop(ctx context.Context) error {
	var hard <-chan time.Time
	if deadline, ok := ctx.Deadline(); ok {
		t := time.NewTimer(time.Until(deadline) + stopGrace)
		defer t.Stop()
		hard = t.C
	}
	// At the deadline, the engines' clients close under whatever still
	// waits on them.
	interrupt := context.AfterFunc(ctx, func() {
		for _, p := range s.started {
			if p.Engine {
				go func() { _ = p.Stop(ctx) }()
			}
		}
	})
	defer interrupt()
	abandoning := false
	var gaveUp []error
	for i := len(s.started) - 1; i >= 0; i-- {
		p := s.started[i]
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- p.Stop(ctx) }()
		var err error
		if abandoning {
			select {
			case err = <-done:
			case <-time.After(stopStragglerWait):
				err = errors.New("abandoned: the shutdown deadline has passed")
			}
		} else {
			select {
			case err = <-done:
			case <-hard:
				abandoning = true
				err = fmt.Errorf("abandoned %s after the shutdown deadline", stopGrace)
			}
		}
		if err != nil {
			s.log.Error().Err(err).Str("step", p.Name).Str("gave_up", p.GivesUp).Dur("took", time.Since(start)).Msg("shutdown step cut short")
			gaveUp = append(gaveUp, fmt.Errorf("%s: %w", p.Name, err))
		}
	}
	s.started = nil
	return errors.Join(gaveUp...)
}

// once runs an engine part's Stop once, however many times it is called:
// at the deadline and in its turn.
type once struct {
	Component
	stop sync.Once
	err  error
}

func (o *once) Stop(ctx context.Context) error {
	o.stop.Do(func() { o.err = o.Component.Stop(ctx) })
	return o.err
}
