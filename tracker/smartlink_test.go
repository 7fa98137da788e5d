package tracker

import (
	"math/rand/v2"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
)

// withSmartLinks adds smart links to h's catalog (by ID and slug) and
// seeds the tracker's choices.
func (h *harness) withSmartLinks(links ...*model.SmartLink) {
	cat := h.tracker.catalog.(*fakeCatalog)
	cat.smartLinks = map[string]*model.SmartLink{}
	for _, l := range links {
		cat.smartLinks[l.ID], cat.smartLinks[l.Slug] = l, l
	}
	h.tracker.chooser.Rand = rand.New(rand.NewPCG(7, 8))
}

// kafkaClicks decodes every click the tracker wrote to Kafka.
func (h *harness) kafkaClicks(t *testing.T) []model.Click {
	t.Helper()
	var out []model.Click
	for _, m := range h.producer.msgs {
		var c model.Click
		if err := model.DecodeClick(m.Value, &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// A smart link sends each visitor to an offer that takes them: of the
// highest priority among those, by weight. Offers 16 (Germany only) and 14
// (paused) of priority 5 cannot take a visitor from the US, so 12 and 13
// (priority 1) share the traffic 3 to 1, and 20 (priority 0) gets none.
// The click records the offer chosen and the link, in Redis and Kafka.
func TestASmartLinkRoutesByPriorityThenWeight(t *testing.T) {
	h := newHarness(t)
	h.withSmartLinks(&model.SmartLink{ID: "4", Slug: "sl_mix_abc", Status: model.StatusActive, Mode: model.SmartLinkModeWeight,
		Offers: []model.SmartLinkOffer{{OfferID: "16", Weight: 9, Priority: 5}, {OfferID: "14", Weight: 9, Priority: 5},
			{OfferID: "12", Weight: 3, Priority: 1}, {OfferID: "13", Weight: 1, Priority: 1}, {OfferID: "20", Weight: 9}}})
	const n = 2000
	landed := map[string]int{}
	for i := range n {
		uri := "/s/sl_mix_abc?aff_id=7&sub1=q&aff_click_id=v1"
		if i%2 == 1 {
			uri = "/s/4/?aff_id=7&sub1=q&aff_click_id=v1" // by ID too
		}
		ctx := newRequest(uri, iphoneUA, "", net.ParseIP("8.8.8.8"))
		h.tracker.HandleSmartLink(ctx)
		if ctx.Response.StatusCode() != 302 {
			t.Fatalf("%s: %d", uri, ctx.Response.StatusCode())
		}
		u, _ := url.Parse(string(ctx.Response.Header.Peek("Location")))
		landed[u.Path]++
	}
	if landed["/land"]+landed["/p"] != n || landed["/land"] < n*70/100 || landed["/land"] > n*80/100 {
		t.Errorf("landed %v: want 3 in 4 on offer 12 (/land), the rest on 13 (/p)", landed)
	}
	h.stop(t)
	byOffer := map[string]int{}
	for _, c := range h.kafkaClicks(t) {
		byOffer[c.OfferID]++
		if c.SmartLinkID != "4" || c.Outcome != "" || c.Subs[0] != "q" || c.AffClickID != "v1" {
			t.Fatalf("full record %+v: want smart link 4, sent to its offer", c)
		}
		hot, inRedis := h.store.clicks[c.ID]
		var rec model.Click
		if !inRedis || model.DecodeStoredClick(c.ID, c.Time, hot, &rec) != nil || rec.SmartLinkID != "4" || rec.OfferID != c.OfferID || rec.AdvertiserID != c.AdvertiserID {
			t.Fatalf("hot record of %s: %+v (in Redis %v): want the offer chosen and smart link 4", c.ID, rec, inRedis)
		}
	}
	if byOffer["12"] != landed["/land"] || byOffer["13"] != landed["/p"] {
		t.Errorf("Kafka has %v clicks by offer, the visitors landed %v", byOffer, landed)
	}
	if h.tracker.metrics.smartLinkRouted.Get() != n || h.tracker.metrics.redirects.Get() != n {
		t.Errorf("routed %d, redirected %d: want %d each", h.tracker.metrics.smartLinkRouted.Get(), h.tracker.metrics.redirects.Get(), n)
	}
}

// A visitor no offer of the link can take goes to the link's fallback
// URL, without a click_id, or gets a 404; so does every visitor of a
// paused link. The click is kept for the stats in Kafka only, with the
// link and no offer. An unknown link, or affiliate, is a 404.
func TestASmartLinkWithNoOfferLeftFallsBack(t *testing.T) {
	h := newHarness(t)
	noneLeft := []model.SmartLinkOffer{{OfferID: "14", Weight: 1}, {OfferID: "17", Weight: 1}, {OfferID: "404", Weight: 1}}
	h.withSmartLinks(
		&model.SmartLink{ID: "5", Slug: "sl_fb", Status: model.StatusActive, Offers: noneLeft,
			FallbackURL: "https://fallback.example.com/sl?s={sub1}&l={smart_link_id}&o={offer_id}&c={click_id}"},
		&model.SmartLink{ID: "6", Slug: "sl_404", Status: model.StatusActive, Offers: noneLeft},
		&model.SmartLink{ID: "7", Slug: "sl_paused", Status: model.StatusPaused, Offers: []model.SmartLinkOffer{{OfferID: "12", Weight: 1}},
			FallbackURL: "https://fallback.example.com/paused"},
	)
	cases := []struct {
		uri, location string
		status        int
		outcome       string // "" : not stored
	}{
		{"/s/sl_fb?aff_id=7&sub1=x%20y", "https://fallback.example.com/sl?s=x%20y&l=5&o=&c=", 302, model.ClickUnrouted},
		{"/s/sl_404?aff_id=7", "", 404, model.ClickUnrouted},
		{"/s/sl_paused?aff_id=7", "https://fallback.example.com/paused", 302, model.ClickPaused},
		{"/s/sl_nope?aff_id=7", "", 404, ""},
		{"/s/?aff_id=7", "", 404, ""},
		{"/s/sl_fb?aff_id=8", "", 404, ""}, // a paused affiliate
		{"/s/sl_fb?aff_id=99", "", 404, ""},
	}
	for _, c := range cases {
		ctx := newRequest(c.uri, iphoneUA, "", net.ParseIP("8.8.8.8"))
		h.tracker.HandleSmartLink(ctx)
		if got := string(ctx.Response.Header.Peek("Location")); ctx.Response.StatusCode() != c.status || got != c.location {
			t.Errorf("%s: %d %q, want %d %q", c.uri, ctx.Response.StatusCode(), got, c.status, c.location)
		}
	}
	h.stop(t)
	var outcomes []string
	for _, c := range h.kafkaClicks(t) {
		if _, inRedis := h.store.clicks[c.ID]; inRedis || c.OfferID != "" || c.AdvertiserID != "" || c.SmartLinkID == "" {
			t.Errorf("turned-away click %+v (in Redis %v): want Kafka only, no offer, its smart link", c, inRedis)
		}
		outcomes = append(outcomes, c.SmartLinkID+":"+c.Outcome)
	}
	slices.Sort(outcomes)
	testkit.Equal(t, "the clicks stored", "5:unrouted 6:unrouted 7:paused", strings.Join(outcomes, " "))
	m := h.tracker.metrics
	for name, got := range map[string][2]uint64{"unrouted": {m.smartLinkUnrouted.Get(), 2}, "clicks unrouted": {m.unrouted.Get(), 2},
		"paused": {m.smartLinkPaused.Get(), 1}, "fallbacks": {m.fallbacks.Get(), 2}, "not found": {m.notFound.Get(), 4},
		"routed": {m.smartLinkRouted.Get(), 0}} {
		if got[0] != got[1] {
			t.Errorf("%s counted %d, want %d", name, got[0], got[1])
		}
	}
}

// The offer's tracking URL gets {smart_link_id} as the postbacks do.
func TestASmartLinkClickExpandsItsMacro(t *testing.T) {
	h := newHarness(t)
	cat := h.tracker.catalog.(*fakeCatalog)
	cat.offers["30"] = &model.Offer{ID: "30", Status: model.StatusActive, TrackingURL: "https://shop.example.com/sl?l={smart_link_id}&o={offer_id}"}
	h.withSmartLinks(&model.SmartLink{ID: "9", Slug: "sl_m", Status: model.StatusActive, Offers: []model.SmartLinkOffer{{OfferID: "30", Weight: 1}}})
	for uri, want := range map[string]string{"/s/sl_m?aff_id=7": "l=9&o=30", "/click/30?aff_id=7": "l=&o=30"} {
		ctx := newRequest(uri, iphoneUA, "", net.ParseIP("8.8.8.8"))
		if strings.HasPrefix(uri, "/s/") {
			h.tracker.HandleSmartLink(ctx)
		} else {
			h.tracker.Handle(ctx)
		}
		if loc := string(ctx.Response.Header.Peek("Location")); !strings.HasPrefix(loc, "https://shop.example.com/sl?"+want+"&click_id=") {
			t.Errorf("%s: Location %q, want %s and the click_id", uri, loc, want)
		}
	}
	h.stop(t)
}

// BenchmarkSmartLinkClick: a click through a smart link of three offers,
// one of which is off target, against BenchmarkClick's plain one.
func BenchmarkSmartLinkClick(b *testing.B) {
	h := newHarness(b)
	defer h.stop(b)
	h.tracker.recorder.store, h.tracker.recorder.producer = discardStore{}, discardProducer{}
	cat := h.tracker.catalog.(*fakeCatalog)
	l := &model.SmartLink{ID: "4", Slug: "sl_mix_abc", Status: model.StatusActive, Mode: model.SmartLinkModeWeight,
		Offers: []model.SmartLinkOffer{{OfferID: "16", Weight: 5}, {OfferID: "12", Weight: 3}, {OfferID: "13", Weight: 1}}}
	cat.smartLinks = map[string]*model.SmartLink{l.Slug: l, l.ID: l}
	ctx := newRequest("/s/sl_mix_abc?aff_id=7&sub1=campaign-42&sub2=banner&sub3=x&aff_click_id=vol-123", iphoneUA, "203.0.113.9", net.ParseIP("127.0.0.1"))
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		h.tracker.HandleSmartLink(ctx)
	}
}

// A visitor the network's traffic controls deny tries no offer of the
// link: the link's fallback, counted denied, stored with the link.
func TestASmartLinkVisitorTheNetworkDeniesFallsBack(t *testing.T) {
	h := newHarness(t)
	h.withSmartLinks(&model.SmartLink{ID: "3", Slug: "sl_d", Status: model.StatusActive, FallbackURL: "https://fallback.example.com/d",
		Offers: []model.SmartLinkOffer{{OfferID: "12", Weight: 1}}})
	controls := &model.TrafficControls{}
	controls.SetIPs([]string{"203.0.113.0/24"})
	h.tracker.catalog.(*fakeCatalog).controls.Store(controls)
	for ip, want := range map[string]string{"203.0.113.7": "https://fallback.example.com/d", "8.8.8.8": "https://shop.example.com/land?"} {
		ctx := newRequest("/s/sl_d?aff_id=7", iphoneUA, "", net.ParseIP(ip))
		h.tracker.HandleSmartLink(ctx)
		if loc := string(ctx.Response.Header.Peek("Location")); !strings.HasPrefix(loc, want) {
			t.Errorf("from %s: %q, want %s", ip, loc, want)
		}
	}
	h.stop(t)
	outcomes := map[string]string{}
	for _, c := range h.kafkaClicks(t) {
		outcomes[c.IP] = c.SmartLinkID + ":" + c.OfferID + ":" + c.Outcome
	}
	testkit.Equal(t, "the clicks stored", map[string]string{"203.0.113.7": "3::denied", "8.8.8.8": "3:12:"}, outcomes)
	if m := h.tracker.metrics; m.smartLinkDenied.Get() != 1 || m.smartLinkRouted.Get() != 1 || m.denied.Get() != 1 {
		t.Errorf("denied %d, routed %d, clicks denied %d: want 1 each", m.smartLinkDenied.Get(), m.smartLinkRouted.Get(), m.denied.Get())
	}
}
