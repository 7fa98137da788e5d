// Command clickrelay is the click and postback tracking engine.
//
//	clickrelay all      everything in one process (the single-machine default)
//	clickrelay serve    the HTTP side: clicks, conversions, APIs
//	clickrelay work     the Kafka consumers: ClickHouse sink, postbacks
//	clickrelay migrate  apply the ClickHouse schema and exit
//	clickrelay restore  rebuild Redis's entities, keys and secrets from the journal and exit
//
// Configuration comes from CLICKRELAY_* environment variables (README).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"
	_ "time/tzdata" // time zones for stats and reports, whatever the image

	"github.com/rs/zerolog"
)

const usage = `usage: clickrelay <all|serve|work|migrate|restore>

  all      everything in one process (the single-machine default)
  serve    the HTTP side: clicks, conversions, APIs
  work     the Kafka consumers: ClickHouse sink and postbacks
  migrate  apply the ClickHouse schema and exit
  restore  rebuild Redis's entities, keys and secrets from ClickHouse's entity journal and exit

Configuration is read from CLICKRELAY_* environment variables; see README.md.
`

func main() {
	os.Exit(run(os.Args[1:], osEnv, os.Stderr))
}

// run is main without the process: it returns the exit status.
func run(args []string, env func(string) (string, bool), stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	role := args[0]
	switch role {
	case roleAll, roleServe, roleWork, roleMigrate, roleRestore:
	case "-h", "--help", "help":
		fmt.Fprint(stderr, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "clickrelay: unknown role %q\n\n%s", role, usage)
		return 2
	}
	config, err := loadConfig(env)
	if err != nil {
		fmt.Fprintf(stderr, "clickrelay: configuration error:\n%v\n", err)
		return 2
	}
	tuneRuntime(env)
	var out io.Writer = stderr
	if config.LogFormat == "console" {
		out = zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.RFC3339}
	}
	log := zerolog.New(out).Level(config.LogLevel).With().Timestamp().Logger()

	a := newApp(role, config, log, stderr)
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	startCtx, startCancel := context.WithTimeout(ctx, 2*time.Minute+config.StartupWait)
	err = a.start(startCtx)
	startCancel()
	if err != nil {
		log.Error().Err(err).Str("role", role).Msg("clickrelay cannot start")
		return 1
	}
	if role == roleMigrate || role == roleRestore {
		if role == roleMigrate {
			log.Info().Msg("schema up to date")
		}
		stopCtx, stopCancel := a.shutdownContext()
		defer stopCancel()
		_ = a.stop(stopCtx) // each step logs its own failure
		return 0
	}
	status := 0
	select {
	case <-ctx.Done():
		log.Info().Msg("shutting down: flushing every buffer")
	case f := <-a.supervisor.Failed():
		// A part that cannot go on leaves the process half working (a
		// server answering /health through no listener): stop it all, so
		// that the service manager restarts it, or the operator sees it.
		log.Error().Err(f.Err).Str("component", f.Component).Msg(f.Component + " failed: stopping, flushing every buffer")
		status = 1
	}
	stopCtx, stopCancel := a.shutdownContext()
	defer stopCancel()
	if err := a.stop(stopCtx); err != nil {
		// Each step cut short was logged with what it gave up.
		log.Error().Err(err).Dur("timeout", config.ShutdownTimeout).Msg("shutdown gave something up; see the steps above")
		return 1
	}
	if status != 0 {
		log.Error().Msg("clickrelay stopped after a failure")
		return status
	}
	log.Info().Msg("clickrelay stopped cleanly")
	return 0
}

// tuneRuntime adapts the Go runtime to a process that answers clicks while
// it does heavy background work, unless the operator chose otherwise.
//
// The garbage collector's target becomes 400% (unless GOGC or GOMEMLIMIT is
// set). On two cores a collection's mark phase holds half the CPU for tens
// of milliseconds; at the default 100% it comes about three times a second
// under load and shows in the click path's tail latency (p99 10.7 ms
// against 5.7 ms at 400%, in bench/). The price is memory: the heap grows
// to about five times what is live, a few hundred MB.
//
// GOMAXPROCS becomes at least minProcs (unless GOMAXPROCS is set). The
// scheduler looks for goroutines woken by the network only when a P runs
// out of work, or every 10 ms from sysmon: with one P per core on a
// two-core machine, the sink decoding a second of clicks and the embedded
// broker serving it keep both busy, and a click that arrived meanwhile
// waits up to 10 ms to be read. With more Ps than cores the kernel shares
// the cores at a finer grain and a P is free to poll (click p99 in bench/
// from 4-14 ms down to 3-4 ms at half the maximum rate).
func tuneRuntime(env func(string) (string, bool)) {
	_, gogc := env("GOGC")
	_, limit := env("GOMEMLIMIT")
	if !gogc && !limit {
		debug.SetGCPercent(400)
	}
	if _, procs := env("GOMAXPROCS"); !procs && runtime.GOMAXPROCS(0) < minProcs {
		runtime.GOMAXPROCS(minProcs)
	}
}

// minProcs is the fewest Ps tuneRuntime leaves a process.
const minProcs = 4
