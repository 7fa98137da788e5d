package api

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/postback"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// A postback's deliveries, its dead letter, re-drive and re-enabling, for
// its affiliate (/v1/postbacks/{id}/...) and the admin (/v2/postbacks/...).
// Attempts come from ClickHouse's postback_attempts; whether a delivery
// is dead, from the dead letter in Redis (postback/deadletter.go).

// Limits of the deliveries API.
const (
	// maxDeliveryWindow bounds page × per_page: a listing reads that many
	// rows of the attempt log at most.
	maxDeliveryWindow = 10_000
	// maxDeliveryRange bounds from..to of a listing or a range re-drive.
	maxDeliveryRange = 90 * 24 * time.Hour
	// defaultDeliveryRange is a listing's range when from is not given.
	defaultDeliveryRange = 30 * 24 * time.Hour
	// maxRedrive bounds the deliveries one range re-drive queues; the
	// answer says how many the range still holds.
	maxRedrive = 1_000
	// maxDeliveryIDLen bounds a delivery_id ("{conversion_id}:{event}").
	maxDeliveryIDLen = 300
)

// The outcome a delivery shows: the attempt log's, or dead.
const outcomeDead = "dead"

var deliveryOutcomes = []string{clickhouse.DeliveryDelivered, clickhouse.DeliveryRetrying, clickhouse.DeliveryFailed, outcomeDead}

// attemptView is one attempt of a delivery. URL is the full URL requested,
// query included: only the postback's owner and the admin read this.
type attemptView struct {
	Number       uint32  `json:"number"`
	Time         string  `json:"time"`
	URL          string  `json:"url"`
	StatusCode   int     `json:"status_code"`
	LatencyMs    float64 `json:"latency_ms"`
	ResponseBody string  `json:"response_body"`
	Error        string  `json:"error"`
}

// deliveryView is one delivery: one postback, one conversion, one event.
type deliveryView struct {
	DeliveryID   string        `json:"delivery_id"`
	ConversionID string        `json:"conversion_id"`
	ClickID      string        `json:"click_id"`
	Event        string        `json:"event"`
	Outcome      string        `json:"outcome"`
	DeadReason   string        `json:"dead_reason,omitempty"`
	DiedAt       string        `json:"died_at,omitempty"`
	Attempts     []attemptView `json:"attempts"`
	sortAt       time.Time
}

// deliveryTimeLayout is RFC 3339 in UTC with milliseconds.
const deliveryTimeLayout = "2006-01-02T15:04:05.000Z"

// surfaceFail answers a refused request in a surface's envelope.
type surfaceFail func(ctx *fasthttp.RequestCtx, status int, code, message string)

// postbackCaller is who called a postback route: the postback's owner
// (/v1) or the admin (/v2), whose answers carry success: true and whose
// errors are in the admin's envelope.
type postbackCaller struct {
	admin bool
	fail  surfaceFail
}

// code is the error code of a refusal for the caller: the admin's own, or
// seed 000's BAD_REQUEST.
func (c postbackCaller) code(admin string) string {
	if c.admin {
		return admin
	}
	return "BAD_REQUEST"
}

// postbackHandler serves a postback route for its caller.
type postbackHandler func(*Server, *fasthttp.RequestCtx, *model.Postback, postbackCaller)

// affiliatePostback serves a /v1/postbacks/{id}/... route for the postback's
// own affiliate; another's postback is 404, as a missing one.
func affiliatePostback(scope string, h postbackHandler) handler {
	return scopedParam(scope, func(s *Server, ctx *fasthttp.RequestCtx, aff *model.Affiliate, id string) {
		if pb := s.ownPostback(ctx, aff, id); pb != nil {
			h(s, ctx, pb, postbackCaller{fail: affiliateSurface.fail})
		}
	})
}

// adminPostback serves a /v2/postbacks/{id}/... route.
func adminPostback(h postbackHandler) handler {
	return withParam(func(s *Server, ctx *fasthttp.RequestCtx, id string) {
		pb := s.catalog.Postback(id)
		if pb == nil {
			adminNotFound(ctx, "Postback")
			return
		}
		h(s, ctx, pb, postbackCaller{admin: true, fail: adminSurface.fail})
	})
}

// deliveriesReady answers 503 when this process has no dead letter or
// attempt log to read (a build without them).
func (s *Server) deliveriesReady(ctx *fasthttp.RequestCtx, fail surfaceFail) bool {
	if s.deps.DeadLetter == nil || s.deps.Deliveries == nil {
		fail(ctx, fasthttp.StatusServiceUnavailable, "service_unavailable", "Postback deliveries are not available on this server.")
		return false
	}
	return true
}

// listDeliveries serves GET .../postbacks/{id}/deliveries.
func (s *Server) listDeliveries(ctx *fasthttp.RequestCtx, pb *model.Postback, caller postbackCaller) {
	fail := caller.fail
	if !s.deliveriesReady(ctx, fail) {
		return
	}
	page, perPage, ok := s.paging(ctx, fail, "invalid_paging")
	if !ok {
		return
	}
	if page*perPage > maxDeliveryWindow {
		fail(ctx, fasthttp.StatusBadRequest, "invalid_paging",
			fmt.Sprintf("page × per_page may be at most %d; narrow the range with from and to.", maxDeliveryWindow))
		return
	}
	args := ctx.QueryArgs()
	outcome := string(args.Peek("outcome"))
	if outcome != "" && !slices.Contains(deliveryOutcomes, outcome) {
		fail(ctx, fasthttp.StatusBadRequest, "invalid_outcome", "outcome must be delivered, retrying, failed or dead.")
		return
	}
	to := now().Add(time.Minute)
	from := time.Time{}
	if !readTime(ctx, fail, "to", &to) || !readTime(ctx, fail, "from", &from) {
		return
	}
	if from.IsZero() {
		from = to.Add(-defaultDeliveryRange)
	}
	if !checkRange(ctx, fail, from, to) {
		return
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	offset := (page - 1) * perPage
	views := []deliveryView{}
	var total int64
	if outcome == outcomeDead || outcome == "" {
		// Dead deliveries, by when they died; with no filter, merged
		// with the attempt log's by time.
		skip, n := offset, perPage
		if outcome == "" {
			skip, n = 0, offset+perPage // the merge takes its page after
		}
		list, count, err := s.deps.DeadLetter.DeadLetters(rctx, pb.ID, from, to, skip, n)
		if err != nil {
			s.storageError(ctx, err)
			return
		}
		for _, d := range list {
			views = append(views, deadView(d.ID, d.Died, d.Job))
		}
		total += count
	}
	if outcome != outcomeDead {
		dead, err := s.deps.DeadLetter.DeadLetterIndex(rctx, pb.ID)
		if err != nil {
			s.storageError(ctx, err)
			return
		}
		q := clickhouse.DeliveryQuery{PostbackID: pb.ID, From: from, To: to, Outcome: outcome, Offset: offset, Limit: perPage}
		if outcome == "" {
			q.Offset, q.Limit = 0, offset+perPage
		}
		for id := range dead {
			q.Exclude = append(q.Exclude, id) // shown as dead, whatever the log says
		}
		rows, count, err := s.deps.Deliveries.PostbackDeliveries(rctx, q)
		if err != nil {
			s.storageError(ctx, err)
			return
		}
		for _, r := range rows {
			views = append(views, deliveryView{DeliveryID: postback.DeliveryID(r.ConversionID, r.Event), ConversionID: r.ConversionID,
				ClickID: r.ClickID, Event: r.Event, Outcome: r.Outcome(), sortAt: r.First})
		}
		total += int64(count)
	}
	if outcome == "" {
		slices.SortStableFunc(views, func(a, b deliveryView) int { return b.sortAt.Compare(a.sortAt) })
		views = views[min(offset, len(views)):min(offset+perPage, len(views))]
	}
	if err := s.attachAttempts(rctx, pb.ID, views); err != nil {
		s.storageError(ctx, err)
		return
	}
	meta := map[string]int64{"total": total, "page": int64(page), "per_page": int64(perPage)}
	if caller.admin {
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "deliveries": views, "meta": meta})
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"data": views, "meta": meta})
}

// deadView is a dead-letter entry as a delivery.
func deadView(id string, died time.Time, job []byte) deliveryView {
	v := deliveryView{DeliveryID: id, Outcome: outcomeDead, DiedAt: model.FormatTime(died, deliveryTimeLayout), sortAt: died}
	v.ConversionID, v.Event, _ = postback.SplitDeliveryID(id)
	if j, err := postback.DecodeDeadJob(job); err == nil {
		v.ClickID, v.DeadReason = j.ClickID, j.Reason
	}
	return v
}

// attachAttempts fills each delivery's attempts from the log.
func (s *Server) attachAttempts(ctx context.Context, postbackID string, views []deliveryView) error {
	if len(views) == 0 {
		return nil
	}
	ids := make([]string, len(views))
	at := make(map[string]int, len(views))
	for i, v := range views {
		ids[i], at[v.DeliveryID] = v.DeliveryID, i
		views[i].Attempts = []attemptView{}
	}
	attempts, err := s.deps.Deliveries.DeliveryAttempts(ctx, postbackID, ids)
	if err != nil {
		return err
	}
	for _, a := range attempts {
		i, ok := at[postback.DeliveryID(a.ConversionID, a.Event)]
		if !ok {
			continue
		}
		views[i].Attempts = append(views[i].Attempts, attemptView{Number: a.Number, Time: model.FormatTime(a.Time, deliveryTimeLayout),
			URL: a.URL, StatusCode: int(a.StatusCode), LatencyMs: float64(a.LatencyMicros) / 1000,
			ResponseBody: a.ResponseBody, Error: a.Error})
	}
	return nil
}

// redrive serves POST .../postbacks/{id}/redrive: {"delivery_id"} or
// {"from", "to"} (dead deliveries that died in the range, at most
// maxRedrive a call). A delivery that landed since is dropped, not sent.
func (s *Server) redrive(ctx *fasthttp.RequestCtx, pb *model.Postback, caller postbackCaller) {
	fail := caller.fail
	if !s.deliveriesReady(ctx, fail) {
		return
	}
	var in struct {
		DeliveryID *string `json:"delivery_id"`
		From       *string `json:"from"`
		To         *string `json:"to"`
	}
	if err := json.Unmarshal(ctx.PostBody(), &in); err != nil {
		fail(ctx, fasthttp.StatusBadRequest, "invalid_json", `The body must be a JSON object: {"delivery_id": "..."} or {"from": "<RFC 3339>", "to": "<RFC 3339>"}.`)
		return
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	due := now()
	var res redis.Redrive
	var err error
	switch {
	case in.DeliveryID != nil && (in.From != nil || in.To != nil):
		fail(ctx, fasthttp.StatusBadRequest, "invalid_redrive", "Give either delivery_id, or from and to; not both.")
		return
	case in.DeliveryID != nil:
		id := *in.DeliveryID
		if _, _, ok := postback.SplitDeliveryID(id); !ok || len(id) > maxDeliveryIDLen {
			fail(ctx, fasthttp.StatusBadRequest, "invalid_delivery_id", "delivery_id must be a delivery's id, {conversion_id}:{event}.")
			return
		}
		res, err = s.deps.DeadLetter.RedriveDeliveries(rctx, pb.ID, []string{id}, due)
	case in.From != nil && in.To != nil:
		from, errFrom := time.Parse(time.RFC3339, *in.From)
		to, errTo := time.Parse(time.RFC3339, *in.To)
		if errFrom != nil || errTo != nil {
			fail(ctx, fasthttp.StatusBadRequest, "invalid_range", "from and to must be RFC 3339 times such as 2026-11-22T10:00:00Z.")
			return
		}
		if !checkRange(ctx, fail, from, to) {
			return
		}
		res, err = s.deps.DeadLetter.RedriveRange(rctx, pb.ID, from, to, maxRedrive, due)
	default:
		fail(ctx, fasthttp.StatusBadRequest, "invalid_redrive", "Give delivery_id, or both from and to.")
		return
	}
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	s.redriven.Add(int(res.Queued))
	s.log.Info().Str("postback_id", pb.ID).Int64("redriven", res.Queued).Int64("already_delivered", res.AlreadyDelivered).
		Bool("admin", caller.admin).Msg("postback deliveries re-driven")
	out := map[string]any{"redriven": res.Queued, "already_delivered": res.AlreadyDelivered, "remaining": res.Left}
	if caller.admin {
		out["success"] = true
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}

// enablePostback serves POST .../postbacks/{id}/enable, optionally
// {"redrive": true}: the postback is active again, its run of failures
// forgotten, and (when asked) what its dead letter kept re-driven.
func (s *Server) enablePostback(ctx *fasthttp.RequestCtx, pb *model.Postback, caller postbackCaller) {
	fail := caller.fail
	if !s.deliveriesReady(ctx, fail) {
		return
	}
	var in struct {
		Redrive *bool `json:"redrive"`
	}
	if body := strings.TrimSpace(string(ctx.PostBody())); body != "" {
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			fail(ctx, fasthttp.StatusBadRequest, "invalid_json", `The body must be empty or a JSON object such as {"redrive": true}.`)
			return
		}
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	// The run is forgotten first: a failure counted meanwhile would
	// disable it again at once.
	if err := s.deps.DeadLetter.ResetFailures(rctx, pb.ID); err != nil {
		s.storageError(ctx, err)
		return
	}
	enabled := false
	saved, ok := s.update(ctx, pb, fail, func(e model.Entity) (model.Entity, error) {
		on := e.(*model.Postback)
		enabled = false // change may run again, on a newer version
		if on.Status == model.StatusActive && on.DisabledAt == "" {
			return nil, redis.ErrNoChange
		}
		on.Status, on.DisabledAt, on.DisabledReason = model.StatusActive, "", ""
		enabled = true
		return on, nil
	})
	if !ok {
		return
	}
	on := saved.(*model.Postback)
	if enabled {
		s.log.Info().Str("postback_id", pb.ID).Bool("admin", caller.admin).Msg("postback re-enabled")
	}
	var redriven int64
	if in.Redrive != nil && *in.Redrive {
		// Everything kept, oldest first, in batches (the dead letter is
		// capped, so this ends).
		for {
			r, err := s.deps.DeadLetter.RedriveRange(rctx, pb.ID, time.UnixMilli(0), now().Add(time.Minute), maxRedrive, now())
			if err != nil {
				s.storageError(ctx, err)
				return
			}
			redriven += r.Queued
			if r.Left == 0 || r.Queued+r.AlreadyDelivered == 0 {
				break
			}
		}
		s.redriven.Add(int(redriven))
	}
	out := map[string]any{"postback": s.postbackView(on), "redriven": redriven}
	if caller.admin {
		out["success"] = true
		out["postback"] = viewAdminPostback(on)
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}
