package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
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
	clicksOf                   map[string]int
	clicks, approved, rejected int
	today                      string
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
		} else {
			n.rejected++
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
// newcomer tries it on, reading what a person reads in each view: the
// stats explorer labelled for every grouping.
func TestConsoleOnANetwork(t *testing.T) {
	s := startStack(t)
	n := s.seedConsoleNetwork()
	b := newBrowser(t, s.base)
	b.signIn(s.adminKey, "#kpis .tile")

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
			if g == "offer" || g == "affiliate" || g == "advertiser" {
				b.screenshot("walk-stats-" + g)
			}
		}
	})

	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Fatalf("the browser console reported errors:\n%s", strings.Join(errs, "\n"))
	}
}
