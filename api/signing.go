package api

import (
	"context"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/postback"
)

// postbackTester fires a postback once with sample values (a
// postback.Sender).
type postbackTester interface {
	Test(ctx context.Context, pb *model.Postback, secret model.Secret) postback.TestResult
}

// Signing secrets are drawn here, saved with their entity (so a rotation
// reaches every process through the entity store's pub/sub), and shown in
// the answer that creates them only.

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

// saveSecret stores e after change set or cleared its secret; it answers
// the storage error itself and reports whether it saved.
func (s *Server) saveSecret(ctx *fasthttp.RequestCtx, e model.Entity) bool {
	rctx, cancel := requestContext(ctx)
	defer cancel()
	if err := s.deps.Store.SaveEntity(rctx, e); err != nil {
		s.storageError(ctx, err)
		return false
	}
	return true
}

// newSecret draws a secret; crypto/rand failing is a server fault.
func (s *Server) newSecret(ctx *fasthttp.RequestCtx) (model.Secret, bool) {
	secret, err := postback.NewSecret()
	if err != nil {
		s.storageError(ctx, err)
		return "", false
	}
	return secret, true
}

// rotatePostbackSecret serves POST /v1/postbacks/{id}/signing-secret:
// gives the postback a new secret of its own; the previous one (or the
// affiliate's, which it no longer uses) stops signing it at once.
func (s *Server) rotatePostbackSecret(ctx *fasthttp.RequestCtx, aff *model.Affiliate, id string) {
	current := s.ownPostback(ctx, aff, id)
	if current == nil {
		return
	}
	secret, ok := s.newSecret(ctx)
	if !ok {
		return
	}
	pb := *current // catalog entities are immutable: change a copy
	pb.SigningSecret = secret
	if s.saveSecret(ctx, &pb) {
		writeJSON(ctx, fasthttp.StatusOK, map[string]string{"postback_id": pb.ID, "signing_secret": secret.Reveal()})
	}
}

// deletePostbackSecret serves DELETE /v1/postbacks/{id}/signing-secret:
// the postback is signed with the affiliate's secret again, or unsigned.
func (s *Server) deletePostbackSecret(ctx *fasthttp.RequestCtx, aff *model.Affiliate, id string) {
	current := s.ownPostback(ctx, aff, id)
	if current == nil {
		return
	}
	pb := *current
	pb.SigningSecret = ""
	if s.saveSecret(ctx, &pb) {
		writeJSON(ctx, fasthttp.StatusOK, s.postbackView(&pb))
	}
}

// rotateAffiliateSecret serves POST /v1/signing-secret: a new secret for
// every postback of the affiliate without one of its own.
func (s *Server) rotateAffiliateSecret(ctx *fasthttp.RequestCtx, current *model.Affiliate) {
	secret, ok := s.newSecret(ctx)
	if !ok {
		return
	}
	aff := *current
	aff.SigningSecret = secret
	if s.saveSecret(ctx, &aff) {
		writeJSON(ctx, fasthttp.StatusOK, map[string]string{"affiliate_id": aff.ID, "signing_secret": secret.Reveal()})
	}
}

// deleteAffiliateSecret serves DELETE /v1/signing-secret.
func (s *Server) deleteAffiliateSecret(ctx *fasthttp.RequestCtx, current *model.Affiliate) {
	aff := *current
	aff.SigningSecret = ""
	if s.saveSecret(ctx, &aff) {
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"affiliate_id": aff.ID, "signed": false})
	}
}

// adminRotateAffiliateSecret serves POST /v2/affiliates/{id}/signing-secret.
func (s *Server) adminRotateAffiliateSecret(ctx *fasthttp.RequestCtx, e model.Entity) {
	secret, ok := s.newSecret(ctx)
	if !ok {
		return
	}
	aff := *e.(*model.Affiliate)
	aff.SigningSecret = secret
	if s.saveSecret(ctx, &aff) {
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "affiliate_id": aff.ID, "signing_secret": secret.Reveal()})
	}
}

// adminDeleteAffiliateSecret serves DELETE /v2/affiliates/{id}/signing-secret.
func (s *Server) adminDeleteAffiliateSecret(ctx *fasthttp.RequestCtx, e model.Entity) {
	aff := *e.(*model.Affiliate)
	aff.SigningSecret = ""
	if s.saveSecret(ctx, &aff) {
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "affiliate": publicAccount(&aff)})
	}
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

// adminTestPostback serves POST /v2/postbacks/{id}/test.
func (s *Server) adminTestPostback(ctx *fasthttp.RequestCtx, pb *model.Postback, _ postbackCaller) {
	if s.deps.Postbacks == nil {
		envelopeError(ctx, fasthttp.StatusServiceUnavailable, "unavailable", "Postback tests are not available on this server.")
		return
	}
	s.answerTest(ctx, pb, s.catalog.Affiliate(pb.AffiliateID))
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
