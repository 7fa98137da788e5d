package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The verdict names every broken promise, and only those.
func TestVerdict(t *testing.T) {
	code := 0
	for _, tc := range []struct {
		name string
		r    result
		want string
	}{
		{"clean", result{}, "ok"},
		{"click lost in ClickHouse", result{ClicksLostCH: 1}, "LOST"},
		{"click lost in Redis", result{ClicksLostRedis: 3}, "LOST"},
		{"click lost in Redis and counted", result{ClicksLostRedis: 3, ClicksLostMetric: 3}, "counted loss"},
		{"more lost than counted", result{ClicksLostRedis: 3, ClicksLostLogged: 2}, "LOST"},
		{"lagging click refused", result{ConversionsClickNotFound: 2}, "LOST"},
		{"outage click never converted", result{OutageConverted: outage{GaveUp: 1}}, "LOST"},
		{"postback twice", result{PostbacksDoubled: 1}, "DOUBLED"},
		{"rollup counts a batch twice", result{RollupClicksDoubled: 500}, "DOUBLED"},
		{"slow stop", result{Exit: "12s", ExitCode: &code}, "SLOW STOP"},
		{"stop in time", result{Exit: "2s", ExitCode: &code, ExitWithinBound: true}, "ok"},
		{"panic and doubled conversion", result{Panics: 1, ConversionsDoubled: 1}, "DOUBLED, PANIC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.verdict(); got != tc.want {
				t.Fatalf("verdict %q, want %q", got, tc.want)
			}
		})
	}
}

// The outage sample spreads over the fault and skips clicks already used.
func TestPickSample(t *testing.T) {
	var during []minted
	for i := range 100 {
		during = append(during, minted{id: string(rune('a'+i%26)) + strings.Repeat("x", i), at: time.Unix(int64(i), 0)})
	}
	conv := newConvDriver([]string{"http://127.0.0.1:1"}, "k")
	conv.used[during[0].id] = true
	got := pickSample(during, 10, conv)
	if len(got) != 10 || got[0].id == during[0].id || got[9].at.Unix() < 80 {
		t.Fatalf("sample %v", got)
	}
	if all := pickSample(during[:5], 10, conv); len(all) != 4 {
		t.Fatalf("a short fault gives every free click: %d", len(all))
	}
}

// Panics and counted losses are read from the processes' JSON logs.
func TestLogFacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "all.log")
	log := `{"level":"error","clicks":12,"message":"clicks lost: answered with a 302 but not stored in Redis or Kafka (clickrelay_clicks_lost_total)"}
{"level":"info","message":"clickrelay started"}
{"level":"error","error":"panic: send on closed channel","message":"recovered"}
{"level":"error","clicks":3,"message":"clicks lost: answered with a 302 but not stored in Redis or Kafka (clickrelay_clicks_lost_total)"}
`
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	if panics, lost := logFacts(path); panics != 1 || lost != 15 {
		t.Fatalf("panics %d, lost %d", panics, lost)
	}
}

// The table has a row per scenario with its verdict.
func TestMarkdown(t *testing.T) {
	rep := &report{Started: time.Unix(0, 0).UTC(), ClickRate: 1000, ConversionRate: 50, ShutdownTimeout: "10s",
		Results: []result{{Scenario: "redis-kill", ClicksAnswered: 10, ClicksLostRedis: 2}, {Scenario: "sigterm"}}}
	md := rep.markdown()
	for _, want := range []string{"| redis-kill | 10 302s", "| LOST |", "| sigterm |", "| ok |"} {
		if !strings.Contains(md, want) {
			t.Fatalf("%q not in\n%s", want, md)
		}
	}
}
