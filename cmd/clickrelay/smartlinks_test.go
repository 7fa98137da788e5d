package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// The stack tests of smart links (README, "Smart links"): the split by
// weight, the offers skipped, priority, the fallback, attribution and
// postbacks, EPC mode, the stats by smart link and the affiliate's list.

// smartLink is a smart link as the admin API answers it.
type smartLink struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
}

// createSmartLink creates a smart link from fields.
func (s *stack) createSmartLink(fields map[string]any) smartLink {
	s.t.Helper()
	body, _ := json.Marshal(fields)
	var out struct {
		SmartLink smartLink `json:"smart_link"`
	}
	if code := s.admin("POST", "/v2/smart-links", string(body), &out); code != 201 || out.SmartLink.Slug == "" {
		s.t.Fatalf("create smart link %s: %d", body, code)
	}
	return out.SmartLink
}

// patch changes an entity through the admin API.
func (s *stack) patch(path, body string) {
	s.t.Helper()
	if code := s.admin("PATCH", path, body, nil); code != 200 {
		s.t.Fatalf("PATCH %s %s: %d", path, body, code)
	}
}

// clickMany follows path n times over 16 connections, as visitors from
// Great Britain on iPhones, and counts where they went: each Location
// without its query, or the status. The answers are not checked against
// the contract one by one (s.click does that), which would cost more than
// the clicks.
func (s *stack) clickMany(path string, n int) map[string]int {
	s.t.Helper()
	const workers = 16
	var mu sync.Mutex
	where := map[string]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range n/workers + min(1, max(0, n%workers-w)) {
				req, _ := http.NewRequest("GET", s.base+path, nil)
				req.Header.Set("User-Agent", iPhoneUA)
				req.Header.Set("X-Forwarded-For", "81.2.69.142")
				resp, err := noRedirects.Do(req)
				if err != nil {
					s.t.Errorf("GET %s: %v", path, err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				key := fmt.Sprint(resp.StatusCode)
				if loc := resp.Header.Get("Location"); loc != "" {
					key, _, _ = strings.Cut(loc, "?")
				}
				mu.Lock()
				where[key]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return where
}

// statsRows reads /v2/stats for today with query, its rows decoded.
func (s *stack) statsRows(query string) ([]map[string]any, testkit.JSONValue) {
	s.t.Helper()
	resp := s.raw("GET", "/v2/stats?date_from="+today()+"&date_to="+today()+"&"+query, map[string]string{"Authorization": "Bearer " + s.adminKey}, "")
	if resp.status != 200 {
		s.t.Fatalf("/v2/stats?%s: %d %s", query, resp.status, resp.body)
	}
	var out struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(resp.body), &out); err != nil {
		s.t.Fatal(err)
	}
	return out.Rows, testkit.JSON(s.t, resp.body).Get("totals")
}

// A smart link over three offers weighted 50, 30 and 20: an affiliate
// reads its own link in /v1/smart-links, sends 10,000 visitors through it,
// and they land on the offers within a point or two of the weights; each
// Location carries a click_id and the link (the offers' {smart_link_id}).
// /v2/stats by smart link and offer counts exactly what the Locations did,
// and so does the CSV and clickrelay_smart_link_clicks_total.
func TestASmartLinkSplitsTrafficByItsWeights(t *testing.T) {
	s := startStack(t, "CLICKRELAY_PUBLIC_URL=https://trk.example.com")
	n := s.setUp("https://shop.example.com/?cid={click_id}")
	weights := map[string]int{"a": 50, "b": 30, "c": 20}
	offerOf := map[string]string{} // landing path → offer ID
	var offers []map[string]any
	for _, name := range []string{"a", "b", "c"} {
		id := s.createOffer(map[string]any{"name": "Offer " + name, "advertiser_id": n.advertiserID, "payout": 1,
			"tracking_url": "https://shop.example.com/" + name + "?cid={click_id}&sl={smart_link_id}"})
		offerOf["https://shop.example.com/"+name] = id
		offers = append(offers, map[string]any{"offer_id": id, "weight": weights[name]})
	}
	link := s.createSmartLink(map[string]any{"name": "Summer mix", "offers": offers})

	// The affiliate's own link, from its list.
	resp := s.raw("GET", "/v1/smart-links", map[string]string{"Authorization": "Bearer " + n.affiliateKey}, "")
	listed := testkit.JSON(t, resp.body)
	trackingLink := listed.Get("data", 0, "tracking_link").String()
	if resp.status != 200 || listed.Get("meta", "total").Int() != 1 || listed.Get("data", 0, "name").String() != "Summer mix" ||
		trackingLink != "https://trk.example.com/s/"+link.Slug+"?aff_id="+n.affiliateID {
		t.Fatalf("/v1/smart-links: %d %s", resp.status, resp.body)
	}
	path := strings.TrimPrefix(trackingLink, "https://trk.example.com") + "&sub1=summer"

	// One click, checked against the contract and read whole.
	status, location := s.click(path)
	u, _ := url.Parse(location)
	if status != 302 || u.Query().Get("sl") != link.ID || u.Query().Get("cid") == "" || offerOf[u.Scheme+"://"+u.Host+u.Path] == "" {
		t.Fatalf("a click through the smart link: %d %s", status, location)
	}
	const clicks = 10_000
	landed := s.clickMany(path, clicks-1)
	landed[u.Scheme+"://"+u.Host+u.Path]++
	for landing, offer := range offerOf {
		name := strings.TrimPrefix(landing, "https://shop.example.com/")
		share := 100 * float64(landed[landing]) / clicks
		if math.Abs(share-float64(weights[name])) > 2 {
			t.Errorf("offer %s (weight %d) got %.2f%% of the visitors (%v)", offer, weights[name], share, landed)
		}
	}
	if len(landed) != 3 {
		t.Errorf("the visitors went to %v: want the three landing pages only", landed)
	}
	t.Logf("%d visitors through a smart link weighted a 50, b 30, c 20: %v", clicks, landed)

	// The stats count what the Locations did, offer by offer.
	var rows []map[string]any
	testkit.Poll(t, "the smart link's clicks in /v2/stats", stackWait, func() (bool, string) {
		var totals testkit.JSONValue
		rows, totals = s.statsRows("group_by=smart_link,offer")
		return totals.Get("clicks").Int() == clicks, totals.Text()
	})
	if len(rows) != 3 {
		t.Fatalf("%d rows by smart link and offer, want 3: %v", len(rows), rows)
	}
	for _, r := range rows {
		var landing string
		for l, id := range offerOf {
			if id == r["offer"] {
				landing = l
			}
		}
		if r["smart_link"] != link.ID || r["smart_link_name"] != "Summer mix" || int(r["clicks"].(float64)) != landed[landing] ||
			r["offer_name"] != "Offer "+strings.TrimPrefix(landing, "https://shop.example.com/") {
			t.Errorf("row %v: want smart link %s (Summer mix), %d clicks on %s", r, link.ID, landed[landing], landing)
		}
	}
	// By the link's slug, grouped by offer; and the CSV.
	if rows, _ := s.statsRows("group_by=offer&smart_link_id=" + link.Slug); len(rows) != 3 {
		t.Errorf("smart_link_id by slug, by offer: %v", rows)
	}
	csv := s.raw("GET", "/v2/stats?format=csv&group_by=smart_link&date_from="+today()+"&date_to="+today(),
		map[string]string{"Authorization": "Bearer " + s.adminKey}, "")
	if lines := strings.Split(strings.TrimSpace(csv.body), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "smart_link,clicks,") ||
		!strings.HasPrefix(lines[1], fmt.Sprintf("%s,%d,", link.ID, clicks)) {
		t.Errorf("the CSV by smart link:\n%s", csv.body)
	}
	if got := s.metric(`clickrelay_smart_link_clicks_total{result="routed"}`); got != clicks {
		t.Errorf("clickrelay_smart_link_clicks_total{result=\"routed\"} = %v, want %d", got, clicks)
	}
}

// Each visitor goes to an offer that can take them, the highest priority
// first: a capped offer, and one off target, are skipped; a paused one too
// until it is active again; with none left the visitor goes to the link's
// fallback, counted unrouted, and a paused link sends every visitor there,
// counted paused, as do the network's traffic controls the visitors they
// deny (denied). An unknown link or affiliate is a 404.
func TestASmartLinkSkipsOffersThatCannotTakeTheVisitor(t *testing.T) {
	s := startStack(t)
	n := s.setUp("https://shop.example.com/?cid={click_id}")
	offer := func(name string, extra map[string]any) string {
		fields := map[string]any{"name": name, "advertiser_id": n.advertiserID, "payout": 1,
			"tracking_url": "https://shop.example.com/" + name + "?cid={click_id}"}
		for k, v := range extra {
			fields[k] = v
		}
		return s.createOffer(fields)
	}
	capped := offer("capped", map[string]any{"caps": []map[string]any{{"metric": "clicks", "period": "day", "limit": 3}}})
	german := offer("german", map[string]any{"countries": []string{"DE"}})
	android := offer("android", map[string]any{"os": "android"})
	paused := offer("paused", map[string]any{"status": "paused"})
	steady := offer("steady", nil)
	link := s.createSmartLink(map[string]any{"name": "Waterfall", "fallback_url": "https://fallback.example.com/sl?s={sub1}&l={smart_link_id}",
		"offers": []map[string]any{
			{"offer_id": steady, "priority": 0}, {"offer_id": paused, "priority": 5},
			{"offer_id": capped, "priority": 10}, {"offer_id": german, "priority": 10, "weight": 100}, {"offer_id": android, "priority": 10, "weight": 100},
		}})
	path := "/s/" + link.Slug + "?aff_id=" + n.affiliateID + "&sub1=x"
	landsOn := func(want string, times int) {
		t.Helper()
		for range times {
			status, location := s.click(path)
			if status != 302 || !strings.HasPrefix(location, want) {
				t.Fatalf("a visitor went to %d %s, want %s", status, location, want)
			}
		}
	}
	// From Great Britain on an iPhone: of priority 10 only the capped offer
	// takes the visitor, three times; then, the paused one being skipped,
	// the steady one.
	landsOn("https://shop.example.com/capped?", 3)
	landsOn("https://shop.example.com/steady?", 3)
	s.patch("/v2/offers/"+paused, `{"status":"active"}`)
	landsOn("https://shop.example.com/paused?", 1)
	// None left: the fallback, without a click_id.
	s.patch("/v2/offers/"+paused, `{"status":"paused"}`)
	s.patch("/v2/offers/"+steady, `{"status":"paused"}`)
	landsOn("https://fallback.example.com/sl?s=x&l="+link.ID, 2)
	if _, location := s.click(path); strings.Contains(location, "click_id") {
		t.Errorf("the fallback %s carries a click_id", location)
	}
	// A paused link: the fallback too.
	s.patch("/v2/offers/"+steady, `{"status":"active"}`)
	s.patch("/v2/smart-links/"+link.ID, `{"status":"paused"}`)
	landsOn("https://fallback.example.com/sl?s=x&l="+link.ID, 1)
	// A visitor the network's traffic controls deny: the fallback, before
	// any offer is tried.
	s.patch("/v2/smart-links/"+link.ID, `{"status":"active"}`)
	if code := s.admin("PUT", "/v2/traffic-controls", `{"ips":["81.2.69.142"]}`, nil); code != 200 {
		t.Fatalf("traffic controls: %d", code)
	}
	landsOn("https://fallback.example.com/sl?s=x&l="+link.ID, 1)
	// Unknown link, unknown affiliate.
	for _, p := range []string{"/s/sl_nope?aff_id=" + n.affiliateID, "/s/" + link.Slug + "?aff_id=999"} {
		if status, _ := s.click(p); status != 404 {
			t.Errorf("%s: %d, want 404", p, status)
		}
	}

	// The stats: 7 clicks sent to offers, 3 unrouted, 1 paused, 1 denied;
	// by offer, the turned-away ones on no offer.
	testkit.Poll(t, "the smart link's stats", stackWait, func() (bool, string) {
		_, tot := s.statsRows("smart_link_id=" + link.ID)
		return tot.Get("clicks").Int() == 7 && tot.Get("unrouted").Int() == 3 && tot.Get("paused").Int() == 1 &&
			tot.Get("denied").Int() == 1, tot.Text()
	})
	rows, _ := s.statsRows("group_by=offer&smart_link_id=" + link.ID)
	got := map[string]string{}
	for _, r := range rows {
		got[r["offer"].(string)] = fmt.Sprintf("%v/%v/%v/%v", r["clicks"], r["unrouted"], r["paused"], r["denied"])
	}
	testkit.Equal(t, "clicks/unrouted/paused/denied by offer", map[string]string{capped: "3/0/0/0", steady: "3/0/0/0", paused: "1/0/0/0", "": "0/3/1/1"}, got)
	// The network's stats count them too, beside the others.
	// (Another rollup: the sink's insert may not have reached it yet.)
	testkit.Poll(t, "the network's totals", stackWait, func() (bool, string) {
		_, tot := s.statsRows("")
		return tot.Get("unrouted").Int() == 3 && tot.Get("paused").Int() == 1 && tot.Get("clicks").Int() == 7, tot.Text()
	})
	// The smart links' stats are kept by the hour.
	resp := s.raw("GET", "/v2/stats?group_by=smart_link&timezone=Asia/Kolkata&date_from="+today()+"&date_to="+today(),
		map[string]string{"Authorization": "Bearer " + s.adminKey}, "")
	if resp.status != 400 || resp.errorCode(t) != "invalid_timezone" {
		t.Errorf("by smart link in a half-hour zone: %d %s", resp.status, resp.body)
	}
	if got := s.metric(`clickrelay_smart_link_clicks_total{result="unrouted"}`); got != 3 {
		t.Errorf(`clickrelay_smart_link_clicks_total{result="unrouted"} = %v, want 3`, got)
	}
}

// A conversion on a smart link's click is attributed to the offer the
// link chose: the affiliate's postback carries that offer's macros (its ID,
// its payout) and the link's, as a click on the offer's own link does, the
// admin's conversion names the link, and the stats by smart link count it.
func TestASmartLinkConversionPostbacksWithTheChosenOffersMacros(t *testing.T) {
	s := startStack(t)
	n := s.setUp("https://shop.example.com/?cid={click_id}")
	chosen := s.createOffer(map[string]any{"name": "Chosen", "advertiser_id": n.advertiserID, "payout": 2.5, "revenue": 4,
		"tracking_url": "https://shop.example.com/chosen?cid={click_id}"})
	skipped := s.createOffer(map[string]any{"name": "Skipped", "advertiser_id": n.advertiserID, "payout": 9, "status": "paused",
		"tracking_url": "https://shop.example.com/skipped?cid={click_id}"})
	link := s.createSmartLink(map[string]any{"name": "Deals", "offers": []map[string]any{
		{"offer_id": skipped, "priority": 5}, {"offer_id": chosen}}})
	receiver := newReceiver(t)
	affiliate := map[string]string{"Authorization": "Bearer " + n.affiliateKey}
	pbURL := receiver.URL + "/pb?o={offer_id}&p={payout}&sl={smart_link_id}&s1={sub1}&c={click_id}&ac={aff_click_id}&adv={adv_id}"
	if code := s.call("POST", "/v1/postbacks", affiliate, fmt.Sprintf(`{"url":%q}`, pbURL), nil); code != 200 {
		t.Fatalf("postback: %d", code)
	}

	status, location := s.click("/s/" + link.Slug + "?aff_id=" + n.affiliateID + "&sub1=fb&aff_click_id=vol-1")
	if status != 302 || !strings.HasPrefix(location, "https://shop.example.com/chosen?") {
		t.Fatalf("the smart link's click: %d %s", status, location)
	}
	viaLink := clickID(t, location, "cid")
	direct := s.clickIDOn(chosen, n.affiliateID)
	conversion := s.sell(n.advertiserKey, viaLink, "T-link").Get("data", "conversionId").String()
	s.sell(n.advertiserKey, direct, "T-direct")

	got := receiver.AwaitFind(t, "c="+viaLink, stackWait).Query
	want := url.Values{"o": {chosen}, "p": {"2.5"}, "sl": {link.ID}, "s1": {"fb"}, "c": {viaLink}, "ac": {"vol-1"}, "adv": {n.advertiserID}}
	testkit.Equal(t, "the smart link click's postback", want, got)
	other := receiver.AwaitFind(t, "c="+direct, stackWait).Query
	if other.Get("o") != chosen || other.Get("p") != "2.5" || other.Get("sl") != "" {
		t.Errorf("the direct click's postback %v: want the same offer and payout, no smart link", other)
	}

	// The admin's conversion names the link; the stats by link count it.
	testkit.Poll(t, "the conversion in the warehouse", stackWait, func() (bool, string) {
		resp := s.raw("GET", "/v2/conversions/"+conversion, map[string]string{"Authorization": "Bearer " + s.adminKey}, "")
		c := testkit.JSON(t, resp.body)
		return resp.status == 200 && c.Get("conversion", "smart_link_id").String() == link.ID &&
			c.Get("conversion", "offer_id").String() == chosen, resp.body
	})
	testkit.Poll(t, "the conversion in the stats by smart link", stackWait, func() (bool, string) {
		rows, _ := s.statsRows("group_by=smart_link")
		return len(rows) == 1 && rows[0]["conversions"] == 1.0 && rows[0]["payout"] == 2.5 && rows[0]["revenue"] == 4.0 &&
			rows[0]["clicks"] == 1.0, fmt.Sprint(rows)
	})
}

// An EPC-mode smart link sends most visitors to the offer that earns the
// network most per click over the last 24 hours, and explores the other
// with its explore share. Two CPC offers earn 1.00 and 0.10 a click; once
// the refresher has read that, 80% go to the first, 20% to the second.
func TestASmartLinkInEPCModePrefersTheBestOffer(t *testing.T) {
	s := startStack(t, "CLICKRELAY_SMART_LINK_EPC_REFRESH=200ms")
	n := s.setUp("https://shop.example.com/?cid={click_id}")
	rich := s.createOffer(map[string]any{"name": "Rich", "advertiser_id": n.advertiserID, "payout_type": "cpc", "payout": 0.2, "revenue": 1,
		"tracking_url": "https://shop.example.com/rich?cid={click_id}"})
	poor := s.createOffer(map[string]any{"name": "Poor", "advertiser_id": n.advertiserID, "payout_type": "cpc", "payout": 0.05, "revenue": 0.1,
		"tracking_url": "https://shop.example.com/poor?cid={click_id}"})
	link := s.createSmartLink(map[string]any{"name": "Best", "mode": "epc", "explore_percent": 20,
		"offers": []map[string]any{{"offer_id": poor, "weight": 1}, {"offer_id": rich, "weight": 1}}})
	path := "/s/" + link.Slug + "?aff_id=" + n.affiliateID
	// Before any click, no EPC: by weight, about half each.
	if landed := s.clickMany(path, 400); landed["https://shop.example.com/rich"] < 140 || landed["https://shop.example.com/poor"] < 140 {
		t.Errorf("before any EPC, by weight: %v", landed)
	}
	// Every click on a CPC offer earns its revenue: the EPCs are 1.00 and
	// 0.10 as soon as the sink has stored clicks and the refresher read them.
	testkit.Poll(t, "the refresher ranking the rich offer first", stackWait, func() (bool, string) {
		landed := s.clickMany(path, 200)
		return landed["https://shop.example.com/rich"] >= 150, fmt.Sprint(landed)
	})
	const clicks = 4000
	landed := s.clickMany(path, clicks)
	richShare := 100 * float64(landed["https://shop.example.com/rich"]) / clicks
	t.Logf("%d visitors through an EPC-mode link exploring 20%%, EPCs 1.00 and 0.10: %v", clicks, landed)
	if math.Abs(richShare-80) > 3 || landed["https://shop.example.com/rich"]+landed["https://shop.example.com/poor"] != clicks {
		t.Errorf("%v: the best offer got %.1f%%, want 80%% (20%% exploring)", landed, richShare)
	}
	if got := s.metric("clickrelay_smart_link_epc_offers"); got != 2 {
		t.Errorf("clickrelay_smart_link_epc_offers = %v, want 2", got)
	}
}
