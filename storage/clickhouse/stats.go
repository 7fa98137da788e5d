package clickhouse

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// StatsQuery selects and groups the per-minute rollup.
type StatsQuery struct {
	From, To     time.Time // [From, To)
	AffiliateID  string    // empty: every affiliate
	AdvertiserID string    // empty: every advertiser
	OfferIDs     []string  // empty: every offer
	GroupBy      []string  // names from StatsDimensions, in output order
	// Location buckets "date" and "hour"; nil means UTC.
	Location *time.Location
	Limit    int
	// ByClicks orders groups by clicks, most first (a top list), instead
	// of by their keys.
	ByClicks bool
}

// StatsRow is one group: Keys line up with the query's GroupBy.
type StatsRow struct {
	Keys         []string
	Clicks       uint64
	UniqueClicks uint64
	BotClicks    uint64
	Conversions  uint64
	// Approved counts conversions whose status is approved now.
	Approved int64
	// PayoutMicros and AmountMicros leave out rejected and reversed
	// conversions.
	PayoutMicros int64
	AmountMicros int64
}

// statsDimensions maps each groupable dimension to its SQL expression; %s
// is the quoted time zone name.
var statsDimensions = map[string]string{
	// The minute as Unix seconds: the console's live chart, which fills
	// the empty minutes itself.
	"minute": "toString(toUnixTimestamp(minute))",
	"date":   "toString(toDate(minute, %s))",
	"hour":   "formatDateTime(minute, '%%Y-%%m-%%d %%H:00', %s)",
	// A week is named by its Monday (ISO weeks), a month by its first day,
	// both as dates in the query's zone: toStartOfInterval is not on 18.16.
	"week":       "toString(toMonday(minute, %s))",
	"month":      "toString(toStartOfMonth(minute, %s))",
	"offer":      "offer_id",
	"affiliate":  "affiliate_id",
	"advertiser": "advertiser_id",
	"geo":        "country",
	"device":     "device",
	"os":         "os",
	"sub1":       "sub1",
	"sub2":       "sub2",
	"sub3":       "sub3",
	"sub4":       "sub4",
	"sub5":       "sub5",
}

var zoneName = regexp.MustCompile(`^[A-Za-z0-9_+\-/]+$`)

// Stats answers a stats query from the rollup.
func (c *Component) Stats(ctx context.Context, q StatsQuery) ([]StatsRow, error) {
	zone := "UTC"
	if q.Location != nil {
		zone = q.Location.String()
	}
	if !zoneName.MatchString(zone) {
		return nil, fmt.Errorf("unusable time zone name %q", zone)
	}
	var keys []string
	for i, d := range q.GroupBy {
		expr, ok := statsDimensions[d]
		if !ok {
			return nil, fmt.Errorf("unknown stats dimension %q", d)
		}
		if strings.Contains(expr, "%s") {
			expr = fmt.Sprintf(expr, "'"+zone+"'")
		}
		keys = append(keys, fmt.Sprintf("%s AS k%d", expr, i))
	}
	var where []string
	args := []any{q.From.UTC(), q.To.UTC()}
	where = append(where, "minute >= ?", "minute < ?")
	if q.AffiliateID != "" {
		where = append(where, "affiliate_id = ?")
		args = append(args, q.AffiliateID)
	}
	if q.AdvertiserID != "" {
		where = append(where, "advertiser_id = ?")
		args = append(args, q.AdvertiserID)
	}
	if len(q.OfferIDs) > 0 {
		where = append(where, "has(?, offer_id)")
		args = append(args, q.OfferIDs)
	}
	sql := "SELECT " + strings.Join(append(keys,
		"sum(clicks)", "sum(unique_clicks)", "sum(bot_clicks)", "sum(conversions)", "sum(approved)",
		"sum(payout_micros)", "sum(amount_micros)"), ", ") +
		" FROM " + c.table("stats_minute") +
		" WHERE " + strings.Join(where, " AND ")
	if len(keys) > 0 {
		var names []string
		for i := range keys {
			names = append(names, fmt.Sprintf("k%d", i))
		}
		sql += " GROUP BY " + strings.Join(names, ", ") + " ORDER BY "
		if q.ByClicks {
			sql += "sum(clicks) DESC, "
		}
		sql += strings.Join(names, ", ")
	}
	if q.Limit > 0 {
		sql += fmt.Sprintf(" LIMIT %d", q.Limit)
	}

	ctx, cancel := c.queryContext(ctx)
	defer cancel()
	rows, err := c.conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("stats query: %w", err)
	}
	defer rows.Close()
	var out []StatsRow
	for rows.Next() {
		r := StatsRow{Keys: make([]string, len(keys))}
		dest := make([]any, 0, len(keys)+7)
		for i := range r.Keys {
			dest = append(dest, &r.Keys[i])
		}
		dest = append(dest, &r.Clicks, &r.UniqueClicks, &r.BotClicks, &r.Conversions, &r.Approved, &r.PayoutMicros, &r.AmountMicros)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("stats query: %w", err)
		}
		// An empty range still answers one all-zero row without GROUP BY;
		// that row is a true answer, kept.
		out = append(out, r)
	}
	return out, rows.Err()
}
