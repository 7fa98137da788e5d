package main

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// consoleOffer is an offer as GET /v2/offers/{id} answers it, the fields
// the business rules test reads.
type consoleOffer struct {
	Offer struct {
		Payout     float64 `json:"payout"`
		Revenue    float64 `json:"revenue"`
		Visibility string  `json:"visibility"`
		Caps       []struct {
			Metric string  `json:"metric"`
			Period string  `json:"period"`
			Limit  float64 `json:"limit"`
			Used   float64 `json:"used"`
		} `json:"caps"`
	} `json:"offer"`
}

// consoleRecord is an affiliate's record on an offer, as the admin API
// answers it.
type consoleRecord struct {
	Record struct {
		Access string   `json:"access"`
		Payout *float64 `json:"payout"`
		Caps   []struct {
			Metric string  `json:"metric"`
			Period string  `json:"period"`
			Limit  float64 `json:"limit"`
			Used   float64 `json:"used"`
		} `json:"caps"`
		BlockedSubs map[string][]string `json:"blocked_subs"`
	} `json:"offer_affiliate"`
}

// clickRow clicks the button sel in the row of table rows whose cell col
// reads text (an entity by its name and ID), failing when there is none.
func (b *browser) clickRow(rows, col, text, sel string) {
	b.t.Helper()
	var found bool
	b.eval("click "+sel+" in the row of "+text, fmt.Sprintf(`(() => {
		const tr = [...document.querySelectorAll(%q)].find(tr => tr.querySelector('[data-col=%q]')?.textContent === %q);
		const el = tr && tr.querySelector(%q);
		if (!el || el.disabled) return false;
		el.click();
		return true;
	})()`, rows, col, text, sel), &found)
	if !found {
		b.t.Fatalf("no enabled %s in the row of %s:\n%s", sel, text, b.pageText())
	}
}

// rowText is, as a JavaScript expression, the text of cell want (a
// column's name, or a selector inside the row) in the row of rows whose
// cell col reads text; "" without such a row.
func rowText(rows, col, text, want string) string {
	if !strings.ContainsAny(want, "[ .") {
		want = `[data-col="` + want + `"]`
	}
	return fmt.Sprintf(`((([...document.querySelectorAll(%q)].find(tr => tr.querySelector('[data-col=%q]')?.textContent === %q) || document.createElement("tr")).querySelector(%q) || {}).textContent || "")`,
		rows, col, text, want)
}

// TestConsoleBusinessRules walks a network's business rules through the
// console, reading each change back through the API: an offer made in the
// form with revenue, payout, approval required and a daily conversion
// cap; an affiliate applying in its portal, approved from the overview's
// queue, then seeing its link; the cap's bar counting real conversions;
// an affiliate's record added, edited and deleted, another blocked and
// its offer gone from its portal; and the stats explorer's money matching
// /v2/stats.
func TestConsoleBusinessRules(t *testing.T) {
	s := startStack(t)
	n := s.setUp("https://shop.example.com/lp?cid={click_id}") // Acme, Jane Media and Summer Promo, a public offer
	zeta, kilo := s.createAffiliate(`{"name":"Zeta Traffic"}`), s.createAffiliate(`{"name":"Kilo Ads"}`)
	// Another offer that requires approval, which Jane has not applied to.
	otherID := s.createOffer(map[string]any{"name": "Winter Sale", "tracking_url": "https://shop.example.com/lp?cid={click_id}",
		"advertiser_id": n.advertiserID, "payout": 1.5, "visibility": "require_approval"})
	jane := consoleEntity{ID: n.affiliateID, Name: "Jane Media", Key: n.affiliateKey}
	// Some traffic on the public offer, for the overview.
	const publicClicks = 4
	for i := range publicClicks {
		cid := s.clickIDOn(n.offerID, jane.ID)
		if i == 0 {
			s.sell(n.advertiserKey, cid, "PUBLIC-0")
		}
	}
	b := newBrowser(t, s.base)
	b.signIn(s.adminKey, "#kpis .tile")

	// The offer, through the form: its cap first without a limit, which
	// the API refuses next to the caps.
	var offerID string
	step := func(name string, f func(t *testing.T)) {
		t.Helper()
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	step("the offer form", func(t *testing.T) {
		defer b.as(t)()
		b.open("#/offers", "#new-offer")
		b.run("open the offer form", 10*time.Second, chromedp.Click("#new-offer summary"), chromedp.WaitVisible("#offer-name"))
		b.run("fill the offer", 10*time.Second, chromedp.SetValue("#offer-name", "Rules Promo"), chromedp.SetValue("#offer-advertiser-id", n.advertiserID),
			chromedp.SetValue("#offer-tracking-url", "https://shop.example.com/lp?cid={click_id}"),
			chromedp.SetValue("#offer-payout", "2.50"), chromedp.SetValue("#offer-revenue", "4.00"),
			chromedp.SetValue("#offer-visibility", "require_approval"),
			chromedp.Click("#offer-add-cap"), chromedp.WaitVisible("#offer-cap-rows .cap-row"),
			chromedp.SetValue("#offer-cap-rows .cap-row select[name=cap_metric]", "conversions"),
			chromedp.SetValue("#offer-cap-rows .cap-row select[name=cap_period]", "day"),
			chromedp.SetValue("#offer-cap-rows .cap-row input[name=cap_limit]", "500"))
		b.fits()
		b.screenshot("console-offer-form")
		b.run("a cap without its limit", 10*time.Second, chromedp.SetValue("#offer-cap-rows .cap-row input[name=cap_limit]", ""),
			chromedp.Click("#offer-submit"))
		b.until("the cap's validation message", 10*time.Second, `document.querySelector('#offer-form .field-error[data-field="caps"]').textContent.includes("limit")`)
		b.run("create the offer", 20*time.Second, chromedp.SetValue("#offer-cap-rows .cap-row input[name=cap_limit]", "500"),
			chromedp.Click("#offer-submit"), chromedp.WaitVisible("#offer-created"),
			chromedp.AttributeValue("#offer-created", "data-id", &offerID, nil))
		if offerID == "" {
			t.Fatal("no offer created")
		}
		// What the form did, read back from the API.
		var o consoleOffer
		if code := s.admin("GET", "/v2/offers/"+offerID, "", &o); code != 200 {
			t.Fatalf("GET the offer: %d", code)
		}
		if o.Offer.Revenue != 4 || o.Offer.Payout != 2.5 || o.Offer.Visibility != "require_approval" ||
			len(o.Offer.Caps) != 1 || o.Offer.Caps[0].Metric != "conversions" || o.Offer.Caps[0].Period != "day" || o.Offer.Caps[0].Limit != 500 {
			t.Fatalf("the form made %+v", o.Offer)
		}
		// The edit form shows them again.
		b.open("#/offers/"+offerID, "#offer-form")
		var shown []string
		b.eval("read the edit form", `["#offer-revenue", "#offer-payout", "#offer-visibility", "#offer-cap-rows select[name=cap_metric]",
			"#offer-cap-rows select[name=cap_period]", "#offer-cap-rows input[name=cap_limit]"].map(s => document.querySelector(s).value)`, &shown)
		if strings.Join(shown, " ") != "4.00 2.50 require_approval conversions day 500" {
			t.Errorf("the edit form reads %q", shown)
		}
		if got := b.text(`#offer-caps .cap[data-metric="conversions"] .cap-text`); got != "0 of 500 today" {
			t.Errorf("the offer's cap reads %q", got)
		}
	})
	offer := fmt.Sprintf(`[data-offer="%s"]`, offerID)

	step("an affiliate applies", func(t *testing.T) {
		defer b.as(t)()
		b.run("sign out", 20*time.Second, chromedp.Click("#sign-out"), chromedp.WaitVisible("#signin-key"))
		b.signIn(jane.Key, offer)
		// No link where it may not send traffic: Apply instead.
		var state struct {
			Approval string
			Link     bool
			Apply    bool
		}
		read := func() {
			b.eval("read the offer's card", fmt.Sprintf(`(() => { const c = document.querySelector(%q);
				return { Approval: c.dataset.approval, Link: !!c.querySelector(".tracking-link"), Apply: !!c.querySelector("button.apply") }; })()`, offer), &state)
		}
		read()
		if state.Approval != "not_applied" || state.Link || !state.Apply {
			t.Fatalf("before applying, the card reads %+v", state)
		}
		b.run("apply", 10*time.Second, chromedp.Click(offer+" button.apply"))
		b.until("the application pending", 10*time.Second, fmt.Sprintf(`document.querySelector(%q)?.dataset.approval === "pending"`, offer))
		read()
		if state.Link || state.Apply || !strings.Contains(b.text(offer), "pending") {
			t.Errorf("after applying, the card reads %+v: %q", state, b.text(offer))
		}
		var list struct {
			Data []struct {
				ID             string `json:"id"`
				ApprovalStatus string `json:"approval_status"`
				TrackingLink   string `json:"tracking_link"`
			} `json:"data"`
		}
		s.call("GET", "/v1/offers", map[string]string{"Authorization": "Bearer " + jane.Key}, "", &list)
		for _, o := range list.Data {
			if o.ID == offerID && (o.ApprovalStatus != "pending" || o.TrackingLink != "") {
				t.Errorf("the API has Jane's offer %+v", o)
			}
		}
		// The public offer's link is there, and Apply on the other.
		if !strings.Contains(b.text(`[data-offer="`+n.offerID+`"]`), "Summer Promo") || b.text(`[data-offer="`+otherID+`"] button.apply`) != "Apply" {
			t.Errorf("the portal reads:\n%s", b.pageText())
		}
		b.fits()
		b.screenshot("console-affiliate-apply")
		// Zeta clicks before it applied: no access, turned away (blocked).
		if status, location := s.clickOn(offerID, zeta.ID, ""); status == 302 && strings.HasPrefix(location, "https://shop.example.com/") {
			t.Errorf("a click without access went to the landing page")
		}
		// A second affiliate applies, through the API.
		if code := s.call("POST", "/v1/offers/"+offerID+"/apply", zeta.auth(), "", nil); code != 200 {
			t.Fatalf("Zeta applies: %d", code)
		}
	})

	record := func(aff string) consoleRecord {
		t.Helper()
		var r consoleRecord
		if code := s.admin("GET", "/v2/offers/"+offerID+"/affiliates/"+aff, "", &r); code != 200 {
			t.Fatalf("GET %s's record: %d", aff, code)
		}
		return r
	}
	const queueRows = "#queue-list tbody tr"
	step("the overview's queue", func(t *testing.T) {
		defer b.as(t)()
		b.run("sign out", 20*time.Second, chromedp.Click("#sign-out"), chromedp.WaitVisible("#signin-key"))
		b.signIn(s.adminKey, "#kpis .tile")
		janeLabel, zetaLabel := jane.label(), "Zeta Traffic #"+zeta.ID
		b.until("both applications in the queue", 20*time.Second, fmt.Sprintf(`%s === "Rules Promo #%s" && %s === "Rules Promo #%s"`,
			rowText(queueRows, "affiliate_id", janeLabel, "offer_id"), offerID, rowText(queueRows, "affiliate_id", zetaLabel, "offer_id"), offerID))
		// The turned-away click (Zeta's) beside the clicks taken.
		b.until("the overview's clicks and turned-away clicks", 60*time.Second, fmt.Sprintf(
			`document.querySelector("#kpi-clicks .value").textContent === "%d" && document.querySelector("#kpi-blocked .value").textContent === "1"`, publicClicks),
			chromedp.Evaluate(`window.dispatchEvent(new HashChangeEvent("hashchange"))`, nil))
		b.fits()
		b.screenshot("console-overview-queue")
		b.clickRow(queueRows, "affiliate_id", janeLabel, `button[data-access="approved"]`)
		b.until("Jane's application answered", 10*time.Second, rowText(queueRows, "affiliate_id", janeLabel, "offer_id")+` === ""`)
		b.clickRow(queueRows, "affiliate_id", zetaLabel, `button[data-access="rejected"]`)
		b.until("the queue empty", 10*time.Second, `document.querySelector("#queue-list").textContent === "No applications waiting."`)
		if got := record(jane.ID).Record.Access; got != "approved" {
			t.Errorf("Jane's record reads %q after Approve", got)
		}
		if got := record(zeta.ID).Record.Access; got != "rejected" {
			t.Errorf("Zeta's record reads %q after Reject", got)
		}
	})

	step("the approved affiliate's link", func(t *testing.T) {
		defer b.as(t)()
		b.run("sign out", 20*time.Second, chromedp.Click("#sign-out"), chromedp.WaitVisible("#signin-key"))
		b.signIn(jane.Key, offer+" .tracking-link")
		var link string
		b.run("read the tracking link", 10*time.Second, chromedp.Value(offer+" .tracking-link", &link))
		if !strings.Contains(link, "/click/"+offerID) || !strings.Contains(link, "aff_id="+jane.ID) {
			t.Errorf("tracking link %q", link)
		}
	})

	// Real conversions on Jane's link count against the offer's cap.
	const conversions = 3
	for i := range conversions {
		s.sell(n.advertiserKey, s.clickIDOn(offerID, jane.ID), fmt.Sprintf("RULES-%d", i))
	}
	const recordRows = "#records-list tbody tr"
	reload := chromedp.Evaluate(`window.dispatchEvent(new HashChangeEvent("hashchange"))`, nil)
	step("the offer's affiliates", func(t *testing.T) {
		defer b.as(t)()
		b.run("sign out", 20*time.Second, chromedp.Click("#sign-out"), chromedp.WaitVisible("#signin-key"))
		b.signIn(s.adminKey, "#kpis .tile")
		b.open("#/offers/"+offerID, "#records-list table")
		var o consoleOffer
		s.admin("GET", "/v2/offers/"+offerID, "", &o)
		if len(o.Offer.Caps) != 1 || o.Offer.Caps[0].Used != conversions {
			t.Fatalf("the API's cap reads %+v after %d conversions", o.Offer.Caps, conversions)
		}
		want := fmt.Sprintf("%d of 500 today", conversions)
		b.until("the cap's bar", 20*time.Second, fmt.Sprintf(`document.querySelector('#offer-caps .cap[data-metric="conversions"] .cap-text')?.textContent === %q`, want), reload)
		var meter []float64
		b.eval("read the meter", `(() => { const m = document.querySelector('#offer-caps .cap[data-metric="conversions"] meter'); return [m.value, m.max]; })()`, &meter)
		if len(meter) != 2 || meter[0] != conversions || meter[1] != 500 {
			t.Errorf("the cap's meter reads %v", meter)
		}

		// Kilo's record, through the form: approved, its own payout, a daily
		// click cap and two blocked placements.
		b.run("add a record", 10*time.Second, chromedp.Click("#add-record"), chromedp.WaitVisible("#record-form"),
			chromedp.SetValue("#record-affiliate", kilo.ID), chromedp.SetValue("#record-access", "approved"),
			chromedp.SetValue("#record-payout", "3.00"), chromedp.Click("#record-add-cap"), chromedp.WaitVisible("#record-cap-rows .cap-row"),
			chromedp.SetValue("#record-cap-rows .cap-row select[name=cap_metric]", "clicks"),
			chromedp.SetValue("#record-cap-rows .cap-row select[name=cap_period]", "day"),
			chromedp.SetValue("#record-cap-rows .cap-row input[name=cap_limit]", "100"),
			chromedp.SetValue("#record-blocked-sub1", "spam-app, bad-site"), chromedp.Click("#record-submit"))
		kiloLabel := "Kilo Ads #" + kilo.ID
		b.until("Kilo's record listed", 10*time.Second, rowText(recordRows, "affiliate_id", kiloLabel, "access")+` === "approved"`)
		r := record(kilo.ID).Record
		if r.Access != "approved" || r.Payout == nil || *r.Payout != 3 || len(r.Caps) != 1 || r.Caps[0].Metric != "clicks" || r.Caps[0].Limit != 100 ||
			strings.Join(r.BlockedSubs["sub1"], ",") != "bad-site,spam-app" {
			t.Fatalf("the record form made %+v", r)
		}
		// Its clicks count on its cap; one from a blocked placement is
		// turned away.
		for range 2 {
			s.clickIDOn(offerID, kilo.ID)
		}
		if status, location := s.clickOn(offerID, kilo.ID, "sub1=bad-site"); status == 302 && strings.HasPrefix(location, "https://shop.example.com/") {
			t.Errorf("a click from a blocked placement went to the landing page")
		}
		b.until("Kilo's cap bar", 30*time.Second, rowText(recordRows, "affiliate_id", kiloLabel, `[data-col="caps"] .cap[data-metric="clicks"] .cap-text`)+` === "2 of 100 today"`, reload)
		if got := b.eval2(rowText(recordRows, "affiliate_id", kiloLabel, "blocked_subs")); got != "sub1: bad-site, spam-app" {
			t.Errorf("Kilo's blocked sub-IDs read %q", got)
		}
		if got := b.eval2(rowText(recordRows, "affiliate_id", jane.label(), "payout")); got != "offer's (2.50)" {
			t.Errorf("Jane's payout reads %q", got)
		}

		// Edited: a new payout, its caps and blocked sub-IDs kept.
		b.clickRow(recordRows, "affiliate_id", kiloLabel, `button[data-action="edit"]`)
		b.run("edit the payout", 10*time.Second, chromedp.WaitVisible("#record-form"), chromedp.SetValue("#record-payout", "3.25"), chromedp.Click("#record-submit"))
		b.until("Kilo's new payout", 10*time.Second, rowText(recordRows, "affiliate_id", kiloLabel, "payout")+` === "3.25 USD"`)
		if r := record(kilo.ID).Record; r.Payout == nil || *r.Payout != 3.25 || len(r.Caps) != 1 || len(r.BlockedSubs["sub1"]) != 2 {
			t.Errorf("after the edit, the record reads %+v", r)
		}
		b.fits()
		b.screenshot("console-offer-affiliates")

		// Zeta's refused record deleted.
		zetaLabel := "Zeta Traffic #" + zeta.ID
		b.run("say yes to confirmations", 5*time.Second, chromedp.Evaluate(`window.confirm = () => true`, nil))
		b.clickRow(recordRows, "affiliate_id", zetaLabel, `button[data-action="delete"]`)
		b.until("Zeta's record gone", 10*time.Second, rowText(recordRows, "affiliate_id", zetaLabel, "access")+` === ""`)
		if code := s.admin("GET", "/v2/offers/"+offerID+"/affiliates/"+zeta.ID, "", nil); code != 404 {
			t.Errorf("Zeta's record deleted answers %d", code)
		}

		// Jane blocked: its access alone changes.
		b.clickRow(recordRows, "affiliate_id", jane.label(), `button[data-access="blocked"]`)
		b.until("Jane blocked", 10*time.Second, rowText(recordRows, "affiliate_id", jane.label(), "access")+` === "blocked"`)
		if r := record(jane.ID).Record; r.Access != "blocked" || r.Payout != nil {
			t.Errorf("Jane's record blocked reads %+v", r)
		}
	})

	step("a blocked affiliate's portal", func(t *testing.T) {
		defer b.as(t)()
		b.run("sign out", 20*time.Second, chromedp.Click("#sign-out"), chromedp.WaitVisible("#signin-key"))
		b.signIn(jane.Key, `[data-offer="`+n.offerID+`"]`)
		var listed bool
		b.eval("look for the offer", fmt.Sprintf(`!!document.querySelector(%q)`, offer), &listed)
		if listed {
			t.Errorf("a blocked affiliate's portal lists the offer:\n%s", b.pageText())
		}
		// Its clicks are turned away.
		if status, location := s.clickOn(offerID, jane.ID, ""); status == 302 && strings.HasPrefix(location, "https://shop.example.com/") {
			t.Errorf("a blocked affiliate's click went to the landing page")
		}
	})

	step("the stats explorer's money", func(t *testing.T) {
		defer b.as(t)()
		b.run("sign out", 20*time.Second, chromedp.Click("#sign-out"), chromedp.WaitVisible("#signin-key"))
		b.signIn(s.adminKey, "#kpis .tile")
		b.open("#/stats?offer_id="+offerID, "#stats-table table")
		day := today()
		b.run("today, in UTC", 10*time.Second, chromedp.SetValue(`#stats-form input[name="date_from"]`, day),
			chromedp.SetValue(`#stats-form input[name="date_to"]`, day), chromedp.SetValue(`#stats-form input[name="timezone"]`, "UTC"))
		// Turned away on the offer: Zeta before it applied, Kilo's blocked
		// placement, Jane once blocked.
		const blocked = 3
		query := "/v2/stats?date_from=" + day + "&date_to=" + day + "&timezone=UTC&group_by=date&offer_id=" + offerID
		var api consoleStats
		var figures map[string]any
		// Until the warehouse has every conversion and turned-away click.
		testkit.Poll(t, "the offer's conversions and blocked clicks in the stats", 60*time.Second, func() (bool, string) {
			var raw struct {
				Totals map[string]any `json:"totals"`
			}
			s.admin("GET", query, "", &raw)
			figures = raw.Totals
			return figures["conversions"] == float64(conversions) && figures["blocked"] == float64(blocked), fmt.Sprint(figures)
		})
		s.admin("GET", query, "", &api)
		b.run("run the explorer", 10*time.Second, chromedp.Click(`#stats-form button[type="submit"]`))
		b.until("the explorer's conversions and blocked clicks", 20*time.Second, fmt.Sprintf(
			`document.querySelector("#stats-total-conversions .value")?.textContent === "%d" && document.querySelector("#stats-total-blocked .value")?.textContent === "%d"`, conversions, blocked),
			chromedp.Click(`#stats-form button[type="submit"]`))
		tile := func(id string) float64 {
			return number(t, strings.TrimSuffix(b.text("#stats-total-"+id+" .value"), "%"))
		}
		for id, want := range map[string]float64{"sale-amount": api.Totals.SaleAmount, "revenue": api.Totals.Revenue, "payout": api.Totals.Payout,
			"profit": api.Totals.Profit, "margin": figures["margin"].(float64), "blocked": figures["blocked"].(float64)} {
			if got := tile(id); math.Abs(got-want) > 0.005 {
				t.Errorf("the %s tile reads %v, /v2/stats %v", id, got, want)
			}
		}
		// 3 conversions at 4.00 revenue and 2.50 payout, sales of 100 each.
		if api.Totals.Revenue != 12 || api.Totals.Payout != 7.5 || api.Totals.Profit != 4.5 || figures["margin"] != 37.5 || api.Totals.SaleAmount != 300 {
			t.Errorf("/v2/stats totals %+v, margin %v", api.Totals, figures["margin"])
		}
		var heads []string
		b.eval("read the columns", `[...document.querySelectorAll("#stats-table th")].map(th => th.textContent)`, &heads)
		if got := strings.Join(heads, "|"); !strings.Contains(got, "Sale amount|Revenue|Payout|Profit|Margin") {
			t.Errorf("the explorer's columns read %q", got)
		}
		row := func(col string) float64 {
			return number(t, strings.TrimSuffix(b.text(`#stats-table tbody tr td[data-col="`+col+`"]`), "%"))
		}
		if row("revenue") != 12 || row("sale_amount") != 300 || row("payout") != 7.5 || row("profit") != 4.5 || row("margin") != 37.5 {
			t.Errorf("today's row reads:\n%s", b.text("#stats-table tbody tr"))
		}
	})

	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Fatalf("the browser console reported errors:\n%s", strings.Join(errs, "\n"))
	}
}

// fits fails the test for each card of the page whose content is wider
// than the card (its table or form scrolled or cut) at the window's width.
func (b *browser) fits() {
	b.t.Helper()
	var overflow []string
	b.eval("measure the cards", `[...document.querySelectorAll("#view .card")].filter(c => c.scrollWidth > c.clientWidth + 1)
		.map(c => (c.id || c.className) + ": " + c.scrollWidth + " px in " + c.clientWidth)`, &overflow)
	if len(overflow) > 0 {
		b.t.Errorf("cards overflow at %s: %v", b.eval2("location.hash"), overflow)
	}
}

// eval2 is the string a JavaScript expression evaluates to.
func (b *browser) eval2(js string) string {
	b.t.Helper()
	var s string
	b.eval("evaluate", js, &s)
	return s
}
