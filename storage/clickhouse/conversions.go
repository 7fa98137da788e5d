package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/clickrelay/clickrelay/model"
)

// ConversionQuery selects conversions, each at its latest version. Empty
// fields do not filter.
type ConversionQuery struct {
	ID           string
	From, To     time.Time // [From, To) of the conversion's time; zero: open
	AffiliateID  string
	AdvertiserID string
	OfferIDs     []string
	Statuses     []string // the latest version's status
	// Test selects test conversions instead of real ones.
	Test bool
	// After continues a listing past this position (newest first).
	After *ConversionCursor
	// Offset skips rows, for page-numbered listings.
	Offset int
	Limit  int // 0: no limit
}

// ConversionCursor is a position in a newest-first listing.
type ConversionCursor struct {
	Time int64 // the conversion's time, Unix milliseconds (second precision)
	ID   string
}

// CursorOf is the position just past c.
func CursorOf(c *model.Conversion) ConversionCursor {
	return ConversionCursor{Time: c.Time, ID: c.ID}
}

// conversionColumns are read in model.Conversion's order by scanConversion.
const conversionColumns = `conversion_id, version, ts, updated_ts, status, prev_status, click_id, click_ts,
    offer_id, affiliate_id, advertiser_id, sub1, sub2, sub3, sub4, sub5, aff_click_id, country, device, os,
    txid, customer_id, goal, currency, amount_micros, payout_micros, revenue_micros, payout_type, reason, is_test, smart_link_id`

// where builds the filters that every version of a conversion shares
// (applied before FINAL folds versions) and those on the latest version
// (applied after).
func (q *ConversionQuery) where() (inner, outer []string, innerArgs, outerArgs []any) {
	inner = []string{"is_test = ?"}
	innerArgs = []any{flag(q.Test)}
	if q.ID != "" {
		inner = append(inner, "conversion_id = ?")
		innerArgs = append(innerArgs, q.ID)
	}
	if !q.From.IsZero() {
		inner = append(inner, "ts >= ?")
		innerArgs = append(innerArgs, q.From.UTC())
	}
	if !q.To.IsZero() {
		inner = append(inner, "ts < ?")
		innerArgs = append(innerArgs, q.To.UTC())
	}
	if q.AffiliateID != "" {
		inner = append(inner, "affiliate_id = ?")
		innerArgs = append(innerArgs, q.AffiliateID)
	}
	if q.AdvertiserID != "" {
		inner = append(inner, "advertiser_id = ?")
		innerArgs = append(innerArgs, q.AdvertiserID)
	}
	if len(q.OfferIDs) > 0 {
		inner = append(inner, "has(?, offer_id)")
		innerArgs = append(innerArgs, q.OfferIDs)
	}
	if q.After != nil {
		at := time.UnixMilli(q.After.Time).UTC()
		inner = append(inner, "(ts < ? OR ts = ? AND conversion_id < ?)")
		innerArgs = append(innerArgs, at, at, q.After.ID)
	}
	outer = []string{"1"}
	if len(q.Statuses) > 0 {
		outer = append(outer, "has(?, status)")
		outerArgs = append(outerArgs, q.Statuses)
	}
	return inner, outer, innerArgs, outerArgs
}

// Conversions lists the conversions q selects, newest first, each at its
// latest version.
func (c *Component) Conversions(ctx context.Context, q ConversionQuery) ([]model.Conversion, error) {
	inner, outer, innerArgs, outerArgs := q.where()
	// FINAL folds versions before the outer filter reads the status, so a
	// conversion is never listed under a status it has left.
	sql := "SELECT " + conversionColumns + " FROM (SELECT " + conversionColumns +
		" FROM " + c.table("conversions") + " FINAL WHERE " + strings.Join(inner, " AND ") +
		") WHERE " + strings.Join(outer, " AND ") + " ORDER BY ts DESC, conversion_id DESC"
	if q.Limit > 0 {
		sql += fmt.Sprintf(" LIMIT %d, %d", max(q.Offset, 0), q.Limit)
	}
	ctx, cancel := c.queryContext(ctx)
	defer cancel()
	rows, err := c.conn.Query(ctx, sql, append(innerArgs, outerArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("conversions query: %w", err)
	}
	defer rows.Close()
	var out []model.Conversion
	for rows.Next() {
		var conv model.Conversion
		var ts, updated, clickTS time.Time
		var test uint8
		if err := rows.Scan(&conv.ID, &conv.Version, &ts, &updated, &conv.Status, &conv.PrevStatus, &conv.ClickID, &clickTS,
			&conv.OfferID, &conv.AffiliateID, &conv.AdvertiserID,
			&conv.Subs[0], &conv.Subs[1], &conv.Subs[2], &conv.Subs[3], &conv.Subs[4],
			&conv.AffClickID, &conv.Country, &conv.Device, &conv.OS,
			&conv.TxID, &conv.CustomerID, &conv.Goal, &conv.Currency,
			&conv.AmountMicros, &conv.PayoutMicros, &conv.RevenueMicros, &conv.PayoutType, &conv.Reason, &test, &conv.SmartLinkID); err != nil {
			return nil, fmt.Errorf("conversions query: %w", err)
		}
		conv.Time, conv.UpdatedTime, conv.ClickTime = ts.UnixMilli(), updated.UnixMilli(), clickTS.UnixMilli()
		conv.Test = test == 1
		out = append(out, conv)
	}
	return out, rows.Err()
}

// CountConversions counts what q selects, ignoring its paging.
func (c *Component) CountConversions(ctx context.Context, q ConversionQuery) (uint64, error) {
	q.After, q.Offset, q.Limit = nil, 0, 0
	inner, outer, innerArgs, outerArgs := q.where()
	sql := "SELECT count() FROM (SELECT status FROM " + c.table("conversions") + " FINAL WHERE " +
		strings.Join(inner, " AND ") + ") WHERE " + strings.Join(outer, " AND ")
	ctx, cancel := c.queryContext(ctx)
	defer cancel()
	var n uint64
	if err := c.conn.QueryRow(ctx, sql, append(innerArgs, outerArgs...)...).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting conversions: %w", err)
	}
	return n, nil
}

// Conversion returns one conversion at its latest version; found is false
// when it is not stored (yet: the sink inserts within about a second of the
// conversion's acknowledgement).
func (c *Component) Conversion(ctx context.Context, id string, test bool) (conv model.Conversion, found bool, err error) {
	out, err := c.Conversions(ctx, ConversionQuery{ID: id, Test: test, Limit: 1})
	if err != nil || len(out) == 0 {
		return model.Conversion{}, false, err
	}
	return out[0], true, nil
}
