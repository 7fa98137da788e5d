// Command chcost measures what a click costs ClickHouse, view by view: the
// CPU of the server (from /proc, so it must run on the same machine) and
// the rows it writes and merges (system.events), for batches of clicks
// inserted through the sink's own insert (the raw table, click_lookup and
// the materialized views on clicks), at the pace of the bench's throughput
// run, and then a window of merges. It measures once with every view, once
// with none and once with each alone (-views), detaching the others, so
// that each view's cost is its row minus the "none" row.
//
// It works in a database of its own (-database, created, and dropped
// after unless -keep), never in clickrelay's. Two shapes of traffic
// (-links): the bench's links ("bench": every sub-ID follows the request's
// number and sub4 is unique to each click) and bench/consoleday's
// ("campaigns": sub-IDs that repeat over thousands of clicks).
//
//	go run ./bench/chcost -port 19000 -links bench -out bench/results/clickhouse-cost.md
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/internal/loadgen"
	"github.com/clickrelay/clickrelay/model"
	chstore "github.com/clickrelay/clickrelay/storage/clickhouse"
)

// throughputRate is about the clicks per second the bench's throughput run
// reaches here, which the inserts are paced at by default.
const throughputRate = 28_000

type options struct {
	port     int
	database string
	batches  int
	batch    int
	rate     float64
	settle   time.Duration
	links    string
	views    string
	out      string
	keep     bool
}

func main() {
	var o options
	flag.IntVar(&o.port, "port", 19000, "the local ClickHouse's native port")
	flag.StringVar(&o.database, "database", "chcost", "the scratch database (created; dropped after unless -keep)")
	flag.IntVar(&o.batches, "batches", 20, "inserts per measurement")
	flag.IntVar(&o.batch, "batch", 50_000, "clicks per insert (the sink's batch at full load)")
	flag.Float64Var(&o.rate, "rate", throughputRate, "clicks per second the inserts are paced at (0: back to back)")
	flag.DurationVar(&o.settle, "settle", 10*time.Second, "how long merges are counted after the last insert")
	flag.StringVar(&o.links, "links", "bench", `the traffic: "bench" (the bench's links) or "campaigns" (bench/consoleday's)`)
	flag.StringVar(&o.views, "views", "all,none,each", `what to measure: "all", "none", "each" (every view alone) or view names, comma-separated`)
	flag.StringVar(&o.out, "out", "", "also write the table to this file")
	flag.BoolVar(&o.keep, "keep", false, "keep the scratch database")
	flag.Parse()
	if o.batches < 1 || o.batch < 1 || o.rate < 0 {
		log.Fatal("-batches and -batch must be at least 1, -rate at least 0")
	}
	if o.links != "bench" && o.links != "campaigns" {
		log.Fatalf(`-links: %q is neither "bench" nor "campaigns"`, o.links)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		log.Fatal(err)
	}
}

// measurement is one configuration's cost.
type measurement struct {
	config         configuration
	clicks         int
	cpu            time.Duration
	pageFaults     int64 // the server's minor page faults (/proc)
	kept           int64 // rows in the tables' active parts at the end
	merged         int64 // rows merges read (system.events MergedRows)
	insertDuration time.Duration
}

func run(ctx context.Context, o options) error {
	pid, err := loadgen.PIDListeningOn(o.port)
	if err != nil {
		return fmt.Errorf("finding the ClickHouse server on port %d (it must run on this machine): %w", o.port, err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", o.port)
	admin, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}})
	if err != nil {
		return err
	}
	defer admin.Close()
	store, err := chstore.New(chstore.Dependencies{Logger: zerolog.Nop()}, chstore.Configuration{
		DSN: "clickhouse://" + addr + "/" + o.database, QueryTimeout: time.Minute, AttributionWindow: 30 * 24 * time.Hour,
	})
	if err != nil {
		return err
	}
	if err := store.Start(ctx); err != nil {
		return err
	}
	defer store.Stop(context.Background())
	// Its database is made anew: refuse one that holds clicks (clickrelay's,
	// or a scratch one kept with -keep), which would be dropped with it.
	var tables uint64
	if err := admin.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = 'clicks'", o.database).Scan(&tables); err != nil {
		return err
	}
	if tables > 0 {
		var clicks uint64
		if err := admin.QueryRow(ctx, "SELECT count() FROM "+o.database+".clicks").Scan(&clicks); err != nil {
			return err
		}
		if clicks > 0 {
			return fmt.Errorf("-database %s holds %d clicks: name a database of its own (it is dropped and made again)", o.database, clicks)
		}
	}
	if err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+o.database); err != nil {
		return err
	}
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	if !o.keep {
		defer admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+o.database)
	}
	db := scratch{conn: admin, name: o.database}
	views, err := db.viewsOnClicks(ctx)
	if err != nil {
		return err
	}
	configs, err := configurations(o.views, views)
	if err != nil {
		return err
	}
	attached := map[string]bool{}
	for _, v := range views {
		attached[v] = true
	}
	var results []measurement
	for _, c := range configs {
		for _, v := range views {
			want := slices.Contains(c.views, v)
			if want != attached[v] {
				if err := db.setAttached(ctx, v, want); err != nil {
					return err
				}
				attached[v] = want
			}
		}
		log.Printf("measuring %s", c.name)
		m, err := measure(ctx, o, pid, db, store)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		m.config = c
		results = append(results, m)
	}
	for _, v := range views {
		if !attached[v] {
			if err := db.setAttached(ctx, v, true); err != nil {
				return err
			}
		}
	}
	table := report(o, results)
	fmt.Print(table)
	if o.out != "" {
		return os.WriteFile(o.out, []byte(table), 0o644)
	}
	return nil
}

// configuration is a set of the views on clicks to measure with.
type configuration struct {
	name  string
	views []string
}

func configurations(spec string, views []string) ([]configuration, error) {
	var out []configuration
	for _, s := range strings.Split(spec, ",") {
		switch s = strings.TrimSpace(s); {
		case s == "all":
			out = append(out, configuration{"every view", views})
		case s == "none":
			out = append(out, configuration{"no view (clicks and click_lookup)", nil})
		case s == "each":
			for _, v := range views {
				out = append(out, configuration{v + " alone", []string{v}})
			}
		case slices.Contains(views, s):
			out = append(out, configuration{s + " alone", []string{s}})
		default:
			return nil, fmt.Errorf("-views: %q is not all, none, each or a view on clicks (%s)", s, strings.Join(views, ", "))
		}
	}
	return out, nil
}

// measure empties the tables, inserts o.batches batches at o.rate, waits
// o.settle for merges, and counts what the server spent from the first
// insert to the end of that window.
func measure(ctx context.Context, o options, pid int, db scratch, store *chstore.Component) (measurement, error) {
	if err := db.truncate(ctx); err != nil {
		return measurement{}, err
	}
	if err := db.waitMerges(ctx, time.Minute); err != nil {
		return measurement{}, err
	}
	before, err := db.spent(ctx, pid)
	if err != nil {
		return measurement{}, err
	}
	start := time.Now()
	at := start.UTC().Truncate(time.Minute)
	var inserting time.Duration
	for b := range o.batches {
		clicks := batchOf(o, b, at)
		offsets := make([]model.Offset, len(clicks))
		for i := range offsets {
			offsets[i] = model.Offset{Partition: 0, Offset: int64(b*o.batch + i)}
		}
		t := time.Now()
		if err := store.InsertClicksAt(ctx, clicks, offsets); err != nil {
			return measurement{}, err
		}
		inserting += time.Since(t)
		if o.rate > 0 {
			next := start.Add(time.Duration(float64((b+1)*o.batch) / o.rate * float64(time.Second)))
			if err := sleepUntil(ctx, next); err != nil {
				return measurement{}, err
			}
		}
	}
	if err := sleepUntil(ctx, time.Now().Add(o.settle)); err != nil {
		return measurement{}, err
	}
	after, err := db.spent(ctx, pid)
	if err != nil {
		return measurement{}, err
	}
	var kept uint64
	if err := db.conn.QueryRow(ctx, "SELECT sum(rows) FROM system.parts WHERE database = ? AND active", db.name).Scan(&kept); err != nil {
		return measurement{}, err
	}
	return measurement{
		clicks: o.batches * o.batch, cpu: after.use.CPU - before.use.CPU, pageFaults: after.use.PageFaults - before.use.PageFaults,
		kept: int64(kept), merged: int64(after.merged - before.merged),
		insertDuration: inserting,
	}, nil
}

// batchOf is batch b's clicks: IDs of their own (the insert skips clicks
// already stored) and times from where the pace puts them.
func batchOf(o options, b int, at time.Time) []model.Click {
	rate := o.rate
	if rate == 0 {
		rate = throughputRate
	}
	from := at.Add(time.Duration(float64(b*o.batch) / rate * float64(time.Second)))
	if o.links == "bench" {
		offers := []string{"o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8"} // the bench's 8 offers and 4 affiliates
		return loadgen.LinkClicks(b*o.batch, o.batch, from, rate, offers, []string{"a1", "a2", "a3", "a4"})
	}
	clicks := loadgen.CampaignClicks(o.batch, from)
	for i := range clicks {
		clicks[i].ID = fmt.Sprintf("b%04d-%s", b, clicks[i].ID)
	}
	return clicks
}

func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// scratch is the measuring database, through a connection of its own.
type scratch struct {
	conn driver.Conn
	name string
}

// viewsOnClicks are the materialized views an insert into clicks feeds.
func (s scratch) viewsOnClicks(ctx context.Context) ([]string, error) {
	var views []string
	row := s.conn.QueryRow(ctx, "SELECT dependencies_table FROM system.tables WHERE database = ? AND name = 'clicks'", s.name)
	if err := row.Scan(&views); err != nil {
		return nil, fmt.Errorf("listing the views on clicks: %w", err)
	}
	if len(views) == 0 {
		return nil, errors.New("no materialized view reads clicks: is the schema migrated?")
	}
	slices.Sort(views)
	return views, nil
}

func (s scratch) setAttached(ctx context.Context, view string, attached bool) error {
	verb := "DETACH"
	if attached {
		verb = "ATTACH"
	}
	if err := s.conn.Exec(ctx, verb+" TABLE "+s.name+"."+view); err != nil {
		return fmt.Errorf("%s %s: %w", strings.ToLower(verb), view, err)
	}
	return nil
}

// truncate empties every table of the scratch database but its
// migrations' record.
func (s scratch) truncate(ctx context.Context) error {
	rows, err := s.conn.Query(ctx, "SELECT name FROM system.tables WHERE database = ? AND engine LIKE '%MergeTree' AND name != 'schema_migrations'", s.name)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range tables {
		if err := s.conn.Exec(ctx, "TRUNCATE TABLE "+s.name+"."+t); err != nil {
			return fmt.Errorf("emptying %s: %w", t, err)
		}
	}
	return nil
}

// waitMerges waits until no merge runs in the scratch database, so one
// measurement's merges are not counted in the next.
func (s scratch) waitMerges(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		var n uint64
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.merges WHERE database = ?", s.name).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d merges still running after %v", n, within)
		}
		if err := sleepUntil(ctx, time.Now().Add(200*time.Millisecond)); err != nil {
			return err
		}
	}
}

// spending is what the server has spent since it started: its CPU and
// page faults, and the rows its merges have read.
type spending struct {
	use    loadgen.ProcessUsage
	merged uint64
}

func (s scratch) spent(ctx context.Context, pid int) (spending, error) {
	use, err := loadgen.ReadProcessUsage(pid)
	if err != nil {
		return spending{}, err
	}
	var merged uint64
	if err := s.conn.QueryRow(ctx, "SELECT sum(value) FROM system.events WHERE event = 'MergedRows'").Scan(&merged); err != nil {
		return spending{}, fmt.Errorf("reading the rows merged: %w", err)
	}
	return spending{use: use, merged: merged}, nil
}

// report is the results as a Markdown table, each view's cost beside the
// row without views.
func report(o options, results []measurement) string {
	var base *measurement
	for i := range results {
		if len(results[i].config.views) == 0 {
			base = &results[i]
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ClickHouse's cost per click (`go run ./bench/chcost -links %s`): %d inserts of %d clicks through the sink's insert, paced at %.0f clicks/s, then %v of merges; the server's CPU and page faults from /proc, rows merged from `system.events`, rows kept from `system.parts`.\n\n",
		o.links, o.batches, o.batch, o.rate, o.settle)
	b.WriteString("| views on `clicks` | CPU per click | more than no view | page faults per click | rows merged per click | rows kept per click | inserts' wall time |\n|---|---|---|---|---|---|---|\n")
	for _, m := range results {
		perClick := float64(m.cpu.Microseconds()) / float64(m.clicks)
		extra := ""
		if base != nil && len(m.config.views) > 0 {
			extra = fmt.Sprintf("%+.1f µs", perClick-float64(base.cpu.Microseconds())/float64(base.clicks))
		}
		fmt.Fprintf(&b, "| %s | %.1f µs | %s | %.2f | %.2f | %.2f | %v |\n", m.config.name, perClick, extra, float64(m.pageFaults)/float64(m.clicks),
			float64(m.merged)/float64(m.clicks), float64(m.kept)/float64(m.clicks), m.insertDuration.Round(time.Millisecond))
	}
	return b.String()
}
