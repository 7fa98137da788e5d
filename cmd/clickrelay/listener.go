package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/internal/daemon"
)

// sideListener serves a handler on an address of its own, apart from the
// public port. Its listener failing while it runs is the process's failure.
type sideListener struct {
	name    string
	setting string // the variable naming the address, for errors
	addr    string
	handler http.Handler
	failer  daemon.Failer
	log     zerolog.Logger

	srv      *http.Server
	stopping atomic.Bool
}

func (a *app) sideListener(name, setting, addr string, handler http.Handler) *sideListener {
	return &sideListener{name: name, setting: setting, addr: addr, handler: handler, failer: a.supervisor, log: a.log}
}

// Start listens and serves in the background.
func (l *sideListener) Start(context.Context) error {
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		return fmt.Errorf("%s: cannot listen on %s: %w", l.setting, l.addr, err)
	}
	l.srv = &http.Server{Handler: l.handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		err := l.srv.Serve(ln)
		if !errors.Is(err, http.ErrServerClosed) && !l.stopping.Load() {
			l.failer.Fail(l.name, fmt.Errorf("the listener on %s failed: %w", ln.Addr(), err))
		}
	}()
	msg := "serving " + l.name
	if l.setting == "CLICKRELAY_PPROF_ADDR" {
		l.log.Warn().Str("addr", ln.Addr().String()).Msg(msg + ": keep this address private")
	} else {
		l.log.Info().Str("addr", ln.Addr().String()).Msg(msg)
	}
	return nil
}

// Stop lets the requests under way end, within ctx.
func (l *sideListener) Stop(ctx context.Context) error {
	l.stopping.Store(true)
	return l.srv.Shutdown(ctx)
}
