package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// PostbackQuery selects rows of the postback delivery report: postbacks
// first fired in [From, To).
type PostbackQuery struct {
	From, To     time.Time
	OfferIDs     []string // OR within a list; lists AND together
	AffiliateIDs []string
	// Success filters on the outcome of the latest attempt: nil for both.
	Success *bool
	Limit   int // 0: no limit (the streaming export)
}

// PostbackRow is one postback of one conversion for one event, with what
// its attempts add up to.
type PostbackRow struct {
	ConversionID   string
	PostbackID     string
	Event          string
	ClickID        string
	OfferID        string
	AffiliateID    string
	AdvertiserID   string
	Level          string
	FirstAttempt   time.Time
	LastAttempt    time.Time
	Attempts       uint32
	FailedAttempts uint64
	Success        bool // the latest attempt's outcome
	URL            string
	Debug          string
	StatusCode     uint16
	Final          bool
}

// PostbackReport calls each for every row, newest first. It streams: rows
// are not gathered in memory.
func (c *Component) PostbackReport(ctx context.Context, q PostbackQuery, each func(*PostbackRow) error) error {
	inner := []string{"attempt = 1", "ts >= ?", "ts < ?"}
	args := []any{q.From.UTC(), q.To.UTC()}
	if len(q.OfferIDs) > 0 {
		inner = append(inner, "has(?, offer_id)")
		args = append(args, q.OfferIDs)
	}
	if len(q.AffiliateIDs) > 0 {
		inner = append(inner, "has(?, affiliate_id)")
		args = append(args, q.AffiliateIDs)
	}
	attempts := c.table("postback_attempts")
	sql := `SELECT conversion_id, postback_id, event,
       any(click_id), any(offer_id), any(affiliate_id), any(advertiser_id), any(level),
       min(ts_ms), max(ts_ms), max(attempt), uniqExactIf(attempt, success = 0),
       argMax(success, attempt), argMax(url, attempt), argMax(debug, attempt),
       argMax(status_code, attempt), argMax(final, attempt)
FROM ` + attempts + `
WHERE (conversion_id, postback_id, event) IN (
    SELECT conversion_id, postback_id, event FROM ` + attempts + `
    WHERE ` + strings.Join(inner, " AND ") + `)
GROUP BY conversion_id, postback_id, event`
	if q.Success != nil {
		if *q.Success {
			sql += "\nHAVING argMax(success, attempt) = 1"
		} else {
			sql += "\nHAVING argMax(success, attempt) = 0"
		}
	}
	sql += "\nORDER BY max(ts_ms) DESC, conversion_id, postback_id, event"
	if q.Limit > 0 {
		sql += fmt.Sprintf("\nLIMIT %d", q.Limit)
	}

	ctx, cancel := c.queryContext(ctx)
	defer cancel()
	rows, err := c.conn.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("postback report: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r PostbackRow
		var first, last uint64
		var success, final uint8
		if err := rows.Scan(&r.ConversionID, &r.PostbackID, &r.Event,
			&r.ClickID, &r.OfferID, &r.AffiliateID, &r.AdvertiserID, &r.Level,
			&first, &last, &r.Attempts, &r.FailedAttempts,
			&success, &r.URL, &r.Debug, &r.StatusCode, &final); err != nil {
			return fmt.Errorf("postback report: %w", err)
		}
		r.FirstAttempt = time.UnixMilli(int64(first)).UTC()
		r.LastAttempt = time.UnixMilli(int64(last)).UTC()
		r.Success, r.Final = success == 1, final == 1
		if err := each(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}
