package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/clickrelay/clickrelay/internal/loadgen"
)

const adminKey = "faults-admin-key-0123456789abcdef"

// topology is which clickrelay processes a scenario runs: one `all` (its
// embedded broker is the one broker), plus serve and work processes
// pointing at that broker.
type topology struct {
	serves, works int
	// traffic on the extra serve processes only (the `all` serves no one)
	extraOnly bool
}

type scenario struct {
	name, description string
	topology          topology
	load              time.Duration // 0: options.load
	// inject runs the fault, starting a few seconds into the load, and
	// returns when the fault is over (the engine or process is back).
	inject func(ctx context.Context, s *stage) error
}

func scenarios() []scenario {
	return []scenario{
		{name: "redis-kill", description: "Redis killed (SIGKILL), restarted with its AOF after 5 s", inject: func(ctx context.Context, s *stage) error {
			if err := s.eng.signal("redis", syscall.SIGKILL); err != nil {
				return err
			}
			s.sleep(ctx, 5*time.Second)
			return s.eng.start(ctx)
		}},
		{name: "redis-freeze", description: "Redis frozen (SIGSTOP) for 10 s, then SIGCONT", inject: func(ctx context.Context, s *stage) error {
			if err := s.eng.signal("redis", syscall.SIGSTOP); err != nil {
				return err
			}
			s.sleep(ctx, 10*time.Second)
			return s.eng.signal("redis", syscall.SIGCONT)
		}},
		{name: "clickhouse-down", description: "ClickHouse stopped for 30 s, then restarted", load: 45 * time.Second, inject: func(ctx context.Context, s *stage) error {
			start := time.Now()
			if err := s.eng.stop("clickhouse"); err != nil {
				return err
			}
			s.sleep(ctx, 30*time.Second-time.Since(start))
			return s.eng.start(ctx)
		}},
		{name: "work-kill", description: "the `work` process killed (SIGKILL) and restarted after 5 s while `serve` takes the traffic (all + serve + work on one broker)",
			topology: topology{serves: 1, works: 1, extraOnly: true}, inject: func(ctx context.Context, s *stage) error {
				w := s.procs["work-1"]
				w.kill()
				s.sleep(ctx, 5*time.Second)
				return w.start(s.o.binary)
			}},
		{name: "sigkill", description: "`clickrelay all` killed (SIGKILL) under load, restarted at once", inject: func(ctx context.Context, s *stage) error {
			p := s.procs["all"]
			p.kill()
			return p.start(s.o.binary)
		}},
		{name: "sigterm", description: "`clickrelay all` stopped (SIGTERM) under load, then started again", inject: func(ctx context.Context, s *stage) error {
			p := s.procs["all"]
			s.exitTime, s.hung = p.terminate(s.o.shutdownTimeout + 20*time.Second)
			s.exitCode = p.cmd.ProcessState.ExitCode()
			return p.start(s.o.binary)
		}},
		{name: "sigterm-redis-down", description: "Redis killed, then `clickrelay all` stopped (SIGTERM) under load; both started again", inject: func(ctx context.Context, s *stage) error {
			if err := s.eng.signal("redis", syscall.SIGKILL); err != nil {
				return err
			}
			s.sleep(ctx, 2*time.Second)
			p := s.procs["all"]
			s.exitTime, s.hung = p.terminate(s.o.shutdownTimeout + 20*time.Second)
			s.exitCode = p.cmd.ProcessState.ExitCode()
			if err := s.eng.start(ctx); err != nil {
				return err
			}
			return p.start(s.o.binary)
		}},
		{name: "two-of-each", description: "two serve and two work processes (plus the broker's `all`) on one broker; one work killed mid-run and not restarted",
			topology: topology{serves: 2, works: 2, extraOnly: true}, inject: func(ctx context.Context, s *stage) error {
				s.procs["work-2"].kill()
				return nil
			}},
	}
}

func scenarioNames() []string {
	var names []string
	for _, s := range scenarios() {
		names = append(names, s.name)
	}
	return names
}

func scenarioByName(name string) scenario {
	for _, s := range scenarios() {
		if s.name == name {
			return s
		}
	}
	panic("unknown scenario " + name)
}

// stage is one scenario's run: its processes and what the fault noted.
type stage struct {
	o        options
	eng      *engines
	procs    map[string]*proc
	order    []string
	exitTime time.Duration
	exitCode int
	hung     bool
	tag      string // names the Redis prefix and ClickHouse database
}

// sleep waits d or until the suite is interrupted.
func (s *stage) sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// launch starts the scenario's processes, each with a fresh Redis prefix,
// ClickHouse database and broker, so that every count is the scenario's.
func (s *stage) launch(name string, top topology) error {
	tag := strings.ReplaceAll(name, "-", "_") + "_" + time.Now().UTC().Format("150405")
	dir := filepath.Join(absData(s.o), "runs", name+"-"+time.Now().UTC().Format("150405"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	brokerPort, err := freePort()
	if err != nil {
		return err
	}
	common := []string{
		"CLICKRELAY_ADMIN_KEY=" + adminKey,
		fmt.Sprintf("CLICKRELAY_REDIS_URL=redis://127.0.0.1:%d/0", s.o.redisPort),
		"CLICKRELAY_REDIS_PREFIX=flt:" + tag + ":",
		fmt.Sprintf("CLICKRELAY_CLICKHOUSE_DSN=clickhouse://127.0.0.1:%d/flt_%s", s.o.clickhousePort, tag),
		"CLICKRELAY_POSTBACK_ALLOW_PRIVATE=1", // the receiver is on loopback
		"CLICKRELAY_LOG_LEVEL=info",
		"CLICKRELAY_SHUTDOWN_TIMEOUT=" + s.o.shutdownTimeout.String(),
		"CLICKRELAY_KAFKA_PARTITIONS=4",
		"CLICKRELAY_SINK_FLUSH_INTERVAL=250ms",
		"CLICKRELAY_SINK_CLICK_FLUSH_INTERVAL=250ms",
		// One advertiser key sends every conversion: limits stay on, out of reach.
		"CLICKRELAY_RATE_LIMITS=advertiser_conversions=100000000/min,affiliate_burst=100000000/min,affiliate_standard=100000000/h,affiliate_premium=100000000/h",
	}
	s.procs = map[string]*proc{}
	add := func(name, role string, serving bool, env ...string) error {
		port, err := freePort()
		if err != nil {
			return err
		}
		env = append(append(append([]string(nil), common...), env...), fmt.Sprintf("CLICKRELAY_ADDR=127.0.0.1:%d", port))
		base := ""
		if serving {
			base = fmt.Sprintf("http://127.0.0.1:%d", port)
		}
		p, err := startProc(s.o.binary, name, role, filepath.Join(dir, name+".log"), base, env)
		if err != nil {
			return err
		}
		s.procs[name] = p
		s.order = append(s.order, name)
		return nil
	}
	if err := add("all", "all", true, "CLICKRELAY_KAFKA_BROKERS=embedded",
		fmt.Sprintf("CLICKRELAY_KAFKA_EMBEDDED_PORT=%d", brokerPort),
		"CLICKRELAY_KAFKA_EMBEDDED_DIR="+filepath.Join(dir, "kafka")); err != nil {
		return err
	}
	broker := fmt.Sprintf("CLICKRELAY_KAFKA_BROKERS=127.0.0.1:%d", brokerPort)
	for i := range top.serves {
		if err := add(fmt.Sprintf("serve-%d", i+1), "serve", true, broker); err != nil {
			return err
		}
	}
	for i := range top.works {
		if err := add(fmt.Sprintf("work-%d", i+1), "work", false, broker); err != nil {
			return err
		}
	}
	s.tag = tag
	return nil
}

// targets are the serving processes that take the traffic.
func (s *stage) targets(top topology) []*proc {
	var out []*proc
	for _, n := range s.order {
		p := s.procs[n]
		if p.base == "" || (top.extraOnly && n == "all") {
			continue
		}
		out = append(out, p)
	}
	return out
}

func runScenario(ctx context.Context, o options, eng *engines, sc scenario) (res result) {
	res = result{Scenario: sc.name, Description: sc.description}
	start := time.Now()
	defer func() { res.Took = time.Since(start).Round(time.Second).String() }()
	fail := func(format string, args ...any) result {
		res.Errors = append(res.Errors, fmt.Sprintf(format, args...))
		return res
	}
	s := &stage{o: o, eng: eng}
	if err := s.launch(sc.name, sc.topology); err != nil {
		return fail("starting the processes: %v", err)
	}
	res.Processes = s.order
	rcv, err := startReceiver()
	if err != nil {
		return fail("receiver: %v", err)
	}
	defer rcv.stop()
	n, err := loadgen.SetUp(s.procs["all"].base, adminKey, 4, 2, rcv.url())
	if err != nil {
		return fail("setting up the network: %v", err)
	}
	targets := s.targets(sc.topology)
	var hosts, bases []string
	for _, p := range targets {
		hosts = append(hosts, strings.TrimPrefix(p.base, "http://"))
		bases = append(bases, p.base)
	}
	// Every serving process knows the new offers before the load starts
	// (the catalog reaches the others through pub/sub).
	link := loadgen.RealisticLink(n.Offers, n.Affiliates)
	for _, h := range hosts {
		if err := waitRedirect(ctx, h, link); err != nil {
			return fail("%v", err)
		}
	}

	load := sc.load
	if load == 0 {
		load = o.load
	}
	gen := newClickGen(hosts, o.clickRate, o.conns, link)
	conv := newConvDriver(bases, n.AdvertiserKey)
	loadStart := time.Now()
	gen.start(ctx, load)
	convDeadline := func() time.Time { return loadStart.Add(load + 45*time.Second) }
	stopPace := make(chan struct{})
	paced := make(chan struct{})
	go func() {
		defer close(paced)
		// Conversions on clicks 1 s old: fresh, as short funnels send them.
		conv.pace(ctx, gen, o.conversionRate, time.Second, convDeadline, stopPace)
	}()

	// The fault, 5 s into the load.
	s.sleep(ctx, 5*time.Second)
	faultStart := time.Now()
	if err := sc.inject(ctx, s); err != nil {
		res.Errors = append(res.Errors, "injecting the fault: "+err.Error())
	}
	faultEnd := time.Now()
	res.Fault = faultEnd.Sub(faultStart).Round(100 * time.Millisecond).String()
	if s.exitTime > 0 {
		res.Exit = s.exitTime.Round(10 * time.Millisecond).String()
		res.ExitCode = &s.exitCode
		res.Hung = s.hung
		res.ExitWithinBound = !s.hung && s.exitTime <= o.shutdownTimeout+time.Second
	}

	// The load runs its course; then conversions on clicks minted during
	// the fault (a 302 is a promise: they must convert now).
	s.sleep(ctx, time.Until(loadStart.Add(load)))
	gen.halt()
	close(stopPace)
	<-paced
	clicks := gen.clicks()
	var during []minted
	for _, c := range clicks {
		if !c.at.Before(faultStart) && !c.at.After(faultEnd) {
			during = append(during, c)
		}
	}
	res.ClicksDuringFault = int64(len(during))
	sample := pickSample(during, o.outageSample, conv)
	for i, c := range sample {
		conv.submit(fmt.Sprintf("out-%d-%s", i, c.id[:min(len(c.id), 12)]), c.id, true, time.Now().Add(30*time.Second))
	}
	conv.wait()
	res.ClicksSent, res.ClicksAnswered, res.ClicksFailed = gen.sent.Load(), int64(len(clicks)), gen.failed.Load()

	// Catch up: every promise where it belongs, or the deadline.
	acc, err := openAccounts(o, s.tag)
	if err != nil {
		return fail("opening the stores: %v", err)
	}
	defer acc.close()
	convs := conv.results()
	caught, err := acc.waitCaughtUp(ctx, clicks, convs, rcv, 90*time.Second)
	res.Recover = caught.Sub(faultEnd).Round(100 * time.Millisecond).String()
	if err != nil {
		// Not an error of the suite: what never arrives is counted below.
		res.Recover = "not in " + res.Recover
		res.CatchUp = err.Error()
	}

	// What the processes counted as lost, before they stop.
	var lostMetric float64
	for _, name := range s.order {
		if v, err := s.procs[name].metric("clickrelay_clicks_lost_total"); err == nil {
			lostMetric += v
		}
	}
	res.ClicksLostMetric = int64(lostMetric)

	if err := acc.account(ctx, &res, clicks, convs, rcv.counts()); err != nil {
		res.Errors = append(res.Errors, "accounting: "+err.Error())
	}

	// A clean stop of everything; none may hang or panic.
	for i := len(s.order) - 1; i >= 0; i-- {
		p := s.procs[s.order[i]]
		if !p.running() {
			continue
		}
		took, hung := p.terminate(o.shutdownTimeout + 20*time.Second)
		if hung || took > o.shutdownTimeout+time.Second {
			res.Errors = append(res.Errors, fmt.Sprintf("final stop of %s took %s", p.name, took.Round(time.Millisecond)))
		}
	}
	for _, name := range s.order {
		panics, lost := logFacts(s.procs[name].logPath)
		res.Panics += panics
		res.ClicksLostLogged += lost
	}
	res.Logs = filepath.Dir(s.procs["all"].logPath)
	_ = acc.dropDatabase(ctx) // the counts are in the report; the data would fill the disk
	return res
}

// waitRedirect waits until host answers a tracking link with a 302.
func waitRedirect(ctx context.Context, host string, link loadgen.Link) error {
	c := loadgen.NewConn(host)
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for ctx.Err() == nil {
		path, agent, ip := link(0)
		if status, _, err := c.Get(path, agent, ip); err == nil && status == 302 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not redirect a tracking link within 30 s", host)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return ctx.Err()
}

// pickSample spreads up to n picks over the clicks minted during the
// fault that the paced conversions did not use.
func pickSample(during []minted, n int, conv *convDriver) []minted {
	conv.mu.Lock()
	var free []minted
	for _, c := range during {
		if !conv.used[c.id] {
			free = append(free, c)
		}
	}
	conv.mu.Unlock()
	if len(free) <= n {
		return free
	}
	out := make([]minted, 0, n)
	step := float64(len(free)) / float64(n)
	for i := range n {
		out = append(out, free[int(float64(i)*step)])
	}
	return out
}
