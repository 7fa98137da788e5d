package api

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
)

// What advertisers and affiliates share in the admin API (/v2/advertisers,
// /v2/affiliates): reading, listing, patching and rotating keys, and the
// creation of an account with its first key.

// accountStatuses are what an admin may set on an advertiser or affiliate.
var accountStatuses = []string{model.StatusActive, model.StatusPaused, model.StatusSuspended}

// withAccount finds the advertiser or affiliate a path names, answering
// 404 when there is none.
func withAccount(kind model.Kind, h func(*Server, *fasthttp.RequestCtx, model.Entity)) handler {
	return func(s *Server, ctx *fasthttp.RequestCtx, p []string) {
		var current model.Entity
		if kind == model.KindAdvertiser {
			if a := s.catalog.Advertiser(p[0]); a != nil {
				current = a
			}
		} else if a := s.catalog.Affiliate(p[0]); a != nil {
			current = a
		}
		if current == nil {
			adminNotFound(ctx, strings.ToUpper(string(kind[:1]))+string(kind[1:]))
			return
		}
		h(s, ctx, current)
	}
}

func (s *Server) getAccount(ctx *fasthttp.RequestCtx, e model.Entity) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, string(e.EntityKind()): publicAccount(e)})
}

// affiliateView is an affiliate as the admin API shows it: without its
// postback signing secret, Signed saying whether it has one.
type affiliateView struct {
	model.Affiliate
	Signed bool `json:"signed"`
}

// publicAccount is an account as API answers show it: never a secret.
func publicAccount(e model.Entity) any {
	if a, ok := e.(*model.Affiliate); ok {
		v := affiliateView{Affiliate: *a, Signed: a.SigningSecret != ""}
		v.SigningSecret = ""
		return v
	}
	return e
}

func (s *Server) patchAccount(ctx *fasthttp.RequestCtx, e model.Entity) {
	switch e := e.(type) {
	case *model.Advertiser:
		s.patchAdvertiser(ctx, e)
	case *model.Affiliate:
		s.patchAffiliate(ctx, e)
	}
}

// listAccounts serves GET /v2/advertisers and GET /v2/affiliates.
func listAccounts(kind model.Kind) handler {
	return func(s *Server, ctx *fasthttp.RequestCtx, _ []string) { s.listAccounts(ctx, kind) }
}

func (s *Server) listAccounts(ctx *fasthttp.RequestCtx, kind model.Kind) {
	page, perPage, ok := s.paging(ctx, envelopeError, "invalid_paging")
	if !ok {
		return
	}
	search, ok := searchTerm(ctx)
	if !ok {
		return
	}
	all := []any{}
	if kind == model.KindAdvertiser {
		for _, a := range s.catalog.Advertisers() {
			if search.matches(a.ID, a.Name, a.ContactEmail) {
				all = append(all, a)
			}
		}
	} else {
		for _, a := range s.catalog.Affiliates() {
			if search.matches(a.ID, a.Name) {
				all = append(all, publicAccount(a))
			}
		}
	}
	writeListing(ctx, string(kind)+"s", all, page, perPage)
}

// accountStatus reads an optional status field.
func (f *form) accountStatus(current string) string {
	status := f.str("status", 32)
	if status == "" || f.failed {
		return current
	}
	if !slices.Contains(accountStatuses, status) {
		f.fail("invalid_status", "The status value is not active, paused or suspended.")
	}
	return status
}

// scopes reads the scopes field: a list of seed 000's scopes, sorted and
// without repeats.
func (f *form) scopes() []string {
	var scopes []string
	if err := json.Unmarshal(f.fields["scopes"], &scopes); err != nil {
		f.fail("invalid_scopes", "scopes must be a list of strings.")
		return nil
	}
	for _, sc := range scopes {
		if !slices.Contains(model.AllScopes, sc) {
			f.fail("invalid_scopes", fmt.Sprintf("Unknown scope %q; scopes are %s.", sc, strings.Join(model.AllScopes, ", ")))
			return nil
		}
	}
	slices.Sort(scopes)
	return slices.Compact(scopes)
}

// updateAccount applies a PATCH's change to an account (update) and
// answers with the account saved.
func (s *Server) updateAccount(ctx *fasthttp.RequestCtx, current model.Entity, change func(model.Entity) (model.Entity, error)) {
	if saved, ok := s.update(ctx, current, envelopeError, change); ok {
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, string(saved.EntityKind()): publicAccount(saved)})
	}
}

// rotateKey gives an account a new API key, shown once; the old one stops
// working at once.
func (s *Server) rotateKey(ctx *fasthttp.RequestCtx, e model.Entity) {
	prefix := "adv_"
	if e.EntityKind() == model.KindAffiliate {
		prefix = "aff_"
	}
	key := token(prefix, 40)
	rctx, cancel := requestContext(ctx)
	defer cancel()
	if err := s.deps.Store.ReplaceAPIKeys(rctx, key, model.Principal{Kind: e.EntityKind(), ID: e.EntityID()}); err != nil {
		s.storageError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, string(e.EntityKind()): withAPIKey(e, key)})
}

// createWithKey gives a new advertiser or affiliate its ID and an API key
// (stored hashed), saves it, and answers with the key shown once.
func (s *Server) createWithKey(ctx *fasthttp.RequestCtx, e model.Entity, id *string, keyPrefix, field string) {
	rctx, cancel := requestContext(ctx)
	defer cancel()
	var err error
	if *id, err = s.deps.Store.NextID(rctx, e.EntityKind()); err != nil {
		s.storageError(ctx, err)
		return
	}
	key := token(keyPrefix, 40)
	if err := s.deps.Store.SaveAPIKey(rctx, key, model.Principal{Kind: e.EntityKind(), ID: *id}); err != nil {
		s.storageError(ctx, err)
		return
	}
	if err := s.deps.Store.SaveEntity(rctx, e); err != nil {
		s.storageError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusCreated, map[string]any{"success": true, field: withAPIKey(e, key)})
}

// withAPIKey adds the key, shown once, to an entity's JSON.
func withAPIKey(e model.Entity, key string) map[string]any {
	body, _ := json.Marshal(publicAccount(e))
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	m["api_key"] = key
	return m
}
