package api

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/console"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/postback"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

// anyScope lets withAffiliate accept any valid affiliate key.
const anyScope = ""

// withAffiliate authenticates a seed 000 request and checks its scope.
func (s *Server) withAffiliate(ctx *fasthttp.RequestCtx, scope string, h func(*fasthttp.RequestCtx, *model.Affiliate)) {
	key := presentedKey(ctx)
	var id string
	var ok bool
	if key == "" {
		// The console's session cookie stands in for the key.
		sess, state := s.cookieAuth(ctx, console.KindAffiliate)
		switch state {
		case cookieNone:
			affiliateError(ctx, fasthttp.StatusUnauthorized, "UNAUTHORIZED", "An API key is required: send Authorization: Bearer YOUR_API_KEY.")
			return
		case cookieNoCSRF:
			affiliateError(ctx, fasthttp.StatusForbidden, "FORBIDDEN", "A console write must carry the session's X-CSRF-Token header; reload the console.")
			return
		}
		id, ok = sess.ID, true
	} else {
		id, ok = s.principal(key, model.KindAffiliate)
	}
	aff := s.catalog.Affiliate(id)
	if !ok || aff == nil {
		affiliateError(ctx, fasthttp.StatusUnauthorized, "INVALID_API_KEY", "The provided API key is invalid or has been revoked.")
		return
	}
	if aff.Status != model.StatusActive {
		affiliateError(ctx, fasthttp.StatusForbidden, codeAccountInactive, inactiveMessage(aff.Status))
		return
	}
	if !s.limitAffiliate(ctx, aff) {
		return
	}
	if scope != anyScope && !aff.HasScope(scope) {

		affiliateError(ctx, fasthttp.StatusForbidden, "FORBIDDEN", "The API key lacks the required scope: "+scope+".")
		return
	}
	h(ctx, aff)
}

// postbackView is seed 000's postback answer, with what was registered.
// Its signing secret is never in it: Signed says whether its requests are
// signed (with its own secret or its affiliate's); SigningSecret is set
// only in the answer that creates the secret.
type postbackView struct {
	ID            string `json:"postback_id"`
	Status        string `json:"status"`
	CreatedAt     string `json:"created_at"`
	URL           string `json:"url"`
	OfferID       string `json:"offer_id,omitempty"`
	Event         string `json:"event"`
	Signed        bool   `json:"signed"`
	SigningSecret string `json:"signing_secret,omitempty"`
	// When and why it was disabled (status disabled).
	DisabledAt     string `json:"disabled_at,omitempty"`
	DisabledReason string `json:"disabled_reason,omitempty"`
}

// viewPostback shows p; Signed counts only p's own secret (postbackView
// adds the affiliate's).
func viewPostback(p *model.Postback) postbackView {
	return postbackView{ID: p.ID, Status: p.Status, CreatedAt: p.CreatedAt, URL: p.URL, OfferID: p.OfferID, Event: p.Event,
		Signed: p.SigningSecret != "", DisabledAt: p.DisabledAt, DisabledReason: p.DisabledReason}
}

// postbackView shows p, Signed saying whether its deliveries are signed.
func (s *Server) postbackView(p *model.Postback) postbackView {
	v := viewPostback(p)
	v.Signed = postback.SecretFor(p, s.catalog.Affiliate(p.AffiliateID)) != ""
	return v
}

func (s *Server) createPostback(ctx *fasthttp.RequestCtx, aff *model.Affiliate) {
	var in struct {
		URL     *string `json:"url"`
		OfferID *string `json:"offer_id"`
		Event   *string `json:"event"`
		Signed  *bool   `json:"signed"`
	}
	if err := json.Unmarshal(ctx.PostBody(), &in); err != nil {
		affiliateError(ctx, fasthttp.StatusBadRequest, "BAD_REQUEST", "The body must be a JSON object with url, and optionally offer_id and event, as strings, and signed, a boolean.")
		return
	}
	pb := &model.Postback{AffiliateID: aff.ID, Event: model.EventConversion, Status: model.StatusActive}
	switch {
	case in.URL == nil || strings.TrimSpace(*in.URL) == "":
		affiliateError(ctx, fasthttp.StatusBadRequest, "BAD_REQUEST", "url is required.")
		return
	case !model.ValidURL(*in.URL):
		affiliateError(ctx, fasthttp.StatusBadRequest, "BAD_REQUEST", "url must be an http or https URL of at most 2048 characters whose host is not a macro.")
		return
	}
	pb.URL = *in.URL
	if in.OfferID != nil && *in.OfferID != "" {
		if s.catalog.Offer(*in.OfferID) == nil {
			affiliateError(ctx, fasthttp.StatusBadRequest, "BAD_REQUEST", "offer_id does not name an offer.")
			return
		}
		pb.OfferID = s.catalog.Offer(*in.OfferID).ID // a slug names the offer too
	}
	if in.Event != nil && *in.Event != "" {
		pb.Event = *in.Event
	}
	if pb.Event != model.EventConversion && pb.Event != model.EventApproved && pb.Event != model.EventRejected {
		affiliateError(ctx, fasthttp.StatusBadRequest, "BAD_REQUEST", "event must be conversion, approved or rejected.")
		return
	}
	if n := len(s.catalog.Postbacks(aff.ID)); n >= maxPostbacksPerAffiliate {
		affiliateError(ctx, fasthttp.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf("An affiliate may register at most %d postbacks.", maxPostbacksPerAffiliate))
		return
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	n, err := s.deps.Store.NextID(rctx, model.KindPostback)
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	pb.ID = "pb_" + n
	pb.CreatedAt = model.FormatTime(now(), model.APITimeLayout)
	if in.Signed != nil && *in.Signed {
		if pb.SigningSecret, err = postback.NewSecret(); err != nil {
			s.storageError(ctx, err)
			return
		}
	}
	if err := s.deps.Store.SaveEntity(rctx, pb); err != nil {
		s.storageError(ctx, err)
		return
	}
	view := s.postbackView(pb)
	view.SigningSecret = pb.SigningSecret.Reveal() // shown this once
	writeJSON(ctx, fasthttp.StatusOK, view)
}

// maxPostbacksPerAffiliate bounds the work one conversion can cause.
const maxPostbacksPerAffiliate = 100

func (s *Server) listPostbacks(ctx *fasthttp.RequestCtx, aff *model.Affiliate) {
	list := s.catalog.Postbacks(aff.ID)
	out := make([]postbackView, 0, len(list))
	for _, p := range list {
		out = append(out, s.postbackView(p))
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"data": out})
}

func (s *Server) deletePostback(ctx *fasthttp.RequestCtx, aff *model.Affiliate, id string) {
	pb := s.catalog.Postback(id)
	if pb == nil || pb.AffiliateID != aff.ID {
		affiliateError(ctx, fasthttp.StatusNotFound, "NOT_FOUND", "Postback does not exist.")
		return
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	if err := s.deps.Store.DeleteEntity(rctx, model.KindPostback, id); err != nil {
		s.storageError(ctx, err)
		return
	}
	view := s.postbackView(pb)
	view.Status = "deleted"
	writeJSON(ctx, fasthttp.StatusOK, view)
}

// Affiliate stats dimensions (seed 000's group_by, plus hour) and the key
// each takes in a row.
var affiliateDimensions = map[string]string{
	"date": "date", "hour": "hour", "offer": "offer_id", "geo": "geo", "device": "device", "os": "os",
	"sub1": "sub1", "sub2": "sub2", "sub3": "sub3", "sub4": "sub4", "sub5": "sub5",
}

// maxStatsRows bounds one stats answer.
const maxStatsRows = 10_000

func (s *Server) affiliateStats(ctx *fasthttp.RequestCtx, aff *model.Affiliate) {
	var groupBy []string
	args := ctx.QueryArgs()
	from, to, loc, perr := parseStatsRange(args, s.config.MaxStatsRange)
	if perr == nil {
		groupBy, perr = parseGroupBy(args, affiliateDimensions, "date, hour, offer, geo, sub1..sub5, device, os")
	}
	if perr != nil {
		affiliateError(ctx, fasthttp.StatusBadRequest, "BAD_REQUEST", perr.Message)
		return
	}
	q := clickhouse.StatsQuery{From: from, To: to, AffiliateID: aff.ID, GroupBy: groupBy, Location: loc, Limit: maxStatsRows}
	q.OfferIDs = s.offerFilter(string(args.Peek("offer_id")))
	rctx, cancel := requestContext(ctx)
	defer cancel()
	rows, err := s.deps.Warehouse.Stats(rctx, q)
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	out := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		row := make(map[string]any, len(groupBy)+7)
		for i, d := range groupBy {
			row[affiliateDimensions[d]] = r.Keys[i]
		}
		revenue := model.MicrosToUnits(r.PayoutMicros)
		row["clicks"] = r.Clicks
		row["unique_clicks"] = r.UniqueClicks
		row["conversions"] = r.Conversions
		row["approved"] = r.Approved // conversions approved now; rejected and reversed ones pay no revenue
		row["cvr"] = ratio(float64(r.Conversions)*100, float64(r.Clicks), 2)
		row["revenue"] = round(revenue, 6)
		row["epc"] = ratio(revenue, float64(r.Clicks), 4)
		out = append(out, row)
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"data": out})
}

// parseStatsRange reads a stats request's timezone (IANA, default UTC),
// date_from and date_to (inclusive), both required, spanning at most
// maxRange: the affiliate's and the admin's stats share it.
func parseStatsRange(args *fasthttp.Args, maxRange time.Duration) (from, to time.Time, loc *time.Location, perr *paramError) {
	loc = time.UTC
	if tz := string(args.Peek("timezone")); tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil || len(tz) > 64 || tz == "Local" {
			return from, to, nil, badParam("timezone", "timezone %q is not an IANA time zone name.", tz)
		}
		loc = l
	}
	if from, to, perr = parseDayRange(args, loc, maxRange); perr != nil {
		return from, to, nil, perr
	}
	return from, to, loc, nil
}

// parseDayRange reads date_from and date_to (inclusive), both required, as
// days in loc spanning at most maxRange (0: any): [from, to).
func parseDayRange(args *fasthttp.Args, loc *time.Location, maxRange time.Duration) (from, to time.Time, perr *paramError) {
	from, err := parseDay(string(args.Peek("date_from")), loc)
	if err != nil {
		return from, to, badParam("date_from", "date_from is required, in YYYY-MM-DD format.")
	}
	if to, err = parseDay(string(args.Peek("date_to")), loc); err != nil {
		return from, to, badParam("date_to", "date_to is required, in YYYY-MM-DD format.")
	}
	to = to.AddDate(0, 0, 1) // date_to is inclusive
	if !to.After(from) {
		return from, to, badParam("date_to", "date_to must not be before date_from.")
	}
	if maxRange > 0 && to.Sub(from) > maxRange {
		return from, to, badParam("date_to", "The date range may span at most %d days.", int(maxRange.Hours()/24))
	}
	return from, to, nil
}

// parseGroupBy reads group_by, a comma list of dims' names (named in
// known for the error), each once, in the order given.
func parseGroupBy(args *fasthttp.Args, dims map[string]string, known string) ([]string, *paramError) {
	var groupBy []string
	raw := strings.TrimSpace(string(args.Peek("group_by")))
	if raw == "" {
		return nil, nil
	}
	for _, d := range strings.Split(raw, ",") {
		d = strings.TrimSpace(d)
		if _, ok := dims[d]; !ok {
			return nil, badParam("group_by", "group_by %q is not one of %s.", d, known)
		}
		if !slices.Contains(groupBy, d) {
			groupBy = append(groupBy, d)
		}
	}
	return groupBy, nil
}

func parseDay(s string, loc *time.Location) (time.Time, error) {
	return time.ParseInLocation("2006-01-02", s, loc)
}

func ratio(num, den float64, decimals int) float64 {
	if den == 0 {
		return 0
	}
	return round(num/den, decimals)
}

func round(f float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(f*p) / p
}
