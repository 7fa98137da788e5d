package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/clickrelay/clickrelay/model"
)

// Idempotent inserts.
//
// The sink commits a batch's offsets after ClickHouse has it, so a crash in
// between redelivers the batch. The raw tables would fold the copy
// (ReplacingMergeTree), but the per-minute rollups are fed by inserts and
// would count it twice. So every row records its Kafka partition and
// offset, and before an insert one query asks, for the batch's partitions,
// the highest offset already stored at or above the batch's lowest. A
// partition's rows are inserted in offset order (one consumer per
// partition, batches in fetch order, blocks of one INSERT in order), so
// what a crash left stored is a prefix: the rows at or below that offset
// are skipped. The query is bounded by the batch's time range, which the
// tables' sorting keys start with.
//
// Conversions are also skipped by (conversion ID, version) already stored:
// the intake may re-publish a conversion whose acknowledgement was lost
// (storage/redis/claims.go), as a second message with the same ID.

// storedOffsets returns, per partition of at, the highest offset table
// holds at or above the lowest offset of at in that partition.
func (c *Component) storedOffsets(ctx context.Context, table string, at []model.Offset, minMs, maxMs int64) (map[int32]int64, error) {
	low := map[int32]int64{}
	for _, o := range at {
		if l, ok := low[o.Partition]; !ok || o.Offset < l {
			low[o.Partition] = o.Offset
		}
	}
	conds := make([]string, 0, len(low))
	for p, l := range low {
		conds = append(conds, "(kafka_partition = "+strconv.FormatInt(int64(p), 10)+" AND kafka_offset >= "+strconv.FormatInt(l, 10)+")")
	}
	sql := "SELECT kafka_partition, max(kafka_offset) FROM " + c.table(table) +
		" WHERE ts >= ? AND ts <= ? AND (" + strings.Join(conds, " OR ") + ") GROUP BY kafka_partition"
	rows, err := c.conn.Query(ctx, sql, datetime(minMs).Truncate(time.Second), datetime(maxMs))
	if err != nil {
		return nil, fmt.Errorf("reading the offsets stored in %s: %w", table, err)
	}
	defer rows.Close()
	stored := map[int32]int64{}
	for rows.Next() {
		var p int32
		var o int64
		if err := rows.Scan(&p, &o); err != nil {
			return nil, fmt.Errorf("reading the offsets stored in %s: %w", table, err)
		}
		stored[p] = o
	}
	return stored, rows.Err()
}

// unstored drops from recs (and at) the rows whose offsets are stored. It
// returns the slices themselves when nothing is dropped.
func unstored[T any](recs []T, at []model.Offset, stored map[int32]int64) ([]T, []model.Offset) {
	if len(stored) == 0 {
		return recs, at
	}
	keepRecs, keepAt := make([]T, 0, len(recs)), make([]model.Offset, 0, len(at))
	for i := range recs {
		if s, ok := stored[at[i].Partition]; ok && at[i].Offset <= s {
			continue
		}
		keepRecs, keepAt = append(keepRecs, recs[i]), append(keepAt, at[i])
	}
	return keepRecs, keepAt
}

// skipStored applies storedOffsets and unstored to a batch whose row i
// has time timeOf(i).
func skipStored[T any](ctx context.Context, c *Component, table string, recs []T, at []model.Offset, timeOf func(*T) int64) ([]T, []model.Offset, error) {
	if len(at) == 0 {
		return recs, at, nil
	}
	if len(at) != len(recs) {
		return nil, nil, fmt.Errorf("inserting into %s: %d offsets for %d rows", table, len(at), len(recs))
	}
	minMs, maxMs := timeOf(&recs[0]), timeOf(&recs[0])
	for i := range recs {
		minMs, maxMs = min(minMs, timeOf(&recs[i])), max(maxMs, timeOf(&recs[i]))
	}
	stored, err := c.storedOffsets(ctx, table, at, minMs, maxMs)
	if err != nil {
		return nil, nil, err
	}
	recs, at = unstored(recs, at, stored)
	return recs, at, nil
}

// storedConversions drops conversions whose (ID, version) is stored, and
// repeats within the batch.
func (c *Component) storedConversions(ctx context.Context, convs []model.Conversion, at []model.Offset) ([]model.Conversion, []model.Offset, error) {
	if len(convs) == 0 {
		return convs, at, nil
	}
	type key struct {
		id      string
		version uint32
	}
	ids := make([]string, 0, len(convs))
	minMs, maxMs := convs[0].Time, convs[0].Time
	for i := range convs {
		ids = append(ids, convs[i].ID)
		minMs, maxMs = min(minMs, convs[i].Time), max(maxMs, convs[i].Time)
	}
	rows, err := c.conn.Query(ctx, "SELECT conversion_id, version FROM "+c.table("conversions")+
		" WHERE ts >= ? AND ts <= ? AND has(?, conversion_id)", datetime(minMs).Truncate(time.Second), datetime(maxMs), ids)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the conversions stored: %w", err)
	}
	defer rows.Close()
	seen := map[key]bool{}
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.id, &k.version); err != nil {
			return nil, nil, fmt.Errorf("reading the conversions stored: %w", err)
		}
		seen[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	keepConvs := make([]model.Conversion, 0, len(convs))
	var keepAt []model.Offset
	for i := range convs {
		k := key{convs[i].ID, convs[i].Version}
		if seen[k] {
			continue
		}
		seen[k] = true
		keepConvs = append(keepConvs, convs[i])
		if at != nil {
			keepAt = append(keepAt, at[i])
		}
	}
	return keepConvs, keepAt, nil
}

// offsetColumns are the kafka_partition and kafka_offset columns of rows
// at; -1 for rows inserted without (tests, tools).
func offsetColumns(at []model.Offset) []column {
	return []column{
		values("kafka_partition", func(i int) int32 {
			if at == nil {
				return -1
			}
			return at[i].Partition
		}),
		values("kafka_offset", func(i int) int64 {
			if at == nil {
				return -1
			}
			return at[i].Offset
		}),
	}
}
