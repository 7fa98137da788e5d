package tracker

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/macro"
	"github.com/clickrelay/clickrelay/model"
)

var smartLinkPathPrefix = []byte("/s/")

// HandleSmartLink serves GET /s/{slug}?aff_id=..: a smart link (named by
// its slug or its ID) sends the visitor to one of its offers that may take
// them (the same judge as a click on the offer's own link), chosen by
// priority, then weight or EPC (smartlink.Chooser). The click records the
// offer chosen and the link, so it converts and postbacks as a click on
// the offer's own link does. A visitor no offer can take goes to the
// link's fallback URL (or gets a 404), counted as model.ClickUnrouted,
// without an offer. It reads memory only.
func (t *Tracker) HandleSmartLink(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	var key []byte
	if path := ctx.Path(); len(path) > len(smartLinkPathPrefix) {
		key = bytes.TrimSuffix(path[len(smartLinkPathPrefix):], []byte("/"))
	}
	link := t.catalog.SmartLinkBytes(key)
	affID := args.Peek("aff_id")
	affiliate := t.catalog.AffiliateBytes(affID)
	if link == nil || affiliate == nil || affiliate.Status != model.StatusActive {
		t.metrics.notFound.Inc()
		ctx.Error("Not Found", fasthttp.StatusNotFound)
		return
	}
	var v visitor
	t.see(ctx, &v)
	switch {
	case link.Status != model.StatusActive:
		t.turnAwayLink(ctx, link, affiliate, &v, model.ClickPaused)
		return
	// The network's traffic controls, before any offer is tried: a visitor
	// they refuse is no offer's.
	case t.deniedByNetwork(&v):
		t.turnAwayLink(ctx, link, affiliate, &v, model.ClickDenied)
		return
	}
	var offers [model.MaxSmartLinkOffers]*model.Offer
	var recs [model.MaxSmartLinkOffers]*model.OfferAffiliate
	chosen := t.chooser.Pick(link, func(i int) bool {
		offer := t.catalog.Offer(link.Offers[i].OfferID)
		if offer == nil {
			return false
		}
		rec := t.catalog.OfferAffiliateBytes(offer.ID, affID)
		offers[i], recs[i] = offer, rec
		return t.judge(offer, rec, &v) == ""
	})
	if chosen < 0 {
		t.turnAwayLink(ctx, link, affiliate, &v, model.ClickUnrouted)
		return
	}
	t.metrics.smartLinkRouted.Inc()
	t.serveVia(ctx, link, offers[chosen], affiliate, recs[chosen], &v, "")
}

// turnAwayLink answers a smart link's click that no offer takes (outcome
// model.ClickUnrouted), or that the link itself turns away (model.ClickPaused:
// the link is not active; model.ClickDenied: the network's traffic
// controls): the link's fallback URL, or a 404. The click is stored for the
// stats with the link and no offer, in Kafka only.
func (t *Tracker) turnAwayLink(ctx *fasthttp.RequestCtx, link *model.SmartLink, affiliate *model.Affiliate, v *visitor, outcome string) {
	var values macro.Values
	t.clickValues(ctx, &values, affiliate, v)
	values.SetString(macro.SmartLinkID, link.ID)
	p := t.recorder.get()
	id := t.minter.Append(p.id[:0], v.now)
	var ipText [64]byte
	fields := clickFields{
		id:          id,
		ms:          v.now.UnixMilli(),
		affiliateID: affiliate.ID,
		affClickID:  values.Bytes(macro.AffClickID),
		country:     v.country,
		agent:       v.agent,
		ip:          v.ip.AppendTo(ipText[:0]),
		userAgent:   t.param(v.ua),
		referrer:    t.param(ctx.Request.Header.Referer()),
		outcome:     outcome,
		smartLinkID: link.ID,
	}
	for i := range fields.subs {
		fields.subs[i] = values.Bytes(subMacros[i])
	}
	p.hot, p.full = encodeClick(p.hot, p.full, &fields)
	p.offerID, p.visitor = "", 0
	t.metrics.smartLinkOutcome(outcome).Inc()
	t.turnAway(ctx, link.FallbackURL, &values, p, outcome)
}
