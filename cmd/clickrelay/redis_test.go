package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// privateRedis is a redis-server of the test's own, on a free port, that
// the test may freeze, fill, kill and restart: the shared test Redis is
// never signalled. It keeps nothing on disk (no append-only file, no
// snapshots), so a restart starts empty.
type privateRedis struct {
	t    *testing.T
	port int
	dir  string
	args []string
	cmd  *exec.Cmd
}

func startPrivateRedis(t *testing.T, args ...string) *privateRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CLICKRELAY_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("redis-server is not installed, and CLICKRELAY_TEST_REQUIRE_SERVICES=1")
		}
		t.Skip("redis-server is not installed")
	}
	r := &privateRedis{t: t, port: freePort(t), dir: t.TempDir(), args: args}
	t.Cleanup(r.kill) // before the start, which may fail the test with the server running
	r.start()
	return r
}

func (r *privateRedis) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

// start runs the server and waits until it answers.
func (r *privateRedis) start() {
	r.t.Helper()
	r.cmd = r.command()
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	testkit.Poll(r.t, "the private redis-server answers", 10*time.Second, func() (bool, string) {
		err := r.do("PING")
		return err == nil, fmt.Sprint(err)
	})
}

// command is the server's command line.
func (r *privateRedis) command() *exec.Cmd {
	argv := append([]string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log")}, r.args...)
	return exec.Command("redis-server", argv...)
}

// kill ends the server with SIGKILL and waits for it. A frozen process is
// thawed first: it would not handle the kill until it runs again.
func (r *privateRedis) kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGCONT)
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

func (r *privateRedis) signal(sig syscall.Signal) {
	r.t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatal(err)
	}
}

// do sends one command, on a connection of its own, once.
func (r *privateRedis) do(args ...any) error {
	c := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port),
		DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, MaxRetries: -1})
	defer c.Close()
	return c.Do(context.Background(), args...).Err()
}
