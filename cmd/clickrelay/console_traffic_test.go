package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// adminJSON is an admin API answer's field at path, re-encoded as JSON, for
// comparing what the console saved with what was typed.
func (s *stack) adminJSON(path string, field ...any) string {
	s.t.Helper()
	resp := s.raw("GET", path, map[string]string{"Authorization": "Bearer " + s.adminKey}, "")
	if resp.status != 200 {
		s.t.Fatalf("GET %s: %d %s", path, resp.status, resp.body)
	}
	b, _ := json.Marshal(testkit.JSON(s.t, resp.body).Get(field...).Value())
	return string(b)
}

// setText sets a field's text as chromedp.SetValue does, with the events
// typing sends; SetValue refuses to empty a textarea (it reads a
// textarea's value from its text node).
func setText(sel, text string) chromedp.Action {
	return chromedp.Evaluate(fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = %q;
		el.dispatchEvent(new Event("input", {bubbles: true})); el.dispatchEvent(new Event("change", {bubbles: true})); })()`, sel, text), nil)
}

// TestConsoleTrafficRules walks the network's traffic rules through the
// console, reading each back through the API and on the click path: an
// offer's click-to-conversion bounds and its targeting of every kind,
// written in the form and read in words; an affiliate's record's own
// targeting; the time from click to conversion on the offer's and the
// affiliate's pages, bucket by bucket, for conversions seeded seconds and
// tens of seconds after their clicks (one rejected by the bounds); an
// advertiser's allowed servers; the traffic controls' block lists, which
// then deny a click, counted on the page; a smart link made, split 3 to 2
// (60% and 40%), switched to EPC, its traffic per offer and unrouted; the
// overview's denied and unrouted clicks; and the affiliate's own smart link.
func TestConsoleTrafficRules(t *testing.T) {
	s := startStack(t)
	n := s.setUp("https://shop.example.com/lp?cid={click_id}") // Acme, Jane Media and Summer Promo
	kilo := s.createAffiliate(`{"name":"Kilo Ads"}`)
	winterID := s.createOffer(map[string]any{"name": "Winter Sale", "tracking_url": "https://shop.example.com/winter?cid={click_id}",
		"advertiser_id": n.advertiserID, "payout": 1.5, "countries": []string{"US"}})
	jane := consoleEntity{ID: n.affiliateID, Name: "Jane Media", Key: n.affiliateKey}

	// Clicks now, converted at once (under 10 s) or later.
	clicked := time.Now()
	var janeClicks [4]string
	for i := range janeClicks {
		janeClicks[i] = s.clickIDOn(n.offerID, jane.ID)
	}
	kiloClick := s.clickIDOn(n.offerID, kilo.ID)
	s.sell(n.advertiserKey, janeClicks[0], "CTIT-0")
	s.sell(n.advertiserKey, janeClicks[1], "CTIT-1")
	s.sell(n.advertiserKey, kiloClick, "CTIT-KILO")

	b := newBrowser(t, s.base)
	b.signIn(s.adminKey, "#kpis .tile")
	step := func(name string, f func(t *testing.T)) {
		t.Helper()
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	offerPage := "#/offers/" + n.offerID

	step("the offer's click-to-conversion bounds", func(t *testing.T) {
		defer b.as(t)()
		b.open(offerPage, "#offer-form")
		b.run("set the bounds", 10*time.Second, chromedp.SetValue("#offer-ctit-min-seconds", "10"),
			chromedp.SetValue("#offer-ctit-max-seconds", "2592000"), chromedp.Click("#offer-submit"))
		b.until("the bounds in the terms", 10*time.Second,
			`document.querySelector("#offer-terms").textContent.includes("at least 10 s, at most 30 days after the click")`)
		if got := s.adminJSON("/v2/offers/"+n.offerID, "offer", "ctit_min_seconds") + " " + s.adminJSON("/v2/offers/"+n.offerID, "offer", "ctit_max_seconds"); got != "10 2592000" {
			t.Errorf("the form saved bounds %s", got)
		}
		// A conversion 10 s too soon is now refused, one 11 s after its click taken.
		if r := s.sell(n.advertiserKey, s.clickIDOn(n.offerID, jane.ID), "CTIT-SOON"); r.Get("reason").String() != "ctit_too_short" {
			t.Errorf("a conversion at once: %v", r)
		}
		time.Sleep(time.Until(clicked.Add(11 * time.Second)))
		if r := s.sell(n.advertiserKey, janeClicks[2], "CTIT-LATER"); r.Has("reason") {
			t.Errorf("a conversion 11 s after its click: %v", r)
		}
	})

	// Every kind of rule: the schedule's second window is the hours about
	// now, every day, so that the visitors below come within it.
	now := time.Now().UTC().Hour()
	hours := []int{(now + 23) % 24, now, (now + 1) % 24, (now + 2) % 24}
	slices.Sort(hours)
	nowHours := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(hours)), ", "), "[]")
	step("the offer's targeting", func(t *testing.T) {
		defer b.as(t)()
		b.open(offerPage, "#offer-form")
		const ed = "#offer-targeting-editor "
		b.run("fill the targeting", 20*time.Second,
			chromedp.SetValue("#offer-targeting-countries-include", "us, ca"), chromedp.SetValue("#offer-targeting-countries-exclude", "PR"),
			chromedp.Click(ed+`#offer-targeting-devices-include input[value="mobile"]`), chromedp.Click(ed+`#offer-targeting-devices-include input[value="tablet"]`),
			chromedp.Click(ed+`#offer-targeting-os-exclude input[value="windows"]`),
			chromedp.Click("#offer-targeting-add-version"), chromedp.Click("#offer-targeting-add-version"),
			chromedp.SetValue(ed+".version-row:nth-child(1) select[name=version_os]", "ios"),
			chromedp.SetValue(ed+".version-row:nth-child(1) input[name=version_min]", "16"),
			chromedp.SetValue(ed+".version-row:nth-child(2) select[name=version_os]", "android"),
			chromedp.SetValue(ed+".version-row:nth-child(2) input[name=version_min]", "10"),
			chromedp.SetValue(ed+".version-row:nth-child(2) input[name=version_max]", "14"),
			chromedp.Click(ed+`#offer-targeting-browsers-exclude input[value="ie"]`), chromedp.Click(ed+`#offer-targeting-browsers-exclude input[value="facebook"]`),
			chromedp.SetValue("#offer-targeting-languages-include", "en, pt-BR"),
			chromedp.SetValue("#offer-targeting-ips-exclude", "203.0.113.7/24"),
			chromedp.Click("#offer-targeting-add-window"), chromedp.Click("#offer-targeting-add-window"))
		for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
			b.run("tick "+d, 5*time.Second, chromedp.Click(ed+`.window-row:nth-child(1) input[value="`+d+`"]`))
		}
		b.run("the windows' hours", 10*time.Second, chromedp.SetValue(ed+".window-row:nth-child(1) input[name=window_hours]", "9-17"),
			chromedp.SetValue(ed+".window-row:nth-child(2) input[name=window_hours]", nowHours))
		b.fits()
		// On a phone, the editor's rows wrap within the form.
		b.viewport(390, 844, true)
		b.fits()
		b.viewport(1280, 900, false)
		// A version that is none: the API's message next to the targeting.
		b.run("a bad version", 10*time.Second, chromedp.SetValue(ed+".version-row:nth-child(1) input[name=version_min]", "sixteen"), chromedp.Click("#offer-submit"))
		b.until("the targeting's validation message", 10*time.Second,
			`document.querySelector('#offer-targeting-editor .field-error[data-field="targeting"]').textContent.includes("os_versions.include[0].min")`)
		b.run("save", 10*time.Second, chromedp.SetValue(ed+".version-row:nth-child(1) input[name=version_min]", "16"), chromedp.Click("#offer-submit"))
		b.until("the targeting in words", 10*time.Second, `document.querySelector("#offer-targeting dl") !== null`)

		// Read back as written, normalised (upper-case countries, a masked range).
		want := `{"browsers":{"exclude":["ie","facebook"]},"countries":{"exclude":["PR"],"include":["US","CA"]},"devices":{"include":["mobile","tablet"]},` +
			`"ips":{"exclude":["203.0.113.0/24"]},"languages":{"include":["en","pt-BR"]},"os":{"exclude":["windows"]},` +
			`"os_versions":{"include":[{"min":"16","os":"ios"},{"max":"14","min":"10","os":"android"}]},` +
			`"schedule":[{"days":["mon","tue","wed","thu","fri"],"hours":[9,10,11,12,13,14,15,16,17]},{"hours":[` + strings.ReplaceAll(nowHours, " ", "") + `]}]}`
		if got := s.adminJSON("/v2/offers/"+n.offerID, "offer", "targeting"); got != want {
			t.Errorf("the form saved targeting\n%s\nwant\n%s", got, want)
		}
		words := strings.Join(b.texts("#offer-targeting dt, #offer-targeting dd"), " | ")
		for _, w := range []string{"Countries | only US, CA; not PR", "Devices | only mobile, tablet", "OS | not Windows",
			"OS versions | only iOS 16 or later, Android 10 to 14", "Browsers | not Internet Explorer, Facebook in-app",
			"Languages | only en, pt-BR", "IP ranges | not 203.0.113.0/24", "Schedule | Mon–Fri 9:00–17:59; every day "} {
			if !strings.Contains(words, w) {
				t.Errorf("the targeting reads %q, without %q", words, w)
			}
		}
		// The edit form shows them again.
		var shown []string
		b.eval("read the edit form", `["#offer-targeting-countries-include", "#offer-targeting-languages-include", "#offer-targeting-ips-exclude",
			"#offer-targeting-editor .window-row:nth-child(1) input[name=window_hours]"].map(s => document.querySelector(s).value)
			.concat([...document.querySelectorAll("#offer-targeting-editor input[type=checkbox]:checked")].map(i => i.name + "=" + i.value))`, &shown)
		if got := strings.Join(shown, " "); got != "US, CA en, pt-BR 203.0.113.0/24 9-17 devices_include=mobile devices_include=tablet os_exclude=windows "+
			"browsers_exclude=ie browsers_exclude=facebook window_day=mon window_day=tue window_day=wed window_day=thu window_day=fri" {
			t.Errorf("the edit form reads %q", got)
		}
		// On the click path: an American iPhone speaking English lands; a
		// British one is off target (no fallback: a 404).
		link := "/click/" + n.offerID + "?aff_id=" + jane.ID
		if got := s.visit(link, visitor{iPhoneUA, usIP, "en-US,en;q=0.8"}); got != "https://shop.example.com/lp" {
			t.Errorf("a visitor within the targeting went to %s", got)
		}
		if got := s.visit(link, visitor{iPhoneUA, gbIP, "en-GB"}); got != "404" {
			t.Errorf("a visitor from GB went to %s", got)
		}
	})

	const recordRows = "#records-list tbody tr"
	step("an affiliate's record's targeting", func(t *testing.T) {
		defer b.as(t)()
		// The list loaded (a table or its empty message) and the page's
		// redraw after the save above ended, so that nothing still drawing
		// above the card (the CTIT chart) moves the button under the click.
		b.open(offerPage, "#records-list > *")
		// By query, not chromedp's default search, whose node cache can lag
		// behind a card drawn again.
		b.run("open the record form", 20*time.Second, chromedp.Click("#add-record", chromedp.ByQuery), chromedp.WaitVisible("#record-form", chromedp.ByQuery),
			chromedp.WaitReady(`#record-affiliate option[value="`+jane.ID+`"]`, chromedp.ByQuery))
		b.run("add Jane's record", 20*time.Second,
			chromedp.SetValue("#record-affiliate", jane.ID), chromedp.SetValue("#record-access", "approved"),
			chromedp.Click(`#record-targeting-browsers-exclude input[value="instagram"]`),
			chromedp.SetValue("#record-targeting-ips-exclude", "198.51.100.0/24"), chromedp.Click("#record-submit"))
		b.until("Jane's record listed", 10*time.Second, rowText(recordRows, "affiliate_id", jane.label(), "targeting")+
			` === "Browsers: not Instagram in-app · IP ranges: not 198.51.100.0/24"`)
		if got := s.adminJSON("/v2/offers/"+n.offerID+"/affiliates/"+jane.ID, "offer_affiliate", "targeting"); got != `{"browsers":{"exclude":["instagram"]},"ips":{"exclude":["198.51.100.0/24"]}}` {
			t.Errorf("the record form saved targeting %s", got)
		}
	})

	// The conversions: Jane's two at once, one refused at once, one 11 s
	// after its click; Kilo's one at once.
	ctitRows := func(box string) string {
		var rows []string
		b.eval("read the buckets", fmt.Sprintf(`[...document.querySelectorAll("%s #ctit-table tbody tr")].map(r => [...r.querySelectorAll("td")].slice(0, 3).map(td => td.textContent).join(" "))`, box), &rows)
		return strings.Join(rows, " | ")
	}
	labels := "under 10 s|10 s – 1 min|1 – 10 min|10 min – 1 h|1 h – 1 day|1 – 7 days|7 days or more"
	step("the time from click to conversion on the offer", func(t *testing.T) {
		defer b.as(t)()
		b.open(offerPage, "#ctit-chart svg")
		b.until("the offer's conversions on the chart", 60*time.Second, `(() => { const c = document.querySelector("#offer-ctit svg");
			return c && c.dataset.sumConversions === "5" && c.dataset.sumRejectedAtIntake === "1"; })()`, chromedp.Click(`#offer-ctit button[type="submit"]`))
		if got := strings.Join(b.texts("#offer-ctit svg text.x-label title"), "|"); got != labels {
			t.Errorf("the chart's buckets read %q", got)
		}
		if got := ctitRows("#offer-ctit"); got != "under 10 s 4 1 | 10 s – 1 min 1 0 | 1 – 10 min 0 0 | 10 min – 1 h 0 0 | 1 h – 1 day 0 0 | 1 – 7 days 0 0 | 7 days or more 0 0" {
			t.Errorf("the offer's buckets read %q", got)
		}
		if got := b.text("#offer-ctit #ctit-total"); !strings.HasPrefix(got, "5 conversions in the range, 1 of them rejected on arrival") {
			t.Errorf("the offer's CTIT reads %q", got)
		}
		b.fits()
		b.screenshot("console-offer-targeting")
	})

	step("the time from click to conversion on the affiliate", func(t *testing.T) {
		defer b.as(t)()
		b.open("#/affiliates/"+jane.ID, "#affiliate-ctit svg")
		b.until("Jane's conversions on the chart", 60*time.Second, `(() => { const c = document.querySelector("#affiliate-ctit svg");
			return c && c.dataset.sumConversions === "4" && c.dataset.sumRejectedAtIntake === "1"; })()`, chromedp.Click(`#affiliate-ctit button[type="submit"]`))
		if got := ctitRows("#affiliate-ctit"); !strings.HasPrefix(got, "under 10 s 3 1 | 10 s – 1 min 1 0 | 1 – 10 min 0 0") {
			t.Errorf("Jane's buckets read %q", got)
		}
		b.fits()
	})

	step("the advertiser's servers", func(t *testing.T) {
		defer b.as(t)()
		b.open("#/advertisers/"+n.advertiserID, "#advertiser-conversion-ips")
		b.run("allow two servers", 10*time.Second, chromedp.SetValue("#advertiser-conversion-ips", "203.0.113.10\n198.51.100.7/28"),
			chromedp.Click("#save-account"), chromedp.WaitVisible("#account-saved"))
		var shown string
		b.run("read the list", 5*time.Second, chromedp.Value("#advertiser-conversion-ips", &shown))
		if shown != "203.0.113.10/32\n198.51.100.0/28" {
			t.Errorf("the page reads the list %q", shown)
		}
		if got := s.adminJSON("/v2/advertisers/"+n.advertiserID, "advertiser", "conversion_ips"); got != `["203.0.113.10/32","198.51.100.0/28"]` {
			t.Errorf("the form saved conversion_ips %s", got)
		}
		// This test's sales come from loopback: refused now.
		if r := s.sell(n.advertiserKey, janeClicks[3], "FROM-ELSEWHERE"); r.Get("reason").String() != "ip_not_allowed" {
			t.Errorf("a conversion from another address: %v", r)
		}
		b.fits()
	})

	winterLink := "/click/" + winterID + "?aff_id=" + jane.ID
	const badBot = "Mozilla/5.0 (compatible; BadBot/2.1; +https://bad.example)"
	step("the traffic controls", func(t *testing.T) {
		defer b.as(t)()
		b.open("#/traffic-controls", "#traffic-controls-form")
		if got := s.visit(winterLink, visitor{badBot, usIP, ""}); got != "https://shop.example.com/winter" {
			t.Fatalf("before any control, the bot went to %s", got)
		}
		b.run("block an address, a range and a bot", 10*time.Second, chromedp.SetValue("#tc-ips", "8.8.4.4\n2001:db8:bad::1/48"),
			chromedp.SetValue("#tc-user-agents", "BadBot"), chromedp.Click("#tc-save"), chromedp.WaitVisible("#tc-saved"))
		var ips string
		b.run("read the list", 5*time.Second, chromedp.Value("#tc-ips", &ips))
		if ips != "8.8.4.4/32\n2001:db8:bad::/48" {
			t.Errorf("the page reads the addresses %q", ips)
		}
		if got := s.adminJSON("/v2/traffic-controls", "traffic_controls", "ips") + " " + s.adminJSON("/v2/traffic-controls", "traffic_controls", "user_agents"); got != `["8.8.4.4/32","2001:db8:bad::/48"] ["BadBot"]` {
			t.Errorf("the page saved %s", got)
		}
		if got := b.text("#tc-updated"); !strings.HasPrefix(got, "2 addresses or ranges, 1 user agent · last changed ") {
			t.Errorf("the lists' counts read %q", got)
		}
		// The bot and the listed address are denied; another American lands.
		testkit.Wait(t, "the bot denied", 10*time.Second, func() bool { return s.visit(winterLink, visitor{badBot, usIP, ""}) == "404" })
		if got := s.visit(winterLink, visitor{iPhoneUA, "8.8.4.4", ""}); got != "404" {
			t.Errorf("a listed address went to %s", got)
		}
		if got := s.visit(winterLink, visitor{iPhoneUA, usIP, ""}); got != "https://shop.example.com/winter" {
			t.Errorf("an address not listed went to %s", got)
		}
		b.until("the denied clicks counted", 60*time.Second, `document.querySelector("#tc-denied-today .value")?.textContent === "2"`,
			chromedp.Evaluate(`window.dispatchEvent(new HashChangeEvent("hashchange"))`, nil))
		b.fits()
		b.screenshot("console-traffic-controls")
		// Emptied again, through the page.
		b.run("empty the lists", 10*time.Second, setText("#tc-ips", ""), setText("#tc-user-agents", ""),
			chromedp.Click("#tc-save"), chromedp.WaitVisible("#tc-saved"))
		if got := s.adminJSON("/v2/traffic-controls", "traffic_controls", "ips") + " " + s.adminJSON("/v2/traffic-controls", "traffic_controls", "user_agents"); got != "[] []" {
			t.Errorf("emptied, the lists read %s", got)
		}
	})

	var link smartLink
	step("a smart link", func(t *testing.T) {
		defer b.as(t)()
		b.open("#/smart-links", "#new-smart-link")
		b.run("fill the smart link", 10*time.Second, chromedp.Click("#new-smart-link summary"), chromedp.WaitVisible("#sl-name"),
			chromedp.SetValue("#sl-name", "Summer mix"), chromedp.SetValue("#sl-fallback-url", "https://example.com/sorry?s={sub1}"),
			chromedp.SetValue("#sl-offer-rows .sl-offer-row:nth-child(1) select[name=sl_offer]", n.offerID),
			chromedp.SetValue("#sl-offer-rows .sl-offer-row:nth-child(1) input[name=sl_weight]", "3"),
			chromedp.Click("#sl-add-offer"),
			chromedp.SetValue("#sl-offer-rows .sl-offer-row:nth-child(2) select[name=sl_offer]", winterID),
			chromedp.SetValue("#sl-offer-rows .sl-offer-row:nth-child(2) input[name=sl_weight]", "2"),
			// What typing does: the shares follow each weight typed.
			chromedp.Evaluate(`document.querySelectorAll("#sl-offer-rows input[name=sl_weight]").forEach(i => i.dispatchEvent(new Event("input")))`, nil))
		if got := strings.Join(b.texts("#sl-offer-rows .share"), " "); got != "60% 40%" {
			t.Errorf("the form's shares read %q", got)
		}
		b.fits()
		b.run("create it", 10*time.Second, chromedp.Click("#sl-submit"), chromedp.WaitVisible("#sl-split table"))
		if got := strings.Join(b.texts(`#sl-split td[data-col="offer_id"], #sl-split td[data-col="share"]`), " | "); got != "Summer Promo #"+n.offerID+" | 60% | Winter Sale #"+winterID+" | 40%" {
			t.Errorf("the split reads %q", got)
		}
		id := strings.TrimPrefix(b.eval2("location.hash"), "#/smart-links/")
		if got := s.adminJSON("/v2/smart-links/"+id, "smart_link", "offers"); got != fmt.Sprintf(`[{"offer_id":%q,"offer_name":"Summer Promo","offer_status":"active","priority":0,"weight":3},`+
			`{"offer_id":%q,"offer_name":"Winter Sale","offer_status":"active","priority":0,"weight":2}]`, n.offerID, winterID) {
			t.Errorf("the form saved offers %s", got)
		}
		if err := json.Unmarshal([]byte(s.adminJSON("/v2/smart-links/"+id, "smart_link")), &link); err != nil || link.Slug == "" {
			t.Fatalf("the smart link %+v: %v", link, err)
		}
		var shown string
		b.run("read the link", 5*time.Second, chromedp.Value("#sl-link", &shown))
		if !strings.HasSuffix(shown, "/s/"+link.Slug+"?aff_id={aff_id}") {
			t.Errorf("the link reads %q", shown)
		}
		// Switched to EPC, 20% exploring.
		b.run("switch to EPC", 10*time.Second, chromedp.SetValue("#sl-mode", "epc"), chromedp.Evaluate(`document.querySelector("#sl-mode").dispatchEvent(new Event("change"))`, nil),
			chromedp.SetValue("#sl-explore-percent", "20"), chromedp.Click("#sl-submit"))
		b.until("the EPC split", 10*time.Second, `document.querySelector("#sl-facts").textContent.includes("split best EPC, 20% exploring by weight")`)
		if got := s.adminJSON("/v2/smart-links/"+id, "smart_link", "mode") + " " + s.adminJSON("/v2/smart-links/"+id, "smart_link", "explore_percent"); got != `"epc" 20` {
			t.Errorf("the edit saved %s", got)
		}

		// Americans through the link reach both offers (tied on EPC, by
		// weight); the British, whom neither offer takes, go unrouted.
		const americans, british = 10, 2
		for range americans {
			if got := s.visit("/s/"+link.Slug+"?aff_id="+jane.ID, visitor{iPhoneUA, usIP, "en-US"}); !strings.HasPrefix(got, "https://shop.example.com/") {
				t.Fatalf("an American through the link went to %s", got)
			}
		}
		for range british {
			if got := s.visit("/s/"+link.Slug+"?aff_id="+jane.ID, visitor{iPhoneUA, gbIP, "en-GB"}); got != "https://example.com/sorry" {
				t.Fatalf("a British visitor through the link went to %s", got)
			}
		}
		b.until("the link's traffic", 60*time.Second, fmt.Sprintf(`document.querySelector("#sl-total-clicks .value")?.textContent === "%d" && document.querySelector("#sl-total-unrouted .value")?.textContent === "%d"`,
			americans, british), chromedp.Click(`#sl-stats-form button[type="submit"]`))
		var clicks float64
		for _, c := range b.texts(`#sl-table td[data-col="clicks"]`) {
			clicks += number(t, c)
		}
		if clicks != americans {
			t.Errorf("the offers' rows add up to %v clicks", clicks)
		}
		if got := b.eval2(rowText("#sl-table tbody tr", "offer", "no offer (fallback)", "turned_away")); got != fmt.Sprint(british) {
			t.Errorf("the fallback's row reads %q turned away", got)
		}
		if got := b.eval2(`document.querySelector('#sl-table [data-col="turned_away"] span').title`); !strings.Contains(got, fmt.Sprintf("Unrouted: %d", british)) {
			t.Errorf("the fallback's turned away say why: %q", got)
		}
		b.fits()
		b.screenshot("console-smart-link")
		b.viewport(390, 844, true)
		b.fits()
		b.viewport(1280, 900, false)
		b.open("#/smart-links", "#smart-links-list table")
		if got := b.eval2(rowText("#smart-links-list tbody tr", "name", "Summer mix", "mode")); got != "best EPC, 20% exploring by weight" {
			t.Errorf("the list reads the split %q", got)
		}
	})

	step("the overview's denied and unrouted clicks", func(t *testing.T) {
		defer b.as(t)()
		b.open("#/overview", "#kpis-away .tile")
		b.until("denied and unrouted on the overview", 60*time.Second,
			`document.querySelector("#kpi-denied .value").textContent === "2" && document.querySelector("#kpi-unrouted .value").textContent === "2"`,
			chromedp.Evaluate(`window.dispatchEvent(new HashChangeEvent("hashchange"))`, nil))
		b.fits()
	})

	step("the affiliate's smart links", func(t *testing.T) {
		defer b.as(t)()
		b.run("sign out", 20*time.Second, chromedp.Click("#sign-out"), chromedp.WaitVisible("#signin-key"))
		sel := fmt.Sprintf(`[data-smart-link="%s"] .smart-link-url`, link.ID)
		b.signIn(jane.Key, sel)
		var got string
		b.run("read the smart link", 5*time.Second, chromedp.Value(sel, &got))
		if !strings.HasSuffix(got, "/s/"+link.Slug+"?aff_id="+jane.ID) {
			t.Errorf("Jane's smart link reads %q", got)
		}
		if got := b.text(fmt.Sprintf(`[data-smart-link="%s"] h3`, link.ID)); got != "Summer mix" {
			t.Errorf("Jane's smart link is named %q", got)
		}
		b.fits()
		b.screenshotTop("console-affiliate-smart-links")
	})

	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Fatalf("the browser console reported errors:\n%s", strings.Join(errs, "\n"))
	}
}
