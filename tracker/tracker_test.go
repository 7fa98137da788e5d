package tracker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/clickid"
	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
)

const iphoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"

type harness struct {
	tracker  *Tracker
	store    *memoryStore
	producer *memoryProducer
	minter   *clickid.Minter
	offer    *model.Offer
	catalog  *fakeCatalog
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	return newHarnessWith(t, nil)
}

// newHarnessWith is newHarness with its dependencies and configuration as
// configure leaves them.
func newHarnessWith(t testing.TB, configure func(*Dependencies, *Configuration)) *harness {
	t.Helper()
	minter, err := clickid.NewMinter([]byte("0123456789abcdef0123"))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{store: &memoryStore{clicks: map[string][]byte{}}, producer: &memoryProducer{}, minter: minter}
	h.offer = &model.Offer{ID: "12", Slug: "ofr_summer_abc123", AdvertiserID: "3", Status: model.StatusActive, FilterBots: true,
		TrackingURL: "https://shop.example.com/land?cid={click_id}&s1={sub1}&g={geo}&x={unknown}"}
	cat := &fakeCatalog{
		offers: map[string]*model.Offer{"12": h.offer, "ofr_summer_abc123": h.offer,
			"13": {ID: "13", Status: model.StatusActive, TrackingURL: "https://shop.example.com/p?a=1#top"},
			"14": {ID: "14", Status: model.StatusPaused, TrackingURL: "https://shop.example.com/", FallbackURL: "https://fallback.example.com/?s={sub1}"},
			"15": {ID: "15", Status: model.StatusPaused, TrackingURL: "https://shop.example.com/"},
			"16": {ID: "16", Status: model.StatusActive, Countries: []string{"DE"}, TrackingURL: "https://shop.example.com/de", FallbackURL: "https://fallback.example.com/"},
			"17": {ID: "17", Status: model.StatusActive, Countries: []string{"DE"}, TrackingURL: "https://shop.example.com/de"},
			"18": {ID: "18", Status: model.StatusActive, OS: "android", TrackingURL: "https://shop.example.com/android", FallbackURL: "https://fallback.example.com/os"},
			"19": {ID: "19", Status: model.StatusActive, OS: "android", TrackingURL: "https://shop.example.com/android"},
			"20": {ID: "20", Status: model.StatusActive, OS: "ios", Countries: []string{"US"}, TrackingURL: "https://shop.example.com/ios-us"},
		},
		affiliates: map[string]*model.Affiliate{
			"7": {ID: "7", Status: model.StatusActive},
			"8": {ID: "8", Status: model.StatusPaused},
		},
	}
	h.catalog = cat
	config := DefaultConfiguration()
	config.MaxParamLen = 64
	deps := Dependencies{Logger: zerolog.Nop(), Catalog: cat, Store: h.store, Producer: h.producer, Minter: minter}
	if configure != nil {
		configure(&deps, &config)
	}
	h.tracker, err = New(deps, config)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Start(t, h.tracker)
	return h
}

func (h *harness) stop(t testing.TB) {
	if err := h.tracker.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestClickRedirectsAndRecords(t *testing.T) {
	h := newHarness(t)
	ctx := newRequest("/click/12?aff_id=7&sub1=a%20b%26c&sub2=x&aff_click_id=vol-123", iphoneUA, "", net.ParseIP("8.8.8.8"))
	h.tracker.Handle(ctx)
	if ctx.Response.StatusCode() != 302 {
		t.Fatalf("status %d", ctx.Response.StatusCode())
	}
	loc := string(ctx.Response.Header.Peek("Location"))
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	id := u.Query().Get("cid")
	if _, _, ok := h.minter.Parse(id); !ok {
		t.Fatalf("Location %q carries no valid click ID", loc)
	}
	if u.Query().Get("s1") != "a b&c" || u.Query().Get("g") != "US" || strings.Contains(loc, "{") || !strings.Contains(loc, "&x=&") && !strings.HasSuffix(loc, "&x=") {
		t.Fatalf("Location %q: macros not expanded as expected", loc)
	}
	h.stop(t)
	hot, ok := h.store.clicks[id]
	if !ok {
		t.Fatalf("click %s not in the store after the flush", id)
	}
	minted, _, _ := h.minter.Parse(id)
	var rec model.Click
	if err := model.DecodeStoredClick(id, minted.UnixMilli(), hot, &rec); err != nil {
		t.Fatalf("hot record %q: %v", hot, err)
	}
	want := model.Click{ID: id, Time: minted.UnixMilli(), OfferID: "12", AffiliateID: "7", AdvertiserID: "3",
		Subs: [5]string{"a b&c", "x"}, AffClickID: "vol-123", Country: "US", Device: "mobile", OS: "ios", FilterBots: true}
	testkit.Equal(t, "the hot record", want, rec)
	if len(h.producer.msgs) != 1 || string(h.producer.msgs[0].Key) != id {
		t.Fatalf("Kafka got %d messages", len(h.producer.msgs))
	}
	var full model.Click
	if err := model.DecodeClick(h.producer.msgs[0].Value, &full); err != nil {
		t.Fatal(err)
	}
	if full.IP != "8.8.8.8" || full.UserAgent != iphoneUA[:64] || full.Browser != "Safari" || full.Subs != rec.Subs || full.Time != rec.Time {
		t.Fatalf("full record %+v", full)
	}
}

func TestClicksReachRedisWithinALinger(t *testing.T) {
	h := newHarness(t)
	defer h.stop(t)
	ctx := newRequest("/click/12?aff_id=7", iphoneUA, "", net.ParseIP("8.8.8.8"))
	sent := time.Now()
	h.tracker.Handle(ctx)
	id := clickIDOf(t, ctx)
	testkit.Wait(t, "the click in the store", time.Second, func() bool { return h.store.has(id) })
	t.Logf("in the store %v after the 302", time.Since(sent))
}

// clickIDOf returns the click ID a redirect carries in its cid parameter.
func clickIDOf(t *testing.T, ctx *fasthttp.RequestCtx) string {
	t.Helper()
	u, err := url.Parse(string(ctx.Response.Header.Peek("Location")))
	if err != nil || u.Query().Get("cid") == "" {
		t.Fatalf("no click ID in %q", ctx.Response.Header.Peek("Location"))
	}
	return u.Query().Get("cid")
}

func TestClickAnswers(t *testing.T) {
	h := newHarness(t)
	defer h.stop(t)
	cases := []struct {
		name, uri string
		status    int
		location  string // prefix
		suffix    string // of the location, when set
	}{
		{"by slug", "/click/ofr_summer_abc123?aff_id=7", 302, "https://shop.example.com/land?cid=", ""},
		{"query form", "/click?offer_id=12&aff_id=7", 302, "https://shop.example.com/land?cid=", ""},
		{"click_id appended before the fragment", "/click/13?aff_id=7", 302, "https://shop.example.com/p?a=1&click_id=", "#top"},
		{"unknown offer", "/click/99?aff_id=7", 404, "", ""},
		{"unknown affiliate", "/click/12?aff_id=99", 404, "", ""},
		{"no affiliate", "/click/12", 404, "", ""},
		{"paused affiliate", "/click/12?aff_id=8", 404, "", ""},
		{"paused offer with fallback", "/click/14?aff_id=7&sub1=q", 302, "https://fallback.example.com/?s=q", ""},
		{"paused offer without fallback", "/click/15?aff_id=7", 404, "", ""},
		{"off-target country with fallback", "/click/16?aff_id=7", 302, "https://fallback.example.com/", ""},
		{"off-target country without fallback", "/click/17?aff_id=7", 404, "", ""},
		{"off-target OS with fallback", "/click/18?aff_id=7", 302, "https://fallback.example.com/os", ""},
		{"off-target OS without fallback", "/click/19?aff_id=7", 404, "", ""},
		{"on-target OS and country", "/click/20?aff_id=7", 302, "https://shop.example.com/ios-us?click_id=", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := newRequest(c.uri, iphoneUA, "", net.ParseIP("8.8.8.8"))
			h.tracker.Handle(ctx)
			if got := ctx.Response.StatusCode(); got != c.status {
				t.Fatalf("status %d, want %d", got, c.status)
			}
			if loc := string(ctx.Response.Header.Peek("Location")); !strings.HasPrefix(loc, c.location) {
				t.Fatalf("Location %q, want prefix %q", loc, c.location)
			}
			if c.suffix != "" && !strings.HasSuffix(string(ctx.Response.Header.Peek("Location")), c.suffix) {
				t.Fatalf("fragment lost: %s", ctx.Response.Header.Peek("Location"))
			}
		})
	}
}

func TestClientIPFromTrustedProxiesOnly(t *testing.T) {
	h := newHarness(t)
	defer h.stop(t)
	cases := []struct {
		xff, remote, want string
	}{
		{"", "8.8.8.8", "8.8.8.8"},
		{"1.2.3.4", "8.8.8.8", "8.8.8.8"},            // an untrusted peer cannot claim another address
		{"1.2.3.4", "127.0.0.1", "1.2.3.4"},          // a local proxy is believed
		{"6.6.6.6, 1.2.3.4", "10.0.0.1", "1.2.3.4"},  // the client-chosen left part is ignored
		{"1.2.3.4, 10.0.0.9", "10.0.0.1", "1.2.3.4"}, // proxies chained
		{"garbage", "127.0.0.1", "127.0.0.1"},        // nothing usable
		{"2001:db8::1", "::1", "2001:db8::1"},        // IPv6
		{"::ffff:1.2.3.4", "127.0.0.1", "1.2.3.4"},   // mapped
	}
	for _, c := range cases {
		ctx := newRequest("/click/12?aff_id=7", iphoneUA, c.xff, net.ParseIP(c.remote))
		if got := h.tracker.clientIP(ctx).String(); got != c.want {
			t.Errorf("XFF %q from %s: %s, want %s", c.xff, c.remote, got, c.want)
		}
	}
}

func TestBotsAreRedirectedAndFlagged(t *testing.T) {
	h := newHarness(t)
	ctx := newRequest("/click/12?aff_id=7", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "", net.ParseIP("8.8.8.8"))
	h.tracker.Handle(ctx)
	if ctx.Response.StatusCode() != 302 {
		t.Fatalf("a bot was not redirected: %d", ctx.Response.StatusCode())
	}
	h.stop(t)
	var full model.Click
	if err := model.DecodeClick(h.producer.msgs[0].Value, &full); err != nil {
		t.Fatal(err)
	}
	if !full.Bot || full.Device != "bot" || !full.FilterBots {
		t.Fatalf("bot click recorded as %+v", full)
	}
}

func TestClicksRedisRefusedAreRetriedUntilStored(t *testing.T) {
	h := newHarness(t)
	h.store.setErr(errors.New("redis down"))
	var ids []string
	for range 3 {
		ctx := newRequest("/click/12?aff_id=7", iphoneUA, "", net.ParseIP("8.8.8.8"))
		h.tracker.Handle(ctx)
		if ctx.Response.StatusCode() != 302 {
			t.Fatalf("status %d during the outage", ctx.Response.StatusCode())
		}
		ids = append(ids, clickIDOf(t, ctx))
	}
	testkit.Poll(t, "the clicks reach Kafka during the outage", 5*time.Second, func() (bool, string) {
		n := h.producer.count()
		return n == 3, fmt.Sprintf("%d in Kafka", n)
	})
	h.store.setErr(nil) // Redis is back
	testkit.Poll(t, "the clicks reach Redis after it", 5*time.Second, func() (bool, string) {
		stored, retried := h.store.has(ids...), h.tracker.metrics.redisRetried.Get()
		return stored && retried == 3, fmt.Sprintf("all in Redis: %v, %d retried", stored, retried)
	})
	h.stop(t)
	if lost := h.tracker.metrics.lost.Get(); lost != 0 {
		t.Fatalf("%d clicks counted lost", lost)
	}
}

func TestStopWithRedisDownEndsByItsDeadlineAndCountsWhatRedisMissed(t *testing.T) {
	h := newHarness(t)
	h.store.setErr(errors.New("redis down"))
	for range 2 {
		h.tracker.Handle(newRequest("/click/12?aff_id=7", iphoneUA, "", net.ParseIP("8.8.8.8")))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := h.tracker.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stop: %v", err)
	}
	if lost, gaveUp := h.tracker.metrics.lost.Get(), h.tracker.metrics.redisGaveUp.Get(); lost != 0 || gaveUp != 2 || h.producer.count() != 2 {
		t.Fatalf("%d lost, %d given up by Redis, %d shipped; want 2 given up by Redis, both in Kafka", lost, gaveUp, h.producer.count())
	}
	// A request still under way once stopping is refused, not promised.
	late := newRequest("/click/12?aff_id=7", iphoneUA, "", net.ParseIP("8.8.8.8"))
	h.tracker.Handle(late)
	if late.Response.StatusCode() != 503 || len(late.Response.Header.Peek("Location")) != 0 {
		t.Fatalf("a click after stop: %d", late.Response.StatusCode())
	}
}

func TestOversizedParamsAreTruncated(t *testing.T) {
	h := newHarness(t)
	long := strings.Repeat("z", 1000)
	ctx := newRequest("/click/12?aff_id=7&sub1="+long, iphoneUA, "", net.ParseIP("8.8.8.8"))
	h.tracker.Handle(ctx)
	h.stop(t)
	var full model.Click
	if err := model.DecodeClick(h.producer.msgs[0].Value, &full); err != nil {
		t.Fatal(err)
	}
	if len(full.Subs[0]) != 64 {
		t.Fatalf("sub1 of %d bytes stored", len(full.Subs[0]))
	}
}

func TestStopFlushesEverything(t *testing.T) {
	h := newHarness(t)
	const n = 500
	done := make(chan struct{})
	for g := 0; g < 10; g++ {
		go func() {
			for i := 0; i < n/10; i++ {
				h.tracker.Handle(newRequest("/click/12?aff_id=7", iphoneUA, "", net.ParseIP("8.8.8.8")))
			}
			done <- struct{}{}
		}()
	}
	for range 10 {
		testkit.Receive(t, "a clicking goroutine's end", 30*time.Second, done)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.tracker.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if len(h.store.clicks) != n || len(h.producer.msgs) != n {
		t.Fatalf("redis %d, kafka %d, want %d each", len(h.store.clicks), len(h.producer.msgs), n)
	}
}

// FuzzHotRecordMatchesFullRecord: whatever a request carries, a conversion
// reads the same click from the hot record in Redis as the sink stores from
// the full one in ClickHouse (the cold path), so a click converts alike on
// either side of its hot window.
func FuzzHotRecordMatchesFullRecord(f *testing.F) {
	f.Add("12", "7", "summer sale", "ad \"7\"", "\xff\xfe é 日本", "vol-123", "mobile", false, "")
	f.Add("", "", "", "", "", "", "", true, "")
	f.Add("1", "2", "\x00\x7f\n", strings.Repeat("x", 300), "\xed\xa0\x80", "\\", "desktop", true, "4")
	f.Add("", "7", "", "", "", "", "", false, "sl\xff")
	f.Fuzz(func(t *testing.T, offer, affiliate, sub1, sub2, sub5, affClickID, device string, filterBots bool, smartLink string) {
		minter, _ := clickid.NewMinter([]byte("fuzz-secret-0123456789"))
		now := time.UnixMilli(1795321469123)
		id := minter.Append(nil, now)
		fields := clickFields{id: id, ms: now.UnixMilli(), offerID: offer, affiliateID: affiliate, advertiser: "3",
			subs: [5][]byte{[]byte(sub1), []byte(sub2), nil, []byte("x"), []byte(sub5)}, affClickID: []byte(affClickID),
			country: "DE", agent: agent{device: device, os: "ios"}, filterBots: filterBots, ip: []byte("8.8.8.8"), smartLinkID: smartLink}
		hot, full := encodeClick(nil, nil, &fields)
		var fromHot, fromFull model.Click
		if err := model.DecodeStoredClick(string(id), now.UnixMilli(), hot, &fromHot); err != nil {
			t.Fatalf("hot record %q: %v", hot, err)
		}
		if err := model.DecodeClick(full, &fromFull); err != nil {
			t.Fatalf("full record %s: %v", full, err)
		}
		// What the hot record leaves out: the request's details.
		fromFull.Browser, fromFull.Bot, fromFull.IP, fromFull.UserAgent, fromFull.Referrer = "", false, "", "", ""
		testkit.Equal(t, "the hot record against the full one", fromFull, fromHot)
	})
}

// FuzzClickMessageReadsAsItsJSONWould: whatever a request carries, the
// sink reads from the click message the click that JSON carried before it
// (encoding/json is the reference, invalid UTF-8 included), so a click
// stores alike whichever form a producer sent.
func FuzzClickMessageReadsAsItsJSONWould(f *testing.F) {
	f.Add("12", "summer sale", "\xff\xfe é 日本", "vol-123", iphoneUA, "https://ref.example/?q=\"1\"", "Safari", "", "", true, false, 2.5, 4.0)
	f.Add("", "", "", "", "", "", "", "", "", false, false, 0.0, 0.0)
	f.Add("1", "\x00\x7f\n", strings.Repeat("x", 300), "\\", "ua\xed\xa0\x80", "", "", "off_target", "4", false, true, 0.000001, 1e6)
	f.Fuzz(func(t *testing.T, offer, sub1, sub4, affClickID, userAgent, referrer, browser, outcome, smartLink string,
		filterBots, bot bool, payout, revenue float64) {
		if payout < 0 || revenue < 0 || payout > 1e9 || revenue > 1e9 {
			t.Skip("not a price an offer can have")
		}
		id := []byte("01m80qz6f76yer585m39t9sars")
		terms := model.Terms{Type: model.PayoutCPC, Payout: payout, Revenue: revenue}
		fields := clickFields{id: id, ms: 1795321469123, offerID: offer, affiliateID: "7", advertiser: "3",
			subs: [5][]byte{[]byte(sub1), nil, []byte("x"), []byte(sub4)}, affClickID: []byte(affClickID),
			country: "DE", agent: agent{device: "mobile", os: "ios", browser: browser, bot: bot}, filterBots: filterBots,
			terms: terms, ip: []byte("2001:db8::1"), userAgent: []byte(userAgent), referrer: []byte(referrer),
			outcome: outcome, smartLinkID: smartLink}
		_, msg := encodeClick(nil, nil, &fields)
		model.MarkClickMessageUnique(msg)
		var got model.Click
		if err := model.DecodeClick(msg, &got); err != nil {
			t.Fatalf("message %q: %v", msg, err)
		}
		clickPayout, clickRevenue := terms.Click()
		sent := model.Click{ID: string(id), Time: 1795321469123, OfferID: offer, AffiliateID: "7", AdvertiserID: "3",
			Subs: [5]string{sub1, "", "x", sub4}, AffClickID: affClickID, Country: "DE", Device: "mobile", OS: "ios",
			FilterBots: filterBots, PayoutMicros: clickPayout, RevenueMicros: clickRevenue, Browser: browser, Bot: bot,
			IP: "2001:db8::1", UserAgent: userAgent, Referrer: referrer, Unique: true, Outcome: outcome, SmartLinkID: smartLink}
		asJSON, err := json.Marshal(&sent)
		if err != nil {
			t.Fatal(err)
		}
		var want model.Click
		if err := json.Unmarshal(asJSON, &want); err != nil {
			t.Fatal(err)
		}
		testkit.Equal(t, "the click from its message against its JSON", want, got)
	})
}

func TestParseAddr(t *testing.T) {
	for _, s := range []string{"1.2.3.4", "255.255.255.255", "0.0.0.0", "01.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3",
		"::1", "2001:db8::1", "::ffff:1.2.3.4", "fe80::1%eth0", "", "a.b.c.d", "1.2.3.4 "} {
		want, err := netip.ParseAddr(s)
		got, ok := parseAddr([]byte(s))
		if ok != (err == nil) || ok && got != want {
			t.Errorf("parseAddr(%q) = %v, %v; netip says %v, %v", s, got, ok, want, err)
		}
	}
}

func BenchmarkClick(b *testing.B) {
	h := newHarness(b)
	defer h.stop(b)
	// The tracker alone: a store and a producer that keep nothing.
	h.tracker.recorder.store, h.tracker.recorder.producer = discardStore{}, discardProducer{}
	ctx := newRequest("/click/12?aff_id=7&sub1=campaign-42&sub2=banner&sub3=x&aff_click_id=vol-123", iphoneUA, "203.0.113.9", net.ParseIP("127.0.0.1"))
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		h.tracker.Handle(ctx)
	}
}

func TestClassifyAgents(t *testing.T) {
	cases := []struct{ ua, device, os, version, browser string }{
		{iphoneUA, "mobile", "ios", "17.4", "safari"},
		{"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", "mobile", "android", "14.0", "chrome"},
		{"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36", "mobile", "android", "14.0", "samsung"},
		{"Mozilla/5.0 (Linux; Android 4.4.2; Nexus 5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36", "mobile", "android", "4.4", "chrome"},
		{"Mozilla/5.0 (iPad; CPU OS 16_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.2 Mobile/15E148 Safari/604.1", "tablet", "ios", "16.2", "safari"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 328.0.3.20.91", "mobile", "ios", "17.4", "instagram"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "desktop", "windows", "10.0", "chrome"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0", "desktop", "windows", "10.0", "edge"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", "desktop", "windows", "10.0", "firefox"},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "desktop", "linux", "", "firefox"},
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot", "unknown", "", "other"},
		{"curl/8.5.0", "bot", "unknown", "", "other"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36", "bot", "linux", "", "other"},
		{"", "bot", "unknown", "", "other"},
	}
	cache := newAgentCache(2) // small: exercises the reset
	for _, c := range cases {
		for range 2 { // a miss, then a hit (or a reset)
			a, blocked := cache.classify([]byte(c.ua), nil)
			version := ""
			if a.osVersion != 0 {
				version = fmt.Sprintf("%d.%d", a.osVersion>>16, a.osVersion&0xffff)
			}
			if a.device != c.device || a.os != c.os || (c.device == "bot") != a.bot || version != c.version || blocked ||
				a.deviceBit != model.DeviceBit(c.device) || a.osBit != model.OSBit(c.os) || a.browserBit != model.BrowserBit(c.browser) {
				t.Errorf("%q = %+v (version %q), want device %s os %s %s browser %s", c.ua, a, version, c.device, c.os, c.version, c.browser)
			}
		}
	}
}

func TestUniqueVisitors(t *testing.T) {
	h := newHarness(t)
	bot := "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	for _, c := range []struct{ ua, ip string }{
		{iphoneUA, "8.8.8.8"}, // first visit
		{iphoneUA, "8.8.8.8"}, // the same visitor again
		{iphoneUA, "8.8.4.4"}, // another address
		{bot, "9.9.9.9"},      // a bot is never unique
		{bot, "9.9.9.9"},
	} {
		h.tracker.Handle(newRequest("/click/12?aff_id=7", c.ua, "", net.ParseIP(c.ip)))
	}
	h.stop(t)
	clicks := h.kafkaClicks(t)
	// Two shippers may reorder; click IDs sort in the order they were minted.
	slices.SortFunc(clicks, func(a, b model.Click) int { return strings.Compare(a.ID, b.ID) })
	var got []bool
	for _, c := range clicks {
		got = append(got, c.Unique)
	}
	// Of one visitor's clicks exactly one is unique: whichever reached
	// Redis first (two flushers may swap clicks of the same instant).
	if got[0] == got[1] || !got[2] || got[3] || got[4] {
		t.Fatalf("unique flags %v: want one of the first two, the third, no bot", got)
	}
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "2001:db8::1", "01.1.1.1", "::ffff:10.0.0.1", "999.1.1.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := netip.ParseAddr(s)
		got, ok := parseAddr([]byte(s))
		if ok != (err == nil) || ok && got != want {
			t.Fatalf("parseAddr(%q) = %v, %v; netip says %v, %v", s, got, ok, want, err)
		}
	})
}

// BenchmarkEncodeClick: the two records of a click, written on the click
// path.
func BenchmarkEncodeClick(b *testing.B) {
	fields := clickFields{id: []byte("01m80qz6f76yer585m39t9sars"), ms: 1795321469123, offerID: "12", affiliateID: "7", advertiser: "3",
		subs:    [5][]byte{[]byte("c45"), []byte("adset-7"), []byte("ad-123"), []byte("r1234567"), []byte("pl3")},
		country: "US", agent: agent{device: "mobile", os: "ios", browser: "Safari"}, ip: []byte("81.2.69.142"),
		affClickID: []byte("ext1234567"), userAgent: []byte(iphoneUA), referrer: []byte("https://ref.example/")}
	hot, full := make([]byte, 0, 512), make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		hot, full = encodeClick(hot[:0], full[:0], &fields)
	}
}

// A click the offer does not take (paused, or a visitor outside its
// targeting) goes to the fallback URL without a click_id, or gets a 404,
// and is stored for the stats with its outcome: in Kafka, never in Redis,
// so nothing converts on it. Each is counted by outcome.
func TestTurnedAwayClicksAreStoredWithTheirOutcome(t *testing.T) {
	h := newHarness(t)
	uris := map[string]string{ // uri → outcome
		"/click/14?aff_id=7&sub1=q": model.ClickPaused,    // with a fallback
		"/click/15?aff_id=7":        model.ClickPaused,    // 404
		"/click/16?aff_id=7":        model.ClickOffTarget, // country, with a fallback
		"/click/17?aff_id=7":        model.ClickOffTarget, // country, 404
		"/click/19?aff_id=7":        model.ClickOffTarget, // OS, 404
		"/click/12?aff_id=7":        "",                   // sent to the offer
	}
	for uri := range uris {
		ctx := newRequest(uri, iphoneUA, "", net.ParseIP("8.8.8.8"))
		h.tracker.Handle(ctx)
		if loc := string(ctx.Response.Header.Peek("Location")); uris[uri] != "" && strings.Contains(loc, "click_id") {
			t.Errorf("%s: the fallback %q carries a click_id", uri, loc)
		}
	}
	h.stop(t)
	outcomes := map[string]int{}
	for _, c := range h.kafkaClicks(t) {
		if _, inRedis := h.store.clicks[c.ID]; inRedis != (c.Outcome == "") {
			t.Errorf("click on offer %s with outcome %q: in Redis %v", c.OfferID, c.Outcome, inRedis)
		}
		outcomes[c.Outcome]++
	}
	if want := map[string]int{"": 1, model.ClickPaused: 2, model.ClickOffTarget: 3}; !maps.Equal(outcomes, want) {
		t.Errorf("Kafka got clicks by outcome %v, want %v", outcomes, want)
	}
	for counter, want := range map[*metrics.Counter]uint64{h.tracker.metrics.paused: 2, h.tracker.metrics.offTarget: 3,
		h.tracker.metrics.redirects: 1, h.tracker.metrics.fallbacks: 2} {
		if got := counter.Get(); got != want {
			t.Errorf("a counter is %d, want %d", got, want)
		}
	}
}
