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

// admin serves /v2/... for the network admin.
func (s *Server) admin(ctx *fasthttp.RequestCtx, seg []string) {
	if !s.isAdmin(ctx) {
		adminUnauthorized(ctx)
		return
	}
	method := string(ctx.Method())
	switch {
	case len(seg) == 1 && seg[0] == "advertisers":
		s.onlyMethod(ctx, method, "POST", s.createAdvertiser)
	case len(seg) == 1 && seg[0] == "affiliates":
		s.onlyMethod(ctx, method, "POST", s.createAffiliate)
	case len(seg) == 1 && seg[0] == "offers":
		switch method {
		case "POST":
			s.createOffer(ctx)
		case "GET":
			s.listOffers(ctx)
		default:
			methodNotAllowed(ctx, envelopeError, "method_not_allowed", "GET, POST")
		}
	case len(seg) == 2 && seg[0] == "offers":
		switch method {
		case "GET":
			s.getOffer(ctx, seg[1])
		case "PATCH":
			s.patchOffer(ctx, seg[1])
		default:
			methodNotAllowed(ctx, envelopeError, "method_not_allowed", "GET, PATCH")
		}
	case len(seg) == 1 && seg[0] == "pb-endpoints":
		s.onlyMethod(ctx, method, "POST", s.createEndpoint)
	default:
		envelopeError(ctx, fasthttp.StatusNotFound, "not_found", "No such endpoint.")
	}
}

func (s *Server) onlyMethod(ctx *fasthttp.RequestCtx, method, want string, h func(*fasthttp.RequestCtx)) {
	if method != want {
		methodNotAllowed(ctx, envelopeError, "method_not_allowed", want)
		return
	}
	h(ctx)
}

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

// stringField reads an optional string field; ok is false and the answer
// sent when it is of another type or too long.
func stringField(ctx *fasthttp.RequestCtx, fields map[string]json.RawMessage, name string, maxLen int) (string, bool) {
	raw, present := fields[name]
	if !present {
		return "", true
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_"+name, name+" must be a string.")
		return "", false
	}
	if len(v) > maxLen {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_"+name, fmt.Sprintf("%s must be at most %d characters.", name, maxLen))
		return "", false
	}
	return strings.TrimSpace(v), true
}

func now() time.Time { return time.Now().UTC() }

func (s *Server) createAdvertiser(ctx *fasthttp.RequestCtx) {
	fields, ok := jsonFields(ctx)
	if !ok {
		return
	}
	name, ok := stringField(ctx, fields, "name", model.MaxOfferNameLen)
	if !ok {
		return
	}
	email, ok := stringField(ctx, fields, "contact_email", model.MaxShortFieldLen)
	if !ok {
		return
	}
	if name == "" {
		envelopeError(ctx, fasthttp.StatusBadRequest, "missing_name", "The name field was not provided.")
		return
	}
	if email != "" {
		if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
			envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_contact_email", "contact_email is not a valid e-mail address.")
			return
		}
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	id, err := s.deps.Store.NextID(rctx, model.KindAdvertiser)
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	adv := &model.Advertiser{ID: id, Name: name, ContactEmail: email, Status: model.StatusActive, CreatedAt: model.FormatTime(now(), model.APITimeLayout)}
	key := token("adv_", 40)
	if err := s.deps.Store.SaveAPIKey(rctx, key, model.Principal{Kind: model.KindAdvertiser, ID: id}); err != nil {
		s.storageError(ctx, err)
		return
	}
	if err := s.deps.Store.SaveEntity(rctx, adv); err != nil {
		s.storageError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusCreated, map[string]any{"success": true, "advertiser": withAPIKey(adv, key)})
}

func (s *Server) createAffiliate(ctx *fasthttp.RequestCtx) {
	fields, ok := jsonFields(ctx)
	if !ok {
		return
	}
	name, ok := stringField(ctx, fields, "name", model.MaxOfferNameLen)
	if !ok {
		return
	}
	tier, ok := stringField(ctx, fields, "tier", 32)
	if !ok {
		return
	}
	if name == "" {
		envelopeError(ctx, fasthttp.StatusBadRequest, "missing_name", "The name field was not provided.")
		return
	}
	if tier == "" {
		tier = model.TierStandard
	}
	if tier != model.TierStandard && tier != model.TierPremium {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_tier", "The tier value is not standard or premium.")
		return
	}
	scopes := slices.Clone(model.AllScopes)
	if raw, present := fields["scopes"]; present {
		scopes = nil
		if err := json.Unmarshal(raw, &scopes); err != nil {
			envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_scopes", "scopes must be a list of strings.")
			return
		}
		for _, sc := range scopes {
			if !slices.Contains(model.AllScopes, sc) {
				envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_scopes",
					fmt.Sprintf("Unknown scope %q; scopes are %s.", sc, strings.Join(model.AllScopes, ", ")))
				return
			}
		}
		slices.Sort(scopes)
		scopes = slices.Compact(scopes)
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	id, err := s.deps.Store.NextID(rctx, model.KindAffiliate)
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	aff := &model.Affiliate{ID: id, Name: name, Tier: tier, Scopes: scopes, AppID: hexToken(12),
		Status: model.StatusActive, CreatedAt: model.FormatTime(now(), model.APITimeLayout)}
	key := token("aff_", 40)
	if err := s.deps.Store.SaveAPIKey(rctx, key, model.Principal{Kind: model.KindAffiliate, ID: id}); err != nil {
		s.storageError(ctx, err)
		return
	}
	if err := s.deps.Store.SaveEntity(rctx, aff); err != nil {
		s.storageError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusCreated, map[string]any{"success": true, "affiliate": withAPIKey(aff, key)})
}

// withAPIKey adds the key, shown once, to an entity's JSON.
func withAPIKey(e model.Entity, key string) map[string]any {
	body, _ := json.Marshal(e)
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
	all := s.catalog.Offers()
	from := min((page-1)*perPage, len(all))
	to := min(from+perPage, len(all))
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"success": true,
		"offers":  all[from:to],
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
	fields, ok := jsonFields(ctx)
	if !ok {
		return
	}
	advertiserID, ok := stringField(ctx, fields, "advertiser_id", model.MaxShortFieldLen)
	if !ok {
		return
	}
	kind, ok := stringField(ctx, fields, "kind", 32)
	if !ok {
		return
	}
	offerID, ok := stringField(ctx, fields, "offer_id", model.MaxShortFieldLen)
	if !ok {
		return
	}
	if s.catalog.Advertiser(advertiserID) == nil {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_advertiser_id", "advertiser_id does not name an existing advertiser.")
		return
	}
	if kind != model.EndpointPrimary && kind != model.EndpointSecondary {
		envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_kind", "The kind value is not primary or secondary.")
		return
	}
	if offerID != "" {
		if o := s.catalog.Offer(offerID); o == nil || o.AdvertiserID != advertiserID {
			envelopeError(ctx, fasthttp.StatusBadRequest, "invalid_offer_id", "offer_id does not name an offer of this advertiser.")
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
