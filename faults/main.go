// Command faults is clickrelay's fault suite: on the real Redis and
// ClickHouse processes and the Kafka wire protocol, it drives clicks,
// conversions and postbacks to a local receiver at a steady rate, injects
// one fault at a time (an engine killed, frozen or stopped, a clickrelay
// process killed or stopped under load), and accounts from outside for
// every promise made: each 302 is a click in ClickHouse and Redis, each
// tracked conversion is stored and postbacked exactly once, and a click
// answered during an outage still converts after it.
//
// scripts/faults.sh runs it with engines of its own; it prints a table
// and writes faults/results/latest.{md,json}. Every wait has a deadline
// and every process it starts is killed when it ends.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

type options struct {
	binary, root, data, out   string
	redisPort, clickhousePort int
	clickRate, conversionRate float64
	conns                     int
	load                      time.Duration
	shutdownTimeout           time.Duration
	outageSample              int
	scenarios                 []string
}

func main() {
	var o options
	flag.StringVar(&o.binary, "clickrelay", "", "the clickrelay binary (scripts/faults.sh builds it)")
	flag.StringVar(&o.root, "root", ".", "the repository, for scripts/services.sh")
	flag.StringVar(&o.data, "data", ".data/faults", "the engines' data folder (CLICKRELAY_DATA_DIR of services.sh) and the processes' logs")
	flag.StringVar(&o.out, "out", "faults/results", "where results are written")
	flag.IntVar(&o.redisPort, "redis-port", 16395, "the suite's own Redis (it is killed and frozen)")
	flag.IntVar(&o.clickhousePort, "clickhouse-port", 19015, "the suite's own ClickHouse (it is stopped)")
	flag.Float64Var(&o.clickRate, "click-rate", 1000, "clicks per second")
	flag.Float64Var(&o.conversionRate, "conversion-rate", 50, "conversions per second")
	flag.IntVar(&o.conns, "connections", 32, "click connections")
	flag.DurationVar(&o.load, "load", 20*time.Second, "how long each scenario sends clicks (longer when its fault lasts longer)")
	flag.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "CLICKRELAY_SHUTDOWN_TIMEOUT of every process")
	flag.IntVar(&o.outageSample, "outage-sample", 300, "clicks minted during each fault converted after it")
	names := flag.String("scenarios", strings.Join(scenarioNames(), ","), "which scenarios to run, in order")
	flag.Parse()
	for _, n := range strings.Split(*names, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		if !slices.Contains(scenarioNames(), n) {
			log.Fatalf("-scenarios: %q is not one of %s", n, strings.Join(scenarioNames(), ", "))
		}
		o.scenarios = append(o.scenarios, n)
	}
	if o.binary == "" {
		log.Fatal("-clickrelay is required (scripts/faults.sh builds it)")
	}
	code := run(o)
	os.Exit(code)
}

func run(o options) int {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	eng := &engines{root: o.root, data: o.data, redisPort: o.redisPort, chPort: o.clickhousePort}
	// Whatever happens, nothing the suite started outlives it, and the
	// engines are left running (a frozen Redis thawed).
	defer func() {
		killAll()
		_ = eng.heal(context.Background())
	}()
	rep := &report{Started: time.Now().UTC(), ClickRate: o.clickRate, ConversionRate: o.conversionRate,
		ShutdownTimeout: o.shutdownTimeout.String()}
	for _, name := range o.scenarios {
		if ctx.Err() != nil {
			break
		}
		sc := scenarioByName(name)
		log.Printf("scenario %s: %s", sc.name, sc.description)
		res := runScenario(ctx, o, eng, sc)
		killAll()
		if err := eng.heal(ctx); err != nil {
			res.Errors = append(res.Errors, "healing the engines: "+err.Error())
		}
		rep.Results = append(rep.Results, res)
		log.Printf("scenario %s: %s", sc.name, res.oneLine())
	}
	rep.Finished = time.Now().UTC()
	table := rep.markdown()
	fmt.Println(table)
	if err := rep.write(o.out, table); err != nil {
		log.Print(err)
		return 1
	}
	if ctx.Err() != nil {
		return 130
	}
	return 0
}

func absData(o options) string {
	d, err := filepath.Abs(o.data)
	if err != nil {
		return o.data
	}
	return d
}
