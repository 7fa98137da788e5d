package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// A start waits for an engine that is not up yet: here Redis, started
// only once clickrelay has said it waits for it. Then it serves.
func TestStartWaitsForAnEngineComingUp(t *testing.T) {
	r := &privateRedis{t: t, port: freePort(t), dir: t.TempDir()}
	t.Cleanup(r.kill)
	s := newStack(t, "CLICKRELAY_REDIS_URL="+r.url(), "CLICKRELAY_STARTUP_WAIT=2m")

	// Redis starts once the log shows the wait; then clickrelay serves.
	s.run()
	testkit.Poll(t, "clickrelay saying it waits for Redis", 60*time.Second, func() (bool, string) {
		select {
		case err := <-s.exited:
			t.Fatalf("clickrelay exited while it should wait for Redis: %v\n%s", err, s.stderr.String())
		default:
		}
		log := s.stderr.String()
		return strings.Contains(log, "waiting for Redis to answer"), log
	})
	r.cmd = r.command()
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.awaitHealth() // fails the test if clickrelay exits, or does not answer within 60 s

	n := s.setUp("https://shop.example.com/?c={click_id}")
	if status, _ := s.click("/click/" + n.offerID + "?aff_id=" + n.affiliateID); status != 302 {
		t.Errorf("a click after the wait: %d, want 302", status)
	}
	if log := s.stderr.String(); !strings.Contains(log, `"engine":"Redis"`) || !strings.Contains(log, "CLICKRELAY_STARTUP_WAIT") {
		t.Errorf("the wait is not logged with the engine and the setting:\n%s", log)
	}
}

// A Redis that answers no (a wrong password) ends the start at once, with
// the setting named, however long the startup wait.
func TestStartDoesNotWaitOnAWrongPassword(t *testing.T) {
	r := startPrivateRedis(t)
	if err := r.do("CONFIG", "SET", "requirepass", "the-right-one"); err != nil {
		t.Fatal(err)
	}
	s := newStack(t, fmt.Sprintf("CLICKRELAY_REDIS_URL=redis://:a-wrong-one@127.0.0.1:%d/0", r.port), "CLICKRELAY_STARTUP_WAIT=10m")
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	if err := testkit.Receive(t, "clickrelay's exit after starting with a wrong Redis password", 60*time.Second, exited); err == nil {
		t.Fatal("clickrelay started with a wrong Redis password")
	}
	log := s.stderr.String()
	if !strings.Contains(log, "CLICKRELAY_REDIS_URL") || !strings.Contains(log, "WRONGPASS") {
		t.Errorf("the error does not name the setting and Redis's answer:\n%s", log)
	}
	if strings.Contains(log, "waiting for") {
		t.Errorf("it waited for a Redis that answered no:\n%s", log)
	}
}

// notAnsweringYet on the errors clients really return.
func TestNotAnsweringYet(t *testing.T) {
	refused := func() error {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", freePort(t)), time.Second)
		if err == nil {
			conn.Close()
		}
		return err
	}()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused, wrapped", fmt.Errorf("CLICKRELAY_REDIS_URL: %w", refused), true},
		{"reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, true},
		{"closed mid-answer", fmt.Errorf("reading: %w", io.EOF), true},
		{"timeout", &net.OpError{Op: "dial", Err: timeoutError{}}, true},
		{"Redis loading", redisAnswer(t, "-LOADING Redis is loading the dataset in memory"), true},
		{"Redis cluster forming", redisAnswer(t, "-CLUSTERDOWN The cluster is down"), true},
		{"wrong password", redisAnswer(t, "-WRONGPASS invalid username-password pair or user is disabled."), false},
		{"unknown database", redisAnswer(t, "-ERR DB index is out of range"), false},
		{"anything else", errors.New("CLICKRELAY_CLICKHOUSE_DSN: code: 516, message: Authentication failed"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("no error to classify")
			}
			if got := notAnsweringYet(tt.err); got != tt.want {
				t.Errorf("notAnsweringYet(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// redisAnswer is the error go-redis's PING returns from a server that
// answers every command with line (a RESP error).
func redisAnswer(t *testing.T, line string) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		for {
			// One answer per command: a command is an array header, then
			// its bulk strings.
			header, err := r.ReadString('\n')
			if err != nil {
				return
			}
			var n int
			if _, err := fmt.Sscanf(header, "*%d", &n); err != nil {
				return
			}
			for range 2 * n {
				if _, err := r.ReadString('\n'); err != nil {
					return
				}
			}
			if _, err := conn.Write([]byte(line + "\r\n")); err != nil {
				return
			}
		}
	}()
	c := goredis.NewClient(&goredis.Options{Addr: ln.Addr().String(), MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: 2 * time.Second})
	defer c.Close()
	return c.Ping(context.Background()).Err()
}
