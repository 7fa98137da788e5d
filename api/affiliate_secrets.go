package api

import (
	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/postback"
)

// Signing secrets are drawn here, saved with their entity (so a rotation
// reaches every process through the entity store's pub/sub), and shown in
// the answer that creates them only.

// setSecret is the change that gives a postback or an affiliate secret
// ("" for none).
func setSecret(secret model.Secret) func(model.Entity) (model.Entity, error) {
	return func(e model.Entity) (model.Entity, error) {
		switch e := e.(type) {
		case *model.Postback:
			e.SigningSecret = secret
		case *model.Affiliate:
			e.SigningSecret = secret
		}
		return e, nil
	}
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
	if _, ok := s.update(ctx, current, affiliateSurface.fail, setSecret(secret)); ok {
		writeJSON(ctx, fasthttp.StatusOK, map[string]string{"postback_id": current.ID, "signing_secret": secret.Reveal()})
	}
}

// deletePostbackSecret serves DELETE /v1/postbacks/{id}/signing-secret:
// the postback is signed with the affiliate's secret again, or unsigned.
func (s *Server) deletePostbackSecret(ctx *fasthttp.RequestCtx, aff *model.Affiliate, id string) {
	current := s.ownPostback(ctx, aff, id)
	if current == nil {
		return
	}
	if saved, ok := s.update(ctx, current, affiliateSurface.fail, setSecret("")); ok {
		writeJSON(ctx, fasthttp.StatusOK, s.postbackView(saved.(*model.Postback)))
	}
}

// rotateAffiliateSecret serves POST /v1/signing-secret: a new secret for
// every postback of the affiliate without one of its own.
func (s *Server) rotateAffiliateSecret(ctx *fasthttp.RequestCtx, current *model.Affiliate) {
	secret, ok := s.newSecret(ctx)
	if !ok {
		return
	}
	if _, ok := s.update(ctx, current, affiliateSurface.fail, setSecret(secret)); ok {
		writeJSON(ctx, fasthttp.StatusOK, map[string]string{"affiliate_id": current.ID, "signing_secret": secret.Reveal()})
	}
}

// deleteAffiliateSecret serves DELETE /v1/signing-secret.
func (s *Server) deleteAffiliateSecret(ctx *fasthttp.RequestCtx, current *model.Affiliate) {
	if _, ok := s.update(ctx, current, affiliateSurface.fail, setSecret("")); ok {
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"affiliate_id": current.ID, "signed": false})
	}
}
