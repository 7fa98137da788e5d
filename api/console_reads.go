package api

import (
	"context"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

// The admin reads the web console is built on: GET /v2/stats,
// /v2/stats/live, /v2/conversions and /v2/conversions/{id}. They read the
// same warehouse queries as the affiliate and advertiser APIs.

// adminStatsDimensions are the dimensions GET /v2/stats groups by: every
// one the rollup has but the minute (GET /v2/stats/live has that).
var adminStatsDimensions = map[string]string{
	"date": "", "hour": "", "week": "", "month": "", "offer": "", "affiliate": "", "advertiser": "",
	"geo": "", "device": "", "os": "", "sub1": "", "sub2": "", "sub3": "", "sub4": "", "sub5": "",
}

const adminStatsDimensionNames = "date, hour, week, month, offer, affiliate, advertiser, geo, device, os, sub1..sub5"

// statsNumbers are a stats group's figures as the admin reads them.
type statsNumbers struct {
	Clicks       uint64  `json:"clicks"`
	UniqueClicks uint64  `json:"unique_clicks"`
	Conversions  uint64  `json:"conversions"`
	Approved     int64   `json:"approved"`
	Revenue      float64 `json:"revenue"`
	Payout       float64 `json:"payout"`
	Profit       float64 `json:"profit"`
	CVR          float64 `json:"cvr"`
	EPC          float64 `json:"epc"`
}

// statsMicros are the sums behind statsNumbers, added before rounding.
type statsMicros struct {
	clicks, unique, conversions uint64
	approved, revenue, payout   int64
}

func (m *statsMicros) add(r *clickhouse.StatsRow) {
	m.clicks += r.Clicks
	m.unique += r.UniqueClicks
	m.conversions += r.Conversions
	m.approved += r.Approved
	m.revenue += revenueMicros(r)
	m.payout += r.PayoutMicros
}

// numbers rounds money to cents; cvr is conversions per 100 clicks (2
// decimals) and epc revenue per click (4 decimals: cents would hide it).
func (m *statsMicros) numbers() statsNumbers {
	revenue := model.MicrosToUnits(m.revenue)
	return statsNumbers{
		Clicks: m.clicks, UniqueClicks: m.unique, Conversions: m.conversions, Approved: m.approved,
		Revenue: round(revenue, 2), Payout: round(model.MicrosToUnits(m.payout), 2),
		Profit: round(model.MicrosToUnits(m.revenue-m.payout), 2),
		CVR:    ratio(float64(m.conversions)*100, float64(m.clicks), 2),
		EPC:    ratio(revenue, float64(m.clicks), 4),
	}
}

// numberColumns are the CSV columns after the group keys.
var numberColumns = []string{"clicks", "unique_clicks", "conversions", "approved", "revenue", "payout", "profit", "cvr", "epc"}

func (n statsNumbers) cells() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return []string{strconv.FormatUint(n.Clicks, 10), strconv.FormatUint(n.UniqueClicks, 10),
		strconv.FormatUint(n.Conversions, 10), strconv.FormatInt(n.Approved, 10),
		f(n.Revenue), f(n.Payout), f(n.Profit), f(n.CVR), f(n.EPC)}
}

// adminStats serves GET /v2/stats.
func (s *Server) adminStats(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	bad := func(perr *paramError) {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_"+perr.Param, perr.Message)
	}
	from, to, loc, perr := parseStatsRange(args, s.config.MaxStatsRange)
	if perr != nil {
		bad(perr)
		return
	}
	groupBy, perr := parseGroupBy(args, adminStatsDimensions, adminStatsDimensionNames)
	if perr != nil {
		bad(perr)
		return
	}
	limit, perr := parsePositive(args, "limit", maxStatsRows, maxStatsRows)
	if perr != nil {
		bad(perr)
		return
	}
	format := string(args.Peek("format"))
	if format != "" && format != "json" && format != "csv" {
		bad(badParam("format", "format must be json or csv."))
		return
	}
	q := clickhouse.StatsQuery{From: from, To: to, GroupBy: groupBy, Location: loc, Limit: limit}
	if perr = s.entityFilters(args, &q.OfferIDs, &q.AffiliateID, &q.AdvertiserID); perr != nil {
		bad(perr)
		return
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	rows, err := s.deps.Warehouse.Stats(rctx, q)
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	// Totals add the rows up, so they agree with the table; when the limit
	// cut rows off, the whole range is asked for instead.
	var totals statsMicros
	cut := len(groupBy) > 0 && len(rows) >= limit
	if cut {
		q.GroupBy, q.Limit = nil, 0
		all, err := s.deps.Warehouse.Stats(rctx, q)
		if err != nil {
			s.storageError(ctx, err)
			return
		}
		for i := range all {
			totals.add(&all[i])
		}
	}
	out := make([]map[string]any, 0, len(rows))
	records := make([][]string, 0, len(rows))
	for i := range rows {
		r := &rows[i]
		if len(r.Keys) != len(groupBy) {
			continue
		}
		if !cut {
			totals.add(r)
		}
		var m statsMicros
		m.add(r)
		n := m.numbers()
		if format == "csv" {
			record := make([]string, 0, len(groupBy)+len(numberColumns))
			for _, k := range r.Keys {
				record = append(record, csvCell(k))
			}
			records = append(records, append(record, n.cells()...))
			continue
		}
		row := map[string]any{"clicks": n.Clicks, "unique_clicks": n.UniqueClicks, "conversions": n.Conversions,
			"approved": n.Approved, "revenue": n.Revenue, "payout": n.Payout, "profit": n.Profit, "cvr": n.CVR, "epc": n.EPC}
		for j, d := range groupBy {
			row[d] = r.Keys[j]
			if name, ok := s.entityName(d, r.Keys[j]); ok {
				row[d+"_name"] = name
			}
		}
		out = append(out, row)
	}
	if format == "csv" {
		ctx.SetContentType("text/csv; charset=utf-8")
		ctx.Response.Header.Set("Content-Disposition", `attachment; filename="stats.csv"`)
		ctx.Response.Header.Set("Cache-Control", "no-store")
		w := csv.NewWriter(ctx)
		_ = w.Write(append(append([]string{}, groupBy...), numberColumns...))
		_ = w.WriteAll(records)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "rows": out, "totals": totals.numbers()})
}

// entityName is the name of the offer, affiliate or advertiser a stats key
// names, for the console's tables; ok is false for other dimensions and
// for entities no longer in the catalog.
func (s *Server) entityName(dimension, id string) (string, bool) {
	switch dimension {
	case "offer":
		if o := s.catalog.Offer(id); o != nil {
			return o.Name, true
		}
	case "affiliate":
		if a := s.catalog.Affiliate(id); a != nil {
			return a.Name, true
		}
	case "advertiser":
		if a := s.catalog.Advertiser(id); a != nil {
			return a.Name, true
		}
	}
	return "", false
}

// entityFilters reads offer_id (an ID or slug), affiliate_id and
// advertiser_id. An ID no entity has filters to nothing, as in the
// affiliate API: the answer is then empty, which is the truth.
func (s *Server) entityFilters(args *fasthttp.Args, offerIDs *[]string, affiliateID, advertiserID *string) *paramError {
	for _, p := range []struct {
		name string
		dst  *string
	}{{"affiliate_id", affiliateID}, {"advertiser_id", advertiserID}} {
		*p.dst = strings.TrimSpace(string(args.Peek(p.name)))
		if len(*p.dst) > maxIDParamLen {
			return badParam(p.name, "%s must be at most %d characters.", p.name, maxIDParamLen)
		}
	}
	offer := strings.TrimSpace(string(args.Peek("offer_id")))
	if len(offer) > maxIDParamLen {
		return badParam("offer_id", "offer_id must be at most %d characters.", maxIDParamLen)
	}
	if offer != "" {
		*offerIDs = s.offerFilter(offer)
	}
	return nil
}

// offerFilter is an offer_id parameter as a warehouse filter: none when
// empty, else the offer it names by ID or slug. An ID no offer has stays
// as given, so it filters to nothing.
func (s *Server) offerFilter(idOrSlug string) []string {
	if idOrSlug == "" {
		return nil
	}
	if o := s.catalog.Offer(idOrSlug); o != nil {
		idOrSlug = o.ID
	}
	return []string{idOrSlug}
}

// Live overview limits: minutes of GET /v2/stats/live, and its top lists.
const (
	liveDefaultMinutes = 180
	liveMaxMinutes     = 1440
	liveTopN           = 5
)

// liveMinute is one minute of the live chart.
type liveMinute struct {
	Minute       string  `json:"minute"`
	Clicks       uint64  `json:"clicks"`
	UniqueClicks uint64  `json:"unique_clicks"`
	Conversions  uint64  `json:"conversions"`
	Revenue      float64 `json:"revenue"`
	Payout       float64 `json:"payout"`
}

// liveTop is one entry of a top list.
type liveTop struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Clicks      uint64  `json:"clicks"`
	Conversions uint64  `json:"conversions"`
	Revenue     float64 `json:"revenue"`
}

// deadLetterCounter counts dead deliveries across postbacks
// (storage/redis); the live overview reports 0 dead without it.
type deadLetterCounter interface {
	DeadLetterCount(ctx context.Context, postbackIDs []string, from, to time.Time) (int64, error)
}

// postbackHealthReader is the attempt log's summary (storage/clickhouse).
type postbackHealthReader interface {
	PostbackHealth(ctx context.Context, from, to time.Time) (clickhouse.PostbackHealth, error)
}

// liveStats serves GET /v2/stats/live: the last minutes per minute, the
// top offers, affiliates and countries, and postback health, read
// concurrently.
func (s *Server) liveStats(ctx *fasthttp.RequestCtx) {
	minutes, perr := parsePositive(ctx.QueryArgs(), "minutes", liveDefaultMinutes, liveMaxMinutes)
	if perr != nil {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_minutes", perr.Message)
		return
	}
	to := now().Truncate(time.Minute).Add(time.Minute) // the current minute included
	from := to.Add(-time.Duration(minutes) * time.Minute)
	rctx, cancel := requestContext(ctx)
	defer cancel()

	// The top lists cover the window's whole hours (its start rounded down
	// to the hour, its end up, where no clicks are yet): the hourly rollups
	// answer those alone, where the partial hours would be read from
	// stats_minute, a row per click on a busy network.
	queries := []clickhouse.StatsQuery{{From: from, To: to, GroupBy: []string{"minute"}, Limit: minutes}}
	topFrom, topTo := from.Truncate(time.Hour), to.Add(time.Hour-time.Nanosecond).Truncate(time.Hour)
	for _, d := range []string{"offer", "affiliate", "geo"} {
		queries = append(queries, clickhouse.StatsQuery{From: topFrom, To: topTo, GroupBy: []string{d}, Limit: liveTopN, ByClicks: true})
	}
	results := make([][]clickhouse.StatsRow, len(queries))
	errs := make([]error, len(queries)+2)
	var health clickhouse.PostbackHealth
	var dead int64
	var wg sync.WaitGroup
	for i := range queries {
		wg.Go(func() { results[i], errs[i] = s.deps.Warehouse.Stats(rctx, queries[i]) })
	}
	if h, ok := s.deps.Warehouse.(postbackHealthReader); ok {
		wg.Go(func() { health, errs[len(queries)] = h.PostbackHealth(rctx, from, to) })
	}
	if d, ok := s.deps.DeadLetter.(deadLetterCounter); ok {
		wg.Go(func() {
			var ids []string
			for _, aff := range s.catalog.Affiliates() {
				for _, pb := range s.catalog.Postbacks(aff.ID) {
					ids = append(ids, pb.ID)
				}
			}
			dead, errs[len(queries)+1] = d.DeadLetterCount(rctx, ids, from, to)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			s.storageError(ctx, err)
			return
		}
	}

	byMinute := make(map[string]*clickhouse.StatsRow, len(results[0]))
	for i := range results[0] {
		if r := &results[0][i]; len(r.Keys) == 1 {
			byMinute[r.Keys[0]] = r
		}
	}
	series := make([]liveMinute, 0, minutes)
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		point := liveMinute{Minute: m.Format(time.RFC3339)}
		if r := byMinute[strconv.FormatInt(m.Unix(), 10)]; r != nil {
			point.Clicks, point.UniqueClicks, point.Conversions = r.Clicks, r.UniqueClicks, r.Conversions
			point.Revenue = round(model.MicrosToUnits(revenueMicros(r)), 2)
			point.Payout = round(model.MicrosToUnits(r.PayoutMicros), 2)
		}
		series = append(series, point)
	}
	top := map[string][]liveTop{}
	for i, list := range []string{"offers", "affiliates", "countries"} {
		entries := make([]liveTop, 0, liveTopN)
		for _, r := range results[i+1] {
			if len(r.Keys) != 1 || r.Clicks == 0 && r.Conversions == 0 {
				continue
			}
			e := liveTop{ID: r.Keys[0], Name: r.Keys[0], Clicks: r.Clicks, Conversions: r.Conversions,
				Revenue: round(model.MicrosToUnits(revenueMicros(&r)), 2)}
			if name, ok := s.entityName(queries[i+1].GroupBy[0], e.ID); ok {
				e.Name = name
			}
			entries = append(entries, e)
		}
		top[list] = entries
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"success": true,
		"from":    from.Format(time.RFC3339),
		"to":      to.Format(time.RFC3339),
		"series":  series,
		"top":     top,
		"postbacks": map[string]any{
			"delivered": health.Delivered, "retrying": health.Retrying, "failed": health.Failed, "dead": dead,
			"p99_latency_ms": round(float64(health.P99Latency)/float64(time.Millisecond), 1),
		},
	})
}

// consoleConversion is a conversion as the console shows it: everything
// the warehouse keeps of it.
type consoleConversion struct {
	ID           string            `json:"conversion_id"`
	Status       string            `json:"status"`
	Version      uint32            `json:"version"`
	CreatedAt    string            `json:"created_at"`
	UpdatedAt    string            `json:"updated_at"`
	ClickID      string            `json:"click_id"`
	ClickTime    string            `json:"click_time"`
	OfferID      string            `json:"offer_id"`
	AffiliateID  string            `json:"affiliate_id"`
	AdvertiserID string            `json:"advertiser_id"`
	Subs         map[string]string `json:"subs"`
	AffClickID   string            `json:"aff_click_id"`
	Geo          string            `json:"geo"`
	Device       string            `json:"device"`
	OS           string            `json:"os"`
	TxID         string            `json:"txid"`
	CustomerID   string            `json:"customer_id"`
	Goal         string            `json:"goal"`
	Currency     string            `json:"currency"`
	Amount       float64           `json:"amount"`
	Payout       float64           `json:"payout"`
	PayoutType   string            `json:"payout_type"`
}

func viewConsoleConversion(c *model.Conversion) consoleConversion {
	at := func(ms int64) string { return model.FormatTime(time.UnixMilli(ms).UTC(), model.APITimeLayout) }
	subs := make(map[string]string, len(c.Subs))
	for i, v := range c.Subs {
		subs[fmt.Sprintf("sub%d", i+1)] = v
	}
	return consoleConversion{
		ID: c.ID, Status: c.Status, Version: c.Version, CreatedAt: at(c.Time), UpdatedAt: at(c.UpdatedTime),
		ClickID: c.ClickID, ClickTime: at(c.ClickTime), OfferID: c.OfferID, AffiliateID: c.AffiliateID,
		AdvertiserID: c.AdvertiserID, Subs: subs, AffClickID: c.AffClickID, Geo: c.Country, Device: c.Device,
		OS: c.OS, TxID: c.TxID, CustomerID: c.CustomerID, Goal: c.Goal, Currency: c.Currency,
		Amount: model.MicrosToUnits(c.AmountMicros), Payout: model.MicrosToUnits(c.PayoutMicros), PayoutType: c.PayoutType,
	}
}

// adminConversionDays is the admin conversion listing's range without
// dates: the last days. Its page and per_page are the affiliate API's.
const adminConversionDays = 7

// adminConversionStatuses are the status filter's values.
var adminConversionStatuses = map[string][]string{
	"all": nil, model.ConversionPending: {model.ConversionPending}, model.ConversionApproved: {model.ConversionApproved},
	model.ConversionRejected: {model.ConversionRejected}, model.ConversionReversed: {model.ConversionReversed},
}

// adminConversions serves GET /v2/conversions.
func (s *Server) adminConversions(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	bad := func(perr *paramError) {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_"+perr.Param, perr.Message)
	}
	var q clickhouse.ConversionQuery
	var perr *paramError
	if len(args.Peek("date_from")) == 0 && len(args.Peek("date_to")) == 0 {
		today := now().Truncate(24 * time.Hour)
		q.From, q.To = today.AddDate(0, 0, 1-adminConversionDays), today.AddDate(0, 0, 1)
	} else if q.From, q.To, _, perr = parseStatsRange(args, s.config.MaxStatsRange); perr != nil {
		bad(perr)
		return
	}
	if st := strings.ToLower(strings.TrimSpace(string(args.Peek("status")))); st != "" {
		statuses, ok := adminConversionStatuses[st]
		if !ok {
			bad(badParam("status", "status must be pending, approved, rejected, reversed or all."))
			return
		}
		q.Statuses = statuses
	}
	if perr = s.entityFilters(args, &q.OfferIDs, &q.AffiliateID, &q.AdvertiserID); perr != nil {
		bad(perr)
		return
	}
	page, perPage, perr := parsePage(args)
	if perr != nil {
		bad(perr)
		return
	}
	q.Offset, q.Limit = (page-1)*perPage, perPage
	list, total, ok := s.conversionPage(ctx, q)
	if !ok {
		return
	}
	out := make([]consoleConversion, 0, len(list))
	for i := range list {
		out = append(out, viewConsoleConversion(&list[i]))
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"success":     true,
		"conversions": out,
		"meta":        map[string]any{"total": total, "page": page, "per_page": perPage},
	})
}

// adminConversion serves GET /v2/conversions/{id}.
func (s *Server) adminConversion(ctx *fasthttp.RequestCtx, id string) {
	if !validConversionID(id) {
		adminNotFound(ctx, "Conversion")
		return
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	list, err := s.deps.Warehouse.Conversions(rctx, clickhouse.ConversionQuery{ID: id, Limit: 1})
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	if len(list) == 0 {
		adminNotFound(ctx, "Conversion")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "conversion": viewConsoleConversion(&list[0])})
}

// listEndpoints serves GET /v2/pb-endpoints?advertiser_id=&q=&page=&per_page=.
func (s *Server) listEndpoints(ctx *fasthttp.RequestCtx) {
	page, perPage, ok := s.paging(ctx, envelopeError, "invalid_paging")
	if !ok {
		return
	}
	args := ctx.QueryArgs()
	advertiserID := string(args.Peek("advertiser_id"))
	search, ok := searchTerm(ctx)
	if !ok {
		return
	}
	all := make([]*model.Endpoint, 0)
	for _, ep := range s.catalog.Endpoints() {
		if (advertiserID == "" || ep.AdvertiserID == advertiserID) && search.matches(ep.ID, ep.OfferID) {
			all = append(all, ep)
		}
	}
	writeListing(ctx, "endpoints", all, page, perPage)
}

// maxSearchLen bounds the q parameter of the admin listings.
const maxSearchLen = 200

// search is a listing's q: a case-insensitive substring; empty matches all.
type search string

// searchTerm reads q; ok is false (and the 400 sent) when it is too long.
func searchTerm(ctx *fasthttp.RequestCtx) (search, bool) {
	q := strings.TrimSpace(string(ctx.QueryArgs().Peek("q")))
	if len(q) > maxSearchLen {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_q", fmt.Sprintf("q must be at most %d characters.", maxSearchLen))
		return "", false
	}
	return search(strings.ToLower(q)), true
}

// matches reports whether any field contains the term, ignoring case.
func (q search) matches(fields ...string) bool {
	if q == "" {
		return true
	}
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), string(q)) {
			return true
		}
	}
	return false
}
