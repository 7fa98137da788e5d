package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// CTITBounds are the upper bounds, in seconds, of the click-to-conversion
// time buckets the stats report: under 10 s, 1 min, 10 min, 1 h, 1 day, 7
// days; a last bucket holds the rest.
var CTITBounds = []int64{10, 60, 600, 3600, 86400, 7 * 86400}

// CTITQuery selects the conversions whose distribution CTIT reads.
type CTITQuery struct {
	From, To     time.Time // the conversions' time, [From, To)
	OfferIDs     []string  // empty: every offer
	AffiliateID  string    // empty: every affiliate
	AdvertiserID string    // empty: every advertiser
}

// CTITBucket counts the conversions of one bucket of CTITBounds (its
// index; len(CTITBounds) for the rest), and those of them taken as
// rejected at intake (a reason: past a cap, outside the offer's bounds, an
// address not allowed).
type CTITBucket struct {
	Conversions, RejectedAtIntake uint64
}

// CTIT answers the distribution of the time from click to conversion of
// the conversions q selects, one bucket per bound and one past them.
func (c *Component) CTIT(ctx context.Context, q CTITQuery) ([]CTITBucket, error) {
	where := []string{"is_test = 0", "ts >= ?", "ts < ?"}
	args := []any{q.From.UTC(), q.To.UTC()}
	if len(q.OfferIDs) > 0 {
		where, args = append(where, "has(?, offer_id)"), append(args, q.OfferIDs)
	}
	if q.AffiliateID != "" {
		where, args = append(where, "affiliate_id = ?"), append(args, q.AffiliateID)
	}
	if q.AdvertiserID != "" {
		where, args = append(where, "advertiser_id = ?"), append(args, q.AdvertiserID)
	}
	var bucket strings.Builder
	bucket.WriteString("multiIf(")
	for i, b := range CTITBounds {
		fmt.Fprintf(&bucket, "d < %d, %d, ", b, i)
	}
	fmt.Fprintf(&bucket, "%d)", len(CTITBounds))
	// FINAL: a conversion counts once, at its latest version, which keeps
	// its times and its reason.
	sql := "SELECT " + bucket.String() + " AS b, count(), countIf(reason != '') FROM (SELECT toInt64(ts) - toInt64(click_ts) AS d, reason FROM " +
		c.table("conversions") + " FINAL WHERE " + strings.Join(where, " AND ") + ") GROUP BY b"
	ctx, cancel := c.queryContext(ctx)
	defer cancel()
	rows, err := c.conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("click-to-conversion times: %w", err)
	}
	defer rows.Close()
	out := make([]CTITBucket, len(CTITBounds)+1)
	for rows.Next() {
		var b uint8
		var n, rejected uint64
		if err := rows.Scan(&b, &n, &rejected); err != nil {
			return nil, fmt.Errorf("click-to-conversion times: %w", err)
		}
		if int(b) < len(out) {
			out[b] = CTITBucket{Conversions: n, RejectedAtIntake: rejected}
		}
	}
	return out, rows.Err()
}
