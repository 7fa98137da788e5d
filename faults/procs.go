package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// proc is one clickrelay process the suite started. Every one is killed
// when the suite ends, however it ends (killAll).
type proc struct {
	name, role string
	env        []string
	base       string // http://host:port for serving roles, empty for work
	logPath    string
	cmd        *exec.Cmd
	exited     chan struct{}
	exitErr    error
}

var (
	procsMu sync.Mutex
	live    = map[*proc]bool{}
)

// startProc runs `clickrelay role` and waits until it is ready: /health
// answers for a serving role, the "clickrelay started" line for work.
func startProc(binary, name, role, logPath, base string, env []string) (*proc, error) {
	p := &proc{name: name, role: role, env: env, base: base, logPath: logPath}
	return p, p.start(binary)
}

func (p *proc) start(binary string) error {
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	offset, _ := logFile.Seek(0, 2)
	cmd := exec.Command(binary, p.role)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: a ^C to the suite reaches the suite, which
	// then stops what it started, rather than racing it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("starting %s: %w", p.name, err)
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	procsMu.Lock()
	live[p] = true
	procsMu.Unlock()
	go func(exited chan struct{}) {
		p.exitErr = cmd.Wait()
		logFile.Close()
		procsMu.Lock()
		delete(live, p)
		procsMu.Unlock()
		close(exited)
	}(p.exited)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited at start (%v); log %s", p.name, p.exitErr, p.logPath)
		default:
		}
		if p.ready(offset) {
			return nil
		}
		if time.Now().After(deadline) {
			p.kill()
			return fmt.Errorf("%s was not ready within 60 s; log %s", p.name, p.logPath)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var healthClient = &http.Client{Timeout: time.Second}

func (p *proc) ready(logOffset int64) bool {
	if p.base != "" {
		resp, err := healthClient.Get(p.base + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	f, err := os.Open(p.logPath)
	if err != nil {
		return false
	}
	defer f.Close()
	_, _ = f.Seek(logOffset, 0)
	b := make([]byte, 1<<20)
	n, _ := f.Read(b)
	return strings.Contains(string(b[:n]), "clickrelay started")
}

func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *proc) signal(sig syscall.Signal) {
	if p.running() {
		_ = p.cmd.Process.Signal(sig)
	}
}

func (p *proc) kill() {
	p.signal(syscall.SIGKILL)
	p.wait(10 * time.Second)
}

// wait waits up to d for the process to exit and tells whether it did.
func (p *proc) wait(d time.Duration) bool {
	select {
	case <-p.exited:
		return true
	case <-time.After(d):
		return false
	}
}

// terminate sends SIGTERM and times the exit, up to limit; past it the
// process is killed and the stop counted as hung.
func (p *proc) terminate(limit time.Duration) (took time.Duration, hung bool) {
	start := time.Now()
	p.signal(syscall.SIGTERM)
	if p.wait(limit) {
		return time.Since(start), false
	}
	p.kill()
	return time.Since(start), true
}

// killAll kills every clickrelay process still running.
func killAll() {
	procsMu.Lock()
	ps := make([]*proc, 0, len(live))
	for p := range live {
		ps = append(ps, p)
	}
	procsMu.Unlock()
	for _, p := range ps {
		p.kill()
	}
}

// metric reads one counter from the process's /metrics (summing labels).
func (p *proc) metric(name string) (float64, error) {
	if p.base == "" || !p.running() {
		return 0, errors.New("not serving")
	}
	resp, err := healthClient.Get(p.base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body) // a body cut short is read as far as it goes
	var sum float64
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum, nil
}

var lostLine = regexp.MustCompile(`"clicks":(\d+)`)

// logFacts reads a process's log for panics and for clicks it counted as
// lost (the log line that goes with clickrelay_clicks_lost_total).
func logFacts(path string) (panics int, lost int64) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "panic") {
			panics++
		}
		if strings.Contains(line, "clicks lost") {
			if m := lostLine.FindStringSubmatch(line); m != nil {
				n, _ := strconv.ParseInt(m[1], 10, 64)
				lost += n
			}
		}
	}
	return panics, lost
}

// engines are the suite's own Redis and ClickHouse, run by
// scripts/services.sh with the same environment: the suite kills, freezes
// and restarts them.
type engines struct {
	root, data        string
	redisPort, chPort int
	redisFrozen       bool
	restarts          int
}

func (e *engines) pidFile(name string) string {
	if name == "redis" {
		return filepath.Join(e.data, "redis", "redis.pid")
	}
	return filepath.Join(e.data, "clickhouse", "clickhouse.pid")
}

func (e *engines) pid(name string) (int, error) {
	b, err := os.ReadFile(e.pidFile(name))
	if err != nil {
		return 0, fmt.Errorf("%s's pid: %w", name, err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func (e *engines) signal(name string, sig syscall.Signal) error {
	pid, err := e.pid(name)
	if err != nil {
		return err
	}
	if name == "redis" {
		switch sig {
		case syscall.SIGSTOP:
			e.redisFrozen = true
		case syscall.SIGCONT, syscall.SIGKILL:
			e.redisFrozen = false
		}
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("signalling %s (%d): %w", name, pid, err)
	}
	return nil
}

func (e *engines) port(name string) int {
	if name == "redis" {
		return e.redisPort
	}
	return e.chPort
}

// up tells whether the engine accepts connections.
func (e *engines) up(name string) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", e.port(name)), 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// waitDown waits until the engine no longer accepts connections.
func (e *engines) waitDown(name string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for e.up(name) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still accepts connections after %s", name, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// stop stops an engine: SIGTERM, then SIGKILL if it lingers.
func (e *engines) stop(name string) error {
	if err := e.signal(name, syscall.SIGTERM); err != nil {
		return err
	}
	if e.waitDown(name, 20*time.Second) != nil {
		if err := e.signal(name, syscall.SIGKILL); err != nil {
			return err
		}
		return e.waitDown(name, 10*time.Second)
	}
	return nil
}

// start (re)starts whichever engine does not answer, as services.sh does.
func (e *engines) start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	e.restarts++
	out, err := exec.CommandContext(ctx, filepath.Join(e.root, "scripts", "services.sh"), "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("services.sh start: %w: %s", err, out)
	}
	// services.sh waits for a reply to PING, and a Redis still loading
	// its append-only file replies LOADING: wait for PONG.
	rdb := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", e.redisPort)})
	defer rdb.Close()
	for {
		if err := rdb.Ping(ctx).Err(); err == nil {
			return nil
		} else if ctx.Err() != nil {
			return fmt.Errorf("redis did not finish loading: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// heal undoes whatever a scenario left: a frozen Redis thawed, a stopped
// engine started.
func (e *engines) heal(ctx context.Context) error {
	if e.redisFrozen {
		_ = e.signal("redis", syscall.SIGCONT)
	}
	if !e.up("redis") || !e.up("clickhouse") {
		return e.start(ctx)
	}
	return nil
}
