package main

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/loadgen"
)

func TestParseWrk(t *testing.T) {
	out := `Running 15s test @ http://127.0.0.1:18080
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.89ms    2.12ms  41.50ms   87.33%
    Req/Sec    17.12k     1.98k   22.01k    71.33%
  511234 requests in 15.01s, 101.78MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 12
Requests/sec:  34059.56
Transfer/sec:      6.78MB
`
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 511234 || r.Seconds != 15.01 || r.PerSecond != 34059.56 || r.NotRedir != 12 || r.SocketErrs != 3 || r.LatencyAvg != "1.89ms" {
		t.Fatalf("parsed %+v", r)
	}
	if _, err := parseWrk("wrk: connection refused"); err == nil {
		t.Fatal("parsed a failed run")
	}
}

func TestPercentiles(t *testing.T) {
	var l latencies
	for i := 1; i <= 1000; i++ {
		l = append(l, time.Duration(i)*time.Millisecond)
	}
	s := l.summary()
	if s.Count != 1000 || s.P50 != 500 || s.P99 != 990 || s.P999 != 999 || s.Max != 1000 {
		t.Fatalf("summary %+v", s)
	}
	if (latencies{}).summary().P99 != 0 {
		t.Fatal("an empty run has percentiles")
	}
}

func TestLinksLua(t *testing.T) {
	path := filepath.Join(t.TempDir(), "links.lua")
	if err := writeLinksLua(path, []string{"1", "2"}, []string{"7"}); err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile(path)
	for _, want := range []string{`local offers = { "1", "2",`, `local affiliates = { "7",`, "X-Forwarded-For", "sub5=pl"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("script lacks %q:\n%s", want, body)
		}
	}
}

// A fixed-rate run against a tiny server: every request is sent, timed and
// its click ID kept.
func TestFixedRate(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					for { // the request's lines, up to the blank one
						line, err := r.ReadString('\n')
						if err != nil {
							return
						}
						if line == "\r\n" {
							break
						}
					}
					conn.Write([]byte("HTTP/1.1 302 Found\r\nLocation: https://x.example/?cid=abc\r\nContent-Length: 0\r\n\r\n"))
				}
			}()
		}
	}()
	res := newFixedRate(ln.Addr().String(), 1000, 4).run(t.Context(), 500*time.Millisecond, loadgen.RealisticLink([]string{"1"}, []string{"2"}), 10)
	if res.Sent != 500 || res.Redirected != 500 || res.Failed != 0 || len(res.Latency) != 500 || len(res.ClickIDs) < 10 || res.ClickIDs[0] != "abc" {
		t.Fatalf("run %+v (%d latencies, %d IDs)", res, len(res.Latency), len(res.ClickIDs))
	}
}

func TestReportMarksPhasesNotRun(t *testing.T) {
	r := &report{Phases: []string{"latency"}, ClickLatency: summary{P99: 1.5}}
	table := r.markdown()
	for _, row := range strings.Split(table, "\n") {
		switch {
		case strings.HasPrefix(row, "| click latency"):
			if !strings.HasSuffix(row, "| yes |") {
				t.Errorf("measured bar not judged: %s", row)
			}
		case strings.HasPrefix(row, "| postback end to end"), strings.HasPrefix(row, "| ratio to nginx"), strings.HasPrefix(row, "| stats freshness"),
			strings.HasPrefix(row, "| postbacks to a healthy receiver"), strings.HasPrefix(row, "| conversion on a click past the hot window"),
			strings.HasPrefix(row, "| Redis memory"):
			if !strings.HasSuffix(row, "| not run |") {
				t.Errorf("unmeasured bar judged: %s", row)
			}
		}
	}
}

// The slow-receiver phase's row judges the healthy receiver's p99 and its
// missing postbacks.
func TestReportJudgesTheSlowReceiverPhase(t *testing.T) {
	for _, c := range []struct {
		p99     float64
		missing int64
		want    string
	}{{12, 0, "| yes |"}, {250, 0, "| **no** |"}, {12, 3, "| **no** |"}} {
		r := &report{Phases: []string{phaseSlowReceiver}, SlowReceiver: slowReceiverResult{Rate: 1000, Healthy: 5000,
			Conversions: conversionResult{Postback: summary{P99: c.p99}, Missing: c.missing}}}
		found := false
		for _, row := range strings.Split(r.markdown(), "\n") {
			if strings.HasPrefix(row, "| postbacks to a healthy receiver") {
				found = true
				if !strings.HasSuffix(row, c.want) {
					t.Errorf("p99 %v ms, %d missing: %s, want %s", c.p99, c.missing, row, c.want)
				}
			}
		}
		if !found {
			t.Fatal("no slow-receiver row in the report")
		}
	}
}

// The hanging receiver takes connections and requests and never answers,
// until stopped.
func TestHangingReceiverNeverAnswers(t *testing.T) {
	h, err := startHangingReceiver()
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 200 * time.Millisecond}
	_, err = client.Get(h.url() + "/pb?cid=x")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("GET to the hanging receiver: %v, want a timeout", err)
	}
	if h.accepted.Load() != 1 {
		t.Fatalf("accepted %d connections, want 1", h.accepted.Load())
	}
	h.stop()
}

func TestCPUCostSumsTheStack(t *testing.T) {
	at := time.Now()
	use := func(cpu time.Duration, faults int64) loadgen.ProcessUsage {
		return loadgen.ProcessUsage{CPU: cpu, PageFaults: faults}
	}
	before := shareSample{at: at, procs: usageSample{"clickrelay": use(time.Second, 1000), "redis": use(0, 0), "clickhouse": use(2*time.Second, 500)}}
	after := shareSample{at: at.Add(time.Minute), procs: usageSample{"clickrelay": use(3*time.Second, 6000), "redis": use(time.Second, 100), "clickhouse": use(3*time.Second, 150_500)}}
	c := cpuCost(before, after, 100_000)
	if c.TotalUS != 40 || c.PerProcessUS["clickrelay"] != 20 || c.PerProcessUS["redis"] != 10 || c.PerProcessUS["clickhouse"] != 10 {
		t.Fatalf("cost %+v, want 40 µs = 20 + 10 + 10", c)
	}
	if f := c.PageFaultsPerClick; f["clickrelay"] != 0.05 || f["redis"] != 0 || f["clickhouse"] != 1.5 {
		t.Fatalf("page faults per click %v, want 0.05, 0 (rounded) and 1.5", f)
	}
	if cpuCost(before, after, 0).TotalUS != 0 {
		t.Fatal("a run without clicks has a cost per click")
	}
}

// The busy share holds the stolen one: both are of the cores' time between
// the samples, and no time passed is no share rather than a division by 0.
func TestMachineShare(t *testing.T) {
	for _, c := range []struct {
		before, after loadgen.MachineTimes
		busy, steal   float64
	}{
		{loadgen.MachineTimes{Busy: 100, Steal: 10, Total: 1000}, loadgen.MachineTimes{Busy: 250, Steal: 30, Total: 1200}, 75, 10},
		{loadgen.MachineTimes{Busy: 5, Steal: 0, Total: 10}, loadgen.MachineTimes{Busy: 5, Steal: 0, Total: 10}, 0, 0},
	} {
		if busy, steal := machineShare(c.before, c.after); busy != c.busy || steal != c.steal {
			t.Errorf("machineShare(%+v, %+v) = %v, %v; want %v, %v", c.before, c.after, busy, steal, c.busy, c.steal)
		}
	}
}

func TestKeyFamily(t *testing.T) {
	for key, want := range map[string]string{"cr:click:abc:def": "cr:click", "cr:uniq:7:f00": "cr:uniq", "cr:apikeys": "cr:apikeys"} {
		if got := keyFamily(key); got != want {
			t.Errorf("keyFamily(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestSpreadOf(t *testing.T) {
	for _, c := range []struct {
		vals []float64
		want spread
	}{
		{[]float64{3, 1, 2}, spread{2, 1, 3}},
		{[]float64{4, 1, 3, 2}, spread{2.5, 1, 4}},
		{[]float64{7}, spread{7, 7, 7}},
		{nil, spread{}},
	} {
		if got := spreadOf(c.vals); got != c.want {
			t.Errorf("spreadOf(%v) = %+v, want %+v", c.vals, got, c.want)
		}
	}
}

// Repeats: each figure is the median with its spread, a bar is met only
// when every run met it, and the JSON has every numeric figure's spread.
func TestRepeatsReportMedianAndSpread(t *testing.T) {
	var rs runs
	for _, p99 := range []float64{1.2, 1.9, 2.4, 1.5, 1.1} {
		rs = append(rs, &report{Phases: []string{"latency"}, ClickLatency: summary{P99: p99}})
	}
	var row string
	for _, l := range strings.Split(rs.markdown(), "\n") {
		if strings.HasPrefix(l, "| click latency") {
			row = l
		}
	}
	// The p50 is 0 in every run: one value, no spread.
	if !strings.Contains(row, "| 0.00 / **1.50 (1.10‥2.40)** /") || !strings.HasSuffix(row, "| **no** (4 of 5) |") {
		t.Fatalf("click latency row: %s", row)
	}
	figures, err := rs.figures()
	if err != nil {
		t.Fatal(err)
	}
	if got := figures["click_latency.p99_ms"]; got != (spread{1.5, 1.1, 2.4}) {
		t.Fatalf("click_latency.p99_ms: %+v", got)
	}
	dir := t.TempDir()
	if err := rs.write(dir, rs.markdown()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "latest.json")); err != nil {
		t.Fatal(err)
	}
}

// The accounting holds when clicks evicted by the cold phase are counted
// with those in Redis.
func TestAccountingCountsEvictedClicks(t *testing.T) {
	a := accounting{Answered: 100, InRedis: 90, Evicted: 10, InClickHouse: 100, SeenByWrk: 60, SeenByGenerator: 40}
	if !a.clicksMatch() {
		t.Fatalf("%+v does not match", a)
	}
	a.Evicted = 0
	if a.clicksMatch() {
		t.Fatalf("%+v matches with 10 clicks missing from Redis", a)
	}
}
