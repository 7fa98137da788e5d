package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/clickrelay/clickrelay/internal/loadgen"
)

// What a click costs: CPU of every process of the stack, Redis memory held
// while the click is kept, ClickHouse bytes on disk.

// stackProcess is one process of the stack whose CPU a run counts.
type stackProcess struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
}

// usageSample is the CPU and page faults every process of the stack had
// used at one moment.
type usageSample map[string]loadgen.ProcessUsage

func sampleUsage(procs []stackProcess) (usageSample, error) {
	s := usageSample{}
	for _, p := range procs {
		u, err := loadgen.ReadProcessUsage(p.PID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		s[p.Name] = u
	}
	return s, nil
}

// cpuPerClick is the CPU the stack spent per click answered, per process
// and in all, in microseconds.
type cpuPerClick struct {
	Clicks       int64              `json:"clicks"`
	Window       string             `json:"window"`
	PerProcessUS map[string]float64 `json:"per_process_us"`
	TotalUS      float64            `json:"total_us"`
	// PageFaultsPerClick is each process's minor page faults per click:
	// the share of its CPU that is the kernel mapping in memory the
	// process's allocator gave back (README, "Performance").
	PageFaultsPerClick map[string]float64 `json:"page_faults_per_click"`
	// StealPercent is the share of the cores' time the host gave to other
	// machines over the same window: part of what makes one run cost more
	// than another on a shared host (what shares a physical core does not
	// show; README, "Performance").
	StealPercent float64 `json:"steal_percent"`
}

// cpuCost is what the stack spent per click between two samples, and the
// host's steal over the same window.
func cpuCost(before, after shareSample, clicks int64) cpuPerClick {
	c := cpuPerClick{Clicks: clicks, Window: after.at.Sub(before.at).Round(time.Millisecond).String(),
		PerProcessUS: map[string]float64{}, PageFaultsPerClick: map[string]float64{}}
	_, c.StealPercent = machineShare(before.machine, after.machine)
	if clicks <= 0 {
		return c
	}
	for name, a := range after.procs {
		b := before.procs[name]
		us := float64(a.CPU-b.CPU) / float64(time.Microsecond) / float64(clicks)
		c.PerProcessUS[name] = round2(us)
		c.TotalUS += us
		c.PageFaultsPerClick[name] = round2(float64(a.PageFaults-b.PageFaults) / float64(clicks))
	}
	c.TotalUS = round2(c.TotalUS)
	return c
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// redisMemory is what Redis holds per live click.
type redisMemory struct {
	UsedBefore int64 `json:"used_memory_before"`
	UsedAfter  int64 `json:"used_memory_after"`
	ClicksKept int64 `json:"clicks_kept"`
	// BytesPerClick is used_memory's growth over the clicks kept: the
	// click's record, its unique-visitor mark and Redis's own overhead.
	BytesPerClick float64 `json:"bytes_per_click"`
	// ClickTTLDays is how long Redis keeps a click's key, read from one.
	ClickTTLDays float64 `json:"click_ttl_days"`
	// ByteDays is BytesPerClick held for ClickTTLDays: what a network pays
	// per click, whatever its traffic.
	ByteDays float64 `json:"byte_days_per_click"`
	// ByteDaysByKeyTTL splits the growth over the key families a sample of
	// random keys shows (by MEMORY USAGE), each held for its own TTL: the
	// unique-visitor mark lives for its own window, not the click's.
	ByteDaysByKeyTTL float64            `json:"byte_days_per_click_by_key_ttl"`
	Families         map[string]keyKind `json:"key_families"`
}

// keyKind is one family of keys (cr:click, cr:uniq, ...) in the sample.
type keyKind struct {
	Sampled     int     `json:"sampled"`
	MemoryShare float64 `json:"memory_share"`
	TTLDays     float64 `json:"ttl_days"`
}

// keyFamily names a key by its prefix and kind: "cr:click:X" is cr:click.
func keyFamily(key string) string {
	parts := strings.SplitN(key, ":", 3)
	if len(parts) < 3 {
		return key
	}
	return parts[0] + ":" + parts[1]
}

// measureRedisMemory completes m (UsedBefore set) once kept clicks are
// in Redis: used_memory's growth per click, the click key's TTL, and a
// sample of random keys for each family's share and TTL. kept is the
// clicks answered so far: the run's accounting checks that every one is in
// Redis, and counting their keys here would scan millions.
func (s *stores) measureRedisMemory(ctx context.Context, m redisMemory, kept int64, samples int) (redisMemory, error) {
	var err error
	if m.UsedAfter, err = loadgen.UsedMemory(ctx, s.redis); err != nil {
		return m, err
	}
	if m.ClicksKept = kept; m.ClicksKept == 0 {
		return m, errors.New("no click kept in Redis to measure")
	}
	m.BytesPerClick = round2(float64(m.UsedAfter-m.UsedBefore) / float64(m.ClicksKept))

	keys, _, err := s.redis.Scan(ctx, 0, "cr:click:*", 100).Result()
	if err != nil || len(keys) == 0 {
		return m, fmt.Errorf("finding a click key for its TTL: %w", err)
	}
	ttl, err := s.redis.PTTL(ctx, keys[0]).Result()
	if err != nil {
		return m, fmt.Errorf("PTTL %s: %w", keys[0], err)
	}
	m.ClickTTLDays = ttl.Hours() / 24
	m.ByteDays = round2(m.BytesPerClick * m.ClickTTLDays)

	// RANDOMKEY then MEMORY USAGE and PTTL of each, in two pipelines.
	pipe := s.redis.Pipeline()
	random := make([]interface{ Val() string }, samples)
	for i := range random {
		random[i] = pipe.RandomKey(ctx)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return m, fmt.Errorf("sampling keys: %w", err)
	}
	pipe = s.redis.Pipeline()
	type probe struct {
		key string
		mem interface{ Val() int64 }
		ttl interface{ Val() time.Duration }
	}
	probes := make([]probe, 0, samples)
	for _, r := range random {
		probes = append(probes, probe{key: r.Val(), mem: pipe.MemoryUsage(ctx, r.Val()), ttl: pipe.PTTL(ctx, r.Val())})
	}
	_, _ = pipe.Exec(ctx) // a key that expired in between answers nil: skipped below
	mem := map[string]int64{}
	var total int64
	m.Families = map[string]keyKind{}
	for _, p := range probes {
		if p.ttl.Val() <= 0 || p.mem.Val() <= 0 {
			continue // keys kept for good are the catalog's, not a click's
		}
		f := m.Families[keyFamily(p.key)]
		f.Sampled++
		f.TTLDays = max(f.TTLDays, p.ttl.Val().Hours()/24)
		m.Families[keyFamily(p.key)] = f
		mem[keyFamily(p.key)] += p.mem.Val()
		total += p.mem.Val()
	}
	for name, f := range m.Families {
		f.MemoryShare = round2(float64(mem[name])/float64(max(total, 1))*100) / 100
		f.TTLDays = round2(f.TTLDays)
		m.Families[name] = f
		m.ByteDaysByKeyTTL += m.BytesPerClick * float64(mem[name]) / float64(max(total, 1)) * f.TTLDays
	}
	m.ByteDaysByKeyTTL = round2(m.ByteDaysByKeyTTL)
	return m, nil
}

// clickhouseBytes is what ClickHouse keeps on disk per click: the raw
// clicks table, and separately the rollups built from it and the table
// the cold lookups read (click_lookup).
type clickhouseBytes struct {
	Clicks               int64   `json:"clicks"`
	RawCompressed        int64   `json:"raw_compressed_bytes"`
	RawUncompressed      int64   `json:"raw_uncompressed_bytes"`
	RawOnDisk            int64   `json:"raw_bytes_on_disk"` // with marks and the primary index
	RollupCompressed     int64   `json:"rollup_compressed_bytes"`
	RollupOnDisk         int64   `json:"rollup_bytes_on_disk"`
	RawPerClick          float64 `json:"raw_bytes_per_click"` // on disk
	RollupPerClick       float64 `json:"rollup_bytes_per_click"`
	LookupOnDisk         int64   `json:"lookup_bytes_on_disk"`
	LookupPerClick       float64 `json:"lookup_bytes_per_click"`
	RawCompressionFactor float64 `json:"raw_compression_factor"`
	Parts                int64   `json:"raw_active_parts"`
}

// measureClickhouseBytes reads system.parts' active parts: the raw clicks
// table, the rollups (the Summing and Aggregating tables the materialized
// views write) and click_lookup.
func (s *stores) measureClickhouseBytes(ctx context.Context, clicks int64) (clickhouseBytes, error) {
	b := clickhouseBytes{Clicks: clicks}
	row := s.ch.QueryRow(ctx, `SELECT
		sumIf(data_compressed_bytes, table = 'clicks'), sumIf(data_uncompressed_bytes, table = 'clicks'),
		sumIf(bytes_on_disk, table = 'clicks'), countIf(table = 'clicks'),
		sumIf(data_compressed_bytes, table NOT IN ('clicks', 'click_lookup')), sumIf(bytes_on_disk, table NOT IN ('clicks', 'click_lookup')),
		sumIf(bytes_on_disk, table = 'click_lookup')
	FROM system.parts
	WHERE active AND database = 'clickrelay' AND (table IN ('clicks', 'click_lookup') OR table IN (
		SELECT name FROM system.tables WHERE database = 'clickrelay' AND (engine LIKE '%Summing%' OR engine LIKE '%Aggregating%')))`)
	var rc, ru, rd, parts, gc, gd, ld uint64
	if err := row.Scan(&rc, &ru, &rd, &parts, &gc, &gd, &ld); err != nil {
		return b, fmt.Errorf("reading system.parts: %w", err)
	}
	b.RawCompressed, b.RawUncompressed, b.RawOnDisk, b.Parts = int64(rc), int64(ru), int64(rd), int64(parts)
	b.RollupCompressed, b.RollupOnDisk, b.LookupOnDisk = int64(gc), int64(gd), int64(ld)
	if clicks > 0 {
		b.RawPerClick = round2(float64(rd) / float64(clicks))
		b.RollupPerClick = round2(float64(gd) / float64(clicks))
		b.LookupPerClick = round2(float64(ld) / float64(clicks))
	}
	if rc > 0 {
		b.RawCompressionFactor = round2(float64(ru) / float64(rc))
	}
	return b, nil
}

// cpuShare is how busy a latency run kept the machine's cores, and each
// process of the stack: a tail is read against the load the cores carried.
type cpuShare struct {
	MachinePercent float64            `json:"machine_percent"` // busy share of all cores, steal included
	StealPercent   float64            `json:"steal_percent"`   // share the host gave to other machines
	ProcessCores   map[string]float64 `json:"process_cores"`   // cores' worth each process used
}

// machineShare returns the busy and stolen shares of the cores' time, in
// percent, between two samples.
func machineShare(before, after loadgen.MachineTimes) (busy, steal float64) {
	total := after.Total - before.Total
	if total <= 0 {
		return 0, 0
	}
	return round2(100 * float64(after.Busy-before.Busy) / float64(total)), round2(100 * float64(after.Steal-before.Steal) / float64(total))
}

// shareDuring runs run and measures the cpuShare it kept.
func shareDuring(stack []stackProcess, run func()) (cpuShare, error) {
	before, err := sampleShare(stack)
	if err != nil {
		return cpuShare{}, err
	}
	run()
	after, err := sampleShare(stack)
	if err != nil {
		return cpuShare{}, err
	}
	wall := after.at.Sub(before.at)
	s := cpuShare{ProcessCores: map[string]float64{}}
	s.MachinePercent, s.StealPercent = machineShare(before.machine, after.machine)
	for name, u := range after.procs {
		s.ProcessCores[name] = round2(float64(u.CPU-before.procs[name].CPU) / float64(wall))
	}
	return s, nil
}

// shareSample is the machine's and the stack's CPU time at one moment.
type shareSample struct {
	at      time.Time
	machine loadgen.MachineTimes
	procs   usageSample
}

func sampleShare(stack []stackProcess) (shareSample, error) {
	s := shareSample{at: time.Now()}
	var err error
	if s.machine, err = loadgen.MachineCPU(); err != nil {
		return s, err
	}
	s.procs, err = sampleUsage(stack)
	return s, err
}
