package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/clickrelay/clickrelay/model"
)

// column is one column of a batch insert: its name and its values for a
// range of rows, as a typed slice. Columnar appends spare clickhouse-go a
// conversion per value.
type column struct {
	name string
	rows func(lo, hi int) any
}

// values is a column of type T whose i-th value is get(i). Its rows are
// gathered a block at a time into one scratch slice.
func values[T any](name string, get func(i int) T) column {
	var scratch []T
	return column{name, func(lo, hi int) any {
		scratch = scratch[:0]
		for i := lo; i < hi; i++ {
			scratch = append(scratch, get(i))
		}
		return scratch
	}}
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

func subs(get func(i int) *[5]string) []column {
	out := make([]column, 5)
	for s := range out {
		out[s] = values(fmt.Sprintf("sub%d", s+1), func(i int) string { return get(i)[s] })
	}
	return out
}

// blockRows is how many rows an insert sends per block. clickhouse-go
// builds a block's columns from nothing and grows them by doubling, and
// sends a block as one write: a second of clicks in one block was a third
// of the process's garbage, and a burst that held a processor while
// redirects waited. Blocks of one INSERT reuse their columns' buffers, and
// the server still writes one part per INSERT: it squashes blocks up to
// min_insert_block_size_rows. Since the buffers grow to one block and are
// then reused, the block's size is what an insert allocates: 1024 rows
// rather than 4096 cut the sink's share of the process's garbage per click
// by four (ColStr appends, 146 to 33 MB per 160,000 clicks in bench/), for
// a few more blocks a second, each a short write that lets redirects in
// between.
const blockRows = 1024

// insert sends n rows, in blocks of blockRows. The column list in the
// INSERT is what lets clickhouse-go talk to 18.16 servers.
func (c *Component) insert(ctx context.Context, table string, n int, cols []column) error {
	names := make([]string, len(cols))
	for i, col := range cols {
		names[i] = col.name
	}
	batch, err := c.conn.PrepareBatch(ctx, "INSERT INTO "+c.table(table)+" ("+strings.Join(names, ", ")+")")
	if err != nil {
		return fmt.Errorf("preparing an insert into %s: %w", table, err)
	}
	for lo := 0; lo < n; lo += blockRows {
		hi := min(lo+blockRows, n)
		for i, col := range cols {
			if err := batch.Column(i).Append(col.rows(lo, hi)); err != nil {
				_ = batch.Abort()
				return fmt.Errorf("inserting into %s.%s: %w", table, col.name, err)
			}
		}
		if hi < n {
			if err := batch.Flush(); err != nil {
				_ = batch.Abort()
				return fmt.Errorf("inserting into %s: %w", table, err)
			}
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("inserting into %s: %w", table, err)
	}
	return nil
}

// InsertClicks stores enriched clicks.
func (c *Component) InsertClicks(ctx context.Context, clicks []model.Click) error {
	return c.InsertClicksAt(ctx, clicks, nil)
}

// InsertClicksAt stores clicks read from Kafka at the offsets at (one per
// row), skipping those a previous insert stored (idempotent.go).
func (c *Component) InsertClicksAt(ctx context.Context, clicks []model.Click, at []model.Offset) error {
	clicks, at, err := skipStored(ctx, c, "clicks", "click_id", clicks, at, func(r *model.Click) int64 { return r.Time }, func(r *model.Click) string { return r.ID })
	if err != nil {
		return err
	}
	n := len(clicks)
	if n == 0 {
		return nil
	}
	// Their lookup rows first: a crash between the two inserts redelivers
	// the batch, which then finds its clicks missing and writes both again
	// (click_lookup folds the copy); the other way round, the clicks would
	// be skipped as stored and their lookup rows never written.
	if err := c.insertLookups(ctx, clicks); err != nil {
		return err
	}
	if err := c.insert(ctx, "clicks", n, append(clickColumns(clicks), offsetColumns(at)...)); err != nil {
		return err
	}
	c.dropExpiredLookupsNow(ctx)
	return nil
}

// clickColumns are the clicks table's columns of clicks.
func clickColumns(clicks []model.Click) []column {
	cols := []column{
		values("click_id", func(i int) string { return clicks[i].ID }),
		values("ts", func(i int) time.Time { return datetime(clicks[i].Time) }),
		values("offer_id", func(i int) string { return clicks[i].OfferID }),
		values("affiliate_id", func(i int) string { return clicks[i].AffiliateID }),
		values("advertiser_id", func(i int) string { return clicks[i].AdvertiserID }),
	}
	cols = append(cols, subs(func(i int) *[5]string { return &clicks[i].Subs })...)
	cols = append(cols,
		values("aff_click_id", func(i int) string { return clicks[i].AffClickID }),
		values("ip", func(i int) string { return clicks[i].IP }),
		values("user_agent", func(i int) string { return clicks[i].UserAgent }),
		values("referrer", func(i int) string { return clicks[i].Referrer }),
		values("country", func(i int) string { return clicks[i].Country }),
		values("device", func(i int) string { return clicks[i].Device }),
		values("os", func(i int) string { return clicks[i].OS }),
		values("browser", func(i int) string { return clicks[i].Browser }),
		values("is_unique", func(i int) uint8 { return flag(clicks[i].Unique) }),
		values("is_bot", func(i int) uint8 { return flag(clicks[i].Bot) }),
		values("filtered", func(i int) uint8 { return flag(clicks[i].Bot && clicks[i].FilterBots) }),
		values("payout_micros", func(i int) int64 { return clicks[i].PayoutMicros }),
		values("revenue_micros", func(i int) int64 { return clicks[i].RevenueMicros }),
		values("is_test", func(i int) uint8 { return flag(clicks[i].Test) }),
		values("outcome", func(i int) string { return clicks[i].Outcome }),
		values("smart_link_id", func(i int) string { return clicks[i].SmartLinkID }),
	)
	return cols
}

// insertLookups writes click_lookup's rows of the clicks sent to an offer
// (migration 0010): a click turned away never converts.
func (c *Component) insertLookups(ctx context.Context, clicks []model.Click) error {
	sent := make([]*model.Click, 0, len(clicks))
	for i := range clicks {
		if clicks[i].Outcome == "" {
			sent = append(sent, &clicks[i])
		}
	}
	if len(sent) == 0 {
		return nil
	}
	var record []byte
	return c.insert(ctx, "click_lookup", len(sent), []column{
		values("ts", func(i int) time.Time { return datetime(sent[i].Time) }),
		values("click_id", func(i int) string { return sent[i].ID }),
		values("record", func(i int) string {
			record = appendLookupRecord(record[:0], sent[i])
			return string(record)
		}),
	})
}

// InsertConversions stores conversions (any version).
func (c *Component) InsertConversions(ctx context.Context, convs []model.Conversion) error {
	return c.InsertConversionsAt(ctx, convs, nil)
}

// InsertConversionsAt stores convs read from Kafka at the offsets at (one per
// row), skipping those a previous insert stored (idempotent.go).
func (c *Component) InsertConversionsAt(ctx context.Context, convs []model.Conversion, at []model.Offset) error {
	convs, at, err := skipStored(ctx, c, "conversions", conversionIDExpr, convs, at, func(r *model.Conversion) int64 { return r.Time }, conversionID)
	if err != nil {
		return err
	}
	if at != nil { // from the sink: the intake may have re-published some
		if convs, at, err = c.storedConversions(ctx, convs, at); err != nil {
			return err
		}
	}
	n := len(convs)
	if n == 0 {
		return nil
	}
	cols := []column{
		values("conversion_id", func(i int) string { return convs[i].ID }),
		values("version", func(i int) uint32 { return convs[i].Version }),
		values("ts", func(i int) time.Time { return datetime(convs[i].Time) }),
		values("updated_ts", func(i int) time.Time { return datetime(convs[i].UpdatedTime) }),
		values("status", func(i int) string { return convs[i].Status }),
		values("prev_status", func(i int) string { return convs[i].PrevStatus }),
		values("click_id", func(i int) string { return convs[i].ClickID }),
		values("click_ts", func(i int) time.Time { return datetime(convs[i].ClickTime) }),
		values("offer_id", func(i int) string { return convs[i].OfferID }),
		values("affiliate_id", func(i int) string { return convs[i].AffiliateID }),
		values("advertiser_id", func(i int) string { return convs[i].AdvertiserID }),
	}
	cols = append(cols, subs(func(i int) *[5]string { return &convs[i].Subs })...)
	cols = append(cols,
		values("aff_click_id", func(i int) string { return convs[i].AffClickID }),
		values("country", func(i int) string { return convs[i].Country }),
		values("device", func(i int) string { return convs[i].Device }),
		values("os", func(i int) string { return convs[i].OS }),
		values("txid", func(i int) string { return convs[i].TxID }),
		values("customer_id", func(i int) string { return convs[i].CustomerID }),
		values("goal", func(i int) string { return convs[i].Goal }),
		values("currency", func(i int) string { return convs[i].Currency }),
		values("amount_micros", func(i int) int64 { return convs[i].AmountMicros }),
		values("payout_micros", func(i int) int64 { return convs[i].PayoutMicros }),
		values("revenue_micros", func(i int) int64 { return convs[i].RevenueMicros }),
		values("payout_type", func(i int) string { return convs[i].PayoutType }),
		values("reason", func(i int) string { return convs[i].Reason }),
		values("smart_link_id", func(i int) string { return convs[i].SmartLinkID }),
		values("is_test", func(i int) uint8 { return flag(convs[i].Test) }),
	)
	return c.insert(ctx, "conversions", n, append(cols, offsetColumns(at)...))
}

// InsertAttempts stores postback attempts.
func (c *Component) InsertAttempts(ctx context.Context, attempts []model.Attempt) error {
	return c.InsertAttemptsAt(ctx, attempts, nil)
}

// InsertAttemptsAt stores attempts read from Kafka at the offsets at (one per
// row), skipping those a previous insert stored (idempotent.go).
func (c *Component) InsertAttemptsAt(ctx context.Context, attempts []model.Attempt, at []model.Offset) error {
	attempts, at, err := skipStored(ctx, c, "postback_attempts", attemptIDExpr, attempts, at, func(r *model.Attempt) int64 { return r.Time }, attemptID)
	if err != nil {
		return err
	}
	n := len(attempts)
	if n == 0 {
		return nil
	}
	cols := []column{
		values("conversion_id", func(i int) string { return attempts[i].ConversionID }),
		values("postback_id", func(i int) string { return attempts[i].PostbackID }),
		values("event", func(i int) string { return attempts[i].Event }),
		values("attempt", func(i int) uint32 { return attempts[i].Number }),
		values("ts", func(i int) time.Time { return datetime(attempts[i].Time) }),
		values("ts_ms", func(i int) uint64 { return uint64(attempts[i].Time) }),
		values("click_id", func(i int) string { return attempts[i].ClickID }),
		values("offer_id", func(i int) string { return attempts[i].OfferID }),
		values("affiliate_id", func(i int) string { return attempts[i].AffiliateID }),
		values("advertiser_id", func(i int) string { return attempts[i].AdvertiserID }),
		values("level", func(i int) string { return attempts[i].Level }),
		values("url", func(i int) string { return attempts[i].URL }),
		values("success", func(i int) uint8 { return flag(attempts[i].Success) }),
		values("status_code", func(i int) uint16 { return uint16(attempts[i].StatusCode) }),
		values("debug", func(i int) string { return attempts[i].Debug }),
		values("final", func(i int) uint8 { return flag(attempts[i].Final) }),
		values("latency_us", func(i int) uint64 { return uint64(max(attempts[i].LatencyMicros, 0)) }),
		values("response_body", func(i int) string { return attempts[i].ResponseBody }),
		values("error", func(i int) string { return attempts[i].Error }),
	}
	return c.insert(ctx, "postback_attempts", n, append(cols, offsetColumns(at)...))
}

// InsertEventsAt stores events read from Kafka at the offsets at (one per
// row), skipping those a previous insert stored (idempotent.go).
func (c *Component) InsertEventsAt(ctx context.Context, events []model.Event, at []model.Offset) error {
	events, at, err := skipStored(ctx, c, "events", "event_id", events, at, func(r *model.Event) int64 { return r.Time }, func(r *model.Event) string { return r.ID })
	if err != nil {
		return err
	}
	n := len(events)
	if n == 0 {
		return nil
	}
	return c.insert(ctx, "events", n, append([]column{
		values("event_id", func(i int) string { return events[i].ID }),
		values("ts", func(i int) time.Time { return datetime(events[i].Time) }),
		values("event_type", func(i int) string { return events[i].Type }),
		values("click_id", func(i int) string { return events[i].ClickID }),
		values("offer_id", func(i int) string { return events[i].OfferID }),
		values("affiliate_id", func(i int) string { return events[i].AffiliateID }),
		values("advertiser_id", func(i int) string { return events[i].AdvertiserID }),
		values("url", func(i int) string { return events[i].URL }),
		values("referrer", func(i int) string { return events[i].Referrer }),
		values("is_test", func(i int) uint8 { return flag(events[i].Test) }),
	}, offsetColumns(at)...))
}

// attemptIDExpr is a postback attempt's identity in SQL; attemptID in Go.
const attemptIDExpr = "concat(conversion_id, '|', postback_id, '|', event, '|', toString(attempt))"

func attemptID(a *model.Attempt) string {
	return a.ConversionID + "|" + a.PostbackID + "|" + a.Event + "|" + strconv.FormatUint(uint64(a.Number), 10)
}

// conversionIDExpr is a conversion version's identity in SQL;
// conversionID in Go. Versions share the conversion's ID (and its Kafka
// key, so its partition).
const conversionIDExpr = "concat(conversion_id, '|', toString(version))"

func conversionID(c *model.Conversion) string {
	return c.ID + "|" + strconv.FormatUint(uint64(c.Version), 10)
}
