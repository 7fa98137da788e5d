package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
)

// affiliateAccount is an affiliate created through the admin API.
type affiliateAccount struct {
	ID     string `json:"id"`
	APIKey string `json:"api_key"`
	AppID  string `json:"app_id"`
}

func (a affiliateAccount) auth() map[string]string {
	return map[string]string{"Authorization": "Bearer " + a.APIKey}
}

func (s *stack) createAffiliate(body string) affiliateAccount {
	s.t.Helper()
	var out struct {
		Affiliate affiliateAccount `json:"affiliate"`
	}
	if code := s.admin("POST", "/v2/affiliates", body, &out); code != 201 || out.Affiliate.AppID == "" {
		s.t.Fatalf("create affiliate %s: %d %+v", body, code, out)
	}
	return out.Affiliate
}

func (s *stack) createOffer(fields map[string]any) string {
	s.t.Helper()
	body, _ := json.Marshal(fields)
	var out struct {
		Offer struct {
			ID string `json:"id"`
		} `json:"offer"`
	}
	if code := s.admin("POST", "/v2/offers", string(body), &out); code != 201 {
		s.t.Fatalf("create offer %s: %d", body, code)
	}
	return out.Offer.ID
}

// convert reports a sale on a click as the advertiser's server does.
func (s *stack) convert(advertiserKey, clickID, txid string) string {
	s.t.Helper()
	var out struct {
		Data struct {
			ConversionID string `json:"conversionId"`
		} `json:"data"`
	}
	body := fmt.Sprintf(`{"click_id":%q,"amount":"100","txid":%q,"customer_id":"cust-%s"}`, clickID, txid, txid)
	if code := s.call("POST", "/api/v1/conversions", map[string]string{"X-API-Key": advertiserKey}, body, &out); code != 200 || out.Data.ConversionID == "" {
		s.t.Fatalf("conversion on %s: %d %+v", clickID, code, out)
	}
	return out.Data.ConversionID
}

type offersPage struct {
	Data []struct {
		ID             string   `json:"id"`
		Name           string   `json:"name"`
		Payout         float64  `json:"payout"`
		PayoutType     string   `json:"payout_type"`
		Geo            []string `json:"geo"`
		Status         string   `json:"status"`
		CreativesCount *int     `json:"creatives_count"`
		EPCAvg         float64  `json:"epc_avg"`
		TrackingLink   string   `json:"tracking_link"`
	} `json:"data"`
	Meta struct {
		Total   int `json:"total"`
		Page    int `json:"page"`
		PerPage int `json:"per_page"`
	} `json:"meta"`
}

type conversionsPage struct {
	Data []json.RawMessage `json:"data"` // read with rows
	Meta struct {
		Total   int `json:"total"`
		Page    int `json:"page"`
		PerPage int `json:"per_page"`
	} `json:"meta"`
}

// rows reads the page's conversions field by field.
func (p conversionsPage) rows(t *testing.T) []testkit.JSONValue {
	t.Helper()
	var rows []testkit.JSONValue
	for _, raw := range p.Data {
		rows = append(rows, testkit.JSON(t, raw))
	}
	return rows
}

type feedAnswer struct {
	C   int    `json:"c"`
	Msg string `json:"msg"`
	D   struct {
		P    int `json:"p"`
		N    int `json:"n"`
		Tot  int `json:"tot"`
		Data []struct {
			ID             string   `json:"id"`
			Icon           string   `json:"icon"`
			Name           string   `json:"name"`
			ConversionFlow string   `json:"conversion_flow"`
			TrackingLink   string   `json:"tracking_link"`
			Payout         string   `json:"payout"`
			Package        string   `json:"package"`
			OfferType      string   `json:"offer_type"`
			PayoutType     string   `json:"payout_type"`
			OS             string   `json:"os"`
			Countries      []string `json:"countries"`
			OSVersion      string   `json:"os_version"`
		} `json:"data"`
	} `json:"d"`
}

func (f *feedAnswer) ids() []string {
	var out []string
	for _, o := range f.D.Data {
		out = append(out, o.ID)
	}
	return out
}

type affiliateErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Status  int    `json:"status"`
	} `json:"error"`
}

// TestAffiliateReadsAndPublisherFeed runs seed 000's reads and seed 001's
// feed on the real stack with real clicks and conversions.
func TestAffiliateReadsAndPublisherFeed(t *testing.T) {
	s := startStack(t)
	n := s.setUp("https://shop.example.com/land?cid={click_id}&aff={aff_id}")
	rival := s.createAffiliate(`{"name":"Rival Media"}`)
	statsOnly := s.createAffiliate(`{"name":"Stats Only","scopes":["read:stats"]}`)
	// The publisher pulling the feed with its app_id.
	publisher := s.createAffiliate(`{"name":"Jane Apps"}`)

	webOffer := n.offerID // untargeted, any OS, cpa 2.5
	appOffer := s.createOffer(map[string]any{"name": "Plus500: CFD Online Trading", "advertiser_id": n.advertiserID,
		"tracking_url": "https://play.example.com/store?cid={click_id}&aff={aff_id}", "payout": 3.6, "payout_type": "cpa",
		"os": "android", "countries": []string{"GB", "DE"}, "package": "com.Plus500", "icon": "https://cdn.example.com/plus500.png",
		"conversion_flow": "1.Download and open the app\n2.Sign up", "os_version": "8.0+", "vertical": "finance"})
	iosOffer := s.createOffer(map[string]any{"name": "iOS US", "advertiser_id": n.advertiserID,
		"tracking_url": "https://apps.example.com/x?cid={click_id}", "payout": 1, "payout_type": "cpl", "os": "ios", "countries": []string{"US"}})
	pausedOffer := s.createOffer(map[string]any{"name": "Paused", "advertiser_id": n.advertiserID,
		"tracking_url": "https://paused.example.com/?cid={click_id}", "payout": 4, "payout_type": "revshare", "status": "paused"})

	// Real traffic: Jane clicks twice and converts once on the web offer;
	// the rival clicks once and converts once on it too.
	var janeClick string
	for i := range 2 {
		code, loc := s.click(fmt.Sprintf("/click/%s?aff_id=%s&sub1=jane-%d", webOffer, n.affiliateID, i))
		if code != 302 {
			t.Fatalf("click: %d", code)
		}
		janeClick = clickID(t, loc, "cid")
	}
	janeConv := s.convert(n.advertiserKey, janeClick, "JANE-1")
	_, loc := s.click(fmt.Sprintf("/click/%s?aff_id=%s", webOffer, rival.ID))
	rivalConv := s.convert(n.advertiserKey, clickID(t, loc, "cid"), "RIVAL-1")

	// Straight into the warehouse, as the sink writes them: a conversion of
	// Jane's the advertiser reversed, and a test conversion of Jane's.
	nowMS := time.Now().UnixMilli()
	stored := []model.Conversion{
		{ID: "conv_reversed_1", Version: 2, Time: nowMS - 120_000, UpdatedTime: nowMS, Status: model.ConversionReversed,
			PrevStatus: model.ConversionPending, ClickID: "c-rev", ClickTime: nowMS - 2000, OfferID: pausedOffer,
			AffiliateID: n.affiliateID, AdvertiserID: n.advertiserID, Currency: "USD", PayoutMicros: 4_000_000, PayoutType: "revshare"},
		{ID: "conv_test_1", Version: 1, Time: nowMS, UpdatedTime: nowMS, Status: model.ConversionPending, ClickID: "test_c",
			ClickTime: nowMS, OfferID: pausedOffer, AffiliateID: n.affiliateID, AdvertiserID: n.advertiserID,
			Currency: "USD", PayoutMicros: 1_000_000, PayoutType: "revshare", Test: true},
	}
	if err := s.ch.InsertConversions(context.Background(), stored); err != nil {
		t.Fatal(err)
	}

	janeAuth := map[string]string{"Authorization": "Bearer " + n.affiliateKey}
	today := time.Now().UTC().Format("2006-01-02")
	// Conversions are listed over two days, so one stored two minutes ago
	// is in range even just after midnight.
	days := "date_from=" + time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02") + "&date_to=" + today

	t.Run("offers list with epc from real stats", func(t *testing.T) {
		// Network-wide: (2.5 + 2.5) paid over 3 clicks.
		testkit.Poll(t, "epc_avg of the web offer", stackWait, func() (bool, string) {
			var page offersPage
			if code := s.call("GET", "/v1/offers", janeAuth, "", &page); code != 200 {
				t.Fatalf("GET /v1/offers: %d", code)
			}
			for _, o := range page.Data {
				if o.ID == webOffer {
					return o.EPCAvg == 1.6667, fmt.Sprintf("%+v", page)
				}
			}
			return false, fmt.Sprintf("%+v", page)
		})
		var page offersPage
		s.call("GET", "/v1/offers", janeAuth, "", &page)
		if page.Meta.Total != 3 || page.Meta.Page != 1 || page.Meta.PerPage != 25 || len(page.Data) != 3 {
			t.Fatalf("active offers: %+v", page)
		}
		for _, o := range page.Data {
			want := s.base + "/click/" + o.ID + "?aff_id=" + n.affiliateID
			if o.TrackingLink != want || o.Status != "active" || o.CreativesCount == nil || o.Geo == nil {
				t.Fatalf("offer %+v: want tracking_link %s, a status, creatives_count and a geo list", o, want)
			}
		}
		// A link from the list, clicked, is attributed to Jane.
		link, _ := url.Parse(page.Data[0].TrackingLink)
		if code, loc := s.click(link.RequestURI()); code != 302 || !strings.Contains(loc, "aff="+n.affiliateID) {
			t.Fatalf("the offer's tracking_link: %d %s", code, loc)
		}
	})

	t.Run("offers filters and the end of pagination", func(t *testing.T) {
		cases := []struct {
			query string
			ids   []string
			total int
		}{
			{"?status=all", []string{webOffer, appOffer, iosOffer, pausedOffer}, 4},
			{"?status=paused", []string{pausedOffer}, 1},
			{"?geo=de", []string{webOffer, appOffer}, 2}, // untargeted offers run everywhere
			{"?geo=US&payout_type=cpl", []string{iosOffer}, 1},
			{"?status=all&per_page=2&page=2", []string{iosOffer, pausedOffer}, 4},
			{"?status=all&per_page=2&page=3", nil, 4},
			{"?status=all&page=500", nil, 4},
		}
		for _, c := range cases {
			var page offersPage
			if code := s.call("GET", "/v1/offers"+c.query, janeAuth, "", &page); code != 200 {
				t.Fatalf("%s: %d", c.query, code)
			}
			var ids []string
			for _, o := range page.Data {
				ids = append(ids, o.ID)
			}
			if !slices.Equal(ids, c.ids) || page.Meta.Total != c.total || page.Data == nil {
				t.Errorf("%s: offers %v total %d, want %v total %d (and data a list)", c.query, ids, page.Meta.Total, c.ids, c.total)
			}
		}
	})

	t.Run("one offer in full, by ID or slug; unknown is 404", func(t *testing.T) {
		answer := s.raw("GET", "/v1/offers/"+appOffer, janeAuth, "")
		if answer.status != 200 {
			t.Fatalf("GET offer: %d", answer.status)
		}
		detail := testkit.JSON(t, answer.body)
		if detail.Get("package").String() != "com.Plus500" || detail.Get("os").String() != "android" || detail.Get("currency").String() != "USD" ||
			detail.Get("geo").Text() != `["GB","DE"]` || detail.Get("payout").Float() != 3.6 || detail.Get("epc_avg").Float() != 0 {
			t.Fatalf("offer detail %v", detail)
		}
		template := detail.Get("tracking_link_template").String()
		for i := 1; i <= 5; i++ {
			if !strings.Contains(template, fmt.Sprintf("&sub%d={sub%d}", i, i)) {
				t.Fatalf("tracking_link_template %q lacks sub%d", template, i)
			}
		}
		if params := detail.Get("tracking_parameters"); params.Len() != 6 {
			t.Fatalf("tracking_parameters %v", params)
		}
		if detail.Has("tracking_url") {
			t.Fatal("the advertiser's tracking_url is shown to affiliates")
		}
		slug := detail.Get("slug").String()
		bySlug := s.raw("GET", "/v1/offers/"+slug, janeAuth, "")
		if bySlug.status != 200 || testkit.JSON(t, bySlug.body).Get("id").String() != appOffer {
			t.Fatalf("offer by slug %q: %d %s", slug, bySlug.status, bySlug.body)
		}
		var notFound affiliateErrorBody
		if code := s.call("GET", "/v1/offers/999999", janeAuth, "", &notFound); code != 404 ||
			notFound.Error.Code != "NOT_FOUND" || notFound.Error.Status != 404 || notFound.Error.Message == "" {
			t.Fatalf("unknown offer: %d %+v", code, notFound)
		}
	})

	t.Run("conversions: own only, never test, newest first", func(t *testing.T) {
		var page conversionsPage
		query := "/v1/conversions?" + days
		testkit.Poll(t, "Jane's conversions", stackWait, func() (bool, string) {
			page = conversionsPage{}
			if code := s.call("GET", query, janeAuth, "", &page); code != 200 {
				t.Fatalf("GET conversions: %d", code)
			}
			return page.Meta.Total == 2 && len(page.Data) == 2, fmt.Sprintf("%+v", page)
		})
		var ids []string
		var mine testkit.JSONValue
		for _, c := range page.rows(t) {
			id := c.Get("conversion_id").String()
			ids = append(ids, id)
			if id == rivalConv || id == "conv_test_1" {
				t.Fatalf("listed %v", c)
			}
			for _, hidden := range []string{"customer_id", "txid", "amount", "advertiser_id", "adv_id"} {
				if c.Has(hidden) {
					t.Fatalf("conversion shows %s: %v", hidden, c)
				}
			}
			if id == janeConv {
				mine = c
			}
		}
		if !slices.Contains(ids, janeConv) || !slices.Contains(ids, "conv_reversed_1") {
			t.Fatalf("conversions %v, want %s and conv_reversed_1", ids, janeConv)
		}
		createdAt := mine.Get("created_at").String()
		created, err := time.Parse(time.RFC3339, createdAt)
		if err != nil || mine.Get("click_id").String() != janeClick || mine.Get("offer_id").String() != webOffer || mine.Get("status").String() != "pending" ||
			mine.Get("payout").Float() != 2.5 || mine.Get("currency").String() != "USD" || mine.Get("sub1").String() != "jane-1" || mine.Get("geo").String() != "GB" ||
			time.Since(created) > time.Hour || !strings.HasSuffix(createdAt, "Z") {
			t.Fatalf("Jane's conversion %v", mine)
		}
		// The rival sees its own and nothing of Jane's.
		var theirs conversionsPage
		testkit.Poll(t, "the rival's conversions", stackWait, func() (bool, string) {
			theirs = conversionsPage{}
			s.call("GET", query, rival.auth(), "", &theirs)
			return theirs.Meta.Total == 1, fmt.Sprintf("%+v", theirs)
		})
		if theirs.rows(t)[0].Get("conversion_id").String() != rivalConv {
			t.Fatalf("rival sees %v", theirs.Data)
		}
	})

	t.Run("conversions: status filter, offer filter, end of pagination", func(t *testing.T) {
		base := "/v1/conversions?" + days
		cases := []struct {
			query  string
			ids    []string
			total  int
			status string
		}{
			{"&status=rejected", []string{"conv_reversed_1"}, 1, "rejected"}, // reversed shows as rejected
			{"&status=pending", []string{janeConv}, 1, "pending"},
			{"&status=approved", nil, 0, ""},
			{"&offer_id=" + webOffer, []string{janeConv}, 1, "pending"},
			{"&per_page=1", []string{janeConv}, 2, "pending"}, // newest first
			{"&per_page=1&page=2", []string{"conv_reversed_1"}, 2, "rejected"},
			{"&per_page=1&page=3", nil, 2, ""},
		}
		for _, c := range cases {
			var page conversionsPage
			if code := s.call("GET", base+c.query, janeAuth, "", &page); code != 200 {
				t.Fatalf("%s: %d", c.query, code)
			}
			var ids []string
			for _, conv := range page.rows(t) {
				ids = append(ids, conv.Get("conversion_id").String())
				if status := conv.Get("status").String(); status != c.status {
					t.Errorf("%s: status %v, want %s", c.query, status, c.status)
				}
			}
			if !slices.Equal(ids, c.ids) || page.Meta.Total != c.total || page.Data == nil {
				t.Errorf("%s: %v total %d, want %v total %d (and data a list)", c.query, ids, page.Meta.Total, c.ids, c.total)
			}
		}
	})

	t.Run("scopes and bad parameters answer in seed 000's envelope", func(t *testing.T) {
		cases := []struct {
			name, path string
			auth       map[string]string
			status     int
			code       string
			mentions   string
		}{
			{"offers without read:offers", "/v1/offers", statsOnly.auth(), 403, "FORBIDDEN", "read:offers"},
			{"offer without read:offers", "/v1/offers/" + webOffer, statsOnly.auth(), 403, "FORBIDDEN", "read:offers"},
			{"conversions without read:conversions", "/v1/conversions?date_from=" + today + "&date_to=" + today, statsOnly.auth(), 403, "FORBIDDEN", "read:conversions"},
			{"no key", "/v1/offers", nil, 401, "UNAUTHORIZED", ""},
			{"geo not alpha-2", "/v1/offers?geo=USA", janeAuth, 400, "BAD_REQUEST", "geo"},
			{"unknown payout_type", "/v1/offers?payout_type=cpm", janeAuth, 400, "BAD_REQUEST", "payout_type"},
			{"unknown status", "/v1/offers?status=archived", janeAuth, 400, "BAD_REQUEST", "status"},
			{"per_page over 100", "/v1/offers?per_page=101", janeAuth, 400, "BAD_REQUEST", "per_page"},
			{"page zero", "/v1/conversions?date_from=" + today + "&date_to=" + today + "&page=0", janeAuth, 400, "BAD_REQUEST", "page"},
			{"no date_from", "/v1/conversions?date_to=" + today, janeAuth, 400, "BAD_REQUEST", "date_from"},
			{"bad date_to", "/v1/conversions?date_from=" + today + "&date_to=tomorrow", janeAuth, 400, "BAD_REQUEST", "date_to"},
			{"conversion status reversed", "/v1/conversions?date_from=" + today + "&date_to=" + today + "&status=reversed", janeAuth, 400, "BAD_REQUEST", "status"},
		}
		for _, c := range cases {
			var body affiliateErrorBody
			if code := s.call("GET", c.path, c.auth, "", &body); code != c.status || body.Error.Code != c.code ||
				body.Error.Status != c.status || !strings.Contains(body.Error.Message, c.mentions) {
				t.Errorf("%s: %d %+v, want %d %s naming %q", c.name, code, body, c.status, c.code, c.mentions)
			}
		}
		// Listing postbacks needs a valid key, not write:postback.
		var list struct {
			Data []any `json:"data"`
		}
		if code := s.call("GET", "/v1/postbacks", statsOnly.auth(), "", &list); code != 200 || list.Data == nil {
			t.Fatalf("list postbacks with a read:stats key: %d", code)
		}
		var denied affiliateErrorBody
		if code := s.call("POST", "/v1/postbacks", statsOnly.auth(), `{"url":"https://t.example/pb"}`, &denied); code != 403 || denied.Error.Code != "FORBIDDEN" {
			t.Fatalf("create postback with a read:stats key: %d %+v", code, denied)
		}
	})

	t.Run("publisher feed", func(t *testing.T) {
		feed := func(query string, headers map[string]string) (int, feedAnswer) {
			var out feedAnswer
			code := s.call("GET", "/v1/s2s/offers?"+query, headers, "", &out)
			return code, out
		}
		app := "app_id=" + url.QueryEscape(publisher.AppID)
		errCases := []struct {
			name, query string
			status, c   int
		}{
			{"unknown app_id", "app_id=nope&os=ios", 401, 1001},
			{"no app_id", "os=ios", 401, 1001},
			{"no os", app, 400, 1002},
			{"android without gaid", app + "&os=android&andid=9774d56d682e549c", 400, 1003},
			{"android without andid", app + "&os=android&gaid=38400000-8cf0-11bd-b23e-10b96e40000d", 400, 1004},
			{"bad country", app + "&os=ios&country=GBR", 400, 1005},
			{"page_size over 10000", app + "&os=ios&page_size=10001", 400, 1006},
		}
		for _, c := range errCases {
			code, out := feed(c.query, nil)
			if code != c.status || out.C != c.c || out.Msg == "" {
				t.Errorf("%s: %d %+v, want %d with c=%d and a msg", c.name, code, out, c.status, c.c)
			}
		}

		// The country defaults to the caller's: 81.2.69.142 is in GB.
		gaid, andid := "38400000-8cf0-11bd-b23e-10b96e40000d", "9774d56d682e549c"
		code, out := feed(app+"&os=android&gaid="+gaid+"&andid="+andid+"&thirdparty_id=tp-7",
			map[string]string{"X-Forwarded-For": "81.2.69.142"})
		if code != 200 || out.C != 0 || out.D.P != 1 || out.D.N != 100 || out.D.Tot != 2 ||
			!slices.Equal(out.ids(), []string{webOffer, appOffer}) {
			t.Fatalf("android feed from GB: %d %+v", code, out)
		}
		o := out.D.Data[1]
		if o.Payout != "3.60" || o.Package != "com.Plus500" || o.OS != "android" || o.OfferType != "app" || o.PayoutType != "CPI" ||
			!slices.Equal(o.Countries, []string{"GB", "DE"}) || o.OSVersion != "8.0+" || o.Icon == "" || o.ConversionFlow == "" {
			t.Fatalf("app offer in the feed %+v", o)
		}
		link, err := url.Parse(o.TrackingLink)
		if err != nil || !strings.HasPrefix(o.TrackingLink, s.base+"/click/"+appOffer+"?") || link.Query().Get("aff_id") != publisher.ID ||
			link.Query().Get("gaid") != gaid || link.Query().Get("andid") != andid || link.Query().Get("thirdparty_id") != "tp-7" {
			t.Fatalf("tracking_link %q", o.TrackingLink)
		}
		// From Japan the GB/DE app offer is out; an explicit country wins
		// over the IP.
		if _, out := feed(app+"&os=android&gaid=g&andid=a", map[string]string{"X-Forwarded-For": "133.242.0.1"}); !slices.Equal(out.ids(), []string{webOffer}) {
			t.Fatalf("android feed from JP: %v", out.ids())
		}
		if _, out := feed(app+"&os=android&gaid=g&andid=a&country=de", map[string]string{"X-Forwarded-For": "133.242.0.1"}); !slices.Equal(out.ids(), []string{webOffer, appOffer}) {
			t.Fatalf("android feed with country=de: %v", out.ids())
		}
		// The OS filter: iOS sees the iOS offer, not the Android one.
		if _, out := feed(app+"&os=ios&country=US", nil); !slices.Equal(out.ids(), []string{webOffer, iosOffer}) || out.D.Data[1].PayoutType != "CPL" {
			t.Fatalf("ios feed in the US: %+v", out)
		}
		// The end of pagination: the right total, an empty page.
		if code, out := feed(app+"&os=ios&country=US&page=2&page_size=2", nil); code != 200 || out.D.Tot != 2 || out.D.Data == nil || len(out.D.Data) != 0 {
			t.Fatalf("past the end: %d %+v", code, out)
		}

		// The feed's link, clicked on an Android phone, redirects and is
		// attributed to Jane.
		status, location := s.clickAs(link.RequestURI(), androidUA)
		if status != 302 || !strings.HasPrefix(location, "https://play.example.com/store?") {
			t.Fatalf("feed link click: %d %s", status, location)
		}
		if got := clickID(t, location, "aff"); got != publisher.ID {
			t.Fatalf("click attributed to %q, want %q", got, publisher.ID)
		}
		testkit.Poll(t, "the feed click in Jane's stats", stackWait, func() (bool, string) {
			var stats struct {
				Data []struct {
					OfferID string `json:"offer_id"`
					Clicks  int    `json:"clicks"`
				} `json:"data"`
			}
			s.call("GET", "/v1/stats?date_from="+today+"&date_to="+today+"&group_by=offer&offer_id="+appOffer, publisher.auth(), "", &stats)
			return len(stats.Data) == 1 && stats.Data[0].OfferID == appOffer && stats.Data[0].Clicks == 1, fmt.Sprintf("%+v", stats)
		})
	})
}
