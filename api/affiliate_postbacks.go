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
