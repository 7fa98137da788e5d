package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testenv"
	"github.com/clickrelay/clickrelay/internal/testkit"
)

// clickLoad clicks a link from a few goroutines until stopped, tolerating
// refused connections (a stop closes the listener), and counts the
// answers by status.
type clickLoad struct {
	stopped  atomic.Bool
	wg       sync.WaitGroup
	mu       sync.Mutex
	statuses map[int]int
	answered atomic.Int64
}

func startClickLoad(base, path string, workers int) *clickLoad {
	l := &clickLoad{statuses: map[int]int{}}
	client := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConnsPerHost: workers},
	}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for !l.stopped.Load() {
				req, _ := http.NewRequest("GET", base+path, nil)
				req.Header.Set("User-Agent", iPhoneUA)
				resp, err := client.Do(req)
				if err != nil {
					// Refused: the server is stopping. The load backs off a moment
					// as a client would, rather than spin on a closed port; no
					// state is awaited here.
					time.Sleep(5 * time.Millisecond)
					continue
				}
				resp.Body.Close()
				l.mu.Lock()
				l.statuses[resp.StatusCode]++
				l.mu.Unlock()
				l.answered.Add(1)
			}
		}()
	}
	return l
}

// answeredAtLeast is a check (testkit.Poll) that n clicks were answered.
func (l *clickLoad) answeredAtLeast(n int64) func() (bool, string) {
	return func() (bool, string) {
		got := l.answered.Load()
		return got >= n, fmt.Sprintf("%d answered", got)
	}
}

func (l *clickLoad) stop() map[int]int {
	l.stopped.Store(true)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.statuses
}

// sigterm sends SIGTERM and returns the exit error and how long the exit
// took, failing the test when it takes longer than within.
func (s *stack) sigterm(within time.Duration) (time.Duration, error) {
	s.t.Helper()
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	err := testkit.Receive(s.t, "clickrelay's exit after SIGTERM", within, s.exited) // its log shows on a failure
	return time.Since(start), err
}

// metric reads one unlabelled metric from /metrics.
func (s *stack) metric(name string) float64 {
	s.t.Helper()
	resp, err := http.Get(s.base + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				s.t.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	s.t.Fatalf("/metrics has no %s", name)
	return 0
}

func noPanicIn(t *testing.T, log string) {
	t.Helper()
	if strings.Contains(log, "panic") || strings.Contains(log, "DATA RACE") {
		t.Errorf("the log shows a panic or a data race:\n%s", log)
	}
}

// A stop ends within CLICKRELAY_SHUTDOWN_TIMEOUT plus a second even when
// Redis is frozen (SIGSTOP) under click load: the click queues give up
// what Redis never took, counted as lost, and nothing panics.
func TestStopEndsWithRedisFrozen(t *testing.T) {
	redis := startPrivateRedis(t)
	const timeout = 3 * time.Second
	s := startStack(t, "CLICKRELAY_REDIS_URL="+redis.url(), "CLICKRELAY_SHUTDOWN_TIMEOUT="+timeout.String())
	n := s.setUp("https://shop.example/landing?cid={click_id}")
	load := startClickLoad(s.base, fmt.Sprintf("/click/%s?aff_id=%s", n.offerID, n.affiliateID), 8)
	defer load.stop()
	testkit.Poll(t, "clicks answered before the freeze", 30*time.Second, load.answeredAtLeast(200))

	redis.signal(syscall.SIGSTOP)
	before := load.answered.Load()
	testkit.Poll(t, "clicks answered while Redis is frozen", 30*time.Second, load.answeredAtLeast(before+500))
	// /ready names the failing check, not the driver's error (which
	// carries the address).
	ready := s.raw("GET", "/ready", nil, "")
	if ready.status != 503 || !strings.Contains(ready.body, `"redis":"unavailable"`) || strings.Contains(ready.body, "127.0.0.1") {
		t.Errorf("/ready with Redis frozen: %d %s", ready.status, ready.body)
	}

	took, err := s.sigterm(timeout + time.Second)
	statuses := load.stop()
	redis.signal(syscall.SIGCONT)
	t.Logf("exit %v after %s; answers %v", err, took.Round(time.Millisecond), statuses)
	log := s.stderr.String()
	noPanicIn(t, log)
	for status := range statuses {
		if status != 302 && status != 503 {
			t.Errorf("a click got %d during the freeze or the stop", status)
		}
	}
	// Clicks answered while Redis was frozen could not all reach it: the
	// stop says what it gave up.
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "shutdown") {
			t.Log(line)
		}
	}
	if err != nil && !strings.Contains(log, "shutdown step cut short") {
		t.Errorf("the stop failed without saying which step gave up:\n%s", log)
	}
}

// Clicks that keep arriving during a stop get a 302 or a 503, never a
// panic (a send on the closed click queue once answered 500).
func TestClicksDuringAStop(t *testing.T) {
	s := startStack(t, "CLICKRELAY_SHUTDOWN_TIMEOUT=10s")
	n := s.setUp("https://shop.example/landing?cid={click_id}")
	load := startClickLoad(s.base, fmt.Sprintf("/click/%s?aff_id=%s", n.offerID, n.affiliateID), 16)
	defer load.stop()
	testkit.Poll(t, "clicks answered", 30*time.Second, load.answeredAtLeast(500))

	took, err := s.sigterm(11 * time.Second)
	statuses := load.stop()
	t.Logf("exit %v after %s; answers %v", err, took.Round(time.Millisecond), statuses)
	if err != nil {
		t.Errorf("exit: %v\n%s", err, s.stderr.String())
	}
	noPanicIn(t, s.stderr.String())
	for status, count := range statuses {
		if status != 302 && status != 503 {
			t.Errorf("%d clicks got %d during the stop", count, status)
		}
	}
}

// Clients holding half-sent requests do not hold a stop until the read
// timeout: they were promised nothing, and their connections are closed.
func TestHalfSentRequestsDoNotHoldAStop(t *testing.T) {
	const timeout = 5 * time.Second
	s := startStack(t, "CLICKRELAY_SHUTDOWN_TIMEOUT="+timeout.String(), "CLICKRELAY_READ_TIMEOUT=60s")
	addr := strings.TrimPrefix(s.base, "http://")
	for range 20 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write([]byte("POST /api/v1/conversions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"click_id\":")); err != nil {
			t.Fatal(err)
		}
	}
	// Connections are accepted in order: one answered after them means
	// the server holds all twenty.
	if code := s.call("GET", "/health", nil, "", nil); code != 200 {
		t.Fatalf("/health: %d", code)
	}
	took, err := s.sigterm(timeout + time.Second)
	t.Logf("exit %v after %s", err, took.Round(time.Millisecond))
	if err != nil {
		t.Errorf("exit: %v\n%s", err, s.stderr.String())
	}
	noPanicIn(t, s.stderr.String())
}

// Thousands of idle connections do not stop a normal request from being
// answered, and the per-IP cap answers 429 past it (tests run on loopback:
// every connection is from 127.0.0.1).
func TestIdleConnectionsAndThePerIPCap(t *testing.T) {
	const idle, limit = 2000, 2005
	s := startStack(t, fmt.Sprintf("CLICKRELAY_MAX_CONNS_PER_IP=%d", limit))
	n := s.setUp("https://shop.example/landing?cid={click_id}")
	addr := strings.TrimPrefix(s.base, "http://")
	dial := func() net.Conn {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	for range idle {
		dial()
	}
	// Each request on a connection of its own, kept open: the first
	// limit-idle fit under the cap, the rest are refused.
	ask := func(path string) (int, time.Duration) {
		conn := dial()
		start := time.Now()
		_ = conn.SetDeadline(start.Add(10 * time.Second))
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: t\r\nUser-Agent: %s\r\n\r\n", path, iPhoneUA)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("GET %s with %d idle connections open: %v", path, idle, err)
		}
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	status, took := ask(fmt.Sprintf("/click/%s?aff_id=%s", n.offerID, n.affiliateID))
	t.Logf("a click with %d idle connections open: %d in %s", idle, status, took)
	if status != 302 {
		t.Fatalf("click with %d idle connections open: %d", idle, status)
	}
	// The test's own keep-alive connection (from setUp) counts too: past
	// the idle ones and the click's, a few more fit, then every one is
	// refused.
	var answers []int
	for range 10 {
		status, _ := ask("/health")
		answers = append(answers, status)
	}
	fit := 0
	for fit < len(answers) && answers[fit] == 200 {
		fit++
	}
	for _, status := range answers[fit:] {
		if status != 429 {
			t.Fatalf("past the cap of %d: %v, want a few 200 then only 429", limit, answers)
		}
	}
	if fit == 0 || fit > limit-idle-1 || fit == len(answers) {
		t.Errorf("past the cap of %d: %v, want at most %d answered then 429", limit, answers, limit-idle-1)
	}
	s.terminate()
	noPanicIn(t, s.stderr.String())
}

// A full Redis (maxmemory with noeviction) does not break clicks: they
// redirect, wait in the retry list, raise clickrelay_redis_full and fail
// /ready with a reason that names no internals; once Redis has room they
// land, and a click answered meanwhile converts.
func TestFullRedisStillRedirects(t *testing.T) {
	redis := startPrivateRedis(t, "--maxmemory-policy", "noeviction")
	s := startStack(t, "CLICKRELAY_REDIS_URL="+redis.url())
	n := s.setUp("https://shop.example/landing?cid={click_id}")
	if err := redis.do("CONFIG", "SET", "maxmemory", "1"); err != nil {
		t.Fatal(err)
	}
	link := fmt.Sprintf("/click/%s?aff_id=%s", n.offerID, n.affiliateID)
	var ids []string
	for range 50 {
		status, location := s.click(link)
		if status != 302 {
			t.Fatalf("click on a full Redis: %d", status)
		}
		ids = append(ids, clickID(t, location, "cid"))
	}
	testkit.Poll(t, "clickrelay_redis_full", 30*time.Second, func() (bool, string) {
		full := s.metric("clickrelay_redis_full")
		return full == 1, fmt.Sprintf("clickrelay_redis_full %v", full)
	})
	if q := s.metric("clickrelay_click_redis_retry_queue"); q == 0 {
		t.Errorf("clickrelay_click_redis_retry_queue = 0 while Redis is full")
	}
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if code := s.call("GET", "/ready", nil, "", &ready); code != 503 || ready.Checks["clicks"] != "redis is full: clicks are kept in memory until it has room" {
		t.Errorf("/ready on a full Redis: %d %+v", code, ready)
	}
	if strings.Contains(fmt.Sprint(ready.Checks), "127.0.0.1") || strings.Contains(fmt.Sprint(ready.Checks), "OOM") {
		t.Errorf("/ready shows internal detail: %v", ready.Checks)
	}

	if err := redis.do("CONFIG", "SET", "maxmemory", "0"); err != nil {
		t.Fatal(err)
	}
	testkit.Poll(t, "the retry list drained", 30*time.Second, func() (bool, string) {
		full, queued := s.metric("clickrelay_redis_full"), s.metric("clickrelay_click_redis_retry_queue")
		return full == 0 && queued == 0, fmt.Sprintf("clickrelay_redis_full %v, clickrelay_click_redis_retry_queue %v", full, queued)
	})
	if code := s.call("GET", "/ready", nil, "", &ready); code != 200 {
		t.Errorf("/ready once Redis has room: %d %+v", code, ready)
	}
	advertiser := map[string]string{"X-API-Key": n.advertiserKey, "Content-Type": "application/json"}
	var conv struct {
		Success bool `json:"success"`
		Data    struct {
			Tracked bool `json:"tracked"`
		} `json:"data"`
	}
	body, _ := json.Marshal(map[string]any{"click_id": ids[len(ids)-1], "amount": "10", "txid": "FULL-1"})
	if code := s.call("POST", "/api/v1/conversions", advertiser, string(body), &conv); code != 200 || !conv.Data.Tracked {
		t.Errorf("a conversion on a click answered while Redis was full: %d %+v", code, conv)
	}
	s.terminate()
	noPanicIn(t, s.stderr.String())
}

// A process whose HTTP listener fails while it runs (here its listening
// socket is destroyed from outside, as `ss -K` does) stops, the rest of it
// gracefully, and exits non-zero with a log line naming the component,
// within its shutdown timeout: it does not go on answering /health through
// no listener. Every click answered with a 302 and every conversion
// answered tracked before is in ClickHouse afterwards.
func TestAFailedListenerStopsTheProcess(t *testing.T) {
	ss := testenv.Tool(t, "ss", "iproute2")
	const shutdown = 10 * time.Second
	// Go listens with multipath TCP where the kernel has it, and the
	// kernel destroys only plain TCP sockets: this listener is plain.
	s := startStack(t, "CLICKRELAY_RATE_LIMITS=advertiser_conversions=1000000/min", "CLICKRELAY_SHUTDOWN_TIMEOUT="+shutdown.String(),
		"GODEBUG=multipathtcp=0")
	n := s.setUp("https://shop.example.com/?c={click_id}")
	load := startSpineLoad(s, n)
	load.await(t)

	addr := strings.TrimPrefix(s.base, "http://")
	start := time.Now()
	out, err := exec.Command(ss, "-K", "state", "listening", "src", addr).CombinedOutput()
	if !strings.Contains(string(out), addr) {
		t.Fatalf("ss -K found no listener on %s (%v): %s", addr, err, out)
	}
	exit := testkit.Receive(t, "the exit after the listener failed", shutdown+5*time.Second, s.exited)
	took := time.Since(start)
	load.halt()

	var exitErr *exec.ExitError
	if !errors.As(exit, &exitErr) || exitErr.ExitCode() != 1 {
		t.Errorf("exit %v, want status 1", exit)
	}
	if took > shutdown+time.Second {
		t.Errorf("the exit took %s, past the shutdown timeout (%s) plus a second", took, shutdown)
	}
	log := s.stderr.String()
	if !strings.Contains(log, `"component":"http server"`) || !strings.Contains(log, "http server failed: stopping") {
		t.Errorf("no log line names the failed http server:\n%s", log)
	}
	noPanicIn(t, log)
	load.checkStored(t, s)
}
