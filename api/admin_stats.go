package api

import (
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

// GET /v2/stats: the network's figures by any dimension of the rollup, as
// JSON or CSV, read from the same warehouse query as the affiliate's and
// the advertiser's stats.

// adminStatsDimensions are the dimensions GET /v2/stats groups by: every
// one the rollup has but the minute (GET /v2/stats/live has that).
var adminStatsDimensions = map[string]string{
	"date": "", "hour": "", "week": "", "month": "", "offer": "", "affiliate": "", "advertiser": "",
	"geo": "", "device": "", "os": "", "sub1": "", "sub2": "", "sub3": "", "sub4": "", "sub5": "",
	"smart_link": "",
}

const adminStatsDimensionNames = "date, hour, week, month, offer, affiliate, advertiser, geo, device, os, sub1..sub5, smart_link"

// smartLinkDimensions are those a query naming a smart link (group_by
// smart_link, or smart_link_id) may group by: the smart links' rollup
// holds the traffic through each link by hour, offer chosen, affiliate and
// advertiser.
var smartLinkDimensions = []string{"date", "hour", "week", "month", "smart_link", "offer", "affiliate", "advertiser"}

// statsNumbers are a stats group's figures as the admin reads them. Money
// is in the offers' currency, exact to the micro-unit, so the rows add up to
// the totals to the last digit: sale_amount is what the sales came to,
// revenue what advertisers owe the network, payout what the network owes
// affiliates, and profit revenue minus payout; rejected and reversed
// conversions leave all three.
type statsNumbers struct {
	Clicks       uint64  `json:"clicks"`
	UniqueClicks uint64  `json:"unique_clicks"`
	Conversions  uint64  `json:"conversions"`
	Approved     int64   `json:"approved"`
	Rejected     int64   `json:"rejected"`
	SaleAmount   float64 `json:"sale_amount"`
	Revenue      float64 `json:"revenue"`
	Payout       float64 `json:"payout"`
	Profit       float64 `json:"profit"`
	// Margin is profit per 100 of revenue (2 decimals; 0 without revenue),
	// CVR conversions per 100 clicks, EPC revenue per click (4 decimals).
	Margin float64 `json:"margin"`
	CVR    float64 `json:"cvr"`
	EPC    float64 `json:"epc"`
	// Clicks turned away (README, "Clicks turned away"): a visitor outside
	// the offer's targeting, an offer not active, an affiliate without
	// access or a blocked sub-ID, a click cap reached, the network's
	// traffic controls, a smart link with no offer to take the visitor.
	OffTarget uint64 `json:"off_target"`
	Paused    uint64 `json:"paused"`
	Blocked   uint64 `json:"blocked"`
	Capped    uint64 `json:"capped"`
	Denied    uint64 `json:"denied"`
	Unrouted  uint64 `json:"unrouted"`
}

// statsMicros are the sums behind statsNumbers.
type statsMicros struct {
	clicks, unique, conversions        uint64
	approved, rejected                 int64
	amount, revenue, payout            int64
	offTarget, paused, blocked, capped uint64
	denied, unrouted                   uint64
}

func (m *statsMicros) add(r *clickhouse.StatsRow) {
	m.clicks += r.Clicks
	m.unique += r.UniqueClicks
	m.conversions += r.Conversions
	m.approved += r.Approved
	m.rejected += r.Rejected
	m.amount += r.AmountMicros
	m.revenue += r.RevenueMicros
	m.payout += r.PayoutMicros
	m.offTarget += r.OffTarget
	m.paused += r.Paused
	m.blocked += r.Blocked
	m.capped += r.Capped
	m.denied += r.Denied
	m.unrouted += r.Unrouted
}

func (m *statsMicros) numbers() statsNumbers {
	revenue := model.MicrosToUnits(m.revenue)
	return statsNumbers{
		Clicks: m.clicks, UniqueClicks: m.unique, Conversions: m.conversions, Approved: m.approved, Rejected: m.rejected,
		SaleAmount: model.MicrosToUnits(m.amount), Revenue: revenue, Payout: model.MicrosToUnits(m.payout),
		Profit:    model.MicrosToUnits(m.revenue - m.payout),
		Margin:    ratio(float64(m.revenue-m.payout)*100, float64(m.revenue), 2),
		CVR:       ratio(float64(m.conversions)*100, float64(m.clicks), 2),
		EPC:       ratio(revenue, float64(m.clicks), 4),
		OffTarget: m.offTarget, Paused: m.paused, Blocked: m.blocked, Capped: m.capped, Denied: m.denied, Unrouted: m.unrouted,
	}
}

// numberColumns are the CSV columns after the group keys, in statsNumbers'
// order.
var numberColumns = []string{"clicks", "unique_clicks", "conversions", "approved", "rejected", "sale_amount", "revenue", "payout",
	"profit", "margin", "cvr", "epc", "off_target", "paused", "blocked", "capped", "denied", "unrouted"}

func (n statsNumbers) cells() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	return []string{u(n.Clicks), u(n.UniqueClicks), u(n.Conversions), strconv.FormatInt(n.Approved, 10), strconv.FormatInt(n.Rejected, 10),
		f(n.SaleAmount), f(n.Revenue), f(n.Payout), f(n.Profit), f(n.Margin), f(n.CVR), f(n.EPC),
		u(n.OffTarget), u(n.Paused), u(n.Blocked), u(n.Capped), u(n.Denied), u(n.Unrouted)}
}

// row is n as a JSON object, for a row beside its keys.
func (n statsNumbers) row() map[string]any {
	return map[string]any{"clicks": n.Clicks, "unique_clicks": n.UniqueClicks, "conversions": n.Conversions,
		"approved": n.Approved, "rejected": n.Rejected, "sale_amount": n.SaleAmount, "revenue": n.Revenue, "payout": n.Payout,
		"profit": n.Profit, "margin": n.Margin, "cvr": n.CVR, "epc": n.EPC,
		"off_target": n.OffTarget, "paused": n.Paused, "blocked": n.Blocked, "capped": n.Capped,
		"denied": n.Denied, "unrouted": n.Unrouted}
}

// adminStats serves GET /v2/stats.
func (s *Server) adminStats(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	bad := func(perr *paramError) {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_"+perr.Param, perr.Message)
	}
	from, to, loc, perr := parseStatsRange(args, s.config.MaxStatsRange, s.config.Location)
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
	if q.SmartLinkID, perr = s.smartLinkFilter(args, groupBy); perr != nil {
		bad(perr)
		return
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	rows, err := s.deps.Warehouse.Stats(rctx, q)
	if errors.Is(err, clickhouse.ErrSmartLinkZone) {
		_, offset := from.In(loc).Zone()
		if offset%3600 == 0 {
			_, offset = to.In(loc).Zone()
		}
		bad(badParam("timezone", "timezone %q is %s from UTC: the smart links' stats are kept by the hour, so group_by smart_link and "+
			"smart_link_id need a time zone whose offset is whole hours (UTC, America/New_York, ...).", loc.String(), formatOffset(offset)))
		return
	}
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
		row := n.row()
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
	case "smart_link":
		if l := s.catalog.SmartLink(id); l != nil {
			return l.Name, true
		}
	}
	return "", false
}

// smartLinkFilter reads smart_link_id (an ID or a slug; one no link has
// filters to nothing), and checks that a query naming a smart link groups
// only by what the smart links' rollup holds.
func (s *Server) smartLinkFilter(args *fasthttp.Args, groupBy []string) (string, *paramError) {
	id := strings.TrimSpace(string(args.Peek("smart_link_id")))
	if len(id) > maxIDParamLen {
		return "", badParam("smart_link_id", "smart_link_id must be at most %d characters.", maxIDParamLen)
	}
	if l := s.catalog.SmartLink(id); id != "" && l != nil {
		id = l.ID
	}
	if id == "" && !slices.Contains(groupBy, "smart_link") {
		return "", nil
	}
	for _, d := range groupBy {
		if !slices.Contains(smartLinkDimensions, d) {
			return "", badParam("group_by", "group_by %q does not go with smart links: group_by smart_link and smart_link_id combine only with %s.",
				d, strings.Join(smartLinkDimensions, ", "))
		}
	}
	return id, nil
}

// formatOffset writes a zone offset in seconds as +05:30.
func formatOffset(seconds int) string {
	sign := '+'
	if seconds < 0 {
		sign, seconds = '-', -seconds
	}
	return fmt.Sprintf("%c%02d:%02d", sign, seconds/3600, seconds%3600/60)
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
