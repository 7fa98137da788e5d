package clickhouse

import (
	"context"
	"fmt"
	"time"
)

// PostbackHealth is what the postback attempts of a window add up to: each
// delivery (a conversion, postback and event) by the outcome of its latest
// attempt in the window, and the attempts' p99 latency.
type PostbackHealth struct {
	Delivered, Retrying, Failed uint64
	P99Latency                  time.Duration
}

// PostbackHealth reads the attempt log for attempts made in [from, to).
// The table is ordered by delivery, not time: its monthly partitions bound
// the scan, which a day of 100,000 conversions keeps to a few hundred
// thousand rows.
func (c *Component) PostbackHealth(ctx context.Context, from, to time.Time) (PostbackHealth, error) {
	attempts := c.table("postback_attempts")
	// One pass: the inner query folds each delivery's attempts (a
	// ReplacingMergeTree may still hold one twice: argMax reads it once).
	sql := `SELECT countIf(ok = 1), countIf(ok = 0 AND done = 0), countIf(ok = 0 AND done = 1),
       (SELECT quantile(0.99)(latency_us) FROM ` + attempts + ` WHERE ts >= ? AND ts < ?)
FROM (SELECT argMax(success, attempt) AS ok, argMax(final, attempt) AS done
      FROM ` + attempts + ` WHERE ts >= ? AND ts < ?
      GROUP BY conversion_id, postback_id, event)`
	ctx, cancel := c.queryContext(ctx)
	defer cancel()
	var h PostbackHealth
	var p99 float64
	f, t := from.UTC(), to.UTC()
	if err := c.conn.QueryRow(ctx, sql, f, t, f, t).Scan(&h.Delivered, &h.Retrying, &h.Failed, &p99); err != nil {
		return PostbackHealth{}, fmt.Errorf("postback health: %w", err)
	}
	if p99 == p99 { // quantile of no rows is NaN
		h.P99Latency = time.Duration(p99) * time.Microsecond
	}
	return h, nil
}
