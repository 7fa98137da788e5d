// Command hotwindow measures what a click costs Redis, and how fast a
// conversion on a click past its hot window (no longer in Redis: read from
// ClickHouse) is answered while clicks keep flowing into ClickHouse.
//
// It drives a running `clickrelay all` (its own Redis and ClickHouse: it
// reads Redis's used_memory, so nothing else may write there) and prints a
// markdown table:
//
//	go run ./bench/hotwindow -base http://127.0.0.1:18080 -admin-key ... \
//	    -redis 127.0.0.1:36411 -clickhouse 127.0.0.1:39411
//
// Redis memory per click is used_memory's growth over the clicks sent,
// split between the click keys and the unique-visitor keys in proportion
// to their MEMORY USAGE; byte-days weigh each by how long it lives (its
// TTL). The cold path: clicks are sent, waited for in ClickHouse, their
// Redis keys deleted (as their hot window's end would), then converted at a
// fixed rate while a click load keeps the sink inserting, and each
// conversion is timed from when it was due (open loop).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	goredis "github.com/redis/go-redis/v9"

	"github.com/clickrelay/clickrelay/internal/loadgen"
)

type options struct {
	base, adminKey, prefix  string
	redisAddr, chAddr, db   string
	clicks, conns           int
	cold                    int
	convRate, loadRate      float64
	skipMemory, skipColdRun bool
	pids                    string
}

func main() {
	var o options
	flag.StringVar(&o.base, "base", "http://127.0.0.1:18080", "clickrelay's HTTP base URL")
	flag.StringVar(&o.adminKey, "admin-key", "", "clickrelay's admin key")
	flag.StringVar(&o.prefix, "prefix", "cr:", "clickrelay's Redis key prefix")
	flag.StringVar(&o.redisAddr, "redis", "127.0.0.1:36411", "clickrelay's Redis (its own: used_memory is read)")
	flag.StringVar(&o.chAddr, "clickhouse", "127.0.0.1:39411", "clickrelay's ClickHouse (native port)")
	flag.StringVar(&o.db, "db", "clickrelay", "clickrelay's ClickHouse database")
	flag.IntVar(&o.clicks, "clicks", 100_000, "clicks sent to measure Redis memory")
	flag.IntVar(&o.conns, "conns", 8, "connections the clicks are sent on")
	flag.IntVar(&o.cold, "cold", 1500, "clicks converted past their hot window")
	flag.Float64Var(&o.convRate, "conversion-rate", 100, "conversions per second on cold clicks")
	flag.Float64Var(&o.loadRate, "click-rate", 5000, "clicks per second sent meanwhile, so the sink keeps inserting")
	flag.BoolVar(&o.skipMemory, "no-memory", false, "skip the memory phase")
	flag.BoolVar(&o.skipColdRun, "no-cold", false, "skip the cold-path phase")
	flag.StringVar(&o.pids, "pids", "", "name=pid,... of processes whose CPU time each conversion run reports (e.g. clickhouse=123)")
	flag.Parse()
	if o.adminKey == "" {
		log.Fatal("-admin-key is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, o options) error {
	rdb := goredis.NewClient(&goredis.Options{Addr: o.redisAddr})
	defer rdb.Close()
	ch, err := chgo.Open(&chgo.Options{Addr: []string{o.chAddr}})
	if err != nil {
		return err
	}
	defer ch.Close()
	// Postbacks go to a receiver that answers 200 at once: the postback
	// worker shares the machine, and retries would load it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	receiver := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("OK")) })}
	go receiver.Serve(ln)
	defer receiver.Close()
	n, err := loadgen.SetUp(o.base, o.adminKey, 8, 4, "http://"+ln.Addr().String())
	if err != nil {
		return fmt.Errorf("setting up offers: %w", err)
	}
	u, err := url.Parse(o.base)
	if err != nil {
		return err
	}
	link := loadgen.RealisticLink(n.Offers, n.Affiliates)
	var seq atomic.Int64
	seq.Store(time.Now().UnixNano() % 1e9) // links differ from a previous run's
	fmt.Println("| measure | result |\n|---|---|")
	if !o.skipMemory {
		if err := measureMemory(ctx, o, rdb, u.Host, link, &seq); err != nil {
			return err
		}
	}
	if !o.skipColdRun {
		if err := measureCold(ctx, o, rdb, ch, u.Host, n.AdvertiserKey, link, &seq); err != nil {
			return err
		}
	}
	return nil
}

// sendClicks sends count clicks on conns connections as fast as they are
// answered, and returns their click IDs.
func sendClicks(ctx context.Context, addr string, conns, count int, link loadgen.Link, seq *atomic.Int64) ([]string, error) {
	ids := make([]string, count)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := loadgen.NewConn(addr)
			defer c.Close()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(count) {
					return
				}
				path, agent, ip := link(seq.Add(1))
				status, location, err := c.Get(path, agent, ip)
				if err == nil && status != 302 {
					err = fmt.Errorf("click: %d", status)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				ids[i] = loadgen.ClickID(location)
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return ids, firstErr
}

// keyKind is what a sample of one kind of key measures.
type keyKind struct {
	name       string
	count      int64
	meanBytes  float64 // MEMORY USAGE
	meanTTLDay float64
}

func sampleKeys(ctx context.Context, rdb *goredis.Client, match string, samples int) (keyKind, error) {
	k := keyKind{name: match}
	var bytesSum, ttlSum float64
	var sampled int
	iter := rdb.Scan(ctx, 0, match, 10_000).Iterator()
	for iter.Next(ctx) {
		k.count++
		if sampled < samples && k.count%7 == 0 {
			key := iter.Val()
			mu, err := rdb.MemoryUsage(ctx, key, 0).Result()
			if err != nil {
				return k, err
			}
			ttl, err := rdb.PTTL(ctx, key).Result()
			if err != nil {
				return k, err
			}
			bytesSum += float64(mu)
			ttlSum += ttl.Hours() / 24
			sampled++
		}
	}
	if err := iter.Err(); err != nil {
		return k, err
	}
	if sampled > 0 {
		k.meanBytes, k.meanTTLDay = bytesSum/float64(sampled), ttlSum/float64(sampled)
	}
	return k, nil
}

func measureMemory(ctx context.Context, o options, rdb *goredis.Client, addr string, link loadgen.Link, seq *atomic.Int64) error {
	before, err := loadgen.UsedMemory(ctx, rdb)
	if err != nil {
		return err
	}
	keysBefore, err := rdb.DBSize(ctx).Result()
	if err != nil {
		return err
	}
	cpuBefore := cpuTimes(o.pids)
	start := time.Now()
	if _, err := sendClicks(ctx, addr, o.conns, o.clicks, link, seq); err != nil {
		return err
	}
	sent := time.Since(start)
	// The clicks are written behind their 302s: wait for the key count to
	// stop growing (at most 30 s).
	last := int64(-1)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		n, err := rdb.DBSize(ctx).Result()
		if err != nil {
			return err
		}
		if n == last {
			break
		}
		last = n
		time.Sleep(300 * time.Millisecond)
	}
	cpuAfter := cpuTimes(o.pids)
	after, err := loadgen.UsedMemory(ctx, rdb)
	if err != nil {
		return err
	}
	clicks, err := sampleKeys(ctx, rdb, o.prefix+"click:*", 500)
	if err != nil {
		return err
	}
	uniq, err := sampleKeys(ctx, rdb, o.prefix+"uniq:*", 500)
	if err != nil {
		return err
	}
	growth := float64(after-before) / float64(o.clicks)
	// used_memory counts what MEMORY USAGE does not (the key space's hash
	// tables): spread it over the two kinds in proportion.
	clickShare := float64(clicks.count) * clicks.meanBytes
	uniqShare := float64(uniq.count) * uniq.meanBytes
	scale := float64(after-before) / (clickShare + uniqShare)
	perClick := clickShare * scale / float64(o.clicks)
	perUniq := uniqShare * scale / float64(o.clicks)
	byteDays := perClick*clicks.meanTTLDay + perUniq*uniq.meanTTLDay
	fmt.Printf("| clicks sent | %d in %.1f s; %d keys added (%d click, %d unique-visitor) |\n",
		o.clicks, sent.Seconds(), last-keysBefore, clicks.count, uniq.count)
	fmt.Printf("| Redis used_memory growth per click | %.0f bytes |\n", growth)
	fmt.Printf("| click key, MEMORY USAGE / TTL | %.0f bytes / %.2f days |\n", clicks.meanBytes, clicks.meanTTLDay)
	fmt.Printf("| unique-visitor key, MEMORY USAGE / TTL | %.0f bytes / %.2f days |\n", uniq.meanBytes, uniq.meanTTLDay)
	fmt.Printf("| Redis held per click | **%.0f byte-days** (%.0f B × %.2f d + %.0f B × %.2f d) |\n",
		byteDays, perClick, clicks.meanTTLDay, perUniq, uniq.meanTTLDay)
	fmt.Printf("| at 30 M clicks a day | %.1f GB of Redis |\n", byteDays*30e6/1e9)
	if len(cpuAfter) > 0 {
		var parts []string
		for _, a := range cpuAfter {
			for _, b := range cpuBefore {
				if a.name == b.name {
					parts = append(parts, fmt.Sprintf("%s %.1f µs", a.name, (a.seconds-b.seconds)*1e6/float64(o.clicks)))
				}
			}
		}
		fmt.Printf("| CPU per click while sending them (the sink's inserts may trail) | %s |\n", strings.Join(parts, ", "))
	}
	return nil
}

func measureCold(ctx context.Context, o options, rdb *goredis.Client, ch driver.Conn, addr, advertiserKey string, link loadgen.Link, seq *atomic.Int64) error {
	cold, err := sendClicks(ctx, addr, o.conns, o.cold, link, seq)
	if err != nil {
		return err
	}
	// A conversion on a click minted less than FreshClickWait (2 s) ago
	// that Redis lacks waits for it there first: a click past its hot
	// window is hours old, so these must be older than that too.
	oldEnough := time.Now().Add(3 * time.Second)
	// Past their hot window: in ClickHouse, gone from Redis. Click IDs are
	// base32 characters only, so they are quoted as they are (18.16 takes
	// no array for an IN list).
	quoted := make([]string, len(cold))
	for i, id := range cold {
		if strings.ContainsAny(id, `'\`) {
			return fmt.Errorf("unexpected click ID %q", id)
		}
		quoted[i] = "'" + id + "'"
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		var stored uint64
		err := ch.QueryRow(ctx, "SELECT count() FROM "+o.db+".clicks WHERE click_id IN ("+strings.Join(quoted, ",")+")").Scan(&stored)
		if err != nil {
			return err
		}
		if int(stored) >= len(cold) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d clicks in ClickHouse after 60 s", stored, len(cold))
		}
		time.Sleep(250 * time.Millisecond)
	}
	for chunk := range slices.Chunk(cold, 1000) {
		keys := make([]string, len(chunk))
		for i, id := range chunk {
			keys[i] = o.prefix + "click:" + id
		}
		if err := rdb.Del(ctx, keys...).Err(); err != nil {
			return err
		}
	}
	time.Sleep(time.Until(oldEnough))
	// Clicks still in Redis, converted the same way, for comparison.
	fresh, err := sendClicks(ctx, addr, o.conns, o.cold, link, seq)
	if err != nil {
		return err
	}

	for _, c := range []struct {
		name string
		ids  []string
	}{{"on clicks past the hot window (ClickHouse)", cold}, {"on clicks in Redis", fresh}} {
		lookupsBefore, err := buckets(o.base, "clickrelay_conversion_click_clickhouse_seconds")
		if err != nil {
			return err
		}
		cpuBefore := cpuTimes(o.pids)
		loadCtx, stopLoad := context.WithCancel(ctx)
		var loaded atomic.Int64
		var lw sync.WaitGroup
		lw.Add(1)
		go func() { defer lw.Done(); clickLoad(loadCtx, addr, o.loadRate, link, seq, &loaded) }()
		runStart := time.Now()
		lat, failed := convert(ctx, o.base, advertiserKey, c.ids, o.convRate)
		took := time.Since(runStart)
		stopLoad()
		lw.Wait()
		slices.Sort(lat)
		fmt.Printf("| conversion %s, %d at %.0f/s with %d clicks/s flowing, p50 / p99 / max | %s / **%s** / %s ms (%d failed) |\n",
			c.name, len(c.ids), o.convRate, int(o.loadRate), msOf(pct(lat, 0.5)), msOf(pct(lat, 0.99)), msOf(pct(lat, 1)), failed)
		if cpu := cpuTimes(o.pids); len(cpu) > 0 {
			var parts []string
			for _, p := range cpu {
				for _, b := range cpuBefore {
					if b.name == p.name {
						parts = append(parts, fmt.Sprintf("%s %.0f%% of a core", p.name, 100*(p.seconds-b.seconds)/took.Seconds()))
					}
				}
			}
			fmt.Printf("| CPU meanwhile (%d clicks/s and %.0f conversions/s) | %s |\n", int(o.loadRate), o.convRate, strings.Join(parts, ", "))
		}
		lookupsAfter, err := buckets(o.base, "clickrelay_conversion_click_clickhouse_seconds")
		if err != nil {
			return err
		}
		if n, p50, p99 := bucketQuantiles(lookupsBefore, lookupsAfter); n > 0 {
			fmt.Printf("| of which the ClickHouse read (%.0f reads), p50 / p99 at most | %s / %s ms |\n", n, p50, p99)
		}
	}
	return nil
}

// clickLoad sends clicks at rate until ctx ends, on 4 connections.
func clickLoad(ctx context.Context, addr string, rate float64, link loadgen.Link, seq *atomic.Int64, sent *atomic.Int64) {
	const conns = 4
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := loadgen.NewConn(addr)
			defer c.Close()
			interval := time.Duration(float64(time.Second) * conns / rate)
			next := time.Now().Add(time.Duration(w) * interval / conns)
			for ctx.Err() == nil {
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				next = next.Add(interval)
				path, agent, ip := link(seq.Add(1))
				if _, _, err := c.Get(path, agent, ip); err == nil {
					sent.Add(1)
				}
			}
		}()
	}
	wg.Wait()
}

// convert posts one conversion per click at rate (open loop: each is timed
// from when it was due) and returns the latencies of those answered 200.
func convert(ctx context.Context, base, key string, ids []string, rate float64) ([]time.Duration, int) {
	const workers = 64
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	start := time.Now().Add(50 * time.Millisecond)
	var mu sync.Mutex
	var lat []time.Duration
	var failed int
	var next atomic.Int64
	var wg sync.WaitGroup
	txBase := strconv.FormatInt(time.Now().UnixNano(), 36)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(len(ids)) {
					return
				}
				due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
				body := fmt.Sprintf(`{"click_id":%q,"txid":"hw-%s-%d","amount":"10"}`, ids[i], txBase, i)
				req, _ := http.NewRequest("POST", base+"/api/v1/conversions", bytes.NewReader([]byte(body)))
				req.Header.Set("X-API-Key", key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				ok := err == nil && resp.StatusCode == 200
				if err == nil {
					raw, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					ok = ok && bytes.Contains(raw, []byte(`"tracked":true`))
				}
				took := time.Since(due)
				mu.Lock()
				if ok {
					lat = append(lat, took)
				} else {
					failed++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return lat, failed
}

func pct(s []time.Duration, p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	i := int(p*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func msOf(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) }

// bucket is one cumulative histogram bucket from /metrics.
type bucket struct {
	le    string
	count float64
}

// buckets reads histogram name's cumulative buckets from /metrics.
func buckets(base, name string) ([]bucket, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var out []bucket
	for _, line := range strings.Split(string(body), "\n") {
		rest, ok := strings.CutPrefix(line, name+`_bucket{le="`)
		if !ok {
			continue
		}
		le, value, ok := strings.Cut(rest, `"} `)
		if !ok {
			continue
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, err
		}
		out = append(out, bucket{le, n})
	}
	return out, nil
}

// bucketQuantiles returns how many observations fell between two reads of
// a histogram, and the upper bounds (in ms) of the buckets holding their
// median and 99th percentile.
func bucketQuantiles(before, after []bucket) (n float64, p50, p99 string) {
	if len(after) == 0 {
		return 0, "", ""
	}
	delta := make([]float64, len(after))
	for i, b := range after {
		delta[i] = b.count
		if i < len(before) {
			delta[i] -= before[i].count
		}
	}
	n = delta[len(delta)-1]
	bound := func(q float64) string {
		for i, d := range delta {
			if d >= q*n {
				if after[i].le == "+Inf" {
					return "+Inf"
				}
				s, _ := strconv.ParseFloat(after[i].le, 64)
				return strconv.FormatFloat(s*1000, 'f', -1, 64)
			}
		}
		return "?"
	}
	return n, bound(0.5), bound(0.99)
}

type cpuTime struct {
	name    string
	seconds float64
}

// cpuTimes reads the user and system CPU time of each name=pid in list,
// from /proc (Linux).
func cpuTimes(list string) []cpuTime {
	var out []cpuTime
	for _, item := range strings.Split(list, ",") {
		name, pid, ok := strings.Cut(item, "=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(pid))
		if err != nil {
			continue
		}
		cpu, err := loadgen.ProcessCPU(n)
		if err != nil {
			continue
		}
		out = append(out, cpuTime{name, cpu.Seconds()})
	}
	return out
}
