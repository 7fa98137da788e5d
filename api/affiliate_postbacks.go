package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/postback"
)

// The affiliate's postbacks (seed 000): POST, GET and DELETE
// /v1/postbacks[/{id}], and test postbacks; their deliveries are
// affiliate_deliveries.go, their secrets affiliate_secrets.go.

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

// maxPostbacksPerAffiliate bounds the work one conversion can cause.
const maxPostbacksPerAffiliate = 100

// postbackFields are the fields of a postback its owner chooses, as a
// create or a PATCH sends them; nil is absent.
type postbackFields struct {
	URL     *string `json:"url"`
	OfferID *string `json:"offer_id"`
	Event   *string `json:"event"`
	Signed  *bool   `json:"signed"` // at create only; later, the signing-secret routes
}

// apply sets the fields present on pb; a refused one is named, with why.
func (in *postbackFields) apply(s *Server, pb *model.Postback) (field, refusal string) {
	if in.URL != nil {
		switch {
		case strings.TrimSpace(*in.URL) == "":
			return "url", "url is required."
		case !model.ValidURL(*in.URL):
			return "url", "url must be an http or https URL of at most 2048 characters whose host is not a macro."
		}
		pb.URL = *in.URL
	}
	if in.OfferID != nil {
		pb.OfferID = ""
		if *in.OfferID != "" {
			o := s.catalog.Offer(*in.OfferID)
			if o == nil {
				return "offer_id", "offer_id does not name an offer."
			}
			pb.OfferID = o.ID // a slug names the offer too
		}
	}
	if in.Event != nil && *in.Event != "" {
		pb.Event = *in.Event
	}
	if pb.Event != model.EventConversion && pb.Event != model.EventApproved && pb.Event != model.EventRejected {
		return "event", "event must be conversion, approved or rejected."
	}
	return "", ""
}

func (s *Server) createPostback(ctx *fasthttp.RequestCtx, aff *model.Affiliate) {
	var in postbackFields
	if err := json.Unmarshal(ctx.PostBody(), &in); err != nil {
		affiliateError(ctx, fasthttp.StatusBadRequest, "BAD_REQUEST", "The body must be a JSON object with url, and optionally offer_id and event, as strings, and signed, a boolean.")
		return
	}
	pb := &model.Postback{AffiliateID: aff.ID, Event: model.EventConversion, Status: model.StatusActive}
	if in.URL == nil {
		affiliateError(ctx, fasthttp.StatusBadRequest, "BAD_REQUEST", "url is required.")
		return
	}
	if _, refusal := in.apply(s, pb); refusal != "" {
		affiliateError(ctx, fasthttp.StatusBadRequest, "BAD_REQUEST", refusal)
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

// patchPostback serves PATCH /v1/postbacks/{id} (its owner) and PATCH
// /v2/postbacks/{id} (the admin): url, offer_id and event, each when
// present. The change is made to the postback as stored now, so one the
// worker disabled meanwhile stays disabled (re-enabling is .../enable).
func (s *Server) patchPostback(ctx *fasthttp.RequestCtx, pb *model.Postback, caller postbackCaller) {
	var in postbackFields
	if err := json.Unmarshal(ctx.PostBody(), &in); err != nil || in.Signed != nil {
		caller.fail(ctx, fasthttp.StatusBadRequest, caller.code("invalid_json"),
			"The body must be a JSON object with any of url, offer_id and event, as strings; a postback's signing secret has routes of its own.")
		return
	}
	saved, ok := s.update(ctx, pb, caller.fail, func(e model.Entity) (model.Entity, error) {
		next := e.(*model.Postback)
		if field, refusal := in.apply(s, next); refusal != "" {
			caller.fail(ctx, fasthttp.StatusBadRequest, caller.code("invalid_"+field), refusal)
			return nil, errAnswered
		}
		return next, nil
	})
	if !ok {
		return
	}
	if caller.admin {
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "postback": viewAdminPostback(saved.(*model.Postback))})
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, s.postbackView(saved.(*model.Postback)))
}

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

// ownPostback finds the affiliate's postback id, answering 404 when it has
// none of that id (another affiliate's included).
func (s *Server) ownPostback(ctx *fasthttp.RequestCtx, aff *model.Affiliate, id string) *model.Postback {
	pb := s.catalog.Postback(id)
	if pb == nil || pb.AffiliateID != aff.ID {
		affiliateError(ctx, fasthttp.StatusNotFound, "NOT_FOUND", "Postback does not exist.")
		return nil
	}
	return pb
}

// postbackTester fires a postback once with sample values (a
// postback.Sender).
type postbackTester interface {
	Test(ctx context.Context, pb *model.Postback, secret model.Secret) postback.TestResult
}

// testPostback serves POST /v1/postbacks/{id}/test.
func (s *Server) testPostback(ctx *fasthttp.RequestCtx, aff *model.Affiliate, id string) {
	pb := s.ownPostback(ctx, aff, id)
	if pb == nil {
		return
	}
	if s.deps.Postbacks == nil {
		affiliateError(ctx, fasthttp.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "Postback tests are not available on this server.")
		return
	}
	s.answerTest(ctx, pb, aff)
}

// answerTest fires pb once and answers what came of it. A refused or
// unusable URL is still a test that ran: 200, with its error.
func (s *Server) answerTest(ctx *fasthttp.RequestCtx, pb *model.Postback, aff *model.Affiliate) {
	rctx, cancel := requestContext(ctx)
	defer cancel()
	result := s.deps.Postbacks.Test(rctx, pb, postback.SecretFor(pb, aff))
	s.postbackTests.Inc()
	writeJSON(ctx, fasthttp.StatusOK, result)
}
