package tracker

import (
	"bytes"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/phuslu/iploc"
	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/macro"
	"github.com/clickrelay/clickrelay/model"
)

var (
	headerLocation     = []byte("Location")
	headerCacheControl = []byte("Cache-Control")
	noStore            = []byte("no-store")
	clickPathPrefix    = []byte("/click/")
	subParams          = [5]string{"sub1", "sub2", "sub3", "sub4", "sub5"}
	subMacros          = macro.Subs()
)

var locationPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Handle serves GET /click/{offer}?aff_id=.. and GET /click?offer_id=..&aff_id=..
// An offer is named by its ID or its slug.
func (t *Tracker) Handle(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	offerKey := args.Peek("offer_id")
	if path := ctx.Path(); len(path) > len(clickPathPrefix) {
		offerKey = bytes.TrimSuffix(path[len(clickPathPrefix):], []byte("/"))
	}
	offer := t.catalog.OfferBytes(offerKey)
	affiliate := t.catalog.AffiliateBytes(args.Peek("aff_id"))
	if offer == nil || affiliate == nil || affiliate.Status != model.StatusActive {
		t.metrics.notFound.Inc()
		ctx.Error("Not Found", fasthttp.StatusNotFound)
		return
	}
	var v visitor
	t.see(ctx, &v)
	rec := t.catalog.OfferAffiliateBytes(offer.ID, args.Peek("aff_id"))
	outcome := model.ClickDenied
	if !t.deniedByNetwork(&v) {
		outcome = t.judge(offer, rec, &v)
	}
	t.serve(ctx, offer, affiliate, rec, &v, outcome)
}

// visitor is what a click's request says of who clicked, read once per
// request: every rule of every offer a smart link tries is judged on it.
type visitor struct {
	now     time.Time
	ip      netip.Addr
	country string
	ua      []byte
	agent   agent
	subs    [5][]byte
	// visit is what targeting judges (the fields above, as bits, the
	// preferred language and the hour of the week in the network's zone).
	visit model.Visit
	// network are the traffic controls the click is judged under, and
	// uaBlocked their verdict on ua (cached with the agent).
	network   *model.TrafficControls
	uaBlocked bool
}

// see reads the visitor of ctx's request into v.
func (t *Tracker) see(ctx *fasthttp.RequestCtx, v *visitor) {
	v.now = t.now()
	v.ip = t.clientIP(ctx)
	if v.ip.IsValid() {
		v.country = iploc.IPCountry(v.ip)
	}
	v.ua = ctx.Request.Header.UserAgent()
	v.network = t.catalog.TrafficControls()
	// Recorded with the click anyway: targeting costs nothing more.
	v.agent, v.uaBlocked = t.agents.classify(v.ua, v.network)
	args := ctx.QueryArgs()
	for i, name := range subParams {
		v.subs[i] = t.param(args.Peek(name))
	}
	local := v.now.In(t.location)
	v.visit = model.Visit{Country: v.country, Device: v.agent.deviceBit, OS: v.agent.osBit, OSVersion: v.agent.osVersion,
		Browser: v.agent.browserBit, Lang: preferredLanguage(ctx.Request.Header.Peek("Accept-Language")), IP: v.ip,
		Hour: uint8(int(local.Weekday())*24 + local.Hour())}
}

// deniedByNetwork reports whether the network's traffic controls refuse
// v, as see read it (its address or its user agent is on a block list).
// Every handler asks it before any offer's rules (a smart link before it
// tries an offer): such a click is turned away as model.ClickDenied, to
// the offer's fallback or a 404. It reads memory only, and the user
// agent's verdict was cached with the agent.
func (t *Tracker) deniedByNetwork(v *visitor) bool {
	return v.network != nil && (v.uaBlocked || v.network.BlocksIP(v.ip))
}

// judge is the outcome of v's click on offer by the affiliate with record
// rec (nil: none): "" when the offer takes it, else why it is turned away
// (model.ClickPaused, ...). It reads memory only: no Redis round trip
// before the 302.
func (t *Tracker) judge(offer *model.Offer, rec *model.OfferAffiliate, v *visitor) string {
	switch {
	case offer.Status != model.StatusActive:
		return model.ClickPaused
	case !targeted(offer, rec, v):
		return model.ClickOffTarget
	case !model.MayRun(offer, rec) || rec != nil && rec.BlockedSubs.Blocks(&v.subs):
		return model.ClickBlocked
	case t.caps != nil && t.caps.ClickCapped(offer, rec, v.now):
		return model.ClickCapped
	}
	return ""
}

// serve answers v's click on offer by affiliate (its record rec) as judged
// (outcome): a 302 to the offer with a click_id minted and recorded, or,
// turned away, the offer's fallback.
func (t *Tracker) serve(ctx *fasthttp.RequestCtx, offer *model.Offer, affiliate *model.Affiliate, rec *model.OfferAffiliate,
	v *visitor, outcome string) {
	t.serveVia(ctx, nil, offer, affiliate, rec, v, outcome)
}

// serveVia is serve for a click through smart link link (nil: the offer's
// own link), which the click records: the hot record and the full one
// carry it, and {smart_link_id} expands to it.
func (t *Tracker) serveVia(ctx *fasthttp.RequestCtx, link *model.SmartLink, offer *model.Offer, affiliate *model.Affiliate,
	rec *model.OfferAffiliate, v *visitor, outcome string) {
	var values macro.Values
	t.clickValues(ctx, &values, affiliate, v)
	values.SetString(macro.OfferID, offer.ID)
	var smartLinkID string
	if link != nil {
		smartLinkID = link.ID
		values.SetString(macro.SmartLinkID, smartLinkID)
	}
	terms := model.TermsFor(offer, rec)
	p := t.recorder.get()
	id := t.minter.Append(p.id[:0], v.now)
	var ipText [64]byte
	fields := clickFields{
		id:          id,
		ms:          v.now.UnixMilli(),
		offerID:     offer.ID,
		affiliateID: affiliate.ID,
		advertiser:  offer.AdvertiserID,
		affClickID:  values.Bytes(macro.AffClickID),
		country:     v.country,
		agent:       v.agent,
		filterBots:  offer.FilterBots,
		terms:       terms,
		ip:          v.ip.AppendTo(ipText[:0]),
		userAgent:   t.param(v.ua),
		referrer:    t.param(ctx.Request.Header.Referer()),
		outcome:     outcome,
		smartLinkID: smartLinkID,
	}
	for i := range fields.subs {
		fields.subs[i] = values.Bytes(subMacros[i])
	}
	p.hot, p.full = encodeClick(p.hot, p.full, &fields)
	p.offerID, p.visitor = offer.ID, 0
	if outcome != "" {
		t.turnAway(ctx, offer.FallbackURL, &values, p, outcome)
		return
	}
	if !fields.agent.bot {
		p.visitor = visitorHash(fields.ip, fields.userAgent)
	}
	if t.caps != nil && !(fields.agent.bot && offer.FilterBots) { // a click caps count: one the stats count
		p.caps = t.caps.AppendClickCounts(p.caps, offer, rec, v.now)
	}
	values.Set(macro.ClickID, id)
	// The answer is built while the click still aliases the request; the
	// click itself goes to the recorder and the 302 leaves at once.
	t.redirect(ctx, offer.TrackingURL, &values, id)
	if !t.recorder.record(p) {
		// Stopping: a 302 is a promise the click is kept, and this one
		// could not be. The client (or the load balancer) retries.
		ctx.Response.Reset()
		ctx.Response.Header.Set("Retry-After", "1")
		ctx.Error("Service Unavailable", fasthttp.StatusServiceUnavailable)
		return
	}
	t.metrics.redirects.Inc()
}

// clickValues sets the macros every click has from its request: the
// affiliate, the country, aff_click_id and the subs.
func (t *Tracker) clickValues(ctx *fasthttp.RequestCtx, values *macro.Values, affiliate *model.Affiliate, v *visitor) {
	values.SetString(macro.AffID, affiliate.ID)
	values.SetString(macro.Geo, v.country)
	values.Set(macro.AffClickID, t.param(ctx.QueryArgs().Peek("aff_click_id")))
	for i := range v.subs {
		values.Set(subMacros[i], v.subs[i])
	}
}

// turnAway answers a click the offer (or the smart link) does not take:
// the fallback URL, without a click_id, or else a 404. The click goes to
// Kafka (and so to ClickHouse, counted by its outcome), not to Redis:
// nothing converts on it. While stopping it is not stored: the answer
// promised nothing.
func (t *Tracker) turnAway(ctx *fasthttp.RequestCtx, fallbackURL string, values *macro.Values, p *pendingClick, outcome string) {
	p.hot = p.hot[:0] // for Kafka only
	if fallbackURL != "" {
		t.metrics.fallbacks.Inc()
		t.redirect(ctx, fallbackURL, values, nil)
	} else {
		ctx.Error("Not Found", fasthttp.StatusNotFound)
	}
	t.recorder.record(p)
	t.metrics.outcome(outcome).Inc()
}

// redirect answers 302 to tmpl with macros expanded. A link without a
// {click_id} placeholder gets click_id appended, when there is one.
func (t *Tracker) redirect(ctx *fasthttp.RequestCtx, tmpl string, values *macro.Values, clickID []byte) {
	bp := locationPool.Get().(*[]byte)
	loc, hasClickID := macro.Expand((*bp)[:0], tmpl, values)
	if !hasClickID && clickID != nil {
		loc = macro.AppendParam(loc, "click_id", clickID)
	}
	ctx.Response.Header.SetCanonical(headerLocation, loc)
	ctx.Response.Header.SetCanonical(headerCacheControl, noStore)
	ctx.SetStatusCode(fasthttp.StatusFound)
	*bp = loc
	locationPool.Put(bp)
}

// visitorHash identifies a visitor by address and user agent, the same in
// every process, for the unique-click question. Never 0.
func visitorHash(ip, userAgent []byte) uint64 {
	return (xxhash.Sum64(ip)*0x9e3779b97f4a7c15 ^ xxhash.Sum64(userAgent)) | 1
}

// param truncates a visitor-supplied value to MaxParamLen.
func (t *Tracker) param(v []byte) []byte {
	if len(v) > t.config.MaxParamLen {
		return v[:t.config.MaxParamLen]
	}
	return v
}

// targeted reports whether v may see offer through the affiliate with
// record rec (nil: none): the offer's countries and os (shorthands), its
// targeting and the record's all let v through.
func targeted(offer *model.Offer, rec *model.OfferAffiliate, v *visitor) bool {
	return (len(offer.Countries) == 0 || slices.Contains(offer.Countries, v.country)) &&
		(offer.OS == "" || offer.OS == v.agent.os) &&
		offer.Targeting.Admits(&v.visit) && (rec == nil || rec.Targeting.Admits(&v.visit))
}

// ClientIP is the caller's address as the click path judges it, so other
// surfaces (the publisher feed's country) believe the same proxies.
func (t *Tracker) ClientIP(ctx *fasthttp.RequestCtx) netip.Addr { return t.clientIP(ctx) }

// TrustsPeer reports whether the request came straight from a trusted
// proxy, whose X-Forwarded-* headers may be believed.
func (t *Tracker) TrustsPeer(ctx *fasthttp.RequestCtx) bool { return t.trusted(peerAddr(ctx)) }

// peerAddr is the address the request came from (not valid when the
// connection is not TCP).
func peerAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	if tcp, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		return tcp.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// clientIP is the visitor's address: the peer's, or when the peer is a
// trusted proxy, the right-most X-Forwarded-For entry that is not one (the
// left-most entries are whatever the client chose to send).
func (t *Tracker) clientIP(ctx *fasthttp.RequestCtx) netip.Addr {
	peer := peerAddr(ctx)
	if !t.trusted(peer) {
		return peer
	}
	xff := ctx.Request.Header.Peek("X-Forwarded-For")
	client := peer
	for len(xff) > 0 {
		i := bytes.LastIndexByte(xff, ',')
		entry := bytes.TrimSpace(xff[i+1:])
		xff = xff[:max(i, 0)]
		addr, ok := parseAddr(entry)
		if !ok {
			break
		}
		client = addr.Unmap()
		if !t.trusted(client) {
			break
		}
	}
	return client
}

// parseAddr parses an IP address. Dotted IPv4, most of the traffic, is
// read from the bytes directly: netip.ParseAddr needs a string, and the
// conversion would allocate on every click.
func parseAddr(b []byte) (netip.Addr, bool) {
	var ip [4]byte
	part, digits := 0, 0
	v := 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && v == 0 { // a leading zero
				return parseOther(b)
			}
			v = v*10 + int(c-'0')
			digits++
			if v > 255 || digits > 3 { // not dotted IPv4 (perhaps 2001:db8::1)
				return parseOther(b)
			}
		case c == '.' && digits > 0 && part < 3:
			ip[part] = byte(v)
			part, digits, v = part+1, 0, 0
		default:
			return parseOther(b)
		}
	}
	if part != 3 || digits == 0 {
		return parseOther(b)
	}
	ip[3] = byte(v)
	return netip.AddrFrom4(ip), true
}

func parseOther(b []byte) (netip.Addr, bool) {
	addr, err := netip.ParseAddr(string(b))
	return addr, err == nil
}

func (t *Tracker) trusted(addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	if t.config.TrustedProxies == nil {
		return addr.IsLoopback() || addr.IsPrivate()
	}
	for _, p := range t.config.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
