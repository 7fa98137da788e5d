package clickhouse

import (
	"context"
	"fmt"
	"time"
)

// click_lookup serves conversions only, and a conversion on a click older
// than the attribution window is refused before any lookup (ingest), so a
// month of click_lookup whose clicks are all past the window is never read
// again. The sink drops such months, checking at most once an hour after
// an insert of clicks. The raw clicks table keeps every click: only the
// lookup copy goes, which bounds its disk to the window and a month.

// lookupRetentionEvery is how often InsertClicksAt looks for months to drop.
const lookupRetentionEvery = time.Hour

// dropExpiredLookupsNow runs dropExpiredLookups unless it ran within
// lookupRetentionEvery. A failure is logged: the clicks are stored, and the
// next check tries again.
func (c *Component) dropExpiredLookupsNow(ctx context.Context) {
	now := time.Now()
	last := c.lookupsCheckedAt.Load()
	if now.UnixNano()-last < int64(lookupRetentionEvery) || !c.lookupsCheckedAt.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	if _, err := c.dropExpiredLookups(ctx, now); err != nil {
		c.log.Warn().Err(err).Msg("cannot drop click_lookup's months past the attribution window; trying again in an hour")
	}
}

// dropExpiredLookups drops the partitions of click_lookup whose clicks are
// all older than the attribution window at now, and returns how many. A
// partition is a calendar month in the server's time zone; a day's margin
// past the month's end covers any zone.
func (c *Component) dropExpiredLookups(ctx context.Context, now time.Time) (int, error) {
	if c.config.AttributionWindow <= 0 {
		return 0, nil
	}
	// Bounded as every read is: the sink's flush waits on this.
	ctx, cancel := c.queryContext(ctx)
	defer cancel()
	partitions, err := c.lookupPartitions(ctx)
	if err != nil {
		return 0, err
	}
	var expired []string
	for _, partition := range partitions {
		month, err := time.Parse("200601", partition)
		if err != nil {
			continue // not a month (a future schema's): left alone
		}
		if now.Sub(month.AddDate(0, 1, 1)) > c.config.AttributionWindow {
			expired = append(expired, partition)
		}
	}
	for i, partition := range expired {
		// partition parsed as six digits above: safe to write as it is.
		if err := c.conn.Exec(ctx, "ALTER TABLE "+c.table("click_lookup")+" DROP PARTITION "+partition); err != nil {
			return i, fmt.Errorf("dropping click_lookup's partition %s: %w", partition, err)
		}
		c.log.Info().Str("partition", partition).Msg("dropped click_lookup's month past the attribution window")
	}
	return len(expired), nil
}

// lookupPartitions lists click_lookup's partitions that hold data.
func (c *Component) lookupPartitions(ctx context.Context) ([]string, error) {
	rows, err := c.conn.Query(ctx, "SELECT DISTINCT partition FROM system.parts WHERE database = ? AND table = 'click_lookup' AND active", c.database)
	if err != nil {
		return nil, fmt.Errorf("listing click_lookup's partitions: %w", err)
	}
	defer rows.Close()
	var partitions []string
	for rows.Next() {
		var partition string
		if err := rows.Scan(&partition); err != nil {
			return nil, err
		}
		partitions = append(partitions, partition)
	}
	return partitions, rows.Err()
}
