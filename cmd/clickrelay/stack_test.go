package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/api"
	"github.com/clickrelay/clickrelay/internal/contract"
	"github.com/clickrelay/clickrelay/internal/testenv"
	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

// TestMain lets the test binary play clickrelay itself: the end-to-end
// tests start it as a child process, so they exercise the real binary, its
// signals and its exit.
func TestMain(m *testing.M) {
	if os.Getenv("CLICKRELAY_E2E_CHILD") == "1" {
		os.Exit(run(os.Args[len(os.Args)-1:], osEnv, os.Stderr))
	}
	os.Exit(m.Run())
}

// stack is a running `clickrelay all` on the test Redis and ClickHouse
// and an embedded broker, with a database and key prefix of its own.
type stack struct {
	t        *testing.T
	base     string
	adminKey string
	// env and brokerPort let a second process join the same engines.
	env        []string
	brokerPort int
	cmd        *exec.Cmd
	stderr     *syncBuffer
	exited     chan error
	ch         *clickhouse.Component
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freePort is a loopback port nothing listens on now, never one it gave
// before in this test process: a stack's broker and HTTP ports are picked
// one after the other, and the kernel may hand a just-closed port out again.
func freePort(t *testing.T) int {
	portsGiven.Lock()
	defer portsGiven.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !portsGiven.m[port] {
			portsGiven.m[port] = true
			return port
		}
	}
	t.Fatal("no loopback port not given before in 100 tries")
	return 0
}

var portsGiven = struct {
	sync.Mutex
	m map[int]bool
}{m: map[int]bool{}}

func startStack(t *testing.T, extraEnv ...string) *stack {
	t.Helper()
	s := newStack(t, extraEnv...)
	s.start()
	return s
}

// newStack is startStack without the start: the test starts s.cmd.
func newStack(t *testing.T, extraEnv ...string) *stack {
	t.Helper()
	token := testenv.Token(t)
	dsn, err := url.Parse(testenv.ClickHouseDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	dsn.Path = "/crtest_e2e_" + token
	brokerPort := freePort(t)
	env := []string{
		"CLICKRELAY_ADMIN_KEY=admin-key-for-tests-" + token,
		"CLICKRELAY_REDIS_URL=" + testenv.RedisURL(t),
		"CLICKRELAY_REDIS_PREFIX=crtest:" + token + ":",
		"CLICKRELAY_KAFKA_BROKERS=embedded",
		fmt.Sprintf("CLICKRELAY_KAFKA_EMBEDDED_PORT=%d", brokerPort),
		"CLICKRELAY_KAFKA_PARTITIONS=4",
		"CLICKRELAY_CLICKHOUSE_DSN=" + dsn.String(),
		"CLICKRELAY_POSTBACK_ALLOW_PRIVATE=1",
		"CLICKRELAY_SINK_FLUSH_INTERVAL=250ms",
		"CLICKRELAY_SINK_CLICK_FLUSH_INTERVAL=250ms",
		"CLICKRELAY_LOG_LEVEL=warn",
	}
	s := prepare(t, "all", append(env, extraEnv...))
	s.adminKey = "admin-key-for-tests-" + token
	s.env, s.brokerPort = env, brokerPort

	config := clickhouse.DefaultConfiguration()
	config.DSN = dsn.String()
	s.ch, err = clickhouse.New(clickhouse.Dependencies{Logger: zerolog.Nop()}, config)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ch.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.ch.DropDatabase(context.Background())
		_ = s.ch.Stop(context.Background())
	})
	return s
}

// launch starts the test binary as clickrelay in role with env, and waits
// for /health.
func launch(t *testing.T, role string, env []string) *stack {
	t.Helper()
	s := prepare(t, role, env)
	s.start()
	return s
}

// prepare is launch without the start.
func prepare(t *testing.T, role string, env []string) *stack {
	t.Helper()
	port := freePort(t)
	s := &stack{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port), stderr: &syncBuffer{}, exited: make(chan error, 1)}
	s.cmd = exec.Command(os.Args[0], "-test.run=^$", role)
	s.cmd.Env = append(append(os.Environ(), "CLICKRELAY_E2E_CHILD=1"), env...)
	s.cmd.Env = append(s.cmd.Env, fmt.Sprintf("CLICKRELAY_ADDR=127.0.0.1:%d", port))
	s.cmd.Stderr = s.stderr
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil && s.cmd.Process != nil {
			_ = s.cmd.Process.Kill()
			testkit.Receive(t, "clickrelay "+role+"'s exit once killed", 30*time.Second, s.exited)
		}
		if t.Failed() {
			t.Logf("clickrelay %s's log:\n%s", role, s.stderr.String())
		}
	})
	return s
}

// start runs s.cmd and waits until it answers /health, failing the test
// when it exits or does not answer within 60 s.
func (s *stack) start() {
	s.t.Helper()
	s.run()
	s.awaitHealth()
}

// run runs s.cmd, its exit heard on s.exited.
func (s *stack) run() {
	s.t.Helper()
	s.exited = make(chan error, 1)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func(cmd *exec.Cmd, exited chan<- error) { exited <- cmd.Wait() }(s.cmd, s.exited)
}

// awaitHealth waits until s answers /health, failing the test when it
// exits or does not answer within 60 s.
func (s *stack) awaitHealth() {
	s.t.Helper()
	role := s.cmd.Args[len(s.cmd.Args)-1]
	testkit.Poll(s.t, "clickrelay "+role+" answering /health", 60*time.Second, func() (bool, string) {
		resp, err := http.Get(s.base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return true, ""
			}
		}
		select {
		case err := <-s.exited:
			s.t.Fatalf("clickrelay %s exited at start: %v\n%s", role, err, s.stderr.String())
		default:
		}
		if err != nil {
			return false, fmt.Sprintf("%v; its log:\n%s", err, s.stderr.String())
		}
		return false, fmt.Sprintf("%d; its log:\n%s", resp.StatusCode, s.stderr.String())
	})
}

// startServe starts a second process, `clickrelay serve`, on the stack's
// Redis, ClickHouse and broker, as a second node behind a load balancer.
func (s *stack) startServe(extraEnv ...string) *stack {
	s.t.Helper()
	var env []string
	for _, kv := range s.env {
		if !strings.HasPrefix(kv, "CLICKRELAY_KAFKA_") {
			env = append(env, kv)
		}
	}
	env = append(env, fmt.Sprintf("CLICKRELAY_KAFKA_BROKERS=127.0.0.1:%d", s.brokerPort))
	serve := launch(s.t, "serve", append(env, extraEnv...))
	serve.adminKey, serve.ch = s.adminKey, s.ch
	return serve
}

// envValue returns one of the environment variables clickrelay runs with
// (extra settings included): the last setting of name, as exec keeps.
func (s *stack) envValue(name string) string {
	v := ""
	for _, kv := range s.cmd.Env {
		if value, ok := strings.CutPrefix(kv, name+"="); ok {
			v = value
		}
	}
	return v
}

// terminate sends SIGTERM and waits for a clean exit.
func (s *stack) terminate() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	if err := testkit.Receive(s.t, "clickrelay's exit after SIGTERM", 60*time.Second, s.exited); err != nil {
		s.t.Fatalf("clickrelay exited with %v after SIGTERM", err)
	}
}

// call sends a request and decodes a JSON answer into out (when not nil).
func (s *stack) call(method, path string, headers map[string]string, body string, out any) int {
	s.t.Helper()
	resp := s.raw(method, path, headers, body)
	if out != nil {
		if err := json.Unmarshal([]byte(resp.body), out); err != nil {
			s.t.Fatalf("%s %s answered %d %q: %v", method, path, resp.status, resp.body, err)
		}
	}
	return resp.status
}

// rawResponse is an answer with its headers, for tests that read them.
type rawResponse struct {
	status int
	header http.Header
	body   string
}

// raw sends a request and returns the whole answer, checked against the
// OpenAPI document.
func (s *stack) raw(method, path string, headers map[string]string, body string) rawResponse {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	s.checkContract(req, resp, raw)
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

func (s *stack) admin(method, path, body string, out any) int {
	return s.call(method, path, map[string]string{"Authorization": "Bearer " + s.adminKey}, body, out)
}

var noRedirects = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{MaxIdleConnsPerHost: 64},
}

// User agents the tests click with.
const (
	iPhoneUA  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	androidUA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36"
)

// click follows a tracking link from an iPhone in Great Britain and
// returns the status and Location.
func (s *stack) click(path string) (int, string) { return s.clickAs(path, iPhoneUA) }

// clickAs follows a tracking link from Great Britain with a user agent.
func (s *stack) clickAs(path, userAgent string) (int, string) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.base+path, nil)
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("X-Forwarded-For", "81.2.69.142")
	resp, err := noRedirects.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	s.checkContract(req, resp, raw)
	return resp.StatusCode, resp.Header.Get("Location")
}

var (
	contractOnce      sync.Once
	contractValidator *contract.Validator
	contractErr       error
)

// checkContract fails the test when the exchange is not an operation of
// api/openapi.json or the answer does not validate against it: every
// answer the end-to-end tests see is an example the document must allow.
func (s *stack) checkContract(req *http.Request, resp *http.Response, body []byte) {
	s.t.Helper()
	contractOnce.Do(func() { contractValidator, contractErr = contract.Load(api.OpenAPIDocument()) })
	if contractErr != nil {
		s.t.Fatal(contractErr)
	}
	if err := contractValidator.CheckResponse(req, resp.StatusCode, resp.Header, body); err != nil {
		s.t.Error(err)
	}
}

// network is what a test sets up through the admin API.
type network struct {
	advertiserID, advertiserKey string
	affiliateID, affiliateKey   string
	offerID                     string
}

func (s *stack) setUp(trackingURL string) network {
	s.t.Helper()
	var n network
	var adv struct {
		Advertiser struct {
			ID     string `json:"id"`
			APIKey string `json:"api_key"`
		} `json:"advertiser"`
	}
	if code := s.admin("POST", "/v2/advertisers", `{"name":"Acme","contact_email":"team@acme.example"}`, &adv); code != 201 {
		s.t.Fatalf("create advertiser: %d", code)
	}
	n.advertiserID, n.advertiserKey = adv.Advertiser.ID, adv.Advertiser.APIKey
	var aff struct {
		Affiliate struct {
			ID     string `json:"id"`
			APIKey string `json:"api_key"`
		} `json:"affiliate"`
	}
	if code := s.admin("POST", "/v2/affiliates", `{"name":"Jane Media","tier":"premium"}`, &aff); code != 201 {
		s.t.Fatalf("create affiliate: %d", code)
	}
	n.affiliateID, n.affiliateKey = aff.Affiliate.ID, aff.Affiliate.APIKey
	var offer struct {
		Offer struct {
			ID string `json:"id"`
		} `json:"offer"`
	}
	body, _ := json.Marshal(map[string]any{"name": "Summer Promo", "tracking_url": trackingURL,
		"advertiser_id": n.advertiserID, "payout": 2.5, "payout_type": "cpa"})
	if code := s.admin("POST", "/v2/offers", string(body), &offer); code != 201 {
		s.t.Fatalf("create offer: %d", code)
	}
	n.offerID = offer.Offer.ID
	return n
}

// clickID returns the click_id a Location carries in parameter name.
func clickID(t *testing.T, location, name string) string {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil {
		t.Fatalf("Location %q: %v", location, err)
	}
	id := u.Query().Get(name)
	if id == "" {
		t.Fatalf("Location %q has no %s", location, name)
	}
	return id
}

// newReceiver is an affiliate's tracker receiving postbacks: it answers
// each with a 200 and OK, and records it.
func newReceiver(t *testing.T) *testkit.Receiver {
	return testkit.NewReceiver(t, testkit.Default(testkit.Answer{Body: "OK"}))
}

// stackWait bounds a wait for the stack's asynchronous work: a click or a
// conversion through Kafka and the sink into ClickHouse, a postback with
// its retries.
const stackWait = 60 * time.Second
