package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// reach calls try until it succeeds, for at most CLICKRELAY_STARTUP_WAIT,
// while what it meets is an engine not answering yet (notAnsweringYet):
// engines started together with clickrelay, or a Redis that restarted and
// is still loading its append-only file (minutes, at a few GB). Anything
// else, a wrong password or database, ends the start at once with try's
// error, which names the setting.
//
// The wait is logged when it begins and every waitLogEvery after, so a
// start waiting on an engine says so without flooding the log.
func (a *app) reach(ctx context.Context, engine string, try func(context.Context) error) error {
	deadline := time.Now().Add(a.config.StartupWait)
	delay := 100 * time.Millisecond
	var since, logged time.Time
	for {
		err := try(ctx)
		if err == nil {
			if !since.IsZero() {
				a.log.Info().Str("engine", engine).Dur("waited", time.Since(since)).Msg(engine + " answers: starting")
			}
			return nil
		}
		now := time.Now()
		if !notAnsweringYet(err) || ctx.Err() != nil {
			return err
		}
		if now.Add(delay).After(deadline) {
			if since.IsZero() {
				return err
			}
			return fmt.Errorf("%w (no answer for %s: CLICKRELAY_STARTUP_WAIT)", err, now.Sub(since).Round(time.Second))
		}
		if since.IsZero() {
			since = now
		}
		if logged.IsZero() || now.Sub(logged) >= waitLogEvery {
			a.log.Warn().Err(err).Str("engine", engine).Dur("waited", now.Sub(since)).Dur("startup_wait", a.config.StartupWait).
				Msg("waiting for " + engine + " to answer (CLICKRELAY_STARTUP_WAIT)")
			logged = now
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// waitLogEvery spaces the log lines of a start waiting for an engine.
const waitLogEvery = 10 * time.Second

// notAnsweringYet tells an engine that is down, starting or loading (worth
// waiting for) from one that answered no (a configuration to fix).
func notAnsweringYet(err error) bool {
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &netErr) && netErr.Timeout():
		return true
	}
	// Redis answers these while it loads its data or its cluster forms.
	var redisErr goredis.Error
	if errors.As(err, &redisErr) {
		for _, state := range []string{"LOADING ", "MASTERDOWN ", "CLUSTERDOWN ", "TRYAGAIN "} {
			if strings.HasPrefix(redisErr.Error(), state) {
				return true
			}
		}
	}
	return false
}
