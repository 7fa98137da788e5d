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

	Settled      string  `json:"settled_after"` // before the latency run
	LatencyRate  float64 `json:"latency_rate"`
	ClickLatency summary `json:"click_latency"`
	NginxLatency summary `json:"nginx_latency_same_rate"`
	// How busy the cores were during each latency run.
	ClickLatencyCPU cpuShare           `json:"click_latency_cpu"`
	NginxLatencyCPU cpuShare           `json:"nginx_latency_cpu"`
	FixedRate       rateResult         `json:"fixed_rate_run"`
	Conversions     conversionResult   `json:"conversions"`
	SlowReceiver    slowReceiverResult `json:"postbacks_slow_receiver"`
	Freshness       summary            `json:"stats_freshness"`
	Cold            coldResult         `json:"cold_conversions"`
	Rules           rulesResult        `json:"business_rules"`
	Accounting      accounting         `json:"accounting"`
	Backpressure    backpressure       `json:"backpressure"`

	// What a click costs.
	Stack           []stackProcess  `json:"stack_processes"`
	CPU             cpuPerClick     `json:"cpu_per_click"`
	RedisMemory     redisMemory     `json:"redis_memory"`
	ClickHouseBytes clickhouseBytes `json:"clickhouse_bytes"`
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
	Evicted                 int64 `json:"clicks_evicted_from_redis"` // by the cold phase, stored in ClickHouse
	InClickHouse            int64 `json:"clicks_in_clickhouse"`
	ConversionsAcknowledged int64 `json:"conversions_acknowledged"`
	ConversionsStored       int64 `json:"conversions_in_clickhouse"`
}

// The bars, for the table's verdict column.
const (
	ratioFloor      = 0.6
	clickP99Ceiling = 2.0   // ms, at half load, in every repeat
	postbackP99Max  = 100.0 // ms
	conversionFloor = 1000  // per second
	byteDaysMax     = 1100  // Redis bytes × days per click, with the defaults
	coldP99Max      = 50.0  // ms, a conversion on a click past the hot window
	// Smart links and targeting within 10 percent of plain clicks.
	trafficRatioFloor = 0.9
)

// runs are the repeats of one benchmark (-repeat): the table shows each
// figure's median and, past one run, its spread (min..max).
type runs []*report

// fig formats one figure over the runs: the value of a single run, or the
// median and the spread of several.
func (rs runs) fig(format string, get func(*report) float64) string {
	vals := make([]float64, len(rs))
	for i, r := range rs {
		vals[i] = get(r)
	}
	st := spreadOf(vals)
	// A figure every run agrees on (to its precision) needs no spread.
	if len(rs) == 1 || fmt.Sprintf(format, st.Min) == fmt.Sprintf(format, st.Max) {
		return fmt.Sprintf(format, st.Median)
	}
	return fmt.Sprintf(format+" ("+format+"‥"+format+")", st.Median, st.Min, st.Max)
}

// met judges a bar in every run: yes when each met it, else how many did.
func (rs runs) met(phase string, ok func(*report) bool) string {
	good := 0
	for _, r := range rs {
		if phase != "" && !slices.Contains(r.Phases, phase) {
			return "not run"
		}
		if ok(r) {
			good++
		}
	}
	if good == len(rs) {
		return "yes"
	}
	if len(rs) == 1 {
		return "**no**"
	}
	return fmt.Sprintf("**no** (%d of %d)", good, len(rs))
}

func (r *report) markdown() string { return runs{r}.markdown() }

// clicksMatch: a redirect that wrk or the generators saw must have been
// counted by the server (which may have answered a few more that wrk cut
// off at the end of a run), and every one answered is in Redis (or was
// evicted from it by the cold phase) and in ClickHouse.
func (a accounting) clicksMatch() bool {
	return a.Answered == a.InRedis+a.Evicted && a.Answered == a.InClickHouse && a.SeenByWrk+a.SeenByGenerator <= a.Answered
}

func (rs runs) markdown() string {
	var b strings.Builder
	r0 := rs[0]
	row := func(measure, result, bar, met string) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", measure, result, bar, met)
	}
	f := rs.fig
	if len(rs) > 1 {
		fmt.Fprintf(&b, "%d runs: each figure is their median, with the spread (min‥max) in parentheses; a bar is met when every run met it.\n\n", len(rs))
	}
	fmt.Fprintf(&b, "| measure | result | bar | met |\n|---|---|---|---|\n")
	row(fmt.Sprintf("nginx `return 302` (wrk -t%d -c%d, %s, %d runs)", r0.Threads, r0.Connections, r0.Duration, len(r0.Nginx)),
		f("%.0f", func(r *report) float64 { return r.NginxPerSecond })+" req/s", "the peer", "")
	row("clickrelay, every click recorded in Redis, Kafka and ClickHouse", f("%.0f", func(r *report) float64 { return r.ClickrelayPerSecond })+" clicks/s", "", "")
	row("ratio to nginx", "**"+f("%.2f", func(r *report) float64 { return r.Ratio })+"×**", fmt.Sprintf("≥ %.1f×", ratioFloor),
		rs.met("throughput", func(r *report) bool { return r.Ratio >= ratioFloor }))
	row("CPU per click, all of the stack (clickrelay + Redis + ClickHouse), from the throughput runs through the catch-up",
		f("%.1f", func(r *report) float64 { return r.CPU.TotalUS })+" µs ("+
			f("%.1f", func(r *report) float64 { return r.CPU.PerProcessUS["clickrelay"] })+" + "+
			f("%.1f", func(r *report) float64 { return r.CPU.PerProcessUS["redis"] })+" + "+
			f("%.1f", func(r *report) float64 { return r.CPU.PerProcessUS["clickhouse"] })+"), with "+
			f("%.2f", func(r *report) float64 { return r.CPU.PageFaultsPerClick["clickrelay"] })+" + "+
			f("%.2f", func(r *report) float64 { return r.CPU.PageFaultsPerClick["redis"] })+" + "+
			f("%.2f", func(r *report) float64 { return r.CPU.PageFaultsPerClick["clickhouse"] })+" page faults; the host took "+
			f("%.1f", func(r *report) float64 { return r.CPU.StealPercent })+" % of the cores' time meanwhile (steal)", "", "")
	row("Redis memory per live click (`used_memory` growth / clicks kept) × the click key's TTL",
		f("%.0f", func(r *report) float64 { return r.RedisMemory.BytesPerClick })+" B × "+
			f("%.2f", func(r *report) float64 { return r.RedisMemory.ClickTTLDays })+" days = **"+
			f("%.0f", func(r *report) float64 { return r.RedisMemory.ByteDays })+" byte-days** (each key by its own TTL: "+
			f("%.0f", func(r *report) float64 { return r.RedisMemory.ByteDaysByKeyTTL })+")",
		fmt.Sprintf("≤ %d byte-days", byteDaysMax), rs.met("throughput", func(r *report) bool { return r.RedisMemory.ByteDays <= byteDaysMax }))
	row("ClickHouse on disk per click: raw `clicks` (compression factor) / rollups / `click_lookup`, the cold lookups' table",
		f("%.1f", func(r *report) float64 { return r.ClickHouseBytes.RawPerClick })+" B ("+
			f("%.1f", func(r *report) float64 { return r.ClickHouseBytes.RawCompressionFactor })+"×) / "+
			f("%.1f", func(r *report) float64 { return r.ClickHouseBytes.RollupPerClick })+" B / "+
			f("%.1f", func(r *report) float64 { return r.ClickHouseBytes.LookupPerClick })+" B", "", "")
	row(fmt.Sprintf("click latency at %s clicks/s (half the maximum), p50 / p99 / p99.9 / max", f("%.0f", func(r *report) float64 { return r.LatencyRate })),
		f("%.2f", func(r *report) float64 { return r.ClickLatency.P50 })+" / **"+f("%.2f", func(r *report) float64 { return r.ClickLatency.P99 })+"** / "+
			f("%.2f", func(r *report) float64 { return r.ClickLatency.P999 })+" / "+f("%.2f", func(r *report) float64 { return r.ClickLatency.Max })+" ms; "+
			"the cores "+f("%.0f", func(r *report) float64 { return r.ClickLatencyCPU.MachinePercent })+" % busy, "+
			f("%.1f", func(r *report) float64 { return r.ClickLatencyCPU.StealPercent })+" % stolen by the host (cores' worth: clickrelay "+
			f("%.2f", func(r *report) float64 { return r.ClickLatencyCPU.ProcessCores["clickrelay"] })+", Redis "+
			f("%.2f", func(r *report) float64 { return r.ClickLatencyCPU.ProcessCores["redis"] })+", ClickHouse "+
			f("%.2f", func(r *report) float64 { return r.ClickLatencyCPU.ProcessCores["clickhouse"] })+", the rest the generator and the kernel)",
		fmt.Sprintf("p99 ≤ %.0f ms", clickP99Ceiling), rs.met("latency", func(r *report) bool { return r.ClickLatency.P99 <= clickP99Ceiling }))
	row("nginx at the same rate, same generator, p50 / p99 / p99.9 / max",
		f("%.2f", func(r *report) float64 { return r.NginxLatency.P50 })+" / "+f("%.2f", func(r *report) float64 { return r.NginxLatency.P99 })+" / "+
			f("%.2f", func(r *report) float64 { return r.NginxLatency.P999 })+" / "+f("%.2f", func(r *report) float64 { return r.NginxLatency.Max })+" ms; "+
			"the cores "+f("%.0f", func(r *report) float64 { return r.NginxLatencyCPU.MachinePercent })+" % busy, "+
			f("%.1f", func(r *report) float64 { return r.NginxLatencyCPU.StealPercent })+" % stolen by the host", "the peer", "")
	row("conversions acknowledged", f("%.0f", func(r *report) float64 { return r.Conversions.PerSecond })+" /s ("+
		f("%.0f", func(r *report) float64 { return float64(r.Conversions.Acknowledged) })+" of "+f("%.0f", func(r *report) float64 { return float64(r.Conversions.Sent) })+" sent)",
		fmt.Sprintf("≥ %d /s", conversionFloor), rs.met("conversions", func(r *report) bool {
			return r.Conversions.PerSecond >= conversionFloor*0.98 && r.Conversions.Refused == 0
		}))
	row("conversion intake, request to `200`, p50 / p99 / max",
		f("%.2f", func(r *report) float64 { return r.Conversions.Intake.P50 })+" / "+f("%.2f", func(r *report) float64 { return r.Conversions.Intake.P99 })+" / "+
			f("%.2f", func(r *report) float64 { return r.Conversions.Intake.Max })+" ms", "", "")
	row("postback end to end (conversion sent → GET received), p50 / p99 / max",
		f("%.2f", func(r *report) float64 { return r.Conversions.Postback.P50 })+" / "+f("%.2f", func(r *report) float64 { return r.Conversions.Postback.P99 })+" / "+
			f("%.2f", func(r *report) float64 { return r.Conversions.Postback.Max })+" ms ("+f("%.0f", func(r *report) float64 { return float64(r.Conversions.Missing) })+" missing; deferred: "+
			f("%.0f", func(r *report) float64 { return r.Conversions.DeferredBusy })+" host busy, "+f("%.0f", func(r *report) float64 { return r.Conversions.DeferredBackoff })+" backed off)",
		fmt.Sprintf("p99 ≤ %.0f ms", postbackP99Max), rs.met("conversions", func(r *report) bool {
			return r.Conversions.Postback.P99 <= postbackP99Max && r.Conversions.Missing == 0
		}))
	row(fmt.Sprintf("conversion on a click past the hot window (its Redis key gone; %s/s, under a click load of %s/s), request to `200`, p50 / p99 / max",
		f("%.0f", func(r *report) float64 { return r.Cold.Rate }), f("%.0f", func(r *report) float64 { return r.Cold.LoadRate })),
		f("%.2f", func(r *report) float64 { return r.Cold.Conversions.Intake.P50 })+" / **"+f("%.2f", func(r *report) float64 { return r.Cold.Conversions.Intake.P99 })+"** / "+
			f("%.2f", func(r *report) float64 { return r.Cold.Conversions.Intake.Max })+" ms ("+
			f("%.0f", func(r *report) float64 { return float64(r.Cold.Conversions.Acknowledged) })+" of "+f("%.0f", func(r *report) float64 { return float64(r.Cold.Conversions.Sent) })+
			" attributed, "+
			f("%.0f", func(r *report) float64 { return r.Cold.FromClickHouse })+" found in ClickHouse; postback p99 "+f("%.2f", func(r *report) float64 { return r.Cold.Conversions.Postback.P99 })+" ms, "+
			f("%.0f", func(r *report) float64 { return float64(r.Cold.Conversions.Missing) })+" missing)",
		fmt.Sprintf("p99 ≤ %.0f ms, all attributed", coldP99Max), rs.met(phaseCold, func(r *report) bool {
			c := r.Cold.Conversions
			// Each must have found its click in ClickHouse, or the phase
			// measured the hot path.
			return c.Intake.P99 <= coldP99Max && c.Sent > 0 && c.Refused == 0 && c.Missing == 0 && r.Cold.FromClickHouse >= float64(c.Sent)
		}))
	row(fmt.Sprintf("postbacks to a healthy receiver while another affiliate's hangs (%s conversions/s, half each), p50 / p99 / max",
		f("%.0f", func(r *report) float64 { return r.SlowReceiver.Rate })),
		f("%.2f", func(r *report) float64 { return r.SlowReceiver.Conversions.Postback.P50 })+" / "+f("%.2f", func(r *report) float64 { return r.SlowReceiver.Conversions.Postback.P99 })+" / "+
			f("%.2f", func(r *report) float64 { return r.SlowReceiver.Conversions.Postback.Max })+" ms ("+
			f("%.0f", func(r *report) float64 { return float64(r.SlowReceiver.Conversions.Missing) })+" of "+f("%.0f", func(r *report) float64 { return float64(r.SlowReceiver.Healthy) })+" missing; "+
			f("%.0f", func(r *report) float64 { return float64(r.SlowReceiver.HangingConnections) })+" connections held by the hanging one; deferred: "+
			f("%.0f", func(r *report) float64 { return r.SlowReceiver.DeferredBusy })+" busy, "+f("%.0f", func(r *report) float64 { return r.SlowReceiver.DeferredBackoff })+" backed off)",
		fmt.Sprintf("p99 ≤ %.0f ms", postbackP99Max), rs.met(phaseSlowReceiver, func(r *report) bool {
			sr := r.SlowReceiver
			return sr.Conversions.Postback.P99 <= postbackP99Max && sr.Conversions.Missing == 0 && sr.Conversions.Refused == 0
		}))
	row(fmt.Sprintf("stats freshness (click → `GET /v1/stats`), median / max of %d", r0.Freshness.Count),
		f("%.2f", func(r *report) float64 { return r.Freshness.P50 / 1000 })+" / "+f("%.2f", func(r *report) float64 { return r.Freshness.Max / 1000 })+" s",
		"≤ 60 s", rs.met("freshness", func(r *report) bool { return r.Freshness.Max <= 60_000 }))
	row(fmt.Sprintf("with %d capped offers and %d affiliates' records in the catalog (loaded in %s): clicks on ruled offers (access, custom payout, blocked sub-IDs, 3 caps checked and counted) / on plain ones, in alternation (plain runs' own spread)",
		r0.Rules.Offers, r0.Rules.Records, r0.Rules.LoadFor),
		f("%.0f", func(r *report) float64 { return r.Rules.RuledPerSecond })+" / "+f("%.0f", func(r *report) float64 { return r.Rules.PlainPerSecond })+" clicks/s = **"+
			f("%.3f", func(r *report) float64 { return r.Rules.Ratio })+"×** ("+f("%.1f", func(r *report) float64 { return r.Rules.Noise * 100 })+" %)",
		"within the plain runs' spread (5 % at least)", rs.met(phaseRules, func(r *report) bool { return r.Rules.Ratio >= 1-max(r.Rules.Noise, 0.05) }))
	row("the same run: clicks through a smart link over three offers / plain clicks; clicks on an offer with 20 targeting rules under network block lists of 10,000 IP ranges and 1,000 user agents / plain",
		f("%.0f", func(r *report) float64 { return r.Rules.SmartPerSecond })+" / "+f("%.0f", func(r *report) float64 { return r.Rules.PlainPerSecond })+" = **"+
			f("%.3f", func(r *report) float64 { return r.Rules.SmartRatio })+"×**; "+
			f("%.0f", func(r *report) float64 { return r.Rules.TargetedPerSec })+" / "+f("%.0f", func(r *report) float64 { return r.Rules.PlainPerSecond })+" = **"+
			f("%.3f", func(r *report) float64 { return r.Rules.TargetedRatio })+"×**; p99 at the same rate "+
			f("%.2f", func(r *report) float64 { return r.Rules.SmartLatency.P99 })+" / "+f("%.2f", func(r *report) float64 { return r.Rules.TargetedLatency.P99 })+" ms",
		fmt.Sprintf("each ≥ %.2f×", trafficRatioFloor), rs.met(phaseRules, func(r *report) bool {
			return r.Rules.SmartRatio >= trafficRatioFloor && r.Rules.TargetedRatio >= trafficRatioFloor
		}))
	row(fmt.Sprintf("the same, click latency at %s clicks/s, ruled / plain (plain again, after the others), p50 / p99", f("%.0f", func(r *report) float64 { return r.Rules.Rate })),
		f("%.2f", func(r *report) float64 { return r.Rules.RuledLatency.P50 })+" / **"+f("%.2f", func(r *report) float64 { return r.Rules.RuledLatency.P99 })+"** ms; "+
			f("%.2f", func(r *report) float64 { return r.Rules.PlainLatency.P50 })+" / "+f("%.2f", func(r *report) float64 { return r.Rules.PlainLatency.P99 })+" ms ("+
			f("%.2f", func(r *report) float64 { return r.Rules.PlainLatencyAgain.P50 })+" / "+f("%.2f", func(r *report) float64 { return r.Rules.PlainLatencyAgain.P99 })+" ms)",
		"p99 within the plain runs' spread", rs.met(phaseRules, func(r *report) bool {
			return withinNoise(r.Rules.RuledLatency.P99, r.Rules.PlainLatency.P99, r.Rules.PlainLatencyAgain.P99)
		}))
	row("the same, conversions on ruled / plain offers (plain again) (caps counted in the claim script), acknowledged per second; intake p99",
		f("%.0f", func(r *report) float64 { return r.Rules.RuledConvs.PerSecond })+" / "+f("%.0f", func(r *report) float64 { return r.Rules.PlainConvs.PerSecond })+
			" ("+f("%.0f", func(r *report) float64 { return r.Rules.PlainConvsAgain.PerSecond })+") /s; "+
			f("%.2f", func(r *report) float64 { return r.Rules.RuledConvs.Intake.P99 })+" / "+f("%.2f", func(r *report) float64 { return r.Rules.PlainConvs.Intake.P99 })+
			" ("+f("%.2f", func(r *report) float64 { return r.Rules.PlainConvsAgain.Intake.P99 })+") ms",
		"rate as plain, p99 within the plain runs' spread", rs.met(phaseRules, func(r *report) bool {
			p, q, again := r.Rules.PlainConvs, r.Rules.RuledConvs, r.Rules.PlainConvsAgain
			return q.Refused == 0 && q.PerSecond >= min(p.PerSecond, again.PerSecond)*0.98 && withinNoise(q.Intake.P99, p.Intake.P99, again.Intake.P99)
		}))
	row("302s answered / clicks in Redis (+ evicted by the cold phase) / clicks in ClickHouse",
		f("%.0f", func(r *report) float64 { return float64(r.Accounting.Answered) })+" / "+f("%.0f", func(r *report) float64 { return float64(r.Accounting.InRedis) })+
			" (+ "+f("%.0f", func(r *report) float64 { return float64(r.Accounting.Evicted) })+") / "+f("%.0f", func(r *report) float64 { return float64(r.Accounting.InClickHouse) }),
		"equal", rs.met("", func(r *report) bool { return r.Accounting.clicksMatch() }))
	row("conversions acknowledged / in ClickHouse",
		f("%.0f", func(r *report) float64 { return float64(r.Accounting.ConversionsAcknowledged) })+" / "+f("%.0f", func(r *report) float64 { return float64(r.Accounting.ConversionsStored) }),
		"equal", rs.met("", func(r *report) bool { return r.Accounting.ConversionsAcknowledged == r.Accounting.ConversionsStored }))
	var took []string
	for _, r := range rs {
		took = append(took, r.Finished.Sub(r.Started).Round(time.Second).String())
	}
	fmt.Fprintf(&b, "\nEach run took %s (settled before the latency run after %s).\n", strings.Join(took, ", "), settledAfter(rs))
	fmt.Fprintf(&b, "Machine: %s, %d cores, %s; %s. Load generators, services and clickrelay share it.\n", r0.Machine.CPU, r0.Machine.Cores, r0.Machine.Kernel, r0.Machine.Go)
	fmt.Fprintf(&b, "Peers: %s.\n", strings.Join(r0.Machine.Peers, ", "))
	return b.String()
}

func settledAfter(rs runs) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Settled)
	}
	return strings.Join(s, ", ")
}

// write saves the table and the JSON (every run, and each numeric
// figure's median and spread over them) under dir, named by the first
// run's start time, and as latest.*.
func (rs runs) write(dir, table string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	figures, err := rs.figures()
	if err != nil {
		return err
	}
	body, err := json.MarshalIndent(struct {
		Repeats int               `json:"repeats"`
		Figures map[string]spread `json:"figures"`
		Runs    runs              `json:"runs"`
	}{len(rs), figures, rs}, "", "  ")
	if err != nil {
		return err
	}
	stamp := rs[0].Started.Format("20060102-150405")
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

// spread is one figure over the runs.
type spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// spreadOf returns the median (the mean of the middle two of an even
// count), the least and the greatest of vals.
func spreadOf(vals []float64) spread {
	if len(vals) == 0 {
		return spread{}
	}
	s := slices.Sorted(slices.Values(vals))
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return spread{Median: m, Min: s[0], Max: s[len(s)-1]}
}

// figures flattens every run's JSON to its numeric leaves, named by path
// (click_latency.p99_ms, cpu_per_click.per_process_us.redis, ...), and
// returns each one's spread. Arrays (each wrk run, the slow timeline) are
// left out: their runs are not the same figure.
func (rs runs) figures() (map[string]spread, error) {
	values := map[string][]float64{}
	for _, r := range rs {
		raw, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		var tree map[string]any
		if err := json.Unmarshal(raw, &tree); err != nil {
			return nil, err
		}
		flatten("", tree, values)
	}
	out := map[string]spread{}
	for name, v := range values {
		out[name] = spreadOf(v)
	}
	return out, nil
}

func flatten(prefix string, node any, into map[string][]float64) {
	switch n := node.(type) {
	case float64:
		into[prefix] = append(into[prefix], n)
	case map[string]any:
		for k, v := range n {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			flatten(name, v, into)
		}
	}
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
