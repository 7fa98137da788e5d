package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// consoleEntity is an advertiser, offer or affiliate of a seeded network.
type consoleEntity struct {
	ID, Name string
	Key      string // an account's API key
	Owner    string // an offer's advertiser's ID
}

// consoleNetwork is a network the size a stranger walks the console on: 2
// advertisers, 4 offers, 3 affiliates, 300 clicks, 50 conversions (some
// approved, some rejected), and a postback per affiliate whose URL is
// about 1,500 characters long: two receivers take them, one refuses them
// (400, so each lands in the dead letter at once).
type consoleNetwork struct {
	advertisers, offers, affiliates []consoleEntity
	postbacks                       map[string]string // affiliate ID → its postback's ID
	conversions                     []string
	// clicksOf counts the clicks sent per entity: "offer:1" → 75.
	clicksOf         map[string]int
	clicks, approved int
	today            string
}

// entity is the seeded offer, affiliate or advertiser of ID id.
func (n *consoleNetwork) entity(kind, id string) consoleEntity {
	list := map[string][]consoleEntity{"offer": n.offers, "affiliate": n.affiliates, "advertiser": n.advertisers}[kind]
	for _, e := range list {
		if e.ID == id {
			return e
		}
	}
	return consoleEntity{}
}

// Sizes of the seeded network.
const (
	seedClicks      = 300
	seedConversions = 50
	longURLPadding  = 1400 // characters of padding in each postback URL
)

// longReceiver answers every postback, with status and a body of a few
// hundred characters (a debug page, as some trackers answer).
func longReceiver(t *testing.T, status int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(status)
		fmt.Fprintf(w, "status=%d tracker-debug %s", status, strings.Repeat("trace-line-0123456789 ", 40))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (s *stack) seedConsoleNetwork() consoleNetwork {
	t := s.t
	t.Helper()
	n := consoleNetwork{postbacks: map[string]string{}, clicksOf: map[string]int{}, today: time.Now().UTC().Format("2006-01-02")}
	for _, name := range []string{"Acme Retail", "Globex Games"} {
		var out struct {
			Advertiser struct {
				ID     string `json:"id"`
				APIKey string `json:"api_key"`
			} `json:"advertiser"`
		}
		if code := s.admin("POST", "/v2/advertisers", fmt.Sprintf(`{"name":%q}`, name), &out); code != 201 {
			t.Fatalf("create advertiser %s: %d", name, code)
		}
		n.advertisers = append(n.advertisers, consoleEntity{ID: out.Advertiser.ID, Name: name, Key: out.Advertiser.APIKey})
	}
	for i, name := range []string{"Summer Promo", "Winter Sale", "Spring Launch", "Autumn Deals"} {
		adv := n.advertisers[i%2]
		id := s.createOffer(map[string]any{"name": name, "tracking_url": "https://shop.example/lp?cid={click_id}",
			"advertiser_id": adv.ID, "payout": 2 + float64(i), "payout_type": "cpa"})
		n.offers = append(n.offers, consoleEntity{ID: id, Name: name, Owner: adv.ID})
	}
	ok, refusing := longReceiver(t, 200), longReceiver(t, 400)
	for i, name := range []string{"Jane Media", "Zeta Traffic", "Kilo Ads"} {
		aff := s.createAffiliate(fmt.Sprintf(`{"name":%q}`, name))
		n.affiliates = append(n.affiliates, consoleEntity{ID: aff.ID, Name: name, Key: aff.APIKey})
		receiver := ok.URL
		if i == 1 {
			receiver = refusing.URL
		}
		pbURL := receiver + "/pb?cid={click_id}&conv={conversion_id}&payout={payout}&offer={offer_id}&pad=" + strings.Repeat("p", longURLPadding)
		var pb struct {
			PostbackID string `json:"postback_id"`
		}
		if code := s.call("POST", "/v1/postbacks", aff.auth(), fmt.Sprintf(`{"url":%q}`, pbURL), &pb); code != 200 {
			t.Fatalf("postback of %s: %d", name, code)
		}
		n.postbacks[aff.ID] = pb.PostbackID
	}

	// Clicks: every offer through every affiliate, iPhones and Android
	// phones, from Great Britain and Japan. The first clicks convert.
	var clickIDs []string
	for i := range seedClicks {
		offer, aff := n.offers[i%len(n.offers)], n.affiliates[i%len(n.affiliates)]
		ua, ip := iPhoneUA, "81.2.69.142" // GB
		if i%2 == 1 {
			ua = androidUA
		}
		if i%5 == 0 {
			ip = "133.242.0.1" // JP
		}
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/click/%s?aff_id=%s&sub1=camp-%d", s.base, offer.ID, aff.ID, i%3), nil)
		req.Header.Set("User-Agent", ua)
		req.Header.Set("X-Forwarded-For", ip)
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 302 {
			t.Fatalf("click %d: %d", i, resp.StatusCode)
		}
		n.clicksOf["offer:"+offer.ID]++
		n.clicksOf["affiliate:"+aff.ID]++
		n.clicksOf["advertiser:"+offer.Owner]++
		if i < seedConversions {
			clickIDs = append(clickIDs, clickID(t, resp.Header.Get("Location"), "cid"))
		}
	}
	n.clicks = seedClicks
	for i, cid := range clickIDs {
		key := n.entity("advertiser", n.offers[i%len(n.offers)].Owner).Key
		var conv struct {
			Data struct {
				ConversionID string `json:"conversionId"`
			} `json:"data"`
		}
		body := fmt.Sprintf(`{"click_id":%q,"amount":"%d.50","txid":"ORDER-%d"}`, cid, 10+i, i)
		if code := s.call("POST", "/api/v1/conversions", map[string]string{"X-API-Key": key}, body, &conv); code != 200 {
			t.Fatalf("conversion %d: %d", i, code)
		}
		n.conversions = append(n.conversions, conv.Data.ConversionID)
	}
	// Some approved, some rejected, as soon as the warehouse has them.
	for i, id := range n.conversions {
		status := ""
		switch {
		case i%5 == 0:
			status = "approved"
		case i%7 == 0:
			status = "rejected"
		default:
			continue
		}
		testkit.Wait(t, "conversion "+id+" in the warehouse", 60*time.Second, func() bool {
			return s.admin("GET", "/v2/conversions/"+id, "", nil) == 200
		})
		if code := s.admin("PATCH", "/v2/conversions/"+id, fmt.Sprintf(`{"status":%q}`, status), nil); code != 200 {
			t.Fatalf("%s %s: %d", status, id, code)
		}
		if status == "approved" {
			n.approved++
		}
	}

	// Everything counted, and every conversion's postback attempted.
	testkit.Poll(t, "the network in the stats and the delivery log", 90*time.Second, func() (bool, string) {
		var st consoleStats
		s.admin("GET", "/v2/stats?date_from="+n.today+"&date_to="+n.today, "", &st)
		var report struct {
			Pixels []json.RawMessage `json:"pixels"`
		}
		s.admin("POST", "/v1/networks/reporting/affiliate/pixels", fmt.Sprintf(`{"timezone":"UTC","from":%q,"to":%q}`, n.today, n.today), &report)
		seen := fmt.Sprintf("%d clicks, %d conversions, %d approved, %d postback rows", st.Totals.Clicks, st.Totals.Conversions, st.Totals.Approved, len(report.Pixels))
		return st.Totals.Clicks == n.clicks && st.Totals.Conversions == len(n.conversions) && int(st.Totals.Approved) == n.approved &&
			len(report.Pixels) >= len(n.conversions), seen
	})
	return n
}

// label is how the console shows an entity in a table: its name, its ID
// beside (dom.js named).
func (e consoleEntity) label() string { return e.Name + " #" + e.ID }

// chartLabel is how a chart names it (dom.js nameLabel).
func (e consoleEntity) chartLabel() string { return e.Name + " (#" + e.ID + ")" }

// statsTableRow is a row of the stats explorer's table as a person reads it.
type statsTableRow struct {
	Key, Href                    string
	Clicks, Conversions, Revenue string
}

// number reads a figure as the console prints it ("1,526.00").
func number(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
	if err != nil {
		t.Fatalf("figure %q: %v", s, err)
	}
	return v
}

// TestConsoleOnANetwork walks the admin console on a network the size a
// newcomer tries it on, reading what a person reads in each view: names
// where IDs would be, the stats explorer labelled for every grouping, a
// delivery log of long URLs that stays readable, cards that fit.
func TestConsoleOnANetwork(t *testing.T) {
	s := startStack(t)
	n := s.seedConsoleNetwork()
	b := newBrowser(t, s.base)
	b.signIn(s.adminKey, "#kpis .tile")

	t.Run("overview", func(t *testing.T) {
		defer b.as(t)()
		b.open("#/overview", "#tops table")
		b.until("the overview's figures", 30*time.Second, fmt.Sprintf(
			`document.querySelector("#kpi-clicks .value").textContent === %q && document.querySelector("#kpi-conversions .value").textContent === %q`,
			strconv.Itoa(n.clicks), strconv.Itoa(len(n.conversions))))
		// Top offers: every offer by name, linked, with its clicks; they add
		// up to the clicks tile.
		var top []struct{ Name, Href, Clicks string }
		b.eval("read the top offers", `[...document.querySelectorAll("#tops .card")[0].querySelectorAll("tbody tr")].map(tr => ({
			Name: tr.querySelector('[data-col="name"]').textContent, Href: tr.querySelector('[data-col="name"] a').getAttribute("href"),
			Clicks: tr.querySelector('[data-col="clicks"]').textContent}))`, &top)
		if len(top) != len(n.offers) {
			t.Fatalf("top offers %+v, want %d", top, len(n.offers))
		}
		sum := 0.0
		for _, r := range top {
			var o consoleEntity
			for _, e := range n.offers {
				if e.Name == r.Name {
					o = e
				}
			}
			if o.ID == "" || r.Href != "#/offers/"+o.ID || number(t, r.Clicks) != float64(n.clicksOf["offer:"+o.ID]) {
				t.Errorf("top offer %+v", r)
			}
			sum += number(t, r.Clicks)
		}
		if kpi := number(t, b.text("#kpi-clicks .value")); sum != kpi {
			t.Errorf("top offers add up to %v clicks, the tile reads %v", sum, kpi)
		}
		// Each card fits its table, Revenue column included, at any width.
		for _, width := range []int64{1280, 1024, 820, 390} {
			b.viewport(width, 900, width < 600)
			var overflow []string
			b.eval("measure the cards", `[...document.querySelectorAll("#tops .card")].flatMap(c => {
				const box = c.getBoundingClientRect(), last = [...c.querySelectorAll("th")].pop().getBoundingClientRect();
				return c.scrollWidth > c.clientWidth + 1 || last.right > box.right + 0.5
					? [c.querySelector("h2").textContent + ": content " + c.scrollWidth + " px in " + c.clientWidth + " px"] : [];
			})`, &overflow)
			if len(overflow) > 0 {
				t.Errorf("at %d px wide, cards overflow: %v", width, overflow)
			}
		}
		b.viewport(1280, 900, false)
	})

	t.Run("names and links where IDs are", func(t *testing.T) {
		defer b.as(t)()
		b.open("#/offers", "#offers-list table")
		for _, o := range n.offers {
			adv := n.entity("advertiser", o.Owner)
			var cell struct{ Text, Href string }
			b.eval("the offer's advertiser", fmt.Sprintf(`(() => {
				const tr = [...document.querySelectorAll("#offers-list tbody tr")].find(tr => tr.querySelector('[data-col="name"]').textContent === %q);
				const td = tr.querySelector('[data-col="advertiser_id"]');
				return { Text: td.textContent, Href: td.querySelector("a").getAttribute("href") };
			})()`, o.Name), &cell)
			if cell.Text != adv.label() || cell.Href != "#/advertisers/"+adv.ID {
				t.Errorf("offer %s's advertiser reads %+v, want %q linked", o.Name, cell, adv.label())
			}
		}

		b.open("#/conversions", "#conversions-list table")
		var rows []struct{ ID, Offer, OfferHref, Affiliate, AffiliateHref string }
		b.eval("read the conversions", `[...document.querySelectorAll("#conversions-list tbody tr")].map(tr => {
			const c = (k) => tr.querySelector('[data-col="' + k + '"]');
			return { ID: c("id").textContent, Offer: c("offer_id").textContent, OfferHref: c("offer_id").querySelector("a").getAttribute("href"),
				Affiliate: c("affiliate_id").textContent, AffiliateHref: c("affiliate_id").querySelector("a").getAttribute("href") };
		})`, &rows)
		if len(rows) != len(n.conversions) {
			t.Fatalf("%d conversions listed, want %d", len(rows), len(n.conversions))
		}
		for _, r := range rows {
			i := slices.Index(n.conversions, r.ID)
			if i < 0 {
				t.Errorf("conversion %q listed, not one of ours", r.ID)
				continue
			}
			// The seed converts the first clicks: click i is offer i%4's, affiliate i%3's.
			o, a := n.offers[i%len(n.offers)], n.affiliates[i%len(n.affiliates)]
			if r.Offer != o.label() || r.OfferHref != "#/offers/"+o.ID || r.Affiliate != a.label() || r.AffiliateHref != "#/affiliates/"+a.ID {
				t.Errorf("conversion %s reads %+v; want %q and %q, linked", r.ID, r, o.label(), a.label())
			}
		}

		b.open("#/conversions/"+n.conversions[1], "#conversion-facts")
		b.screenshot("console-conversion")
		o, a := n.offers[1], n.affiliates[1]
		facts := strings.Join(b.texts("#conversion-facts dd"), "|")
		for _, want := range []string{o.label(), a.label(), n.entity("advertiser", o.Owner).label()} {
			if !strings.Contains(facts, want) {
				t.Errorf("the conversion page reads %q, without %q", facts, want)
			}
		}
		b.run("follow the offer's link", 20*time.Second, chromedp.Click(fmt.Sprintf(`#conversion-facts a[href="#/offers/%s"]`, o.ID)),
			chromedp.WaitVisible("#offer-facts"))
		if got := b.text("h1"); !strings.HasPrefix(got, o.Name) {
			t.Errorf("the offer's link opened %q", got)
		}
		if facts := b.text("#offer-facts"); !strings.Contains(facts, n.entity("advertiser", o.Owner).label()) {
			t.Errorf("the offer page reads %q, without its advertiser's name", facts)
		}
		// Its Stats button opens the explorer on that offer.
		b.run("open the offer's stats", 20*time.Second, chromedp.Click(`a.button[href^="#/stats"]`), chromedp.WaitVisible("#stats-table table"))
		var filter string
		b.eval("read the offer filter", `document.querySelector('#stats-form input[name="offer_id"]').value`, &filter)
		b.until("the offer's clicks", 20*time.Second, fmt.Sprintf(`document.querySelector("#stats-total-clicks .value")?.textContent === %q`,
			strconv.Itoa(n.clicksOf["offer:"+o.ID])))
		if filter != o.ID {
			t.Errorf("the offer's Stats button opened the explorer filtered on %q, want %q", filter, o.ID)
		}

		b.open("#/affiliates/"+a.ID, "#edit-account-form")
		b.until("the affiliate's postback", 20*time.Second, fmt.Sprintf(`[...document.querySelectorAll('[data-col="affiliate_id"]')].some(td => td.textContent === %q)`, a.label()))
		b.open("#/postbacks/"+n.postbacks[a.ID], "#postback-facts")
		if facts := b.text("#postback-facts"); !strings.Contains(facts, a.label()) {
			t.Errorf("the postback page reads %q, without its affiliate's name", facts)
		}
	})

	t.Run("stats explorer labels every grouping", func(t *testing.T) {
		defer b.as(t)()
		b.open("#/stats", "#stats-table table")
		b.run("one day, in UTC", 10*time.Second, chromedp.SetValue(`#stats-form input[name="date_from"]`, n.today),
			chromedp.SetValue(`#stats-form input[name="date_to"]`, n.today), chromedp.SetValue(`#stats-form input[name="timezone"]`, "UTC"))
		titles := map[string]string{"date": "Date", "hour": "Hour", "week": "Week", "month": "Month", "offer": "Offer", "affiliate": "Affiliate",
			"advertiser": "Advertiser", "geo": "Country", "device": "Device", "os": "OS", "sub1": "sub1", "sub2": "sub2"}
		for _, g := range []string{"offer", "affiliate", "advertiser", "date", "hour", "week", "month", "geo", "device", "os", "sub1", "sub2"} {
			query := "/v2/stats?date_from=" + n.today + "&date_to=" + n.today + "&timezone=UTC&group_by=" + g
			if strings.HasPrefix(g, "sub") {
				// Sub IDs are grouped for one affiliate.
				b.run("name an affiliate", 10*time.Second, chromedp.SetValue(`#stats-form input[name="affiliate_id"]`, n.affiliates[0].ID),
					chromedp.Evaluate(`document.querySelector('#stats-form input[name="affiliate_id"]').dispatchEvent(new Event("input"))`, nil))
				query += "&affiliate_id=" + n.affiliates[0].ID
			}
			b.run("group by "+g, 10*time.Second, chromedp.Evaluate(fmt.Sprintf(
				`for (const c of document.querySelectorAll('#stats-form input[name=group_by]')) c.checked = c.value === %q`, g), nil),
				chromedp.Click(`#stats-form button[type="submit"]`))
			b.until("the table grouped by "+g, 20*time.Second, fmt.Sprintf(`document.querySelector("#stats-table th")?.textContent === %q`, titles[g]))
			var rows []statsTableRow
			b.eval("read the table", fmt.Sprintf(`[...document.querySelectorAll("#stats-table tbody tr")].map(tr => {
				const c = (k) => tr.querySelector('[data-col="' + k + '"]');
				return { Key: c(%q).textContent, Href: c(%q).querySelector("a")?.getAttribute("href") || "",
					Clicks: c("clicks").textContent, Conversions: c("conversions").textContent, Revenue: c("revenue").textContent };
			})`, g, g), &rows)
			var bars, axis []string
			b.eval("read the chart's bars", `[...document.querySelectorAll("#stats-chart svg rect title, #stats-chart svg circle title")].map(t => t.textContent)`, &bars)
			b.eval("read the chart's axis", `[...document.querySelectorAll("#stats-chart svg text.x-label")].map(t => t.firstChild.nodeValue)`, &axis)
			var api consoleStats
			s.admin("GET", query, "", &api)
			if len(rows) != len(api.Rows) || len(rows) == 0 {
				t.Fatalf("by %s: %d rows shown, the API answers %d", g, len(rows), len(api.Rows))
			}
			// Each row reads its key as a person expects it: an entity's name
			// and ID, linked to its page; a value as it is, "—" for none.
			var clicks, conversions, revenue float64
			for i, r := range rows {
				key, _ := api.Rows[i][g].(string)
				want, href := key, ""
				switch g {
				case "offer", "affiliate", "advertiser":
					e := n.entity(g, key)
					want, href = e.label(), "#/"+g+"s/"+e.ID
					if e.Name == "" || number(t, r.Clicks) != float64(n.clicksOf[g+":"+key]) {
						t.Errorf("by %s: row %+v; %d clicks were sent to %s", g, r, n.clicksOf[g+":"+key], key)
					}
				case "week":
					want = "week of " + key
				case "month":
					want = key[:7]
				}
				if key == "" {
					want = "—"
				}
				if r.Key != want || r.Href != href || r.Key == "all" {
					t.Errorf("by %s: row %d reads %q (link %q), want %q (link %q)", g, i, r.Key, r.Href, want, href)
				}
				if number(t, r.Clicks) != api.Rows[i]["clicks"] {
					t.Errorf("by %s: row %q reads %s clicks, the API %v", g, r.Key, r.Clicks, api.Rows[i]["clicks"])
				}
				clicks, conversions, revenue = clicks+number(t, r.Clicks), conversions+number(t, r.Conversions), revenue+number(t, r.Revenue)
				// Its bars (or points) carry its name.
				label := want
				if href != "" {
					label = n.entity(g, key).chartLabel()
				}
				named := 0
				for _, bar := range bars {
					if strings.HasPrefix(bar, label+" · ") {
						named++
					}
				}
				if named == 0 || g != "date" && g != "hour" && g != "week" && g != "month" && named != 2 {
					t.Errorf("by %s: %d bars named %q among %q", g, named, label, bars)
				}
			}
			// The rows add up to the totals the tiles read.
			for what, sum := range map[string]float64{"clicks": clicks, "conversions": conversions, "revenue": revenue} {
				if tile := number(t, b.text("#stats-total-"+what+" .value")); math.Abs(tile-sum) > 0.005 {
					t.Errorf("by %s: the rows add up to %v %s, the tile reads %v", g, sum, what, tile)
				}
			}
			if clicks != float64(n.clicks) && !strings.HasPrefix(g, "sub") {
				t.Errorf("by %s: the rows add up to %v clicks, %d were sent", g, clicks, n.clicks)
			}
			// A bar chart names each bar on its axis (cut to its width); bars
			// are drawn series by series, the clicks first.
			if len(rows) <= 6 && g != "date" && g != "hour" && g != "week" && g != "month" {
				for i, lab := range axis {
					want := strings.TrimSuffix(lab, "…")
					if i >= len(rows) || want == "" || lab == "all" || !strings.HasPrefix(bars[i], want) {
						t.Errorf("by %s: axis label %d reads %q; bars %q", g, i, lab, bars)
					}
				}
				if len(axis) != len(rows) {
					t.Errorf("by %s: %d axis labels for %d bars: %q", g, len(axis), len(rows), axis)
				}
			}
			if g == "offer" {
				b.screenshot("console-stats-by-offer")
			}
		}
	})

	t.Run("delivery log of long URLs", func(t *testing.T) {
		defer b.as(t)()
		var report struct {
			Pixels []struct {
				ConversionID string `json:"conversion_id"`
				Payload      string `json:"payload"`
				Debug        string `json:"debug_information"`
				Success      bool   `json:"is_success"`
			} `json:"pixels"`
		}
		s.admin("POST", "/v1/networks/reporting/affiliate/pixels", fmt.Sprintf(`{"timezone":"UTC","from":%q,"to":%q}`, n.today, n.today), &report)
		if len(report.Pixels) < seedConversions {
			t.Fatalf("%d deliveries in the report, want %d", len(report.Pixels), seedConversions)
		}
		b.open("#/postbacks", "#pixel-log table")
		b.until("every delivery in the log", 30*time.Second, fmt.Sprintf(`document.querySelectorAll("#pixel-log tbody tr").length === %d`, len(report.Pixels)),
			chromedp.Click(`#pixel-filters button[type="submit"]`))
		var heights []float64
		b.eval("measure the rows", `[...document.querySelectorAll("#pixel-log tbody tr")].map(r => r.getBoundingClientRect().height)`, &heights)
		var page, logWidth, logRoom float64
		b.eval("measure the page", `document.documentElement.scrollHeight`, &page)
		b.eval("measure the log", `document.querySelector("#pixel-log").scrollWidth`, &logWidth)
		b.eval("measure the log's room", `document.querySelector("#pixel-log").clientWidth`, &logRoom)
		t.Logf("delivery log: %d rows, the tallest %.0f px, the page %.0f px long, the log %.0f px wide in %.0f px",
			len(heights), slices.Max(heights), page, logWidth, logRoom)
		for i, h := range heights {
			if h > 120 {
				t.Errorf("row %d is %.0f px tall, want at most 120", i, h)
			}
		}
		if logWidth > logRoom+1 {
			t.Errorf("the log is %.0f px wide in %.0f px: columns are cut off", logWidth, logRoom)
		}
		// The whole request and response of a refused delivery open on
		// demand, and the row stays bounded.
		var row int
		for i, p := range report.Pixels {
			if !p.Success {
				row = i
				break
			}
		}
		want := report.Pixels[row]
		if len(want.Payload) < longURLPadding || len(want.Debug) < 500 {
			t.Fatalf("delivery %+v: not the long URL and answer the test sent", want)
		}
		tr := fmt.Sprintf(`#pixel-log tbody tr:nth-child(%d)`, row+1)
		if got := b.text(tr + ` [data-col="conversion_id"]`); got != want.ConversionID {
			t.Fatalf("row %d is conversion %q, the report's %q", row, got, want.ConversionID)
		}
		for col, full := range map[string]string{"payload": want.Payload, "debug_information": want.Debug} {
			var shown struct {
				Title string
				Cut   bool
			}
			b.eval("the cell shown", `(() => { const s = document.querySelector(`+strconv.Quote(tr+` [data-col="`+col+`"] button.clip`)+`);
				return { Title: s.title, Cut: s.scrollWidth > s.clientWidth }; })()`, &shown)
			if shown.Title != full || !shown.Cut {
				t.Errorf("%s: one line cut %v, its title the whole text %v", col, shown.Cut, shown.Title == full)
			}
		}
		more := tr + " + tr.more"
		b.run("open the request", 10*time.Second, chromedp.Click(tr+` [data-col="payload"] button.clip`), chromedp.WaitVisible(more+" pre"))
		for col, full := range map[string]string{"payload": want.Payload, "debug_information": want.Debug} {
			if got := b.text(more + ` pre[data-col="` + col + `"]`); got != full {
				t.Errorf("%s opened reads %d characters, want the %d of the delivery", col, len(got), len(full))
			}
		}
		var open []float64
		b.eval("measure the open row", `[`+strconv.Quote(tr)+`, `+strconv.Quote(more)+`].map(s => document.querySelector(s).getBoundingClientRect().height)`, &open)
		if open[0] > 120 || open[1] > 500 {
			t.Errorf("the open row is %.0f px tall, its texts %.0f px; want at most 120 and 500 (they scroll)", open[0], open[1])
		}
		b.eval("measure the log", `document.querySelector("#pixel-log").scrollWidth`, &logWidth)
		if logWidth > logRoom+1 {
			t.Errorf("the log opened is %.0f px wide in %.0f px", logWidth, logRoom)
		}
		b.screenshotTop("console-delivery-log")

		// One postback's deliveries, each attempt on one line too.
		aff := n.affiliates[0]
		b.open("#/postbacks/"+n.postbacks[aff.ID], "#deliveries .delivery table")
		var cards, attempts []float64
		b.eval("measure the deliveries", `[...document.querySelectorAll("#deliveries .delivery")].map(d => d.getBoundingClientRect().height)`, &cards)
		b.eval("measure the attempts", `[...document.querySelectorAll("#deliveries .delivery tbody tr")].map(r => r.getBoundingClientRect().height)`, &attempts)
		if len(cards) != n.conversionsOf(aff.ID) || len(attempts) < len(cards) {
			t.Errorf("%d deliveries with %d attempts shown, %d conversions were %s's", len(cards), len(attempts), n.conversionsOf(aff.ID), aff.Name)
		}
		for i, h := range attempts {
			if h > 120 {
				t.Errorf("attempt row %d is %.0f px tall, want at most 120", i, h)
			}
		}
		first := `#deliveries .delivery:first-of-type tbody tr:first-child`
		b.run("open an attempt's request", 10*time.Second, chromedp.Click(first+` [data-col="url"] button.clip`),
			chromedp.WaitVisible(first+` + tr.more pre[data-col="url"]`))
		if got := b.text(first + ` + tr.more pre[data-col="url"]`); !strings.HasPrefix(got, "GET ") || len(got) < longURLPadding {
			t.Errorf("the attempt's request opened reads %q", got)
		}
	})

	t.Run("the affiliate portal names its offers", func(t *testing.T) {
		defer b.as(t)()
		aff := n.affiliates[0]
		b.run("sign out", 20*time.Second, chromedp.Click("#sign-out"), chromedp.WaitVisible("#signin-key"))
		b.signIn(aff.Key, ".tracking-link")
		b.open("#/a/stats", "#aff-stats-form")
		b.run("group by offer", 10*time.Second, chromedp.SetValue(`#aff-stats-form select[name="group_by"]`, "offer"),
			chromedp.Click(`#aff-stats-form button[type="submit"]`))
		b.until("the affiliate's stats by offer", 30*time.Second, `document.querySelector("#aff-stats-table th")?.textContent === "offer"`)
		keys := b.texts(`#aff-stats-table td[data-col="offer_id"]`)
		var want []string
		for _, o := range n.offers {
			want = append(want, o.label())
		}
		slices.Sort(keys)
		slices.Sort(want)
		if !slices.Equal(keys, want) {
			t.Errorf("the affiliate's stats by offer read %q, want %q\n%s", keys, want, b.pageText())
		}
	})

	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Fatalf("the browser console reported errors:\n%s", strings.Join(errs, "\n"))
	}
}

// conversionsOf is how many of the seeded conversions are aff's: the
// seed converts clicks 0..49, click i being affiliate i%3's.
func (n *consoleNetwork) conversionsOf(aff string) int {
	c := 0
	for i := range n.conversions {
		if n.affiliates[i%len(n.affiliates)].ID == aff {
			c++
		}
	}
	return c
}
