package tracker

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
)

func TestPreferredLanguage(t *testing.T) {
	for header, want := range map[string]string{
		"":                                    "",
		"pt-BR":                               "pt-br",
		"pt-BR,pt;q=0.9,en-US;q=0.8,en;q=0.7": "pt-br",
		"en;q=0.5, de-DE;q=0.9, fr":           "fr",
		"en;q=0.5, de-DE;q=0.9":               "de-de",
		"*;q=1, es-419;q=0.8":                 "es-419",
		"*":                                   "",
		"en;q=0":                              "",
		"en;q=0, de;q=0.001":                  "de",
		"en;q=1.5, de;q=0.3":                  "de", // a weight past 1 is malformed: left out
		"en;q=abc, it":                        "it",
		"fr-CH, fr;q=0.9":                     "fr-ch", // equal weights: the first
		"fr;q=0.9, fr-CH;q=0.9":               "fr",
		" zh-Hant-TW ; q=0.8 , zh;q=0.7":      "zh-hant-tw",
		"en-US;level=1;q=0.4, it;q=0.3":       "en-us",
		"x_y":                                 "x-y",
		"en US":                               "",
		",,,":                                 "",
	} {
		l := preferredLanguage([]byte(header))
		if got := l.String(); got != want {
			t.Errorf("preferredLanguage(%q) = %q, want %q", header, got, want)
		}
	}
	h := []byte("pt-BR,pt;q=0.9,en-US;q=0.8,en;q=0.7")
	if n := testing.AllocsPerRun(100, func() { preferredLanguage(h) }); n != 0 {
		t.Errorf("preferredLanguage allocates %v times", n)
	}
}

// referenceLanguage is preferredLanguage written plainly, with strings.
func referenceLanguage(header string) string {
	best, bestQ := "", 0
	for n, entry := range strings.Split(header, ",") {
		if n == maxLanguageEntries {
			break
		}
		parts := strings.Split(entry, ";")
		tag := strings.TrimSpace(parts[0])
		if tag == "" || tag == "*" {
			continue
		}
		q, ok := 1000, true
		for _, p := range parts[1:] {
			p = strings.TrimSpace(p)
			if len(p) >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=' {
				v := strings.TrimSpace(p[2:])
				f, err := strconv.ParseFloat(v, 64)
				q, ok = int(f*1000+0.5), err == nil && len(v) <= 5 && f >= 0 && f <= 1 && (v[0] == '0' || v[0] == '1') &&
					(len(v) == 1 || v[1] == '.') && !strings.ContainsAny(v, "eE+-_")
				break
			}
		}
		if ok && q > bestQ {
			best, bestQ = tag, q
		}
		if bestQ == 1000 {
			break
		}
	}
	l := model.LangOf([]byte(best))
	return l.String()
}

// FuzzPreferredLanguage: the header parser agrees with a plain one and
// never panics.
func FuzzPreferredLanguage(f *testing.F) {
	for _, s := range []string{"pt-BR,pt;q=0.9,en;q=0.8", "en;q=0.5, de;q=0.9", "*", ";q=1", "a;q=0.", "a;q=1.000", "a;q=.5", "a;Q=0.5,b;q=0.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		l := preferredLanguage([]byte(header))
		if got, want := l.String(), referenceLanguage(header); got != want {
			t.Fatalf("preferredLanguage(%q) = %q, the plain reading says %q", header, got, want)
		}
	})
}

// click sends one click from a GB address (81.2.69.142, behind a local
// proxy) with a user agent and Accept-Language, and answers where it
// went: the Location, or the status.
func (h *harness) click(uri, ua, ip, lang string) string {
	ctx := newRequest(uri, ua, ip, net.ParseIP("127.0.0.1"))
	if lang != "" {
		ctx.Request.Header.Set("Accept-Language", lang)
	}
	h.tracker.Handle(ctx)
	if ctx.Response.StatusCode() == fasthttp.StatusFound {
		loc := string(ctx.Response.Header.Peek("Location"))
		if i := strings.IndexByte(loc, '?'); i >= 0 {
			loc = loc[:i]
		}
		return loc
	}
	return strconv.Itoa(ctx.Response.StatusCode())
}

func mustTargeting(t testing.TB, s string) *model.Targeting {
	t.Helper()
	tg, err := model.ParseTargeting([]byte(s))
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return tg
}

const (
	gbIP      = "81.2.69.142" // Great Britain
	androidUA = "Mozilla/5.0 (Linux; Android 12; Pixel 6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36"
	windowsUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
)

// Targeting on the offer, its shorthands, and on an affiliate's record:
// each visitor goes where the rules say, and the turned-away clicks count
// as off_target.
func TestTargetingOnTheClickPath(t *testing.T) {
	h := newHarness(t)
	defer h.stop(t)
	offer := &model.Offer{ID: "30", Status: model.StatusActive, TrackingURL: "https://shop.example.com/t", FallbackURL: "https://fallback.example.com/t",
		Targeting: mustTargeting(t, `{"devices":{"include":["mobile"]},"os_versions":{"exclude":[{"os":"ios","max":"16"}]},
			"languages":{"include":["pt","en-GB"]},"ips":{"exclude":["81.2.69.0/28","2001:db8::/32"]}}`)}
	h.catalog.offers["30"] = offer
	h.catalog.affiliates["9"] = &model.Affiliate{ID: "9", Status: model.StatusActive}
	h.catalog.records = map[string]*model.OfferAffiliate{model.OfferAffiliateID("30", "9"): {OfferID: "30", AffiliateID: "9",
		Access: model.AccessApproved, Targeting: mustTargeting(t, `{"browsers":{"include":["chrome"]}}`)}}
	const land, away = "https://shop.example.com/t", "https://fallback.example.com/t"
	ios16 := "Mozilla/5.0 (iPhone; CPU iPhone OS 16_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
	cases := []struct{ name, aff, ua, ip, lang, want string }{
		{"every rule passes", "7", iphoneUA, gbIP, "pt-BR,en;q=0.5", land},
		{"a desktop", "7", windowsUA, gbIP, "pt-BR", away},
		{"iOS 16 excluded", "7", ios16, gbIP, "pt-BR", away},
		{"en-GB included", "7", iphoneUA, gbIP, "en-GB", land},
		{"en-US not", "7", iphoneUA, gbIP, "en-US,pt;q=0.1", away},
		{"no language", "7", iphoneUA, gbIP, "", away},
		{"an excluded v4 range", "7", iphoneUA, "81.2.69.10", "pt", away},
		{"an excluded v6 range", "7", iphoneUA, "2001:db8::7", "pt", away},
		{"just past the range", "7", iphoneUA, "81.2.69.16", "pt", land},
		{"the record narrows: Safari refused", "9", iphoneUA, gbIP, "pt", away},
		{"the record narrows: Chrome taken", "9", androidUA, gbIP, "pt", land},
		{"the offer still rules the record's affiliate", "9", androidUA, gbIP, "de", away},
	}
	offTarget := 0
	for _, c := range cases {
		if got := h.click("/click/30?aff_id="+c.aff, c.ua, c.ip, c.lang); got != c.want {
			t.Errorf("%s: went to %s, want %s", c.name, got, c.want)
		}
		if c.want == away {
			offTarget++
		}
	}
	// The shorthands apply beside the targeting.
	shorthand := *offer
	shorthand.Countries = []string{"DE"}
	h.catalog.offers["30"] = &shorthand
	if got := h.click("/click/30?aff_id=7", iphoneUA, gbIP, "pt"); got != away {
		t.Errorf("countries [DE] beside the targeting: %s", got)
	}
	shorthand.Countries, shorthand.OS = nil, "android"
	if got := h.click("/click/30?aff_id=7", iphoneUA, gbIP, "pt"); got != away {
		t.Errorf("os android beside the targeting: %s", got)
	}
	offTarget += 2
	if got := h.tracker.metrics.offTarget.Get(); got != uint64(offTarget) {
		t.Errorf("off_target counted %d, want %d", got, offTarget)
	}
}

// Day-parting reads the hour in the network's time zone: at 02:30 UTC on
// a Monday it is 22:30 on Sunday in New York, and a schedule of Sundays at
// 22h is open while one of Mondays at 2h is not.
func TestDayPartingInTheNetworksTimezone(t *testing.T) {
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	clock := testkit.NewClock(time.Date(2026, 7, 6, 2, 30, 0, 0, time.UTC)) // a Monday
	h := newHarnessWith(t, func(d *Dependencies, c *Configuration) { d.Now, c.Location = clock.Now, newYork })
	defer h.stop(t)
	h.catalog.offers["31"] = &model.Offer{ID: "31", Status: model.StatusActive, TrackingURL: "https://shop.example.com/sun",
		FallbackURL: "https://fallback.example.com/", Targeting: mustTargeting(t, `{"schedule":[{"days":["sun"],"hours":[22]}]}`)}
	h.catalog.offers["32"] = &model.Offer{ID: "32", Status: model.StatusActive, TrackingURL: "https://shop.example.com/mon",
		FallbackURL: "https://fallback.example.com/", Targeting: mustTargeting(t, `{"schedule":[{"days":["mon"],"hours":[2]}]}`)}
	h.catalog.offers["33"] = &model.Offer{ID: "33", Status: model.StatusActive, TrackingURL: "https://shop.example.com/weekdays",
		FallbackURL: "https://fallback.example.com/", Targeting: mustTargeting(t, `{"schedule":[{"days":["mon","tue","wed","thu","fri"]}]}`)}
	expect := func(when string, want map[string]string) {
		t.Helper()
		for offer, to := range want {
			if got := h.click("/click/"+offer+"?aff_id=7", iphoneUA, gbIP, ""); got != to {
				t.Errorf("%s, offer %s: went to %s, want %s", when, offer, got, to)
			}
		}
	}
	expect("Sunday 22:30 in New York", map[string]string{"31": "https://shop.example.com/sun", "32": "https://fallback.example.com/",
		"33": "https://fallback.example.com/"})
	clock.Advance(45 * time.Minute) // 23:15 on Sunday there
	expect("Sunday 23:15 in New York", map[string]string{"31": "https://fallback.example.com/"})
	clock.Advance(time.Hour) // 00:15 on Monday there
	expect("Monday 00:15 in New York", map[string]string{"31": "https://fallback.example.com/", "33": "https://shop.example.com/weekdays"})
	clock.Set(time.Date(2026, 7, 6, 6, 30, 0, 0, time.UTC)) // 02:30 on Monday there
	expect("Monday 02:30 in New York", map[string]string{"32": "https://shop.example.com/mon"})
}

// The network's traffic controls turn a click away as denied before any
// offer rule: to the offer's fallback, or a 404. Stored with its outcome
// for the stats, counted as denied.
func TestTrafficControlsDenyBeforeAnyOfferRule(t *testing.T) {
	h := newHarness(t)
	controls := &model.TrafficControls{}
	controls.SetIPs([]string{"203.0.113.0/24", "2001:db8:bad::/48"})
	controls.SetUserAgents([]string{"BadBot"})
	h.catalog.controls.Store(controls)
	cases := []struct{ uri, ua, ip, want string }{
		{"/click/12?aff_id=7", iphoneUA, "203.0.113.77", "404"},
		{"/click/16?aff_id=7", iphoneUA, "203.0.113.77", "https://fallback.example.com/"}, // off target too: denied first
		{"/click/14?aff_id=7", iphoneUA, "2001:db8:bad::1", "https://fallback.example.com/"},
		{"/click/12?aff_id=7", "Mozilla/5.0 (compatible; badbot/2.1)", gbIP, "404"},
		{"/click/12?aff_id=7", iphoneUA, gbIP, "https://shop.example.com/land"},
		{"/click/12?aff_id=7", iphoneUA, "2001:db8:bae::1", "https://shop.example.com/land"},
	}
	for _, c := range cases {
		if got := h.click(c.uri, c.ua, c.ip, ""); got != c.want {
			t.Errorf("%s from %s (%.30s): %s, want %s", c.uri, c.ip, c.ua, got, c.want)
		}
	}
	h.stop(t)
	denied := 0
	for _, c := range h.kafkaClicks(t) {
		if c.Outcome == model.ClickDenied {
			denied++
		}
	}
	if denied != 4 || h.tracker.metrics.denied.Get() != 4 || h.tracker.metrics.offTarget.Get() != 0 || h.tracker.metrics.paused.Get() != 0 {
		t.Errorf("%d clicks stored as denied, %d counted (off target %d, paused %d); want 4", denied, h.tracker.metrics.denied.Get(),
			h.tracker.metrics.offTarget.Get(), h.tracker.metrics.paused.Get())
	}
}

// A user agent's verdict is cached with the agent, for the block list's
// version: a new list is heard at the agent's next click.
func TestUserAgentVerdictsFollowTheBlockList(t *testing.T) {
	cache := newAgentCache(100)
	ua := []byte("Mozilla/5.0 (compatible; EvilCrawler/1.0)")
	var list1, list2 model.TrafficControls
	list1.SetUserAgents([]string{"badbot"})
	list2.SetUserAgents([]string{"badbot", "evilcrawler"})
	for _, step := range []struct {
		controls *model.TrafficControls
		want     bool
	}{{nil, false}, {&list1, false}, {&list2, true}, {&list2, true}, {&list1, false}, {nil, false}} {
		if _, blocked := cache.classify(ua, step.controls); blocked != step.want {
			t.Errorf("under version %x: blocked %v, want %v", step.controls.AgentsVersion(), blocked, step.want)
		}
		if e := cache.entries[string(ua)]; e.version != step.controls.AgentsVersion() {
			t.Errorf("the cached verdict is for version %x, want %x", e.version, step.controls.AgentsVersion())
		}
	}
	// Once cached for a version, a verdict costs a map lookup: no scan,
	// no allocation.
	if n := testing.AllocsPerRun(100, func() { cache.classify(ua, &list2) }); n != 0 {
		t.Errorf("a cached verdict allocates %v times", n)
	}
}

// benchTargeting is 20 rules of every kind (12 include or exclude lists
// of countries, devices, OS, browsers, languages and IP ranges, 5 OS
// version ranges, 3 schedule windows) that the benchmark's visitor passes
// (an iPhone on iOS 17.4, Safari, in Great Britain, pt-BR, on a Monday at
// 10h).
const benchTargeting = `{"countries":{"include":["US","CA","GB","DE","FR","BR","PT","ES","IT","NL"],"exclude":["CN","RU"]},
	"devices":{"include":["mobile","tablet"],"exclude":["desktop"]},
	"os":{"include":["android","ios"],"exclude":["windows"]},
	"os_versions":{"include":[{"os":"android","min":"10","max":"14"},{"os":"ios","min":"16"},{"os":"ios","min":"15.4","max":"15.8"}],
		"exclude":[{"os":"android","max":"9"},{"os":"ios","max":"12"}]},
	"browsers":{"include":["chrome","safari","samsung"],"exclude":["ie"]},
	"languages":{"include":["pt","en","es"],"exclude":["pt-PT"]},
	"ips":{"include":["81.2.69.0/24","198.51.100.0/24","2001:db8::/32"],"exclude":["10.0.0.0/8","81.2.69.192/26"]},
	"schedule":[{"days":["mon","tue","wed","thu","fri"],"hours":[8,9,10,11,12,13,14,15,16,17,18,19,20]},{"days":["sat","sun"]},{"days":["fri"],"hours":[21,22]}]}`

// BenchmarkClickTargeted is BenchmarkClick on an offer with 20 targeting
// rules and an affiliate's record with one more, then also under network
// block lists of 10,000 IP ranges and 1,000 user agents (none matching).
func BenchmarkClickTargeted(b *testing.B) {
	monday := time.Date(2026, 7, 6, 10, 0, 0, 0, time.UTC)
	h := newHarnessWith(b, func(d *Dependencies, _ *Configuration) { d.Now = func() time.Time { return monday } })
	defer h.stop(b)
	h.tracker.recorder.store, h.tracker.recorder.producer = discardStore{}, discardProducer{}
	offer := *h.offer
	offer.ID, offer.Targeting = "40", mustTargeting(b, benchTargeting)
	h.catalog.offers["40"] = &offer
	h.catalog.records = map[string]*model.OfferAffiliate{model.OfferAffiliateID("40", "7"): {OfferID: "40", AffiliateID: "7",
		Access: model.AccessApproved, Targeting: mustTargeting(b, `{"countries":{"exclude":["FR"]}}`)}}
	run := func(b *testing.B) {
		ctx := newRequest("/click/40?aff_id=7&sub1=campaign-42&sub2=banner&sub3=x&aff_click_id=vol-123", iphoneUA, gbIP, net.ParseIP("127.0.0.1"))
		ctx.Request.Header.Set("Accept-Language", "pt-BR,pt;q=0.9,en-US;q=0.8,en;q=0.7")
		h.tracker.Handle(ctx)
		if loc := ctx.Response.Header.Peek("Location"); !bytes.HasPrefix(loc, []byte("https://shop.example.com/land")) {
			b.Fatalf("the click went to %q", loc)
		}
		b.ReportAllocs()
		for b.Loop() {
			ctx.Response.Reset()
			h.tracker.Handle(ctx)
		}
	}
	b.Run("rules=20", run)
	controls := &model.TrafficControls{}
	ips := make([]string, 10000)
	for i := range ips {
		ips[i] = fmt.Sprintf("100.%d.%d.0/24", i/256, i%256)
	}
	agents := make([]string, 1000)
	for i := range agents {
		agents[i] = fmt.Sprintf("crawler-%d/", i)
	}
	controls.SetIPs(ips)
	controls.SetUserAgents(agents)
	h.catalog.controls.Store(controls)
	b.Run("rules=20,blocked_ips=10000,blocked_agents=1000", run)
}
