package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	goredis "github.com/redis/go-redis/v9"

	"github.com/clickrelay/clickrelay/internal/loadgen"
)

const adminKey = "bench-admin-key-0123456789abcdef"

// nginxConf is the ceiling a redirector is measured against: nginx
// answering every request with a fixed 302, logging nothing.
const nginxConf = `worker_processes %d;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  server {
    listen 127.0.0.1:%d reuseport backlog=4096;
    location / { return 302 https://shop.example.com/landing; }
  }
}
`

func startNginx(dir string, port, workers int) (stop func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxConf, workers, dir, dir, port)), 0o644); err != nil {
		return nil, err
	}
	if out, err := exec.Command(nginxBinary(), "-c", conf, "-p", dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("nginx: %w: %s", err, out)
	}
	if err := waitHTTP(fmt.Sprintf("http://127.0.0.1:%d/", port), 302); err != nil {
		return nil, err
	}
	return func() { _ = exec.Command(nginxBinary(), "-c", conf, "-p", dir, "-s", "quit").Run() }, nil
}

func nginxBinary() string {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	return "/usr/sbin/nginx"
}

// clickrelay is the process under test, started as the README's run
// command starts it: `clickrelay all` on the embedded broker.
type clickrelay struct{ *loadgen.Clickrelay }

func startClickrelay(binary, dataDir string, port, kafkaPort, redisPort, clickhousePort int) (*clickrelay, error) {
	c, err := loadgen.StartClickrelay(binary, dataDir, port, []string{
		"CLICKRELAY_ADMIN_KEY=" + adminKey,
		fmt.Sprintf("CLICKRELAY_REDIS_URL=redis://127.0.0.1:%d/0", redisPort),
		fmt.Sprintf("CLICKRELAY_CLICKHOUSE_DSN=clickhouse://127.0.0.1:%d/clickrelay", clickhousePort),
		"CLICKRELAY_KAFKA_BROKERS=embedded",
		fmt.Sprintf("CLICKRELAY_KAFKA_EMBEDDED_PORT=%d", kafkaPort),
		"CLICKRELAY_KAFKA_EMBEDDED_DIR=" + filepath.Join(dataDir, "kafka"),
		"CLICKRELAY_POSTBACK_ALLOW_PRIVATE=1", // the receiver is on loopback
		"CLICKRELAY_LOG_LEVEL=warn",
		// One advertiser key sends every conversion, far past seed 002's
		// 1,000 a minute per key, and the stats freshness probe polls past
		// seed 000's 100 a minute: limits stay on (their Redis call is part
		// of the conversion path measured), set out of reach.
		"CLICKRELAY_RATE_LIMITS=advertiser_conversions=100000000/min,affiliate_burst=100000000/min,affiliate_standard=100000000/h,affiliate_premium=100000000/h",
	})
	if err != nil {
		return nil, err
	}
	return &clickrelay{c}, nil
}

func waitHTTP(url string, status int) error {
	client := &http.Client{Timeout: time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == status {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer %d within 60 s (last: %v)", url, status, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clickOnce follows one tracking link and expects its 302.
func (c *clickrelay) clickOnce(path string) error {
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(c.Base + path)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return fmt.Errorf("GET %s: %d, want 302", path, resp.StatusCode)
	}
	return nil
}

// api calls clickrelay's JSON API and decodes the answer into out.
//
// A 503 is retried a few times, as an admin's client would: clickrelay
// answers it when a storage engine did not take a write in time, having
// changed nothing, and asks for the same request again. The rules phase's
// thousands of writes met one on the two busy cores.
func (c *clickrelay) api(method, path string, headers map[string]string, body any, out any) error {
	for attempt := 1; ; attempt++ {
		err := loadgen.API(c.Base, method, path, headers, body, out)
		var status *loadgen.StatusError
		if attempt == 5 || !errors.As(err, &status) || status.Code != http.StatusServiceUnavailable {
			return err
		}
		time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
	}
}

// network is what the bench sets up: advertisers' offers and affiliates
// with postbacks to the receiver.
type network = loadgen.Network

func (c *clickrelay) setUp(offers, affiliates int, postbackURL string) (network, error) {
	return loadgen.SetUp(c.Base, adminKey, offers, affiliates, postbackURL)
}

// metric reads one counter from /metrics.
func (c *clickrelay) metric(name string) (float64, error) {
	resp, err := http.Get(c.Base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("metric %s not found", name)
}

// deferredDuring runs run and counts the postbacks the worker put back in
// the retry queue meanwhile, their host at its bound (busy) or backed off.
func (c *clickrelay) deferredDuring(run func()) (busy, backoff float64) {
	read := func() (busy, backoff float64) {
		busy, _ = c.metric(`clickrelay_postback_deferred_total{reason="host_busy"}`)
		backoff, _ = c.metric(`clickrelay_postback_deferred_total{reason="host_backoff"}`)
		return busy, backoff
	}
	busy0, backoff0 := read()
	run()
	busy, backoff = read()
	return busy - busy0, backoff - backoff0
}

// stores counts what reached Redis and ClickHouse.
type stores struct {
	redis *goredis.Client
	ch    driver.Conn
}

func openStores(redisPort, clickhousePort int) (*stores, error) {
	ch, err := clickhouse.Open(&clickhouse.Options{Addr: []string{fmt.Sprintf("127.0.0.1:%d", clickhousePort)}})
	if err != nil {
		return nil, err
	}
	// A FLUSHDB of a run's millions of keys (before the next of -repeat)
	// takes Redis longer than go-redis's default 3 s read timeout; it is
	// synchronous so that the next run's memory growth starts from an
	// empty Redis rather than one still freeing the last run's keys.
	redis := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", redisPort), ReadTimeout: time.Minute})
	return &stores{redis: redis, ch: ch}, nil
}

func (s *stores) close() {
	_ = s.redis.Close()
	_ = s.ch.Close()
}

// redisClicks counts click records in Redis.
func (s *stores) redisClicks(ctx context.Context) (int64, error) {
	var n int64
	iter := s.redis.Scan(ctx, 0, "cr:click:*", 10_000).Iterator()
	for iter.Next(ctx) {
		n++
	}
	return n, iter.Err()
}

// count runs a count query against ClickHouse.
func (s *stores) count(ctx context.Context, query string) (int64, error) {
	var n uint64
	err := s.ch.QueryRow(ctx, query).Scan(&n)
	return int64(n), err
}

// settleLimit bounds the settle wait: past it the run goes on, and the
// report says the stack had not settled.
const settleLimit = 30 * time.Second

// settle waits until ClickHouse holds every click answered so far and has
// no merge running, and reports how long that took. After settleLimit it
// says so and lets the run go on; an interrupt ends it at once.
func settle(ctx context.Context, cr *clickrelay, st *stores) (string, error) {
	start := time.Now()
	quiet := 0
	for time.Since(start) < settleLimit {
		answered, err := cr.metric(`clickrelay_clicks_total{outcome="redirected"}`)
		if err != nil {
			return "", err
		}
		stored, err := st.count(ctx, "SELECT count() FROM clickrelay.clicks")
		if err != nil {
			return "", err
		}
		merges, err := st.count(ctx, "SELECT count() FROM system.merges")
		if err != nil {
			return "", err
		}
		if stored >= int64(answered) && merges == 0 {
			quiet++
		} else {
			quiet = 0
		}
		if quiet == 4 { // a second of quiet
			return time.Since(start).Round(time.Millisecond).String(), nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Sprintf("did not settle within %s (went on)", settleLimit), nil
}
