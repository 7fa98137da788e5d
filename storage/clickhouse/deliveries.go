package clickhouse

import (
	"context"
	"fmt"
	"time"
)

// DeliveryQuery selects a postback's deliveries (one per conversion and
// event) whose first attempt was in [From, To).
type DeliveryQuery struct {
	PostbackID string
	From, To   time.Time
	// Outcome filters on the latest attempt: DeliveryDelivered,
	// DeliveryRetrying, DeliveryFailed, or "" for all.
	Outcome string
	// Offset and Limit page through them, newest first.
	Offset, Limit int
	// Exclude leaves out these deliveries ("{conversion_id}:{event}"):
	// the dead letter's, which it shows as dead whatever the log says.
	Exclude []string
}

// Outcomes the attempt log alone can tell (the dead letter tells dead).
const (
	DeliveryDelivered = "delivered" // the latest attempt landed
	DeliveryRetrying  = "retrying"  // the latest attempt failed, another follows
	DeliveryFailed    = "failed"    // the latest attempt failed, none follows
)

// DeliveryRow is one delivery as its attempts sum it up.
type DeliveryRow struct {
	ConversionID string
	Event        string
	ClickID      string
	First        time.Time // its first attempt
	Success      bool      // the latest attempt's outcome
	Final        bool      // no attempt follows the latest
}

// Outcome is the row's outcome in the attempt log.
func (r *DeliveryRow) Outcome() string {
	switch {
	case r.Success:
		return DeliveryDelivered
	case r.Final:
		return DeliveryFailed
	}
	return DeliveryRetrying
}

// PostbackDeliveries lists a postback's deliveries, newest first, with how
// many match. A ReplacingMergeTree may still hold a row twice: the
// aggregates read it once.
func (c *Component) PostbackDeliveries(ctx context.Context, q DeliveryQuery) ([]DeliveryRow, uint64, error) {
	attempts := c.table("postback_attempts")
	having := ""
	switch q.Outcome {
	case DeliveryDelivered:
		having = "HAVING argMax(success, attempt) = 1"
	case DeliveryRetrying:
		having = "HAVING argMax(success, attempt) = 0 AND argMax(final, attempt) = 0"
	case DeliveryFailed:
		having = "HAVING argMax(success, attempt) = 0 AND argMax(final, attempt) = 1"
	case "":
	default:
		return nil, 0, fmt.Errorf("postback deliveries: unknown outcome %q", q.Outcome)
	}
	// The first attempt's partition bounds the scan of the inner query.
	inner := `SELECT conversion_id, event, any(click_id) AS click_id, min(ts_ms) AS first_ms,
       argMax(success, attempt) AS ok, argMax(final, attempt) AS done
FROM ` + attempts + `
WHERE postback_id = ? AND (conversion_id, event) IN (
    SELECT conversion_id, event FROM ` + attempts + `
    WHERE postback_id = ? AND attempt = 1 AND ts >= ? AND ts < ?)`
	args := []any{q.PostbackID, q.PostbackID, q.From.UTC(), q.To.UTC()}
	if len(q.Exclude) > 0 {
		// An empty array would be Array(Nothing), which has() refuses.
		inner += "\n  AND NOT has(?, concat(conversion_id, ':', event))"
		args = append(args, q.Exclude)
	}
	inner += "\nGROUP BY conversion_id, event\n" + having
	ctx, cancel := c.queryContext(ctx)
	defer cancel()

	var total uint64
	if err := c.conn.QueryRow(ctx, "SELECT count() FROM ("+inner+")", args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting postback %s's deliveries: %w", q.PostbackID, err)
	}
	sql := inner + fmt.Sprintf("\nORDER BY first_ms DESC, conversion_id, event\nLIMIT %d, %d", max(q.Offset, 0), max(q.Limit, 0))
	rows, err := c.conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("listing postback %s's deliveries: %w", q.PostbackID, err)
	}
	defer rows.Close()
	var out []DeliveryRow
	for rows.Next() {
		var r DeliveryRow
		var first uint64
		var ok, done uint8
		if err := rows.Scan(&r.ConversionID, &r.Event, &r.ClickID, &first, &ok, &done); err != nil {
			return nil, 0, fmt.Errorf("listing postback %s's deliveries: %w", q.PostbackID, err)
		}
		r.First = time.UnixMilli(int64(first)).UTC()
		r.Success, r.Final = ok == 1, done == 1
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("listing postback %s's deliveries: %w", q.PostbackID, err)
	}
	return out, total, nil
}

// DeliveryAttempt is one attempt of a delivery.
type DeliveryAttempt struct {
	ConversionID  string
	Event         string
	Number        uint32
	Time          time.Time
	URL           string
	StatusCode    uint16
	LatencyMicros uint64
	ResponseBody  string
	Error         string
}

// maxAttemptsRead bounds one read of attempts (100 deliveries of a page,
// each re-driven a few times).
const maxAttemptsRead = 10_000

// DeliveryAttempts returns the attempts of a postback's deliveries, named
// "{conversion_id}:{event}", in attempt order.
func (c *Component) DeliveryAttempts(ctx context.Context, postbackID string, deliveryIDs []string) ([]DeliveryAttempt, error) {
	if len(deliveryIDs) == 0 {
		return nil, nil
	}
	// Grouped by attempt rather than FINAL: a row the ReplacingMergeTree
	// has not merged yet is read once.
	sql := `SELECT conversion_id, event, attempt, any(ts_ms), any(url), any(status_code), any(latency_us),
       any(response_body), any(error)
FROM ` + c.table("postback_attempts") + `
WHERE postback_id = ? AND has(?, concat(conversion_id, ':', event))
GROUP BY conversion_id, event, attempt
ORDER BY conversion_id, event, attempt
LIMIT ` + fmt.Sprint(maxAttemptsRead)
	ctx, cancel := c.queryContext(ctx)
	defer cancel()
	rows, err := c.conn.Query(ctx, sql, postbackID, deliveryIDs)
	if err != nil {
		return nil, fmt.Errorf("reading postback %s's attempts: %w", postbackID, err)
	}
	defer rows.Close()
	var out []DeliveryAttempt
	for rows.Next() {
		var a DeliveryAttempt
		var ts uint64
		if err := rows.Scan(&a.ConversionID, &a.Event, &a.Number, &ts, &a.URL, &a.StatusCode, &a.LatencyMicros,
			&a.ResponseBody, &a.Error); err != nil {
			return nil, fmt.Errorf("reading postback %s's attempts: %w", postbackID, err)
		}
		a.Time = time.UnixMilli(int64(ts)).UTC()
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading postback %s's attempts: %w", postbackID, err)
	}
	return out, nil
}
