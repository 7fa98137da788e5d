package api

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/console"
	"github.com/clickrelay/clickrelay/model"
)

// Who is calling: the admin key, an advertiser's or affiliate's key, or a
// console session standing in for one.

// presentedKey returns the API key a request carries, from
// "Authorization: Bearer", or else from the first of headers that is set.
func presentedKey(ctx *fasthttp.RequestCtx, headers ...string) string {
	if auth := ctx.Request.Header.Peek("Authorization"); len(auth) > 7 && bytes.EqualFold(auth[:7], []byte("Bearer ")) {
		return strings.TrimSpace(string(auth[7:]))
	}
	for _, h := range headers {
		if v := ctx.Request.Header.Peek(h); len(v) > 0 {
			return strings.TrimSpace(string(v))
		}
	}
	return ""
}

// isAdmin checks the network admin key, hashed and compared in constant
// time. Seed 004's report also takes it in X-Eflow-API-Key. Without a key,
// an admin console session does (its CSRF token on writes).
func (s *Server) isAdmin(ctx *fasthttp.RequestCtx) bool {
	key := presentedKey(ctx, "X-Api-Key", "X-Eflow-API-Key")
	if key == "" {
		// The console's session cookie stands in for the key.
		_, state := s.cookieAuth(ctx, console.KindAdmin)
		return state == cookieOK
	}
	sum := sha256.Sum256([]byte(key))
	return subtle.ConstantTimeCompare(sum[:], s.deps.AdminKeyHash[:]) == 1
}

// principal looks a key up; ok is false for unknown keys and for keys of
// another kind than want.
func (s *Server) principal(key string, want model.Kind) (string, bool) {
	if key == "" {
		return "", false
	}
	p, ok := s.catalog.Principal(key)
	if !ok || p.Kind != want {
		return "", false
	}
	return p.ID, true
}

// codeAccountInactive refuses the key of a paused or suspended account, in
// the envelope of the surface it was sent to.
const codeAccountInactive = "ACCOUNT_INACTIVE"

func inactiveMessage(status string) string {
	return "This account is " + status + "; contact the network."
}

// advertiserID authenticates a seed 002 request: X-API-Key, a Bearer
// token, or the "secure" field. ok is false and the answer sent otherwise.
func (s *Server) advertiserID(ctx *fasthttp.RequestCtx, secure string) (string, bool) {
	key := presentedKey(ctx, "X-API-Key")
	if key == "" {
		key = secure
	}
	if key == "" {
		envelopeError(ctx, fasthttp.StatusUnauthorized, codeUnauthorized, msgKeyRequired)
		return "", false
	}
	id, ok := s.principal(key, model.KindAdvertiser)
	adv := s.catalog.Advertiser(id)
	if !ok || adv == nil {
		envelopeError(ctx, fasthttp.StatusUnauthorized, codeInvalidKey, msgKeyInvalid)
		return "", false
	}
	if adv.Status != model.StatusActive {
		envelopeError(ctx, fasthttp.StatusForbidden, codeAccountInactive, inactiveMessage(adv.Status))
		return "", false
	}
	if !s.limitAdvertiser(ctx, id) {
		return "", false
	}
	return id, true
}

// parseAuthenticated reads a JSON body that may itself carry the key (the
// "secure" field), then authenticates. A body that does not parse is
// reported only to an authenticated caller: an anonymous one learns nothing
// of it. ok is false when the answer has been sent.
func parseAuthenticated[R any](s *Server, ctx *fasthttp.RequestCtx, parse func([]byte) (R, error), secure func(R) string) (R, string, bool) {
	req, err := parse(ctx.PostBody())
	if err != nil {
		if _, ok := s.advertiserID(ctx, ""); ok {
			envelopeError(ctx, fasthttp.StatusBadRequest, codeValidation, err.Error())
		}
		return req, "", false
	}
	advertiserID, ok := s.advertiserID(ctx, secure(req))
	return req, advertiserID, ok
}

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
			affiliateError(ctx, fasthttp.StatusForbidden, "FORBIDDEN", msgCSRFFailed)
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
