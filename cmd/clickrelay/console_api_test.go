package main

import (
	"encoding/csv"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// consoleStats is GET /v2/stats's answer.
type consoleStats struct {
	Success bool             `json:"success"`
	Rows    []map[string]any `json:"rows"`
	Totals  struct {
		Clicks       int     `json:"clicks"`
		UniqueClicks int     `json:"unique_clicks"`
		Conversions  int     `json:"conversions"`
		Approved     int     `json:"approved"`
		SaleAmount   float64 `json:"sale_amount"`
		Revenue      float64 `json:"revenue"`
		Payout       float64 `json:"payout"`
		Profit       float64 `json:"profit"`
		CVR          float64 `json:"cvr"`
		EPC          float64 `json:"epc"`
	} `json:"totals"`
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// consoleConversion is the admin API's conversion (api/openapi.json,
// Conversion), the one shape of its list, GET and PATCH.
type consoleConversion struct {
	ID             string  `json:"id"`
	Status         string  `json:"status"`
	PreviousStatus string  `json:"previous_status"`
	Version        int     `json:"version"`
	ClickID        string  `json:"click_id"`
	ClickedAt      string  `json:"clicked_at"`
	OfferID        string  `json:"offer_id"`
	OfferName      string  `json:"offer_name"`
	AffiliateID    string  `json:"affiliate_id"`
	AffiliateName  string  `json:"affiliate_name"`
	AdvertiserID   string  `json:"advertiser_id"`
	AdvertiserName string  `json:"advertiser_name"`
	Sub1           string  `json:"sub1"`
	Sub2           string  `json:"sub2"`
	Country        string  `json:"country"`
	Device         string  `json:"device"`
	OS             string  `json:"os"`
	TxID           string  `json:"txid"`
	Amount         float64 `json:"amount"`
	Payout         float64 `json:"payout"`
}

type consoleConversions struct {
	Conversions []consoleConversion `json:"conversions"`
	Meta        struct {
		Total   int `json:"total"`
		Page    int `json:"page"`
		PerPage int `json:"per_page"`
	} `json:"meta"`
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type liveOverview struct {
	Series []struct {
		Minute      string  `json:"minute"`
		Clicks      int     `json:"clicks"`
		Conversions int     `json:"conversions"`
		Revenue     float64 `json:"revenue"`
		Payout      float64 `json:"payout"`
	} `json:"series"`
	Top map[string][]struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Clicks int    `json:"clicks"`
	} `json:"top"`
	Postbacks struct {
		Delivered int     `json:"delivered"`
		Retrying  int     `json:"retrying"`
		Failed    int     `json:"failed"`
		Dead      int     `json:"dead"`
		P99       float64 `json:"p99_latency_ms"`
	} `json:"postbacks"`
}

// TestConsoleReads drives the admin reads the web console is built on
// against the real stack: what was clicked and converted, filtered, paged,
// exported and searched.
func TestConsoleReads(t *testing.T) {
	s := startStack(t)
	n := s.setUp("https://shop.example.com/land?cid={click_id}")
	receiver := newReceiver(t)
	if code := s.call("POST", "/v1/postbacks", map[string]string{"Authorization": "Bearer " + n.affiliateKey},
		fmt.Sprintf(`{"url":%q}`, receiver.URL+"/pb?cid={click_id}"), nil); code != 200 {
		t.Fatalf("register postback: %d", code)
	}
	// A second affiliate sends one Android click that never converts.
	other := s.createAffiliate(`{"name":"Zeta Traffic"}`)
	if status, _ := s.clickAs(fmt.Sprintf("/click/%s?aff_id=%s&sub1=beta", n.offerID, other.ID), androidUA); status != 302 {
		t.Fatalf("android click: %d", status)
	}
	// Jane Media: three iPhone clicks in Great Britain, two converting,
	// both with a sale amount (40 and 10) on a CPA offer paying 2.5; the
	// first is approved. One visitor: one unique click.
	var cids []string
	for range 3 {
		_, location := s.click(fmt.Sprintf("/click/%s?aff_id=%s&sub1=alpha&sub2=banner", n.offerID, n.affiliateID))
		cids = append(cids, clickID(t, location, "cid"))
	}
	var convIDs []string
	for i, body := range []string{`{"click_id":%q,"txid":"T-1","amount":"40.00"}`, `{"click_id":%q,"txid":"T-2","amount":"10.00"}`} {
		var conv struct {
			Data struct {
				ConversionID string `json:"conversionId"`
			} `json:"data"`
		}
		if code := s.call("POST", "/api/v1/conversions", map[string]string{"X-API-Key": n.advertiserKey},
			fmt.Sprintf(body, cids[i]), &conv); code != 200 {
			t.Fatalf("conversion %d: %d", i, code)
		}
		convIDs = append(convIDs, conv.Data.ConversionID)
	}
	today := time.Now().UTC().Format("2006-01-02")
	testkit.Settle(t, "the conversion in the warehouse", stackWait, func() string {
		if code := s.admin("GET", "/v2/conversions/"+convIDs[0], "", nil); code != 200 {
			return fmt.Sprintf("GET conversion: %d", code)
		}
		return ""
	})
	var patched struct {
		Conversion map[string]any `json:"conversion"`
	}
	if code := s.admin("PATCH", "/v2/conversions/"+convIDs[0], `{"status":"approved"}`, &patched); code != 200 {
		t.Fatalf("approve: %d", code)
	}
	statsPath := "/v2/stats?date_from=" + today + "&date_to=" + today
	testkit.Settle(t, "every click, conversion and the approval in the stats", stackWait, func() string {
		var st consoleStats
		s.admin("GET", statsPath, "", &st)
		if st.Totals.Clicks != 4 || st.Totals.Conversions != 2 || st.Totals.Approved != 1 {
			return fmt.Sprintf("%+v", st.Totals)
		}
		return ""
	})

	t.Run("stats totals and groups", func(t *testing.T) {
		var st consoleStats
		if code := s.admin("GET", statsPath+"&group_by=affiliate,geo", "", &st); code != 200 || !st.Success {
			t.Fatalf("%d %+v", code, st)
		}
		tot := st.Totals
		// The offer has no revenue of its own: the advertiser pays its
		// payout, 2.50 a conversion, and the network's profit is 0.
		want := struct {
			clicks, unique, conversions             int
			sale, revenue, payout, profit, cvr, epc float64
		}{4, 2, 2, 50, 5, 5, 0, 50, 1.25}
		if tot.Clicks != want.clicks || tot.UniqueClicks != want.unique || tot.Conversions != want.conversions || tot.SaleAmount != want.sale ||
			tot.Revenue != want.revenue || tot.Payout != want.payout || tot.Profit != want.profit || tot.CVR != want.cvr || tot.EPC != want.epc {
			t.Errorf("totals %+v, want %+v", tot, want)
		}
		if len(st.Rows) != 2 {
			t.Fatalf("rows %v, want one per affiliate", st.Rows)
		}
		for _, r := range st.Rows {
			switch r["affiliate"] {
			case n.affiliateID:
				if r["affiliate_name"] != "Jane Media" || r["geo"] != "GB" || r["clicks"] != 3.0 || r["conversions"] != 2.0 || r["revenue"] != 5.0 || r["sale_amount"] != 50.0 || r["unique_clicks"] != 1.0 {
					t.Errorf("Jane Media's row %v", r)
				}
			case other.ID:
				if r["clicks"] != 1.0 || r["conversions"] != 0.0 || r["cvr"] != 0.0 {
					t.Errorf("Zeta's row %v", r)
				}
			default:
				t.Errorf("row of no affiliate of ours: %v", r)
			}
		}
	})

	t.Run("stats filters", func(t *testing.T) {
		// New York's days: yesterday's and today's there hold the clicks
		// whatever the hour (from 00:00 to 05:00 UTC it is still the day
		// before in New York).
		newYork, err := time.LoadLocation("America/New_York")
		if err != nil {
			t.Fatal(err)
		}
		nyNow := time.Now().In(newYork)
		nyDays := "?date_from=" + nyNow.AddDate(0, 0, -1).Format("2006-01-02") + "&date_to=" + nyNow.Format("2006-01-02")
		cases := []struct {
			query        string
			clicks, rows int
		}{
			{"&affiliate_id=" + other.ID, 1, 1},
			{"&advertiser_id=" + n.advertiserID + "&group_by=sub1", 4, 2},
			{"&offer_id=" + n.offerID + "&group_by=device,os", 4, 2},
			{"&offer_id=no-such-offer", 0, 1},
			{"/v2/stats" + nyDays + "&group_by=date&timezone=America/New_York", 4, -1},
			{"&group_by=sub1&limit=1", 4, 1}, // totals still count every row
		}
		for _, c := range cases {
			path := statsPath + c.query
			if strings.HasPrefix(c.query, "/") {
				path = c.query
			}
			var st consoleStats
			if code := s.admin("GET", path, "", &st); code != 200 {
				t.Errorf("%s: %d %+v", c.query, code, st.Error)
				continue
			}
			if st.Totals.Clicks != c.clicks || c.rows >= 0 && len(st.Rows) != c.rows {
				t.Errorf("%s: totals %d clicks, %d rows; want %d, %d", c.query, st.Totals.Clicks, len(st.Rows), c.clicks, c.rows)
			}
		}
	})

	t.Run("stats csv", func(t *testing.T) {
		resp := s.raw("GET", statsPath+"&group_by=sub1&format=csv", map[string]string{"Authorization": "Bearer " + s.adminKey}, "")
		if resp.status != 200 || !strings.HasPrefix(resp.header.Get("Content-Type"), "text/csv") {
			t.Fatalf("%d %s", resp.status, resp.header.Get("Content-Type"))
		}
		records, err := csv.NewReader(strings.NewReader(resp.body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want := [][]string{
			{"sub1", "clicks", "unique_clicks", "conversions", "approved", "rejected", "sale_amount", "revenue", "payout", "profit", "margin",
				"cvr", "epc", "off_target", "paused", "blocked", "capped", "denied", "unrouted"},
			{"alpha", "3", "1", "2", "1", "0", "50", "5", "5", "0", "0", "66.67", "1.6667", "0", "0", "0", "0", "0", "0"},
			{"beta", "1", "1", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0"},
		}
		if fmt.Sprint(records) != fmt.Sprint(want) {
			t.Errorf("csv\n%v\nwant\n%v", records, want)
		}
	})

	t.Run("stats bad input", func(t *testing.T) {
		for query, code := range map[string]string{
			"/v2/stats?date_to=" + today:                        "invalid_date_from",
			"/v2/stats?date_from=" + today:                      "invalid_date_to",
			"/v2/stats?date_from=2026-01-02&date_to=2026-01-01": "invalid_date_to",
			"/v2/stats?date_from=2024-01-01&date_to=2026-01-01": "invalid_date_to",
			statsPath + "&group_by=offer,planet":                "invalid_group_by",
			statsPath + "&group_by=minute":                      "invalid_group_by",
			statsPath + "&timezone=Mars/Olympus":                "invalid_timezone",
			statsPath + "&timezone=Local":                       "invalid_timezone",
			statsPath + "&limit=0":                              "invalid_limit",
			statsPath + "&limit=10001":                          "invalid_limit",
			statsPath + "&format=xml":                           "invalid_format",
			statsPath + "&offer_id=" + strings.Repeat("x", 300): "invalid_offer_id",
		} {
			var st consoleStats
			if got := s.admin("GET", query, "", &st); got != 400 || st.Error.Code != code || st.Error.Message == "" {
				t.Errorf("%s: %d %+v, want 400 %s", query, got, st.Error, code)
			}
		}
	})

	t.Run("live overview", func(t *testing.T) {
		testkit.Settle(t, "the live overview", stackWait, func() string {
			var live liveOverview
			if code := s.admin("GET", "/v2/stats/live?minutes=10", "", &live); code != 200 {
				return fmt.Sprintf("%d", code)
			}
			if len(live.Series) != 10 {
				return fmt.Sprintf("%d minutes, want 10", len(live.Series))
			}
			var clicks, conversions int
			var revenue float64
			for i, m := range live.Series {
				at, err := time.Parse(time.RFC3339, m.Minute)
				if err != nil || i > 0 && at.Sub(mustTime(live.Series[i-1].Minute)) != time.Minute {
					return fmt.Sprintf("minute %d is %q", i, m.Minute)
				}
				clicks, conversions, revenue = clicks+m.Clicks, conversions+m.Conversions, revenue+m.Revenue
			}
			if clicks != 4 || conversions != 2 || revenue != 5 {
				return fmt.Sprintf("series adds to %d clicks, %d conversions, %v revenue", clicks, conversions, revenue)
			}
			offers, affs, countries := live.Top["offers"], live.Top["affiliates"], live.Top["countries"]
			if len(offers) != 1 || offers[0].Name != "Summer Promo" || offers[0].Clicks != 4 ||
				len(affs) != 2 || affs[0].Name != "Jane Media" || affs[0].Clicks != 3 || len(countries) == 0 {
				return fmt.Sprintf("top %+v", live.Top)
			}
			if live.Postbacks.Delivered < 2 {
				return fmt.Sprintf("postbacks %+v", live.Postbacks)
			}
			return ""
		})
		for _, q := range []string{"minutes=0", "minutes=1441", "minutes=ten"} {
			var st consoleStats
			if code := s.admin("GET", "/v2/stats/live?"+q, "", &st); code != 400 || st.Error.Code != "invalid_minutes" {
				t.Errorf("%s: %d %+v", q, code, st.Error)
			}
		}
	})

	t.Run("conversions", func(t *testing.T) {
		var one struct {
			Conversion consoleConversion `json:"conversion"`
		}
		if code := s.admin("GET", "/v2/conversions/"+convIDs[0], "", &one); code != 200 {
			t.Fatalf("GET one: %d", code)
		}
		c := one.Conversion
		if c.ID != convIDs[0] || c.Status != "approved" || c.PreviousStatus != "pending" || c.Version != 2 || c.ClickID != cids[0] ||
			c.ClickedAt == "" || c.OfferID != n.offerID || c.OfferName != "Summer Promo" || c.AffiliateID != n.affiliateID ||
			c.AffiliateName != "Jane Media" || c.AdvertiserID != n.advertiserID || c.AdvertiserName != "Acme" ||
			c.Sub1 != "alpha" || c.Sub2 != "banner" || c.Country != "GB" || c.TxID != "T-1" || c.Amount != 40 || c.Payout != 2.5 {
			t.Errorf("conversion %+v", c)
		}
		// One shape: the PATCH answered the conversion as GET now reads it,
		// field for field (the warehouse's copy is the changed version).
		var read struct {
			Conversion map[string]any `json:"conversion"`
		}
		s.admin("GET", "/v2/conversions/"+convIDs[0], "", &read)
		if fmt.Sprint(read.Conversion) != fmt.Sprint(patched.Conversion) {
			t.Errorf("PATCH answered\n%v\nGET reads\n%v", patched.Conversion, read.Conversion)
		}
		var listed consoleConversions
		s.admin("GET", "/v2/conversions?status=approved", "", &listed)
		if len(listed.Conversions) != 1 || listed.Conversions[0] != c {
			t.Errorf("the list's conversion %+v, GET's %+v", listed.Conversions, c)
		}
		cases := []struct {
			query       string
			total, rows int
			first       string
		}{
			{"", 2, 2, convIDs[1]}, // newest first, the last 7 days by default
			{"?date_from=" + today + "&date_to=" + today + "&status=all", 2, 2, convIDs[1]},
			{"?status=approved", 1, 1, convIDs[0]},
			{"?status=pending&affiliate_id=" + n.affiliateID, 1, 1, convIDs[1]},
			{"?affiliate_id=" + other.ID, 0, 0, ""},
			{"?advertiser_id=" + n.advertiserID + "&offer_id=" + n.offerID + "&per_page=1&page=2", 2, 1, convIDs[0]},
			{"?page=3&per_page=1", 2, 0, ""},
			{"?date_from=2020-01-01&date_to=2020-01-31", 0, 0, ""},
		}
		for _, cs := range cases {
			var list consoleConversions
			if code := s.admin("GET", "/v2/conversions"+cs.query, "", &list); code != 200 {
				t.Errorf("%s: %d %+v", cs.query, code, list.Error)
				continue
			}
			first := ""
			if len(list.Conversions) > 0 {
				first = list.Conversions[0].ID
			}
			if list.Meta.Total != cs.total || len(list.Conversions) != cs.rows || first != cs.first {
				t.Errorf("%s: total %d, %d rows, first %q; want %d, %d, %q", cs.query, list.Meta.Total, len(list.Conversions), first, cs.total, cs.rows, cs.first)
			}
		}
		for query, code := range map[string]string{
			"?per_page=101":                          "invalid_per_page",
			"?page=0":                                "invalid_page",
			"?status=paid":                           "invalid_status",
			"?date_from=" + today:                    "invalid_date_to",
			"?date_from=01/02/2026&date_to=" + today: "invalid_date_from",
		} {
			var list consoleConversions
			if got := s.admin("GET", "/v2/conversions"+query, "", &list); got != 400 || list.Error.Code != code {
				t.Errorf("%s: %d %+v, want 400 %s", query, got, list.Error, code)
			}
		}
		for _, id := range []string{"conv_doesnotexist", "not-a-conversion"} {
			if code := s.admin("GET", "/v2/conversions/"+id, "", nil); code != 404 {
				t.Errorf("GET %s: %d, want 404", id, code)
			}
		}
	})

	t.Run("endpoints and search", func(t *testing.T) {
		var ep struct {
			Endpoint struct {
				ID string `json:"id"`
			} `json:"endpoint"`
		}
		for _, kind := range []string{"primary", "secondary"} {
			if code := s.admin("POST", "/v2/pb-endpoints", fmt.Sprintf(`{"advertiser_id":%q,"kind":%q}`, n.advertiserID, kind), &ep); code != 201 {
				t.Fatalf("create %s endpoint: %d", kind, code)
			}
		}
		type page struct {
			Endpoints []struct {
				ID   string `json:"id"`
				Kind string `json:"kind"`
			} `json:"endpoints"`
			Advertisers []any `json:"advertisers"`
			Affiliates  []any `json:"affiliates"`
			Offers      []any `json:"offers"`
			Postbacks   []any `json:"postbacks"`
			Meta        struct {
				Total int `json:"total"`
			} `json:"meta"`
		}
		var eps page
		if code := s.admin("GET", "/v2/pb-endpoints?advertiser_id="+url.QueryEscape(n.advertiserID), "", &eps); code != 200 ||
			eps.Meta.Total != 2 || len(eps.Endpoints) != 2 || eps.Endpoints[0].Kind == eps.Endpoints[1].Kind {
			t.Errorf("endpoints: %d %+v", code, eps)
		}
		if s.admin("GET", "/v2/pb-endpoints?advertiser_id=nobody", "", &eps); eps.Meta.Total != 0 {
			t.Errorf("another advertiser's endpoints: %+v", eps)
		}
		if s.admin("GET", "/v2/pb-endpoints?q="+strings.ToUpper(ep.Endpoint.ID[:8]), "", &eps); eps.Meta.Total != 1 {
			t.Errorf("endpoint search: %+v", eps)
		}
		cases := []struct {
			path  string
			total int
			rows  func(p *page) int
		}{
			{"/v2/advertisers?q=ACME", 1, func(p *page) int { return len(p.Advertisers) }},
			{"/v2/advertisers?q=acme.example", 1, func(p *page) int { return len(p.Advertisers) }}, // the e-mail
			{"/v2/advertisers?q=globex", 0, func(p *page) int { return len(p.Advertisers) }},
			{"/v2/affiliates?q=zeta", 1, func(p *page) int { return len(p.Affiliates) }},
			{"/v2/affiliates?q=" + n.affiliateID + "&per_page=1", 1, func(p *page) int { return len(p.Affiliates) }},
			{"/v2/affiliates", 2, func(p *page) int { return len(p.Affiliates) }},
			{"/v2/offers?q=summer%20PROMO", 1, func(p *page) int { return len(p.Offers) }},
			{"/v2/offers?q=winter", 0, func(p *page) int { return len(p.Offers) }},
			{"/v2/postbacks?q=jane", 1, func(p *page) int { return len(p.Postbacks) }},
			{"/v2/postbacks?q=zeta", 0, func(p *page) int { return len(p.Postbacks) }},
		}
		for _, c := range cases {
			var p page
			if code := s.admin("GET", c.path, "", &p); code != 200 || p.Meta.Total != c.total || c.rows(&p) != c.total {
				t.Errorf("%s: %d, total %d, %d rows; want %d", c.path, code, p.Meta.Total, c.rows(&p), c.total)
			}
		}
		var bad consoleStats
		if code := s.admin("GET", "/v2/offers?q="+strings.Repeat("a", 201), "", &bad); code != 400 || bad.Error.Code != "invalid_q" {
			t.Errorf("long q: %d %+v", code, bad.Error)
		}
	})
}

func mustTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}
