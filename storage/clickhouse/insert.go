package clickhouse

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/clickrelay/clickrelay/model"
)

// column is one column of a batch insert: its name and a typed slice of
// values. Columnar appends spare clickhouse-go a conversion per value.
type column struct {
	name   string
	values any
}

// values builds a column of n values of type T.
func values[T any](name string, n int, get func(i int) T) column {
	v := make([]T, n)
	for i := range v {
		v[i] = get(i)
	}
	return column{name, v}
}

// flag is how booleans are stored: UInt8.
func flag(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// datetime converts Unix milliseconds to a DateTime value.
func datetime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func subs(n int, get func(i int) *[5]string) []column {
	out := make([]column, 5)
	for s := range out {
		out[s] = values(fmt.Sprintf("sub%d", s+1), n, func(i int) string { return get(i)[s] })
	}
	return out
}

// insert sends one batch. The column list in the INSERT is what lets
// clickhouse-go talk to 18.16 servers.
func (c *Component) insert(ctx context.Context, table string, cols []column) error {
	names := make([]string, len(cols))
	for i, col := range cols {
		names[i] = col.name
	}
	batch, err := c.conn.PrepareBatch(ctx, "INSERT INTO "+c.table(table)+" ("+strings.Join(names, ", ")+")")
	if err != nil {
		return fmt.Errorf("preparing an insert into %s: %w", table, err)
	}
	for i, col := range cols {
		if err := batch.Column(i).Append(col.values); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("inserting into %s.%s: %w", table, col.name, err)
		}
		// A column of a large batch takes a millisecond or so to copy: let
		// the click path's goroutines run between columns.
		runtime.Gosched()
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("inserting into %s: %w", table, err)
	}
	return nil
}

// InsertClicks stores enriched clicks.
func (c *Component) InsertClicks(ctx context.Context, clicks []model.Click) error {
	n := len(clicks)
	if n == 0 {
		return nil
	}
	cols := []column{
		values("click_id", n, func(i int) string { return clicks[i].ID }),
		values("ts", n, func(i int) time.Time { return datetime(clicks[i].Time) }),
		values("offer_id", n, func(i int) string { return clicks[i].OfferID }),
		values("affiliate_id", n, func(i int) string { return clicks[i].AffiliateID }),
		values("advertiser_id", n, func(i int) string { return clicks[i].AdvertiserID }),
	}
	cols = append(cols, subs(n, func(i int) *[5]string { return &clicks[i].Subs })...)
	cols = append(cols,
		values("aff_click_id", n, func(i int) string { return clicks[i].AffClickID }),
		values("ip", n, func(i int) string { return clicks[i].IP }),
		values("user_agent", n, func(i int) string { return clicks[i].UserAgent }),
		values("referrer", n, func(i int) string { return clicks[i].Referrer }),
		values("country", n, func(i int) string { return clicks[i].Country }),
		values("device", n, func(i int) string { return clicks[i].Device }),
		values("os", n, func(i int) string { return clicks[i].OS }),
		values("browser", n, func(i int) string { return clicks[i].Browser }),
		values("is_unique", n, func(i int) uint8 { return flag(clicks[i].Unique) }),
		values("is_bot", n, func(i int) uint8 { return flag(clicks[i].Bot) }),
		values("filtered", n, func(i int) uint8 { return flag(clicks[i].Bot && clicks[i].FilterBots) }),
		values("payout_micros", n, func(i int) int64 { return clicks[i].PayoutMicros }),
		values("is_test", n, func(i int) uint8 { return flag(clicks[i].Test) }),
	)
	return c.insert(ctx, "clicks", cols)
}

// InsertConversions stores conversions (any version).
func (c *Component) InsertConversions(ctx context.Context, convs []model.Conversion) error {
	n := len(convs)
	if n == 0 {
		return nil
	}
	cols := []column{
		values("conversion_id", n, func(i int) string { return convs[i].ID }),
		values("version", n, func(i int) uint32 { return convs[i].Version }),
		values("ts", n, func(i int) time.Time { return datetime(convs[i].Time) }),
		values("updated_ts", n, func(i int) time.Time { return datetime(convs[i].UpdatedTime) }),
		values("status", n, func(i int) string { return convs[i].Status }),
		values("click_id", n, func(i int) string { return convs[i].ClickID }),
		values("click_ts", n, func(i int) time.Time { return datetime(convs[i].ClickTime) }),
		values("offer_id", n, func(i int) string { return convs[i].OfferID }),
		values("affiliate_id", n, func(i int) string { return convs[i].AffiliateID }),
		values("advertiser_id", n, func(i int) string { return convs[i].AdvertiserID }),
	}
	cols = append(cols, subs(n, func(i int) *[5]string { return &convs[i].Subs })...)
	cols = append(cols,
		values("aff_click_id", n, func(i int) string { return convs[i].AffClickID }),
		values("country", n, func(i int) string { return convs[i].Country }),
		values("device", n, func(i int) string { return convs[i].Device }),
		values("os", n, func(i int) string { return convs[i].OS }),
		values("txid", n, func(i int) string { return convs[i].TxID }),
		values("customer_id", n, func(i int) string { return convs[i].CustomerID }),
		values("goal", n, func(i int) string { return convs[i].Goal }),
		values("currency", n, func(i int) string { return convs[i].Currency }),
		values("amount_micros", n, func(i int) int64 { return convs[i].AmountMicros }),
		values("payout_micros", n, func(i int) int64 { return convs[i].PayoutMicros }),
		values("payout_type", n, func(i int) string { return convs[i].PayoutType }),
		values("is_test", n, func(i int) uint8 { return flag(convs[i].Test) }),
	)
	return c.insert(ctx, "conversions", cols)
}

// InsertAttempts stores postback attempts.
func (c *Component) InsertAttempts(ctx context.Context, attempts []model.Attempt) error {
	n := len(attempts)
	if n == 0 {
		return nil
	}
	cols := []column{
		values("conversion_id", n, func(i int) string { return attempts[i].ConversionID }),
		values("postback_id", n, func(i int) string { return attempts[i].PostbackID }),
		values("event", n, func(i int) string { return attempts[i].Event }),
		values("attempt", n, func(i int) uint32 { return attempts[i].Number }),
		values("ts", n, func(i int) time.Time { return datetime(attempts[i].Time) }),
		values("ts_ms", n, func(i int) uint64 { return uint64(attempts[i].Time) }),
		values("click_id", n, func(i int) string { return attempts[i].ClickID }),
		values("offer_id", n, func(i int) string { return attempts[i].OfferID }),
		values("affiliate_id", n, func(i int) string { return attempts[i].AffiliateID }),
		values("advertiser_id", n, func(i int) string { return attempts[i].AdvertiserID }),
		values("level", n, func(i int) string { return attempts[i].Level }),
		values("url", n, func(i int) string { return attempts[i].URL }),
		values("success", n, func(i int) uint8 { return flag(attempts[i].Success) }),
		values("status_code", n, func(i int) uint16 { return uint16(attempts[i].StatusCode) }),
		values("debug", n, func(i int) string { return attempts[i].Debug }),
		values("final", n, func(i int) uint8 { return flag(attempts[i].Final) }),
		values("latency_us", n, func(i int) uint64 { return uint64(max(attempts[i].LatencyMicros, 0)) }),
	}
	return c.insert(ctx, "postback_attempts", cols)
}

// InsertEvents stores secondary events.
func (c *Component) InsertEvents(ctx context.Context, events []model.Event) error {
	n := len(events)
	if n == 0 {
		return nil
	}
	return c.insert(ctx, "events", []column{
		values("event_id", n, func(i int) string { return events[i].ID }),
		values("ts", n, func(i int) time.Time { return datetime(events[i].Time) }),
		values("event_type", n, func(i int) string { return events[i].Type }),
		values("click_id", n, func(i int) string { return events[i].ClickID }),
		values("offer_id", n, func(i int) string { return events[i].OfferID }),
		values("affiliate_id", n, func(i int) string { return events[i].AffiliateID }),
		values("advertiser_id", n, func(i int) string { return events[i].AdvertiserID }),
		values("url", n, func(i int) string { return events[i].URL }),
		values("referrer", n, func(i int) string { return events[i].Referrer }),
		values("is_test", n, func(i int) uint8 { return flag(events[i].Test) }),
	})
}
