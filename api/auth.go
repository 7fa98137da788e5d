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
