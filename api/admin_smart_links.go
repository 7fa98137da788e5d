package api

import (
	"encoding/json"
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
)

// The network's smart links: POST, GET and PATCH /v2/smart-links[/{id}].

// adminSmartLink is a smart link as the admin reads it: each offer with
// its name and status, and the link's own URL.
type adminSmartLink struct {
	*model.SmartLink
	Offers []adminSmartLinkOffer `json:"offers"`
	// URL is the link without an affiliate: affiliates add their aff_id
	// (GET /v1/smart-links hands each its own).
	URL string `json:"url"`
}

type adminSmartLinkOffer struct {
	model.SmartLinkOffer
	OfferName   string `json:"offer_name"`
	OfferStatus string `json:"offer_status"`
}

func (s *Server) viewSmartLink(ctx *fasthttp.RequestCtx, l *model.SmartLink) adminSmartLink {
	v := adminSmartLink{SmartLink: l, Offers: make([]adminSmartLinkOffer, len(l.Offers)), URL: s.publicBase(ctx) + "/s/" + l.Slug}
	for i, o := range l.Offers {
		v.Offers[i].SmartLinkOffer = o
		if offer := s.catalog.Offer(o.OfferID); offer != nil {
			v.Offers[i].OfferName, v.Offers[i].OfferStatus = offer.Name, offer.Status
		}
	}
	return v
}

func (s *Server) answerSmartLink(ctx *fasthttp.RequestCtx, status int, l *model.SmartLink) {
	writeJSON(ctx, status, map[string]any{"success": true, "smart_link": s.viewSmartLink(ctx, l)})
}

// smartLinkFields sets fields on l and checks the whole link; its offers
// must exist (named by ID or slug, kept by ID, each once).
func (s *Server) smartLinkFields(l *model.SmartLink, fields map[string]json.RawMessage) *model.FieldError {
	if err := model.ApplySmartLinkFields(l, fields); err != nil {
		return err
	}
	if err := model.ValidateSmartLink(l); err != nil {
		return err
	}
	if _, changed := fields["offers"]; !changed {
		return nil
	}
	seen := make(map[string]bool, len(l.Offers))
	offers := make([]model.SmartLinkOffer, len(l.Offers))
	for i, o := range l.Offers {
		offer := s.catalog.Offer(o.OfferID)
		switch {
		case offer == nil:
			return &model.FieldError{Code: "invalid_offers", Message: fmt.Sprintf("offers[%d].offer_id %q does not name an existing offer.", i, o.OfferID)}
		case seen[offer.ID]:
			return &model.FieldError{Code: "invalid_offers", Message: fmt.Sprintf("offers[%d].offer_id %q names offer %s twice.", i, o.OfferID, offer.ID)}
		}
		seen[offer.ID] = true
		o.OfferID = offer.ID
		offers[i] = o
	}
	l.Offers = offers
	return nil
}

func (s *Server) createSmartLink(ctx *fasthttp.RequestCtx) {
	fields, ok := jsonFields(ctx)
	if !ok {
		return
	}
	link := model.DefaultSmartLink()
	if err := s.smartLinkFields(link, fields); err != nil {
		envelopeError(ctx, fasthttp.StatusBadRequest, err.Code, err.Message)
		return
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	id, err := s.deps.Store.NextID(rctx, model.KindSmartLink)
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	middle := model.Slugify(link.Name, 40)
	if middle == "" {
		middle = "link"
	}
	link.ID, link.Slug = id, "sl_"+middle+"_"+hexToken(3)
	link.CreatedAt = model.FormatTime(now(), model.APITimeLayout)
	link.UpdatedAt = link.CreatedAt
	if err := s.deps.Store.SaveEntity(rctx, link); err != nil {
		s.storageError(ctx, err)
		return
	}
	s.answerSmartLink(ctx, fasthttp.StatusCreated, link)
}

func (s *Server) listSmartLinks(ctx *fasthttp.RequestCtx) {
	page, perPage, ok := s.paging(ctx, envelopeError, "invalid_paging")
	if !ok {
		return
	}
	search, ok := searchTerm(ctx)
	if !ok {
		return
	}
	all := searched(search, s.catalog.SmartLinks(), func(l *model.SmartLink) []string { return []string{l.ID, l.Name, l.Slug} })
	list := pageOf(all, page, perPage)
	views := make([]adminSmartLink, len(list))
	for i, l := range list {
		views[i] = s.viewSmartLink(ctx, l)
	}
	writePage(ctx, "smart_links", views, len(all), page, perPage)
}

func (s *Server) getSmartLink(ctx *fasthttp.RequestCtx, id string) {
	link := s.catalog.SmartLink(id)
	if link == nil {
		adminNotFound(ctx, "Smart link")
		return
	}
	s.answerSmartLink(ctx, fasthttp.StatusOK, link)
}

// patchSmartLink changes the fields the request names on the link as
// stored at that moment (web_entities.go's update): two admins' changes to
// different fields never undo each other.
func (s *Server) patchSmartLink(ctx *fasthttp.RequestCtx, id string) {
	current := s.catalog.SmartLink(id)
	if current == nil {
		adminNotFound(ctx, "Smart link")
		return
	}
	fields, ok := jsonFields(ctx)
	if !ok {
		return
	}
	saved, ok := s.update(ctx, current, envelopeError, func(e model.Entity) (model.Entity, error) {
		link := e.(*model.SmartLink)
		if err := s.smartLinkFields(link, fields); err != nil {
			envelopeError(ctx, fasthttp.StatusBadRequest, err.Code, err.Message)
			return nil, errAnswered
		}
		link.UpdatedAt = model.FormatTime(now(), model.APITimeLayout)
		return link, nil
	})
	if ok {
		s.answerSmartLink(ctx, fasthttp.StatusOK, saved.(*model.SmartLink))
	}
}
