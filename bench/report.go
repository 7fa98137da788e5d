package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report is one run of the benchmark.
type report struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Machine  machine   `json:"machine"`

	Threads             int         `json:"wrk_threads"`
	Connections         int         `json:"wrk_connections"`
	Duration            string      `json:"wrk_duration"`
	Nginx               []wrkResult `json:"nginx_runs"`
	Clickrelay          []wrkResult `json:"clickrelay_runs"`
	NginxPerSecond      float64     `json:"nginx_per_second"`
	Phases              []string    `json:"phases"`
	ClickrelayPerSecond float64     `json:"clickrelay_per_second"`
	Ratio               float64     `json:"ratio"`

	Settled      string             `json:"settled_after"` // before the latency run
	LatencyRate  float64            `json:"latency_rate"`
	ClickLatency summary            `json:"click_latency"`
	NginxLatency summary            `json:"nginx_latency_same_rate"`
	FixedRate    rateResult         `json:"fixed_rate_run"`
	Conversions  conversionResult   `json:"conversions"`
	SlowReceiver slowReceiverResult `json:"postbacks_slow_receiver"`
	Freshness    summary            `json:"stats_freshness"`
	Accounting   accounting         `json:"accounting"`
	Backpressure backpressure       `json:"backpressure"`
}

// backpressure counts the times clickrelay's queues were full: the click
// path (or a flusher) waited for Redis or Kafka to catch up.
type backpressure struct {
	ClickQueueFull int64 `json:"click_queue_full"`
	ShipQueueFull  int64 `json:"ship_queue_full"`
}

// accounting holds the counts that must match: nothing lost.
type accounting struct {
	Answered                int64 `json:"redirects_answered"` // the server's count of 302s
	SeenByWrk               int64 `json:"redirects_seen_by_wrk"`
	SeenByGenerator         int64 `json:"redirects_seen_by_generator"`
	InRedis                 int64 `json:"clicks_in_redis"`
	InClickHouse            int64 `json:"clicks_in_clickhouse"`
	ConversionsAcknowledged int64 `json:"conversions_acknowledged"`
	ConversionsStored       int64 `json:"conversions_in_clickhouse"`
}

// The bars, for the table's verdict column.
const (
	ratioFloor      = 0.4
	clickP99Ceiling = 5.0   // ms
	postbackP99Max  = 100.0 // ms
	conversionFloor = 1000  // per second
)

func check(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// checkPhase is check for a bar that only a phase measures.
func (r *report) checkPhase(phase string, ok bool) string {
	if !slices.Contains(r.Phases, phase) {
		return "not run"
	}
	return check(ok)
}

func (r *report) markdown() string {
	var b strings.Builder
	a := r.Accounting
	// A redirect that wrk or the generator saw must have been counted by the
	// server; the server may have answered a few more that wrk cut off at
	// the end of a run.
	clicksMatch := a.Answered == a.InRedis && a.Answered == a.InClickHouse && a.SeenByWrk+a.SeenByGenerator <= a.Answered
	fmt.Fprintf(&b, "| measure | result | bar | met |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| nginx `return 302` (wrk -t%d -c%d, %s, %d runs) | %.0f req/s | the peer | |\n", r.Threads, r.Connections, r.Duration, len(r.Nginx), r.NginxPerSecond)
	fmt.Fprintf(&b, "| clickrelay, every click recorded in Redis, Kafka and ClickHouse | %.0f clicks/s | | |\n", r.ClickrelayPerSecond)
	fmt.Fprintf(&b, "| ratio to nginx | **%.2f×** | ≥ %.1f× (aim 0.8×) | %s |\n", r.Ratio, ratioFloor, r.checkPhase("throughput", r.Ratio >= ratioFloor))
	fmt.Fprintf(&b, "| click latency at %.0f clicks/s (half the maximum), p50 / p99 / p99.9 / max | %.2f / %.2f / %.2f / %.2f ms | p99 ≤ %.0f ms | %s |\n",
		r.LatencyRate, r.ClickLatency.P50, r.ClickLatency.P99, r.ClickLatency.P999, r.ClickLatency.Max, clickP99Ceiling, r.checkPhase("latency", r.ClickLatency.P99 <= clickP99Ceiling))
	fmt.Fprintf(&b, "| nginx at the same rate, same generator, p50 / p99 / p99.9 / max | %.2f / %.2f / %.2f / %.2f ms | the peer | |\n",
		r.NginxLatency.P50, r.NginxLatency.P99, r.NginxLatency.P999, r.NginxLatency.Max)
	fmt.Fprintf(&b, "| conversions acknowledged | %.0f /s (%d of %d sent) | ≥ %d /s | %s |\n",
		r.Conversions.PerSecond, r.Conversions.Acknowledged, r.Conversions.Sent, conversionFloor, r.checkPhase("conversions", r.Conversions.PerSecond >= conversionFloor*0.98 && r.Conversions.Refused == 0))
	fmt.Fprintf(&b, "| conversion intake, request to `200`, p50 / p99 / max | %.2f / %.2f / %.2f ms | | |\n", r.Conversions.Intake.P50, r.Conversions.Intake.P99, r.Conversions.Intake.Max)
	fmt.Fprintf(&b, "| postback end to end (conversion sent → GET received), p50 / p99 / max | %.2f / %.2f / %.2f ms (%d missing) | p99 ≤ %.0f ms | %s |\n",
		r.Conversions.Postback.P50, r.Conversions.Postback.P99, r.Conversions.Postback.Max, r.Conversions.Missing, postbackP99Max,
		r.checkPhase("conversions", r.Conversions.Postback.P99 <= postbackP99Max && r.Conversions.Missing == 0))
	sr := r.SlowReceiver
	fmt.Fprintf(&b, "| postbacks to a healthy receiver while another affiliate's hangs (%.0f conversions/s, half each), p50 / p99 / max | %.2f / %.2f / %.2f ms (%d of %d missing; %d connections held by the hanging one; deferred: %.0f busy, %.0f backed off) | p99 ≤ %.0f ms | %s |\n",
		sr.Rate, sr.Conversions.Postback.P50, sr.Conversions.Postback.P99, sr.Conversions.Postback.Max, sr.Conversions.Missing, sr.Healthy,
		sr.HangingConnections, sr.DeferredBusy, sr.DeferredBackoff, postbackP99Max,
		r.checkPhase(phaseSlowReceiver, sr.Conversions.Postback.P99 <= postbackP99Max && sr.Conversions.Missing == 0 && sr.Conversions.Refused == 0))
	fmt.Fprintf(&b, "| stats freshness (click → `GET /v1/stats`), median / max of %d | %.2f / %.2f s | ≤ 60 s | %s |\n",
		r.Freshness.Count, r.Freshness.P50/1000, r.Freshness.Max/1000, r.checkPhase("freshness", r.Freshness.Max <= 60_000))
	fmt.Fprintf(&b, "| 302s answered / clicks in Redis / clicks in ClickHouse | %d / %d / %d | equal | %s |\n", a.Answered, a.InRedis, a.InClickHouse, check(clicksMatch))
	fmt.Fprintf(&b, "| conversions acknowledged / in ClickHouse | %d / %d | equal | %s |\n", a.ConversionsAcknowledged, a.ConversionsStored, check(a.ConversionsAcknowledged == a.ConversionsStored))
	fmt.Fprintf(&b, "\nMachine: %s, %d cores, %s; %s. Load generators, services and clickrelay share it.\n", r.Machine.CPU, r.Machine.Cores, r.Machine.Kernel, r.Machine.Go)
	fmt.Fprintf(&b, "Peers: %s.\n", strings.Join(r.Machine.Peers, ", "))
	return b.String()
}

// write saves the table and the JSON under dir, named by start time, and
// as latest.*.
func (r *report) write(dir, table string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	body, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	stamp := r.Started.Format("20060102-150405")
	for name, data := range map[string][]byte{
		stamp + ".json": body, stamp + ".md": []byte(table),
		"latest.json": body, "latest.md": []byte(table),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// machine describes where the run happened.
type machine struct {
	CPU    string   `json:"cpu"`
	Cores  int      `json:"cores"`
	Kernel string   `json:"kernel"`
	Go     string   `json:"go"`
	Peers  []string `json:"peers"`
}

func describeMachine() machine {
	m := machine{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	version := func(name string, args ...string) {
		// wrk prints its version and exits 1: read the output regardless.
		if out, _ := exec.Command(name, args...).CombinedOutput(); len(out) > 0 {
			line, _, _ := strings.Cut(string(out), "\n")
			line, _, _ = strings.Cut(line, " Copyright") // wrk's
			m.Peers = append(m.Peers, strings.TrimRight(strings.TrimSpace(line), "."))
		}
	}
	version(nginxBinary(), "-v")
	version("wrk", "--version")
	version("redis-server", "--version")
	version("clickhouse-client", "--version")
	return m
}
