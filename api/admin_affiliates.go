package api

import (
	"slices"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
)

// POST and PATCH /v2/affiliates, and the admin's hand on an affiliate's
// signing secret (/v2/affiliates/{id}/signing-secret); the rest is
// admin_accounts.go.

func (s *Server) createAffiliate(ctx *fasthttp.RequestCtx) {
	f, ok := readForm(ctx)
	if !ok {
		return
	}
	name := f.str("name", model.MaxOfferNameLen)
	tier := f.str("tier", 32)
	if tier == "" {
		tier = model.TierStandard
	}
	switch {
	case f.failed:
		return
	case name == "":
		f.fail("missing_name", "The name field was not provided.")
		return
	case tier != model.TierStandard && tier != model.TierPremium:
		f.fail("invalid_tier", "The tier value is not standard or premium.")
		return
	}
	scopes := slices.Clone(model.AllScopes)
	if _, present := f.fields["scopes"]; present {
		if scopes = f.scopes(); f.failed {
			return
		}
	}
	aff := &model.Affiliate{Name: name, Tier: tier, Scopes: scopes, AppID: hexToken(12),
		Status: model.StatusActive, CreatedAt: model.FormatTime(now(), model.APITimeLayout)}
	s.createWithKey(ctx, aff, &aff.ID, "aff_", "affiliate")
}

func (s *Server) patchAffiliate(ctx *fasthttp.RequestCtx, current *model.Affiliate) {
	fields, ok := jsonFields(ctx)
	if !ok {
		return
	}
	s.updateAccount(ctx, current, func(e model.Entity) (model.Entity, error) {
		aff := e.(*model.Affiliate)
		f := &form{ctx: ctx, fields: fields}
		if name := f.str("name", model.MaxOfferNameLen); name != "" {
			aff.Name = name
		}
		if tier := f.str("tier", 32); tier != "" {
			if tier != model.TierStandard && tier != model.TierPremium {
				f.fail("invalid_tier", "The tier value is not standard or premium.")
			}
			aff.Tier = tier
		}
		if _, present := f.fields["scopes"]; present && !f.failed {
			aff.Scopes = f.scopes()
		}
		aff.Status = f.accountStatus(aff.Status)
		if f.failed {
			return nil, errAnswered
		}
		return aff, nil
	})
}

// adminRotateAffiliateSecret serves POST /v2/affiliates/{id}/signing-secret.
func (s *Server) adminRotateAffiliateSecret(ctx *fasthttp.RequestCtx, e model.Entity) {
	secret, ok := s.newSecret(ctx)
	if !ok {
		return
	}
	if _, ok := s.update(ctx, e, envelopeError, setSecret(secret)); ok {
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "affiliate_id": e.EntityID(), "signing_secret": secret.Reveal()})
	}
}

// adminDeleteAffiliateSecret serves DELETE /v2/affiliates/{id}/signing-secret.
func (s *Server) adminDeleteAffiliateSecret(ctx *fasthttp.RequestCtx, e model.Entity) {
	if saved, ok := s.update(ctx, e, envelopeError, setSecret("")); ok {
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "affiliate": publicAccount(saved)})
	}
}
