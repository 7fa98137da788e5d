// Command bench measures clickrelay on this machine, side by side with
// nginx answering a fixed 302 in the same run: the ceiling any redirector
// is measured against. scripts/bench.sh runs it with the services up; it
// writes a markdown table and JSON under bench/results/ and prints the
// table.
//
// Every figure is a ratio to a peer measured in the same run, or a count
// that must match another (302s answered against clicks stored), because
// the load generator, the services and clickrelay share the machine.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/clickrelay/clickrelay/internal/loadgen"
)

type options struct {
	binary                     string
	dataDir, outDir            string
	redisPort, clickhousePort  int
	port, kafkaPort, nginxPort int
	threads, connections       int
	duration, latencyDuration  time.Duration
	rounds                     int
	conversionRate             float64
	conversionDuration         time.Duration
	offers, affiliates         int
	phases                     map[string]bool
	rate                       float64
	coldRate                   float64
	coldCount                  int
	repeat                     int
}

// The phases of a run, in order.
var allPhases = []string{"throughput", "latency", "conversions", phaseCold, phaseSlowReceiver, "freshness", phaseRules}

func main() {
	var o options
	flag.StringVar(&o.binary, "clickrelay", "", "the clickrelay binary to measure")
	flag.StringVar(&o.dataDir, "data", ".data/bench", "where clickrelay and nginx keep their files")
	flag.StringVar(&o.outDir, "out", "bench/results", "where results are written")
	// The bench's own engines (scripts/bench.sh starts them): with -repeat
	// the runner empties them between runs.
	flag.IntVar(&o.redisPort, "redis-port", 16390, "the Redis to use, the bench's own")
	flag.IntVar(&o.clickhousePort, "clickhouse-port", 19010, "the ClickHouse to use, the bench's own")
	flag.IntVar(&o.port, "port", 18080, "clickrelay's HTTP port")
	flag.IntVar(&o.kafkaPort, "kafka-port", 29092, "the embedded broker's port")
	flag.IntVar(&o.nginxPort, "nginx-port", 18090, "nginx's port")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads, for both peers")
	flag.IntVar(&o.connections, "connections", 64, "wrk connections, for both peers")
	// 10 s runs: the rate of a 15 s one within its round-to-round spread,
	// and the whole run stays within 3 minutes.
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "each wrk run")
	flag.IntVar(&o.rounds, "rounds", 2, "throughput rounds (nginx, then clickrelay, each round)")
	flag.DurationVar(&o.latencyDuration, "latency-duration", 10*time.Second, "the fixed-rate latency run")
	flag.Float64Var(&o.conversionRate, "conversion-rate", 1000, "conversions per second")
	flag.DurationVar(&o.conversionDuration, "conversion-duration", 5*time.Second, "the conversion run")
	flag.Float64Var(&o.coldRate, "cold-rate", 200, "conversions per second on clicks past the hot window")
	flag.IntVar(&o.coldCount, "cold-count", 1000, "conversions on clicks past the hot window")
	flag.IntVar(&o.repeat, "repeat", 1, "run every phase this many times, on emptied engines each time, and report each figure's median and spread")
	flag.IntVar(&o.offers, "offers", 8, "offers the links spread over")
	flag.IntVar(&o.affiliates, "affiliates", 4, "affiliates the links spread over")
	phases := flag.String("phases", strings.Join(allPhases, ","), "which phases to run")
	flag.Float64Var(&o.rate, "rate", 0, "the latency run's rate; 0 is half the measured maximum")
	cpuProfile := flag.String("cpuprofile", "", "write the runner's own CPU profile here")
	flag.Parse()
	// The generator times each answer from when its request was due: a
	// reply that waits for the scheduler to poll the network (see
	// tuneRuntime in cmd/clickrelay) is the runner's delay, not the
	// server's. More Ps than cores keep one free to poll.
	if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) < 4 {
		runtime.GOMAXPROCS(4)
	}
	o.phases = map[string]bool{}
	for _, p := range strings.Split(*phases, ",") {
		if !slices.Contains(allPhases, p) {
			log.Fatalf("-phases: %q is not one of %s", p, strings.Join(allPhases, ", "))
		}
		o.phases[p] = true
	}
	if o.binary == "" {
		log.Fatal("-clickrelay is required (scripts/bench.sh builds it)")
	}
	if o.repeat < 1 || o.repeat > 20 {
		log.Fatalf("-repeat %d: want 1 to 20", o.repeat)
	}
	if err := runAndReport(o, *cpuProfile); err != nil {
		log.Print(err)
		os.Exit(1) // a failed run must fail scripts/bench.sh
	}
}

// runAndReport runs the benchmark, with the runner's own CPU profile when
// asked, and prints and writes its report.
func runAndReport(o options, cpuProfile string) error {
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// An interrupt (Ctrl-C, or the SIGTERM scripts/bench.sh forwards)
	// cancels the run: wrk is killed with its context, and run's deferred
	// steps stop clickrelay, nginx and the receiver before the exit.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var rs runs
	for i := range o.repeat {
		if i > 0 {
			log.Printf("run %d of %d: emptying the engines", i+1, o.repeat)
			if err := wipe(ctx, o); err != nil {
				return err
			}
		}
		r, err := run(ctx, o)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted; clickrelay and nginx stopped: %w", err)
			}
			return err
		}
		rs = append(rs, r)
		if o.repeat > 1 {
			log.Printf("run %d of %d:\n%s", i+1, o.repeat, r.markdown())
		}
	}
	table := rs.markdown()
	fmt.Println(table)
	return rs.write(o.outDir, table)
}

// wipe empties the bench's own engines and the embedded broker's files
// between repeats, so that each run starts as the first did and its
// counts (Redis against ClickHouse against 302s answered) are its own.
func wipe(ctx context.Context, o options) error {
	st, err := openStores(o.redisPort, o.clickhousePort)
	if err != nil {
		return err
	}
	defer st.close()
	if err := st.redis.FlushDB(ctx).Err(); err != nil {
		return fmt.Errorf("emptying Redis: %w", err)
	}
	if err := st.ch.Exec(ctx, "DROP DATABASE IF EXISTS clickrelay"); err != nil {
		return fmt.Errorf("emptying ClickHouse: %w", err)
	}
	if err := os.RemoveAll(filepath.Join(o.dataDir, "kafka")); err != nil {
		return fmt.Errorf("emptying the broker's files: %w", err)
	}
	return nil
}

func run(ctx context.Context, o options) (*report, error) {
	r := &report{Started: time.Now().UTC(), Machine: describeMachine(), Threads: o.threads, Connections: o.connections, Duration: o.duration.String()}
	for _, p := range allPhases {
		if o.phases[p] {
			r.Phases = append(r.Phases, p)
		}
	}
	if err := os.MkdirAll(o.dataDir, 0o755); err != nil {
		return nil, err
	}
	step := func(format string, args ...any) { log.Printf(format, args...) }

	stopNginx, err := startNginx(filepath.Join(o.dataDir, "nginx"), o.nginxPort, 2)
	if err != nil {
		return nil, err
	}
	defer stopNginx()
	cr, err := startClickrelay(o.binary, o.dataDir, o.port, o.kafkaPort, o.redisPort, o.clickhousePort)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = cr.Stop()
		}
	}()
	rcv, err := startReceiver()
	if err != nil {
		return nil, err
	}
	defer rcv.stop()
	st, err := openStores(o.redisPort, o.clickhousePort)
	if err != nil {
		return nil, err
	}
	defer st.close()
	r.Stack = []stackProcess{{Name: "clickrelay", PID: cr.Cmd.Process.Pid}}
	for _, e := range []struct {
		name string
		port int
	}{{"redis", o.redisPort}, {"clickhouse", o.clickhousePort}} {
		pid, err := loadgen.PIDListeningOn(e.port)
		if err != nil {
			return nil, fmt.Errorf("finding %s's process for its CPU time: %w", e.name, err)
		}
		r.Stack = append(r.Stack, stackProcess{Name: e.name, PID: pid})
	}
	n, err := cr.setUp(o.offers, o.affiliates, rcv.url())
	if err != nil {
		return nil, fmt.Errorf("setting up offers and affiliates: %w", err)
	}
	script := filepath.Join(o.dataDir, "links.lua")
	if err := writeLinksLua(script, n.Offers, n.Affiliates); err != nil {
		return nil, err
	}
	nginx := fmt.Sprintf("http://127.0.0.1:%d", o.nginxPort)

	// Redis's memory before any click, for the growth per click kept.
	if r.RedisMemory.UsedBefore, err = loadgen.UsedMemory(ctx, st.redis); err != nil {
		return nil, err
	}

	step("warming up")
	for _, target := range []string{nginx, cr.Base} {
		if _, err := runWrk(ctx, target, script, o.threads, o.connections, 3*time.Second); err != nil {
			return nil, err
		}
	}

	// CPU per click: every process of the stack, from before the first
	// throughput run until the stack has caught up after the last (the
	// sink's inserts and ClickHouse's merges of those clicks included).
	cpuBefore, err := sampleShare(r.Stack)
	if err != nil {
		return nil, err
	}
	answeredBefore, err := cr.metric(`clickrelay_clicks_total{outcome="redirected"}`)
	if err != nil {
		return nil, err
	}

	// Throughput: the same wrk settings against both, in alternation.
	for i := range o.rounds * boolInt(o.phases["throughput"]) {
		step("round %d: nginx", i+1)
		w, err := runWrk(ctx, nginx, script, o.threads, o.connections, o.duration)
		if err != nil {
			return nil, err
		}
		r.Nginx = append(r.Nginx, w)
		step("round %d: clickrelay", i+1)
		w, err = runWrk(ctx, cr.Base, script, o.threads, o.connections, o.duration)
		if err != nil {
			return nil, err
		}
		r.Clickrelay = append(r.Clickrelay, w)
	}
	r.NginxPerSecond, r.ClickrelayPerSecond = meanRate(r.Nginx), meanRate(r.Clickrelay)
	r.Ratio = r.ClickrelayPerSecond / max(r.NginxPerSecond, 1)

	// Latency is measured in a steady state, not while the stack recovers
	// from the maximum load: the sink caught up and ClickHouse done merging.
	step("waiting for the stack to settle (at most %s)", settleLimit)
	if r.Settled, err = settle(ctx, cr, st); err != nil {
		return nil, err
	}
	if o.phases["throughput"] {
		cpuAfter, err := sampleShare(r.Stack)
		if err != nil {
			return nil, err
		}
		answeredAfter, err := cr.metric(`clickrelay_clicks_total{outcome="redirected"}`)
		if err != nil {
			return nil, err
		}
		r.CPU = cpuCost(cpuBefore, cpuAfter, int64(answeredAfter-answeredBefore))
		step("measuring Redis memory per click")
		if r.RedisMemory, err = st.measureRedisMemory(ctx, r.RedisMemory, int64(answeredAfter), 2000); err != nil {
			return nil, err
		}
	}

	// Latency at half of clickrelay's maximum, from a fixed-rate generator.
	// Its clicks also feed the conversion phase.
	rate := o.rate
	if rate == 0 {
		rate = r.ClickrelayPerSecond / 2
	}
	addr, _ := url.Parse(cr.Base)
	var lat rateResult
	// The conversion phases convert this run's clicks, so it runs for them
	// too (at a rate that makes enough) when the latency phase does not.
	if o.phases["latency"] || o.phases["conversions"] || o.phases[phaseCold] {
		if !o.phases["latency"] || rate == 0 {
			rate = 2 * o.conversionRate // enough clicks to convert
		}
		step("latency at %.0f clicks/s", rate)
		fr := newFixedRate(addr.Host, rate, 64)
		keep := int(o.conversionRate*o.conversionDuration.Seconds()) + o.coldCount + 1000
		var err error
		r.ClickLatencyCPU, err = shareDuring(r.Stack, func() {
			lat = fr.run(ctx, o.latencyDuration, loadgen.RealisticLink(n.Offers, n.Affiliates), keep)
		})
		if err != nil {
			return nil, err
		}
		r.LatencyRate = rate
		r.ClickLatency = lat.Latency.summary()
		r.FixedRate = lat
		// The peer at the same rate: how much of the tail is the machine's.
		if o.phases["latency"] {
			step("nginx latency at %.0f requests/s", rate)
			var peer rateResult
			r.NginxLatencyCPU, err = shareDuring(r.Stack, func() {
				peer = newFixedRate(fmt.Sprintf("127.0.0.1:%d", o.nginxPort), rate, 64).run(ctx, o.latencyDuration, loadgen.RealisticLink(n.Offers, n.Affiliates), 0)
			})
			if err != nil {
				return nil, err
			}
			r.NginxLatency = peer.Latency.summary()
		}
	}

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Conversions, at a fixed rate, on clicks of the latency run.
	if o.phases["conversions"] {
		convs := min(len(lat.ClickIDs), int(o.conversionRate*o.conversionDuration.Seconds()))
		step("%d conversions at %.0f/s", convs, o.conversionRate)
		busy, backoff := cr.deferredDuring(func() {
			r.Conversions = driveConversions(ctx, addr.Host, n.AdvertiserKey, lat.ClickIDs[:convs], o.conversionRate, rcv, nil)
		})
		r.Conversions.DeferredBusy, r.Conversions.DeferredBackoff = busy, backoff
	}

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Conversions on clicks past the hot window, under a click load: the
	// clicks of the latency run the conversion phase left.
	var coldIDs []string
	if o.phases[phaseCold] {
		from := min(len(lat.ClickIDs), int(o.conversionRate*o.conversionDuration.Seconds()))
		coldIDs = lat.ClickIDs[from:min(len(lat.ClickIDs), from+o.coldCount)]
		loadRate := max(rate/2, 1000)
		step("%d conversions at %.0f/s on clicks evicted from Redis, %.0f clicks/s meanwhile", len(coldIDs), o.coldRate, loadRate)
		if r.Cold, err = runCold(ctx, cr, st, addr.Host, n.AdvertiserKey, coldIDs, o.coldRate, loadRate, loadgen.RealisticLink(n.Offers, n.Affiliates), rcv); err != nil {
			return nil, fmt.Errorf("the cold-conversion phase: %w", err)
		}
	}

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Postbacks to a healthy receiver while another affiliate's hangs.
	if o.phases[phaseSlowReceiver] {
		step("%.0f conversions/s for %s, one receiver hanging", o.conversionRate, o.conversionDuration)
		if r.SlowReceiver, err = runSlowReceiver(ctx, cr, n, rcv, o); err != nil {
			return nil, fmt.Errorf("the slow-receiver phase: %w", err)
		}
	}

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Stats freshness: a click with a sub1 of its own, until /v1/stats shows it.
	if o.phases["freshness"] {
		step("stats freshness")
		if r.Freshness, err = measureFreshness(cr, n, 5); err != nil {
			return nil, err
		}
	}

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The business rules' cost: the same links on ruled offers, with a
	// full catalog of caps and affiliates' records.
	if o.phases[phaseRules] {
		if rate == 0 {
			rate = 2 * o.conversionRate
		}
		step("business rules: %d capped offers and %d affiliates' records, plain and ruled links in alternation", rulesOffers, rulesRecords)
		if r.Rules, err = runRules(ctx, cr, st, n, rcv, script, rate, o); err != nil {
			return nil, fmt.Errorf("the rules phase: %w", err)
		}
	}

	// Accounting: every 302 answered is a click stored; every conversion
	// acknowledged is a conversion stored. The graceful stop flushes every
	// buffer (the embedded broker drains into ClickHouse) first.
	answered, err := cr.metric(`clickrelay_clicks_total{outcome="redirected"}`)
	if err != nil {
		return nil, err
	}
	// Whether the click path ever waited for the writers behind it.
	full, _ := cr.metric("clickrelay_click_queue_full_total")
	shipFull, _ := cr.metric("clickrelay_click_ship_queue_full_total")
	r.Backpressure = backpressure{ClickQueueFull: int64(full), ShipQueueFull: int64(shipFull)}
	step("stopping clickrelay (SIGTERM) and counting")
	stopped = true
	if err := cr.Stop(); err != nil {
		return nil, fmt.Errorf("clickrelay's shutdown: %w", err)
	}
	r.Accounting.Answered = int64(answered)
	for _, w := range slices.Concat(r.Clickrelay, r.Rules.Plain, r.Rules.Ruled) {
		r.Accounting.SeenByWrk += w.Requests - w.NotRedir
	}
	r.Accounting.SeenByGenerator = lat.Redirected + r.Cold.LoadRedirected + r.Rules.Redirected
	if r.Accounting.InRedis, err = st.redisClicks(ctx); err != nil {
		return nil, err
	}
	// An evicted click the cold lookup cached back is in Redis again: it
	// counts once, as in Redis.
	back, err := st.stillInRedis(ctx, coldIDs)
	if err != nil {
		return nil, err
	}
	r.Accounting.Evicted = r.Cold.Evicted - back
	// The clicks sent to their offer: a turned-away one (a visitor the
	// targeted offer's rules do not take) is stored for the stats too.
	if r.Accounting.InClickHouse, err = st.count(ctx, "SELECT count() FROM clickrelay.clicks FINAL WHERE outcome = ''"); err != nil {
		return nil, err
	}
	r.Accounting.ConversionsAcknowledged = r.Conversions.Acknowledged + r.Cold.Conversions.Acknowledged + r.SlowReceiver.Conversions.Acknowledged +
		r.Rules.PlainConvs.Acknowledged + r.Rules.RuledConvs.Acknowledged + r.Rules.PlainConvsAgain.Acknowledged
	if r.Accounting.ConversionsStored, err = st.count(ctx, "SELECT count() FROM clickrelay.conversions FINAL"); err != nil {
		return nil, err
	}
	if r.ClickHouseBytes, err = st.measureClickhouseBytes(ctx, r.Accounting.InClickHouse); err != nil {
		return nil, err
	}
	r.Finished = time.Now().UTC()
	return r, nil
}

// measureFreshness times clicks from their 302 to their row in
// GET /v1/stats, samples times.
func measureFreshness(cr *clickrelay, n network, samples int) (summary, error) {
	var l latencies
	auth := map[string]string{"Authorization": "Bearer " + n.AffiliateKeys[0]}
	for i := range samples {
		sub := fmt.Sprintf("fresh-%d-%d", time.Now().UnixNano(), i)
		start := time.Now()
		if err := cr.clickOnce(fmt.Sprintf("/click/%s?aff_id=%s&sub1=%s", n.Offers[0], n.Affiliates[0], sub)); err != nil {
			return summary{}, err
		}
		day := time.Now().UTC().Format("2006-01-02")
		for {
			var stats struct {
				Data []struct {
					Sub1   string `json:"sub1"`
					Clicks int    `json:"clicks"`
				} `json:"data"`
			}
			if err := cr.api("GET", "/v1/stats?date_from="+day+"&date_to="+day+"&group_by=sub1", auth, nil, &stats); err != nil {
				return summary{}, err
			}
			found := false
			for _, row := range stats.Data {
				found = found || row.Sub1 == sub && row.Clicks == 1
			}
			if found {
				l = append(l, time.Since(start))
				break
			}
			if time.Since(start) > 90*time.Second {
				return summary{}, fmt.Errorf("a click did not reach /v1/stats within 90 s")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return l.summary(), nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func meanRate(runs []wrkResult) float64 {
	var sum float64
	for _, w := range runs {
		sum += w.PerSecond
	}
	return sum / float64(max(len(runs), 1))
}
