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
// offset, and before an insert one query asks which of the batch's
// (partition, offset) pairs are stored already, and with which record ID:
// a row is skipped when the row stored at its position is the same record.
// Comparing the ID too keeps a new broker (the embedded one keeps nothing
// across restarts, so offsets start again at 0) from having its rows
// mistaken for old ones. The query is bounded by the batch's time range,
// which the tables' sorting keys start with, and by each partition's
// offset range.
//
// Conversions are also skipped by (conversion ID, version) already stored:
// the intake may re-publish a conversion whose acknowledgement was lost
// (storage/redis/claims.go), as a second message with the same ID.

// position is a row's place in Kafka and its record's identity.
type position struct {
	partition int32
	offset    int64
	id        string
}

// storedPositions returns the positions of at (with the IDs stored there)
// that table holds already. idExpr is the SQL of a row's identity, the
// same that the caller's idOf computes.
func (c *Component) storedPositions(ctx context.Context, table, idExpr string, at []model.Offset, minMs, maxMs int64) (map[position]bool, error) {
	type span struct{ lo, hi int64 }
	spans := map[int32]span{}
	for _, o := range at {
		sp, ok := spans[o.Partition]
		if !ok {
			sp = span{o.Offset, o.Offset}
		}
		spans[o.Partition] = span{min(sp.lo, o.Offset), max(sp.hi, o.Offset)}
	}
	conds := make([]string, 0, len(spans))
	for p, sp := range spans {
		conds = append(conds, "(kafka_partition = "+strconv.FormatInt(int64(p), 10)+
			" AND kafka_offset >= "+strconv.FormatInt(sp.lo, 10)+" AND kafka_offset <= "+strconv.FormatInt(sp.hi, 10)+")")
	}
	sql := "SELECT kafka_partition, kafka_offset, " + idExpr + " FROM " + c.table(table) +
		" WHERE ts >= ? AND ts <= ? AND (" + strings.Join(conds, " OR ") + ")"
	rows, err := c.conn.Query(ctx, sql, datetime(minMs).Truncate(time.Second), datetime(maxMs))
	if err != nil {
		return nil, fmt.Errorf("reading the offsets stored in %s: %w", table, err)
	}
	defer rows.Close()
	stored := map[position]bool{}
	for rows.Next() {
		var p position
		if err := rows.Scan(&p.partition, &p.offset, &p.id); err != nil {
			return nil, fmt.Errorf("reading the offsets stored in %s: %w", table, err)
		}
		stored[p] = true
	}
	return stored, rows.Err()
}

// skipStored drops from recs (and at) the rows already stored at their
// position (see storedPositions). It returns the slices themselves when
// nothing is dropped.
func skipStored[T any](ctx context.Context, c *Component, table, idExpr string, recs []T, at []model.Offset,
	timeOf func(*T) int64, idOf func(*T) string) ([]T, []model.Offset, error) {
	if len(at) == 0 {
		return recs, at, nil
	}
	if len(at) != len(recs) {
		return nil, nil, fmt.Errorf("inserting into %s: %d offsets for %d rows", table, len(at), len(recs))
	}
	// A record twice in one batch (a producer's retry after an ambiguous
	// error writes it again at another offset) is stored once.
	seen := make(map[string]bool, len(recs))
	var dupes int
	for i := range recs {
		id := idOf(&recs[i])
		if seen[id] {
			dupes++
		}
		seen[id] = true
	}
	if dupes > 0 {
		clear(seen)
		keepRecs, keepAt := make([]T, 0, len(recs)-dupes), make([]model.Offset, 0, len(at)-dupes)
		for i := range recs {
			if id := idOf(&recs[i]); !seen[id] {
				seen[id] = true
				keepRecs, keepAt = append(keepRecs, recs[i]), append(keepAt, at[i])
			}
		}
		recs, at = keepRecs, keepAt
	}
	minMs, maxMs := timeOf(&recs[0]), timeOf(&recs[0])
	for i := range recs {
		minMs, maxMs = min(minMs, timeOf(&recs[i])), max(maxMs, timeOf(&recs[i]))
	}
	stored, err := c.storedPositions(ctx, table, idExpr, at, minMs, maxMs)
	if err != nil || len(stored) == 0 {
		return recs, at, err
	}
	keepRecs, keepAt := make([]T, 0, len(recs)), make([]model.Offset, 0, len(at))
	for i := range recs {
		if stored[position{at[i].Partition, at[i].Offset, idOf(&recs[i])}] {
			continue
		}
		keepRecs, keepAt = append(keepRecs, recs[i]), append(keepAt, at[i])
	}
	return keepRecs, keepAt, nil
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
