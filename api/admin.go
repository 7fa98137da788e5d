package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
)

// jsonFields decodes a JSON object body; ok is false (and the answer sent)
// when the body is not one.
func jsonFields(ctx *fasthttp.RequestCtx) (map[string]json.RawMessage, bool) {
	var fields map[string]json.RawMessage
	body := bytes.TrimSpace(ctx.PostBody())
	if len(body) == 0 {
		return map[string]json.RawMessage{}, true
	}
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		adminBadJSON(ctx)
		return nil, false
	}
	return fields, true
}

// form reads an admin JSON body field by field. The first bad field
// answers the request; later reads then return "" and failed stays true.
type form struct {
	ctx    *fasthttp.RequestCtx
	fields map[string]json.RawMessage
	failed bool
}

// readForm decodes the body; ok is false (and the answer sent) when it is
// not a JSON object.
func readForm(ctx *fasthttp.RequestCtx) (*form, bool) {
	fields, ok := jsonFields(ctx)
	return &form{ctx: ctx, fields: fields}, ok
}

// str reads an optional string field of at most maxLen bytes, trimmed.
func (f *form) str(name string, maxLen int) string {
	raw, present := f.fields[name]
	if f.failed || !present {
		return ""
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		f.fail("invalid_"+name, name+" must be a string.")
		return ""
	}
	if len(v) > maxLen {
		f.fail("invalid_"+name, fmt.Sprintf("%s must be at most %d characters.", name, maxLen))
		return ""
	}
	return strings.TrimSpace(v)
}

// fail answers a refused field, once.
func (f *form) fail(code, message string) {
	if !f.failed {
		f.failed = true
		envelopeError(f.ctx, fasthttp.StatusBadRequest, code, message)
	}
}

func now() time.Time { return time.Now().UTC() }

func (s *Server) createAdvertiser(ctx *fasthttp.RequestCtx) {
	f, ok := readForm(ctx)
	if !ok {
		return
	}
	name := f.str("name", model.MaxOfferNameLen)
	email := f.str("contact_email", model.MaxShortFieldLen)
	switch {
	case f.failed:
		return
	case name == "":
		f.fail("missing_name", "The name field was not provided.")
		return
	case email != "":
		if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
			f.fail("invalid_contact_email", "contact_email is not a valid e-mail address.")
			return
		}
	}
	adv := &model.Advertiser{Name: name, ContactEmail: email, Status: model.StatusActive, CreatedAt: model.FormatTime(now(), model.APITimeLayout)}
	s.createWithKey(ctx, adv, &adv.ID, "adv_", "advertiser")
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

// withAPIKey adds the key, shown once, to an entity's JSON.
func withAPIKey(e model.Entity, key string) map[string]any {
	body, _ := json.Marshal(publicAccount(e))
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	m["api_key"] = key
	return m
}

func (s *Server) createOffer(ctx *fasthttp.RequestCtx) {
	fields, ok := jsonFields(ctx)
	if !ok {
		return
	}
	offer := model.DefaultOffer()
	if err := model.ApplyOfferFields(offer, fields); err != nil {
		envelopeError(ctx, fasthttp.StatusBadRequest, err.Code, err.Message)
		return
	}
	if err := model.ValidateOffer(offer); err != nil {
		envelopeError(ctx, fasthttp.StatusBadRequest, err.Code, err.Message)
		return
	}
	if !s.checkAdvertiser(ctx, offer) {
		return
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	id, err := s.deps.Store.NextID(rctx, model.KindOffer)
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	offer.ID = id
	offer.Slug = "ofr_" + model.Slugify(offer.Name, 40) + "_" + hexToken(3)
	offer.CreatedAt = model.FormatTime(now(), model.OfferTimeLayout)
	offer.UpdatedAt = offer.CreatedAt
	if err := s.deps.Store.SaveEntity(rctx, offer); err != nil {
		s.storageError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusCreated, map[string]any{"success": true, "offer": offer})
}

// checkAdvertiser refuses an offer naming an advertiser that does not exist.
func (s *Server) checkAdvertiser(ctx *fasthttp.RequestCtx, offer *model.Offer) bool {
	if offer.AdvertiserID != "" && s.catalog.Advertiser(offer.AdvertiserID) == nil {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_advertiser_id", "advertiser_id does not name an existing advertiser.")
		return false
	}
	return true
}

func (s *Server) listOffers(ctx *fasthttp.RequestCtx) {
	page, perPage, ok := s.paging(ctx, envelopeError, "invalid_paging")
	if !ok {
		return
	}
	search, ok := searchTerm(ctx)
	if !ok {
		return
	}
	all := s.catalog.Offers()
	if search != "" {
		found := []*model.Offer{}
		for _, o := range all {
			if search.matches(o.ID, o.Name, o.Slug) {
				found = append(found, o)
			}
		}
		all = found
	}
	writeListing(ctx, "offers", all, page, perPage)
}

// writeListing answers an admin listing read from the catalog: the page
// of all under key, and meta with the total.
func writeListing[T any](ctx *fasthttp.RequestCtx, key string, all []T, page, perPage int) {
	from := min((page-1)*perPage, len(all))
	to := min(from+perPage, len(all))
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"success": true,
		key:       all[from:to],
		"meta":    map[string]int{"total": len(all), "page": page, "per_page": perPage},
	})
}

// paging reads page and per_page (default 1 and 100, per_page at most
// MaxPageSize); ok is false and the answer sent when they are not numbers
// in range.
func (s *Server) paging(ctx *fasthttp.RequestCtx, fail func(*fasthttp.RequestCtx, int, string, string), code string) (page, perPage int, ok bool) {
	page, perPage = 1, 100
	args := ctx.QueryArgs()
	for _, p := range []struct {
		name string
		dst  *int
		max  int
	}{{"page", &page, 1 << 30}, {"per_page", &perPage, s.config.MaxPageSize}} {
		if raw := args.Peek(p.name); len(raw) > 0 {
			n, err := strconv.Atoi(string(raw))
			if err != nil || n < 1 || n > p.max {
				fail(ctx, fasthttp.StatusBadRequest, code, fmt.Sprintf("%s must be a whole number from 1 to %d.", p.name, p.max))
				return 0, 0, false
			}
			*p.dst = n
		}
	}
	return page, perPage, true
}

func (s *Server) getOffer(ctx *fasthttp.RequestCtx, id string) {
	offer := s.catalog.Offer(id)
	if offer == nil {
		adminNotFound(ctx, "Offer")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "offer": offer})
}

func (s *Server) patchOffer(ctx *fasthttp.RequestCtx, id string) {
	current := s.catalog.Offer(id)
	if current == nil {
		adminNotFound(ctx, "Offer")
		return
	}
	fields, ok := jsonFields(ctx)
	if !ok {
		return
	}
	offer := *current // catalog entities are immutable: change a copy
	offer.Metadata = maps.Clone(current.Metadata)
	offer.Countries = slices.Clone(current.Countries)
	if err := model.ApplyOfferFields(&offer, fields); err != nil {
		envelopeError(ctx, fasthttp.StatusBadRequest, err.Code, err.Message)
		return
	}
	if err := model.ValidateOffer(&offer); err != nil {
		envelopeError(ctx, fasthttp.StatusBadRequest, err.Code, err.Message)
		return
	}
	if !s.checkAdvertiser(ctx, &offer) {
		return
	}
	offer.UpdatedAt = model.FormatTime(now(), model.OfferTimeLayout)
	rctx, cancel := requestContext(ctx)
	defer cancel()
	if err := s.deps.Store.SaveEntity(rctx, &offer); err != nil {
		s.storageError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "offer": &offer})
}

func (s *Server) createEndpoint(ctx *fasthttp.RequestCtx) {
	f, ok := readForm(ctx)
	if !ok {
		return
	}
	advertiserID := f.str("advertiser_id", model.MaxShortFieldLen)
	kind := f.str("kind", 32)
	offerID := f.str("offer_id", model.MaxShortFieldLen)
	switch {
	case f.failed:
		return
	case s.catalog.Advertiser(advertiserID) == nil:
		f.fail("invalid_advertiser_id", "advertiser_id does not name an existing advertiser.")
		return
	case kind != model.EndpointPrimary && kind != model.EndpointSecondary:
		f.fail("invalid_kind", "The kind value is not primary or secondary.")
		return
	case offerID != "":
		if o := s.catalog.Offer(offerID); o == nil || o.AdvertiserID != advertiserID {
			f.fail("invalid_offer_id", "offer_id does not name an offer of this advertiser.")
			return
		}
	}
	id := token("", 20) // unguessable: the URL is handed to third-party trackers
	ep := &model.Endpoint{ID: id, AdvertiserID: advertiserID, Kind: kind, OfferID: offerID, URL: "/pb/" + id,
		CreatedAt: model.FormatTime(now(), model.APITimeLayout)}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	if err := s.deps.Store.SaveEntity(rctx, ep); err != nil {
		s.storageError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusCreated, map[string]any{"success": true, "endpoint": ep})
}

// storageError answers 503 when an engine failed: the request may be
// retried, and no half-done state is visible.
func (s *Server) storageError(ctx *fasthttp.RequestCtx, err error) {
	s.log.Error().Err(err).Bytes("path", ctx.Path()).Msg("storage error")
	ctx.Response.Header.Set("Retry-After", "1")
	s.fail(ctx, fasthttp.StatusServiceUnavailable, "service_unavailable", "A storage engine is unavailable; retry shortly.")
}
