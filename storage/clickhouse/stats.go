package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// StatsQuery selects and groups the per-minute rollup.
type StatsQuery struct {
	From, To     time.Time // [From, To)
	AffiliateID  string    // empty: every affiliate
	AdvertiserID string    // empty: every advertiser
	OfferIDs     []string  // empty: every offer
	SmartLinkID  string    // empty: every smart link, or none
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
	// Approved counts conversions whose status is approved now, Rejected
	// those rejected or reversed now (from migration 0007 on).
	Approved, Rejected int64
	// PayoutMicros (what the network owes affiliates), RevenueMicros (what
	// advertisers owe the network) and AmountMicros (the sale amounts)
	// leave out rejected and reversed conversions.
	PayoutMicros  int64
	RevenueMicros int64
	AmountMicros  int64
	// Clicks turned away, by outcome (model.ClickOffTarget, ...): never
	// counted in Clicks.
	OffTarget, Paused, Capped, Blocked, Denied, Unrouted uint64
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
	"smart_link": "smart_link_id",
}

var zoneName = regexp.MustCompile(`^[A-Za-z0-9_+\-/]+$`)

// timeDimensions are the dimensions read from the time column.
var timeDimensions = map[string]bool{"minute": true, "date": true, "hour": true, "week": true, "month": true}

// rollup is a table Stats reads: stats_minute has every dimension; the
// hourly ones (migration 0006) hold a few, in far fewer rows.
type rollup struct {
	table  string
	hourly bool // rows per hour (time column "hour"), else per minute ("minute")
	// dims are the non-time dimensions it can group by; the entities among
	// them ("offer", "affiliate", "advertiser") are the filters it applies.
	dims map[string]bool
	// columns are its key columns beside the time, which an hourly one
	// reads alongside the raw tables' for a range's partial hours.
	columns string
	// smartLinks: it holds the smart links' traffic alone, so it answers
	// exactly the queries that name a smart link (group or filter), and
	// reads the raw tables' rows of smart links only.
	smartLinks bool
}

func dimSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// rollups, smallest first: Stats reads the first that can answer. On the
// benchmark's 10-million-click day (bench/results/console-day.md) they
// hold about 1.4 thousand, 48 thousand, 1.1 million, 1.3 million, 0.9
// million and 2.8 million rows, stats_minute 10.1 million. What none has
// (sub2..sub5 with country, device or OS) reads stats_minute.
var rollups = []rollup{
	{table: "stats_minute_totals"},
	{table: "stats_hour_entities", hourly: true, dims: dimSet("offer", "affiliate", "advertiser"),
		columns: "advertiser_id, offer_id, affiliate_id"},
	{table: "stats_hour_traffic", hourly: true, dims: dimSet("geo", "device", "os", "advertiser", "offer"),
		columns: "advertiser_id, offer_id, country, device, os"},
	{table: "stats_hour_affiliate_traffic", hourly: true, dims: dimSet("geo", "device", "os", "affiliate"),
		columns: "affiliate_id, country, device, os"},
	{table: "stats_hour_campaigns", hourly: true,
		dims:    dimSet("offer", "affiliate", "advertiser", "sub1", "sub2", "sub3", "sub4", "sub5"),
		columns: "advertiser_id, offer_id, affiliate_id, sub1, sub2, sub3, sub4, sub5"},
	{table: "stats_hour_campaign_traffic", hourly: true,
		dims:    dimSet("offer", "affiliate", "advertiser", "sub1", "geo", "device", "os"),
		columns: "advertiser_id, offer_id, affiliate_id, sub1, country, device, os"},
	{table: "stats_hour_smart_links", hourly: true, smartLinks: true,
		dims:    dimSet("smart_link", "offer", "affiliate", "advertiser"),
		columns: "smart_link_id, advertiser_id, offer_id, affiliate_id"},
}

// ErrSmartLinkZone: a query naming a smart link in a time zone whose offset
// is not whole hours, which the smart links' hourly rollup cannot answer.
var ErrSmartLinkZone = errors.New("the smart links' stats are kept by the hour: they need a time zone whose offset is whole hours")

// namesSmartLink reports whether q groups or filters by smart link.
func (q *StatsQuery) namesSmartLink() bool {
	return q.SmartLinkID != "" || slices.Contains(q.GroupBy, "smart_link")
}

// pick is the smallest rollup that answers q: one with its dimensions and
// filters, and, if hourly, in a zone whose offset is whole hours at both
// ends of the range (so its dates and hours are unions of UTC hours).
func (q *StatsQuery) pick(zone *time.Location) (rollup, error) {
	hourZone := wholeHourOffset(q.From, zone) && wholeHourOffset(q.To, zone)
	smartLinks := q.namesSmartLink()
	if smartLinks && !hourZone {
		return rollup{}, ErrSmartLinkZone
	}
next:
	for _, r := range rollups {
		if r.smartLinks != smartLinks ||
			q.AffiliateID != "" && !r.dims["affiliate"] || q.AdvertiserID != "" && !r.dims["advertiser"] ||
			len(q.OfferIDs) > 0 && !r.dims["offer"] || r.hourly && !hourZone {
			continue
		}
		for _, d := range q.GroupBy {
			if timeDimensions[d] {
				if d == "minute" && r.hourly {
					continue next
				}
			} else if !r.dims[d] {
				continue next
			}
		}
		return r, nil
	}
	if smartLinks {
		return rollup{}, fmt.Errorf("the smart links' stats cannot group by %s", strings.Join(q.GroupBy, ", "))
	}
	return rollup{table: "stats_minute"}, nil
}

func wholeHourOffset(t time.Time, zone *time.Location) bool {
	_, offset := t.In(zone).Zone()
	return offset%3600 == 0
}

// Stats answers a stats query from the smallest rollup that can.
func (c *Component) Stats(ctx context.Context, q StatsQuery) ([]StatsRow, error) {
	loc := time.UTC
	if q.Location != nil {
		loc = q.Location
	}
	r, err := q.pick(loc)
	if err != nil {
		return nil, err
	}
	return c.statsFrom(ctx, q, r)
}

// statsMeasures are the summed columns every rollup has.
const statsMeasures = "clicks, unique_clicks, bot_clicks, conversions, approved, rejected, payout_micros, revenue_micros, amount_micros, " +
	"off_target, paused, capped, blocked, denied, unrouted"

// rawMeasures are the rollup views' sums (migration 0007) as read from the
// raw tables, row by row: what a range's partial hours add.
var rawMeasures = []struct{ table, measures, where string }{
	{"clicks", `toUInt64(outcome = '' AND filtered = 0) AS clicks,
    toUInt64(outcome = '' AND is_unique = 1 AND filtered = 0) AS unique_clicks,
    toUInt64(outcome = '' AND is_bot = 1) AS bot_clicks, toUInt64(0) AS conversions, toInt64(0) AS approved, toInt64(0) AS rejected,
    if(outcome = '' AND filtered = 0, payout_micros, toInt64(0)) AS payout_micros,
    if(outcome = '' AND filtered = 0, revenue_micros, toInt64(0)) AS revenue_micros, toInt64(0) AS amount_micros,
    toUInt64(outcome = 'off_target') AS off_target, toUInt64(outcome = 'paused') AS paused,
    toUInt64(outcome = 'capped') AS capped, toUInt64(outcome = 'blocked') AS blocked,
    toUInt64(outcome = 'denied') AS denied, toUInt64(outcome = 'unrouted') AS unrouted`, "is_test = 0"},
	{"conversions", `toUInt64(0) AS clicks, toUInt64(0) AS unique_clicks, toUInt64(0) AS bot_clicks,
    toUInt64(1) AS conversions, toInt64(status = 'approved') AS approved, toInt64(status IN ('rejected', 'reversed')) AS rejected,
    if(status IN ('rejected', 'reversed'), toInt64(0), payout_micros) AS payout_micros,
    if(status IN ('rejected', 'reversed'), toInt64(0), revenue_micros) AS revenue_micros,
    if(status IN ('rejected', 'reversed'), toInt64(0), amount_micros) AS amount_micros,
    toUInt64(0) AS off_target, toUInt64(0) AS paused, toUInt64(0) AS capped, toUInt64(0) AS blocked,
    toUInt64(0) AS denied, toUInt64(0) AS unrouted`, "version = 1 AND is_test = 0"},
	{"conversions", `toUInt64(0) AS clicks, toUInt64(0) AS unique_clicks, toUInt64(0) AS bot_clicks, toUInt64(0) AS conversions,
    toInt64(status = 'approved') - toInt64(prev_status = 'approved') AS approved,
    toInt64(status IN ('rejected', 'reversed')) - toInt64(prev_status IN ('rejected', 'reversed')) AS rejected,
    (toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * payout_micros AS payout_micros,
    (toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * revenue_micros AS revenue_micros,
    (toInt64(status NOT IN ('rejected', 'reversed')) - toInt64(prev_status NOT IN ('rejected', 'reversed'))) * amount_micros AS amount_micros,
    toUInt64(0) AS off_target, toUInt64(0) AS paused, toUInt64(0) AS capped, toUInt64(0) AS blocked,
    toUInt64(0) AS denied, toUInt64(0) AS unrouted`,
		"version > 1 AND is_test = 0 AND status != prev_status"},
}

// statsFrom answers q from one rollup. An hourly one answers the range's
// whole hours; the raw tables add the minutes before the first and after
// the last (a range within one hour reads stats_minute alone).
func (c *Component) statsFrom(ctx context.Context, q StatsQuery, r rollup) ([]StatsRow, error) {
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
	var filters []string
	var filterArgs []any
	if q.AffiliateID != "" {
		filters = append(filters, "affiliate_id = ?")
		filterArgs = append(filterArgs, q.AffiliateID)
	}
	if q.AdvertiserID != "" {
		filters = append(filters, "advertiser_id = ?")
		filterArgs = append(filterArgs, q.AdvertiserID)
	}
	if len(q.OfferIDs) > 0 {
		filters = append(filters, "has(?, offer_id)")
		filterArgs = append(filterArgs, q.OfferIDs)
	}
	if q.SmartLinkID != "" {
		filters = append(filters, "smart_link_id = ?")
		filterArgs = append(filterArgs, q.SmartLinkID)
	}
	from, to := q.From.UTC(), q.To.UTC()
	firstHour, lastHour := from.Add(time.Hour-time.Nanosecond).Truncate(time.Hour), to.Truncate(time.Hour)
	if r.hourly && !r.smartLinks && !firstHour.Before(lastHour) {
		r = rollup{table: "stats_minute"}
	}
	source := c.table(r.table)
	where := append([]string{"minute >= ?", "minute < ?"}, filters...)
	args := append([]any{from, to}, filterArgs...)
	if r.hourly {
		// The filters go inside each branch: 18.16 does not push them
		// down into a UNION, and each branch's key should prune with them.
		branch := func(table, timeExpr string, times []string, timeArgs []any) (string, []any) {
			cond := "(" + strings.Join(times, " OR ") + ")"
			return "SELECT " + timeExpr + " AS minute, " + r.columns + ", " + statsMeasures + " FROM " + c.table(table) +
					" WHERE " + strings.Join(append([]string{cond}, filters...), " AND "),
				append(timeArgs, filterArgs...)
		}
		sql, a := branch(r.table, "hour", []string{"hour >= ? AND hour < ?"}, []any{firstHour, lastHour})
		rawWhere := ""
		if r.smartLinks {
			rawWhere = " AND smart_link_id != ''"
		}
		// The partial hours come from the raw tables, ordered by time, with
		// the rollup views' own expressions: stats_minute, ordered by
		// affiliate first, would be read whole for them.
		var edges []string
		var edgeArgs []any
		ceilMinute := func(t time.Time) time.Time { return t.Add(time.Minute - time.Nanosecond).Truncate(time.Minute) }
		switch {
		case !firstHour.Before(lastHour):
			// The smart links' within one hour: the raw tables alone. The
			// rollup's branch, empty, stays first, so that 18.16 takes the
			// union's columns from a table's and not from a constant's.
			edges, edgeArgs = append(edges, "ts >= ? AND ts < ?"), append(edgeArgs, ceilMinute(from), ceilMinute(to))
		default:
			if from.Before(firstHour) {
				edges, edgeArgs = append(edges, "ts >= ? AND ts < ?"), append(edgeArgs, ceilMinute(from), firstHour)
			}
			if lastHour.Before(to) {
				edges, edgeArgs = append(edges, "ts >= ? AND ts < ?"), append(edgeArgs, lastHour, ceilMinute(to))
			}
		}
		if len(edges) > 0 {
			for _, raw := range rawMeasures {
				edgeSQL, ea := branch(raw.table, "toStartOfMinute(ts)", edges, edgeArgs)
				edgeSQL = strings.Replace(edgeSQL, statsMeasures, raw.measures, 1) + " AND " + raw.where + rawWhere
				sql, a = sql+" UNION ALL "+edgeSQL, append(a, ea...)
			}
		}
		source, where, args = "("+sql+")", []string{"1"}, a
	}
	sums := make([]string, 0, len(keys)+15)
	for _, m := range strings.Split(statsMeasures, ", ") {
		sums = append(sums, "sum("+m+")")
	}
	sql := "SELECT " + strings.Join(append(keys, sums...), ", ") +
		" FROM " + source +
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
		dest := make([]any, 0, len(keys)+15)
		for i := range r.Keys {
			dest = append(dest, &r.Keys[i])
		}
		// In statsMeasures' order.
		dest = append(dest, &r.Clicks, &r.UniqueClicks, &r.BotClicks, &r.Conversions, &r.Approved, &r.Rejected,
			&r.PayoutMicros, &r.RevenueMicros, &r.AmountMicros, &r.OffTarget, &r.Paused, &r.Capped, &r.Blocked, &r.Denied, &r.Unrouted)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("stats query: %w", err)
		}
		// An empty range still answers one all-zero row without GROUP BY;
		// that row is a true answer, kept.
		out = append(out, r)
	}
	return out, rows.Err()
}
