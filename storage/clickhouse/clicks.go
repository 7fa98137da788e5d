package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/clickrelay/clickrelay/model"
)

// Click finds a click by its ID for a conversion whose click Redis does not
// hold: past its hot window (Redis keeps clicks for that long only), or
// lost in an outage of Redis. It reads click_lookup, the raw table's clicks
// as one record each beside their key (migration 0010), which costs
// ClickHouse half what reading the raw table's columns does. minted is the
// mint time the ID carries: the click's ts, to the second, so the lookup
// reads one granule of the primary key (ts, click_id) of one monthly
// partition.
//
// Lookups arriving together share one query (clickLookups): most of a
// lookup's cost in ClickHouse is the query itself and the granule it
// decompresses, so under load (many conversions on old clicks at once)
// batching them keeps ClickHouse's work per lookup, and the queries in
// flight, bounded. A lone lookup goes at once.
func (c *Component) Click(ctx context.Context, id string, minted time.Time) (model.Click, bool, error) {
	req := &clickLookup{id: id, ts: uint32(minted.Unix()), ms: minted.UnixMilli(), reply: make(chan clickFound, 1)}
	c.lookups.add(c, req)
	select {
	case r := <-req.reply:
		return r.click, r.found, r.err
	case <-ctx.Done():
		return model.Click{}, false, fmt.Errorf("finding click %s: %w", id, ctx.Err())
	}
}

// Batching of click lookups: at most maxLookupQueries queries at once, each
// of up to maxLookupBatch clicks.
const (
	maxLookupQueries = 4
	maxLookupBatch   = 256
)

type clickLookup struct {
	id    string
	ts    uint32 // the mint time, in Unix seconds: the row's ts
	ms    int64  // the mint time in Unix milliseconds: the click's time
	reply chan clickFound
}

type clickFound struct {
	click model.Click
	found bool
	err   error
}

// clickLookups queues lookups for the queries running them. Its zero value
// is ready; no goroutine runs while nothing is asked.
type clickLookups struct {
	mu      sync.Mutex
	pending []*clickLookup
	running int
}

// add queues req, and starts a query runner unless enough are running:
// those take it with their next batch.
func (l *clickLookups) add(c *Component, req *clickLookup) {
	l.mu.Lock()
	l.pending = append(l.pending, req)
	start := l.running < maxLookupQueries
	if start {
		l.running++
	}
	l.mu.Unlock()
	if start {
		go l.run(c)
	}
}

// run queries what is pending, batch after batch, until nothing is.
func (l *clickLookups) run(c *Component) {
	for {
		l.mu.Lock()
		n := min(len(l.pending), maxLookupBatch)
		if n == 0 {
			l.running--
			l.mu.Unlock()
			return
		}
		batch := make([]*clickLookup, n)
		copy(batch, l.pending)
		l.pending = append(l.pending[:0], l.pending[n:]...)
		l.mu.Unlock()
		c.lookupClicks(batch)
	}
}

// lookupClicks runs one query for batch and answers each lookup.
func (c *Component) lookupClicks(batch []*clickLookup) {
	// The rows are bound by the mint time and click_id together, which the
	// primary key (ts, click_id) finds granule by granule. PREWHERE reads
	// those two columns first and the record for the rows found alone.
	// click_lookup holds only clicks sent to an offer: a click turned away
	// never converts (its ID is never handed out either).
	var q strings.Builder
	q.WriteString(`SELECT click_id, toUnixTimestamp(ts), record FROM ` + c.table("click_lookup") + ` PREWHERE (ts, click_id) IN (`)
	args := make([]any, 0, 2*len(batch))
	for i, r := range batch {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(?, ?)")
		args = append(args, r.ts, r.id)
	}
	q.WriteString(")")

	found := make(map[clickKey]model.Click, len(batch))
	err := c.queryClicks(q.String(), args, found)
	for _, r := range batch {
		if err != nil {
			r.reply <- clickFound{err: fmt.Errorf("finding click %s: %w", r.id, err)}
			continue
		}
		click, ok := found[clickKey{r.id, r.ts}]
		if ok {
			// The row's ts is the mint time to the second; the click's
			// time keeps the milliseconds its ID carries.
			click.Time = r.ms
		}
		r.reply <- clickFound{click: click, found: ok}
	}
}

var lookupSettings = clickhouse.WithSettings(clickhouse.Settings{"max_threads": 1})

type clickKey struct {
	id string
	ts uint32
}

func (c *Component) queryClicks(query string, args []any, found map[clickKey]model.Click) error {
	// Not one caller's context: the query answers every lookup in it. One
	// thread: a lookup reads a granule or two per click, and a second
	// thread's start and hand-off cost ClickHouse more than it saves
	// (about a third of a lookup's CPU, measured on 18.16).
	ctx, cancel := c.queryContext(clickhouse.Context(context.Background(), lookupSettings))
	defer cancel()
	rows, err := c.conn.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var click model.Click
		var ts uint32
		var record string
		if err := rows.Scan(&click.ID, &ts, &record); err != nil {
			return err
		}
		if err := decodeLookupRecord(record, &click); err != nil {
			return fmt.Errorf("click %s in click_lookup: %w", click.ID, err)
		}
		found[clickKey{click.ID, ts}] = click
	}
	return rows.Err()
}
