package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// seed002Conversion is seed 002's conversion object.
type seed002Conversion struct {
	ID                    string  `json:"id"`
	OfferCode             string  `json:"offerCode"`
	VendorTxID            *string `json:"vendorTxId"`
	Currency              string  `json:"currency"`
	SaleAmountCents       int64   `json:"saleAmountCents"`
	AdvertiserPayoutCents int64   `json:"advertiserPayoutCents"`
	Status                string  `json:"status"`
	CreatedAt             int64   `json:"createdAt"`
}

type seed002Page[T any] struct {
	Success bool `json:"success"`
	Data    []T  `json:"data"`
	Meta    struct {
		Pagination struct {
			HasMore    bool    `json:"hasMore"`
			NextCursor *string `json:"nextCursor"`
		} `json:"pagination"`
	} `json:"meta"`
}

type seed002Error struct {
	Success bool `json:"success"`
	Error   struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type seed002Stats struct {
	Success bool `json:"success"`
	Data    struct {
		Summary struct {
			TotalClicks         int64  `json:"totalClicks"`
			TotalConversions    int64  `json:"totalConversions"`
			ApprovedConversions int64  `json:"approvedConversions"`
			TotalRevenueCents   int64  `json:"totalRevenueCents"`
			ConversionRate      string `json:"conversionRate"`
		} `json:"summary"`
		ByOffer []struct {
			OfferCode    string `json:"offerCode"`
			OfferName    string `json:"offerName"`
			Currency     string `json:"currency"`
			Clicks       int64  `json:"clicks"`
			Conversions  int64  `json:"conversions"`
			RevenueCents int64  `json:"revenueCents"`
		} `json:"byOffer"`
		TimeSeries []struct {
			Date        string `json:"date"`
			Clicks      int64  `json:"clicks"`
			Conversions int64  `json:"conversions"`
		} `json:"timeSeries"`
	} `json:"data"`
}

type seed002TestSession struct {
	Success bool `json:"success"`
	Data    struct {
		Status     string `json:"status"`
		Validation *struct {
			SignatureValid bool     `json:"signatureValid"`
			FieldsValid    bool     `json:"fieldsValid"`
			Errors         []string `json:"errors"`
		} `json:"validation"`
		Conversion *struct {
			ID                    *string `json:"id"`
			VendorTxID            *string `json:"vendorTxId"`
			Amount                *string `json:"amount"`
			SaleAmountCents       int64   `json:"saleAmountCents"`
			AdvertiserPayoutCents int64   `json:"advertiserPayoutCents"`
		} `json:"conversion"`
	} `json:"data"`
}

// The advertiser API's reads and test sessions on the real engines: real
// clicks and conversions flow through Kafka and the sink into ClickHouse,
// test conversions go through the same validation and nowhere else.
func TestAdvertiserAPI(t *testing.T) {
	s := startStack(t)
	n := s.setUp("https://shop.example.com/land?cid={click_id}")
	receiver := newReceiver(t)
	adv := map[string]string{"X-API-Key": n.advertiserKey, "Content-Type": "application/json"}

	var offer struct {
		Offer struct {
			Slug string `json:"slug"`
		} `json:"offer"`
	}
	if code := s.admin("GET", "/v2/offers/"+n.offerID, "", &offer); code != 200 || offer.Offer.Slug == "" {
		t.Fatalf("offer slug: %d %+v", code, offer)
	}
	slug := offer.Offer.Slug
	// A CPS offer of the same advertiser, and another advertiser with its own.
	var cps struct {
		Offer struct {
			ID, Slug string
		} `json:"offer"`
	}
	if code := s.admin("POST", "/v2/offers", fmt.Sprintf(`{"name":"Revenue Share","tracking_url":"https://shop.example.com/?c={click_id}","advertiser_id":%q,"payout":15,"payout_type":"cps","status":"paused"}`, n.advertiserID), &cps); code != 201 {
		t.Fatalf("cps offer: %d", code)
	}
	var other struct {
		Advertiser struct {
			ID     string `json:"id"`
			APIKey string `json:"api_key"`
		} `json:"advertiser"`
	}
	if code := s.admin("POST", "/v2/advertisers", `{"name":"Other Corp","contact_email":"x@other.example"}`, &other); code != 201 {
		t.Fatalf("other advertiser: %d", code)
	}
	otherKey := map[string]string{"X-API-Key": other.Advertiser.APIKey, "Content-Type": "application/json"}
	var otherOffer struct {
		Offer struct {
			Slug string `json:"slug"`
		} `json:"offer"`
	}
	if code := s.admin("POST", "/v2/offers", fmt.Sprintf(`{"name":"Other Offer","tracking_url":"https://other.example/?c={click_id}","advertiser_id":%q,"payout":1}`, other.Advertiser.ID), &otherOffer); code != 201 {
		t.Fatalf("other offer: %d", code)
	}
	if code := s.call("POST", "/v1/postbacks", map[string]string{"Authorization": "Bearer " + n.affiliateKey},
		fmt.Sprintf(`{"url":%q}`, receiver.URL+"/pb?cid={click_id}&tx={txid}"), nil); code != 200 {
		t.Fatalf("register postback: %d", code)
	}

	// Three real sales, each postbacked.
	convert := func(clickID, extra string) (int, string) {
		t.Helper()
		var out struct {
			Data struct {
				Tracked      bool   `json:"tracked"`
				ConversionID string `json:"conversionId"`
			} `json:"data"`
		}
		code := s.call("POST", "/api/v1/conversions", adv, fmt.Sprintf(`{"click_id":%q%s}`, clickID, extra), &out)
		return code, out.Data.ConversionID
	}
	realClicks := map[string]bool{}
	var realIDs []string
	newClick := func() string {
		t.Helper()
		status, location := s.click(fmt.Sprintf("/click/%s?aff_id=%s", n.offerID, n.affiliateID))
		if status != 302 {
			t.Fatalf("click: %d", status)
		}
		id := clickID(t, location, "cid")
		realClicks[id] = true
		return id
	}
	for i := range 3 {
		code, id := convert(newClick(), fmt.Sprintf(`,"amount":"149.99","txid":"ORDER-%d"`, i))
		if code != 200 || !strings.HasPrefix(id, "conv_") {
			t.Fatalf("real conversion %d: %d %q", i, code, id)
		}
		realIDs = append(realIDs, id)
	}
	receiver.Await(t, 3, 15*time.Second)

	t.Run("test session", func(t *testing.T) {
		var created struct {
			Success bool `json:"success"`
			Data    struct {
				TestClickID  string `json:"testClickId"`
				SessionToken string `json:"sessionToken"`
				ExpiresAt    int64  `json:"expiresAt"`
			} `json:"data"`
		}
		before := time.Now()
		if code := s.call("POST", "/api/v1/test-sessions", adv, fmt.Sprintf(`{"offer_code":%q}`, slug), &created); code != 200 || !created.Success ||
			!strings.HasPrefix(created.Data.TestClickID, "test_") || len(created.Data.TestClickID) != len("test_")+26 || created.Data.SessionToken == "" {
			t.Fatalf("create: %d %+v", code, created)
		}
		if exp := time.UnixMilli(created.Data.ExpiresAt); exp.Before(before.Add(29*time.Minute)) || exp.After(time.Now().Add(31*time.Minute)) {
			t.Fatalf("expiresAt %v, want about 30 minutes from now", exp)
		}
		testClick, sessionPath := created.Data.TestClickID, "/api/v1/test-sessions/"+created.Data.SessionToken
		var sess seed002TestSession
		if code := s.call("GET", sessionPath, adv, "", &sess); code != 200 || sess.Data.Status != "waiting" || sess.Data.Validation != nil {
			t.Fatalf("fresh session: %d %+v", code, sess)
		}

		// By POST, valid: the normal answer, recorded on the session.
		if code, id := convert(testClick, `,"amount":"20.00","txid":"TEST-1"`); code != 200 || !strings.HasPrefix(id, "conv_") {
			t.Fatalf("test conversion by POST: %d %q", code, id)
		}
		sess = seed002TestSession{}
		if code := s.call("GET", sessionPath, adv, "", &sess); code != 200 || sess.Data.Status != "received" || sess.Data.Validation == nil ||
			!sess.Data.Validation.SignatureValid || !sess.Data.Validation.FieldsValid || len(sess.Data.Validation.Errors) != 0 ||
			sess.Data.Conversion == nil || sess.Data.Conversion.ID == nil || *sess.Data.Conversion.VendorTxID != "TEST-1" ||
			sess.Data.Conversion.SaleAmountCents != 2000 || sess.Data.Conversion.AdvertiserPayoutCents != 250 {
			t.Fatalf("after a valid test conversion: %d %+v", code, sess)
		}
		// The same txid again: a test conversion takes no dedupe claim.
		if code, id := convert(testClick, `,"amount":"20.00","txid":"TEST-1"`); code != 200 || id == "" {
			t.Fatalf("repeated test conversion: %d %q", code, id)
		}

		// By a named GET endpoint, refused: the same VALIDATION_ERROR as a
		// real click's, and recorded with its message.
		var ep struct {
			Endpoint struct {
				URL string `json:"url"`
			} `json:"endpoint"`
		}
		if code := s.admin("POST", "/v2/pb-endpoints", fmt.Sprintf(`{"advertiser_id":%q,"kind":"primary"}`, n.advertiserID), &ep); code != 201 {
			t.Fatalf("endpoint: %d", code)
		}
		var refused seed002Error
		if code := s.call("GET", ep.Endpoint.URL+"?clickid="+testClick+"&sum=-3&txid=TEST-2&secure="+n.advertiserKey, nil, "", &refused); code != 400 ||
			refused.Error.Code != "VALIDATION_ERROR" || refused.Error.Message != "amount must be positive" {
			t.Fatalf("refused test conversion by /pb: %d %+v", code, refused)
		}
		sess = seed002TestSession{}
		if code := s.call("GET", sessionPath, adv, "", &sess); code != 200 || sess.Data.Status != "received" || sess.Data.Validation.FieldsValid ||
			!sess.Data.Validation.SignatureValid || strings.Join(sess.Data.Validation.Errors, "|") != "amount must be positive" ||
			sess.Data.Conversion.ID != nil || *sess.Data.Conversion.Amount != "-3" {
			t.Fatalf("after a refused test conversion: %d %+v", code, sess)
		}
		// By /pb, valid.
		var viaGet struct {
			Data struct {
				Tracked bool `json:"tracked"`
			} `json:"data"`
		}
		if code := s.call("GET", ep.Endpoint.URL+"?cid="+testClick+"&sum=9.99&txid=TEST-3&secure="+n.advertiserKey, nil, "", &viaGet); code != 200 || !viaGet.Data.Tracked {
			t.Fatalf("test conversion by /pb: %d %+v", code, viaGet)
		}
		sess = seed002TestSession{}
		if s.call("GET", sessionPath, adv, "", &sess); !sess.Data.Validation.FieldsValid || *sess.Data.Conversion.VendorTxID != "TEST-3" {
			t.Fatalf("after a valid test conversion by /pb: %+v", sess)
		}

		// Another advertiser: refused as for a real click, and the session
		// is not theirs to read.
		if code := s.call("POST", "/api/v1/conversions", otherKey, fmt.Sprintf(`{"click_id":%q}`, testClick), &refused); code != 400 ||
			refused.Error.Message != "Unauthorized - click belongs to different vendor" {
			t.Fatalf("another advertiser's test conversion: %d %+v", code, refused)
		}
		if code := s.call("GET", sessionPath, otherKey, "", &refused); code != 404 || refused.Error.Code != "NOT_FOUND" {
			t.Fatalf("another advertiser reads the session: %d %+v", code, refused)
		}
		if code := s.call("POST", "/api/v1/test-sessions", otherKey, fmt.Sprintf(`{"offer_code":%q}`, slug), &refused); code != 404 {
			t.Fatalf("a session on another advertiser's offer: %d %+v", code, refused)
		}
		if code := s.call("GET", "/api/v1/test-sessions/"+strings.Repeat("0", 40), adv, "", &refused); code != 404 {
			t.Fatalf("unknown session: %d", code)
		}
	})

	// A real sale after the test ones: once its postback has arrived, the
	// test conversions, sent before it, had every chance to fire theirs.
	lastClick := newClick()
	code, lastID := convert(lastClick, `,"amount":"50","txid":"ORDER-LAST"`)
	if code != 200 {
		t.Fatalf("last real conversion: %d", code)
	}
	realIDs = append(realIDs, lastID)
	receiver.AwaitFind(t, "cid="+lastClick, 15*time.Second)
	postbacks := map[string]bool{} // click IDs the affiliate was told about
	for _, h := range receiver.Requests() {
		postbacks[h.Query.Get("cid")] = true
	}
	for cid := range postbacks {
		if !realClicks[cid] {
			t.Errorf("a postback fired for click %q, not a real one", cid)
		}
	}
	if len(postbacks) != 4 {
		t.Errorf("postbacks for %d clicks, want the 4 real ones", len(postbacks))
	}

	// Every real conversion reaches ClickHouse through the sink.
	var all seed002Page[seed002Conversion]
	testkit.Poll(t, "every real conversion listed", 30*time.Second, func() (bool, string) {
		all = seed002Page[seed002Conversion]{}
		if code := s.call("GET", "/api/v1/conversions?limit=500", adv, "", &all); code != 200 {
			t.Fatalf("list: %d", code)
		}
		return len(all.Data) >= len(realIDs), fmt.Sprintf("%d of %d conversions listed", len(all.Data), len(realIDs))
	})

	t.Run("conversions", func(t *testing.T) {
		listed := map[string]bool{}
		for _, c := range all.Data {
			listed[c.ID] = true
		}
		for _, id := range realIDs {
			if !listed[id] {
				t.Errorf("real conversion %s not listed", id)
			}
		}
		if len(all.Data) != len(realIDs) || all.Meta.Pagination.HasMore || all.Meta.Pagination.NextCursor != nil {
			t.Fatalf("listing holds %d rows (want only the %d real ones, no test one), pagination %+v", len(all.Data), len(realIDs), all.Meta.Pagination)
		}

		// Pages of 3: every conversion once, newest first, then the end.
		seen := map[string]bool{}
		path, pages := "/api/v1/conversions?limit=3", 0
		for {
			var page seed002Page[seed002Conversion]
			if code := s.call("GET", path, adv, "", &page); code != 200 || !page.Success {
				t.Fatalf("page %d: %d", pages, code)
			}
			pages++
			for _, c := range page.Data {
				if seen[c.ID] {
					t.Fatalf("%s repeated on page %d", c.ID, pages)
				}
				seen[c.ID] = true
			}
			if !page.Meta.Pagination.HasMore {
				if page.Meta.Pagination.NextCursor != nil {
					t.Fatalf("last page has a nextCursor %q", *page.Meta.Pagination.NextCursor)
				}
				break
			}
			path = "/api/v1/conversions?limit=3&cursor=" + url.QueryEscape(*page.Meta.Pagination.NextCursor)
		}
		if pages != 2 || len(seen) != len(realIDs) {
			t.Fatalf("%d pages, %d conversions; want 2 pages of all %d", pages, len(seen), len(realIDs))
		}

		var one struct {
			Success bool              `json:"success"`
			Data    seed002Conversion `json:"data"`
		}
		if code := s.call("GET", "/api/v1/conversions/"+realIDs[0], adv, "", &one); code != 200 {
			t.Fatalf("get: %d", code)
		}
		c := one.Data
		if c.ID != realIDs[0] || c.OfferCode != slug || c.VendorTxID == nil || *c.VendorTxID != "ORDER-0" || c.Currency != "USD" ||
			c.SaleAmountCents != 14999 || c.AdvertiserPayoutCents != 250 || c.Status != "pending" ||
			time.Since(time.UnixMilli(c.CreatedAt)) > 10*time.Minute {
			t.Fatalf("conversion %+v", c)
		}
		var nf seed002Error
		if code := s.call("GET", "/api/v1/conversions/"+realIDs[0], otherKey, "", &nf); code != 404 || nf.Error.Code != "NOT_FOUND" || nf.Error.Message != "Resource not found" {
			t.Fatalf("another advertiser's conversion: %d %+v", code, nf)
		}

		for _, tc := range []struct {
			query string
			want  int
		}{
			{"status=pending", 4},
			{"status=approved", 0},
			{"offer_code=" + slug, 4},
			{"offer_code=" + n.offerID, 4},
			{"offer_code=" + cps.Offer.Slug, 0},
			{fmt.Sprintf("start_date=%d", time.Now().Add(time.Hour).UnixMilli()), 0},
			{fmt.Sprintf("start_date=%d&end_date=%d", time.Now().Add(-time.Hour).UnixMilli(), time.Now().Add(time.Hour).UnixMilli()), 4},
		} {
			var page seed002Page[seed002Conversion]
			if code := s.call("GET", "/api/v1/conversions?"+tc.query, adv, "", &page); code != 200 || len(page.Data) != tc.want {
				t.Errorf("%s: %d, %d rows, want %d", tc.query, code, len(page.Data), tc.want)
			}
		}
		// Nor were they stored at all, even flagged as tests: they never
		// reached Kafka. (The real ones above were stored after them.)
		stored, err := s.ch.Count(context.Background(), "SELECT count() FROM "+s.ch.Table("conversions")+" WHERE is_test = 1 OR startsWith(click_id, 'test_')")
		if err != nil || stored != 0 {
			t.Fatalf("%d test conversions stored in ClickHouse (%v)", stored, err)
		}
		var none seed002Page[seed002Conversion]
		if code := s.call("GET", "/api/v1/conversions", otherKey, "", &none); code != 200 || len(none.Data) != 0 {
			t.Fatalf("another advertiser lists %d conversions", len(none.Data))
		}
	})

	t.Run("stats", func(t *testing.T) {
		// Revenue is the sale amounts: 3 × 149.99 + 50.
		const wantRevenue = 3*14999 + 5000
		var st seed002Stats
		testkit.Poll(t, "the 4 real clicks and conversions in the stats", 60*time.Second, func() (bool, string) {
			st = seed002Stats{}
			if code := s.call("GET", "/api/v1/stats", adv, "", &st); code != 200 || !st.Success {
				t.Fatalf("stats: %d", code)
			}
			return st.Data.Summary.TotalClicks >= 4 && st.Data.Summary.TotalConversions >= 4, fmt.Sprintf("%+v", st.Data.Summary)
		})
		sum := st.Data.Summary
		// Exactly the real ones: the test click and conversions are not counted.
		if sum.TotalClicks != 4 || sum.TotalConversions != 4 || sum.ApprovedConversions != 0 || sum.TotalRevenueCents != wantRevenue || sum.ConversionRate != "100.00" {
			t.Fatalf("summary %+v", sum)
		}
		if len(st.Data.ByOffer) != 1 || st.Data.ByOffer[0].OfferCode != slug || st.Data.ByOffer[0].OfferName != "Summer Promo" ||
			st.Data.ByOffer[0].Currency != "USD" || st.Data.ByOffer[0].Clicks != 4 || st.Data.ByOffer[0].RevenueCents != wantRevenue {
			t.Fatalf("byOffer %+v", st.Data.ByOffer)
		}
		now := time.Now().UTC()
		monday := now.AddDate(0, 0, -((int(now.Weekday()) + 6) % 7))
		for groupBy, date := range map[string]string{
			"":      now.Format(time.DateOnly),
			"day":   now.Format(time.DateOnly),
			"week":  monday.Format(time.DateOnly),
			"month": now.Format("2006-01") + "-01",
		} {
			var g seed002Stats
			if code := s.call("GET", "/api/v1/stats?group_by="+groupBy, adv, "", &g); code != 200 || len(g.Data.TimeSeries) != 1 ||
				g.Data.TimeSeries[0].Date != date || g.Data.TimeSeries[0].Clicks != 4 || g.Data.TimeSeries[0].Conversions != 4 {
				t.Errorf("group_by=%s: %d %+v, want one %s bucket", groupBy, code, g.Data.TimeSeries, date)
			}
		}
		var empty seed002Stats
		if code := s.call("GET", "/api/v1/stats?offer_code="+cps.Offer.Slug, adv, "", &empty); code != 200 || empty.Data.Summary.TotalClicks != 0 ||
			empty.Data.Summary.ConversionRate != "0.00" || len(empty.Data.ByOffer) != 0 {
			t.Fatalf("stats of an offer without traffic: %d %+v", code, empty.Data)
		}
		var others seed002Stats
		if code := s.call("GET", "/api/v1/stats", otherKey, "", &others); code != 200 || others.Data.Summary.TotalClicks != 0 {
			t.Fatalf("another advertiser's stats: %d %+v", code, others.Data.Summary)
		}
	})

	t.Run("offers and profile", func(t *testing.T) {
		type offerRow struct {
			Code           string         `json:"code"`
			Name           string         `json:"name"`
			Status         string         `json:"status"`
			Currency       string         `json:"currency"`
			CommissionType string         `json:"commissionType"`
			PrimaryURL     string         `json:"primaryUrl"`
			PayoutTerms    map[string]any `json:"payoutTerms"`
		}
		var rows []offerRow
		path := "/api/v1/offers?limit=1"
		for pages := 0; ; pages++ {
			var page seed002Page[offerRow]
			if code := s.call("GET", path, adv, "", &page); code != 200 || len(page.Data) != 1 {
				t.Fatalf("offers page %d: %d %+v", pages, code, page)
			}
			rows = append(rows, page.Data...)
			if !page.Meta.Pagination.HasMore {
				if page.Meta.Pagination.NextCursor != nil || pages != 1 {
					t.Fatalf("offers end after %d pages, cursor %v", pages+1, page.Meta.Pagination.NextCursor)
				}
				break
			}
			path = "/api/v1/offers?limit=1&cursor=" + url.QueryEscape(*page.Meta.Pagination.NextCursor)
		}
		if rows[0].Code != slug || rows[0].Status != "published" || rows[0].CommissionType != "cpa" || rows[0].PayoutTerms["advertiserPayoutCents"] != float64(250) ||
			rows[1].Code != cps.Offer.Slug || rows[1].Status != "paused" || rows[1].CommissionType != "cps" || rows[1].PayoutTerms["percent"] != float64(15) {
			t.Fatalf("offers %+v", rows)
		}
		for status, want := range map[string]int{"published": 1, "paused": 1, "draft": 0, "archived": 0} {
			var page seed002Page[offerRow]
			if code := s.call("GET", "/api/v1/offers?status="+status, adv, "", &page); code != 200 || len(page.Data) != want {
				t.Errorf("status=%s: %d %d rows, want %d", status, code, len(page.Data), want)
			}
		}
		var one struct {
			Data offerRow `json:"data"`
		}
		if code := s.call("GET", "/api/v1/offers/"+slug, adv, "", &one); code != 200 || one.Data.Code != slug || one.Data.Name != "Summer Promo" ||
			one.Data.PrimaryURL != "https://shop.example.com/land?cid={click_id}" || one.Data.PayoutTerms["advertiserPayoutCents"] != float64(250) {
			t.Fatalf("offer: %d %+v", code, one.Data)
		}
		var nf seed002Error
		if code := s.call("GET", "/api/v1/offers/"+otherOffer.Offer.Slug, adv, "", &nf); code != 404 || nf.Error.Code != "NOT_FOUND" {
			t.Fatalf("another advertiser's offer: %d %+v", code, nf)
		}

		var profile struct {
			Success bool `json:"success"`
			Data    struct {
				CompanyName  string `json:"companyName"`
				ContactEmail string `json:"contactEmail"`
				Status       string `json:"status"`
				HasAPIKey    bool   `json:"hasApiKey"`
			} `json:"data"`
		}
		if code := s.call("GET", "/api/v1/profile", adv, "", &profile); code != 200 || profile.Data.CompanyName != "Acme" ||
			profile.Data.ContactEmail != "team@acme.example" || profile.Data.Status != "approved" || !profile.Data.HasAPIKey {
			t.Fatalf("profile: %d %+v", code, profile)
		}
	})

	t.Run("bad parameters", func(t *testing.T) {
		for _, path := range []string{
			"/api/v1/conversions?cursor=bm9wZQ",
			"/api/v1/conversions?limit=100000",
			"/api/v1/conversions?status=paid",
			"/api/v1/conversions?start_date=-1",
			"/api/v1/stats?group_by=hour",
			fmt.Sprintf("/api/v1/stats?start_date=%d&end_date=%d", time.Now().AddDate(-2, 0, 0).UnixMilli(), time.Now().UnixMilli()),
			"/api/v1/offers?cursor=%00",
			"/api/v1/offers?limit=-1",
		} {
			var e seed002Error
			if code := s.call("GET", path, adv, "", &e); code != 400 || e.Success || e.Error.Code != "VALIDATION_ERROR" || e.Error.Message == "" {
				t.Errorf("%s: %d %+v", path, code, e)
			}
		}
		raw, _ := json.Marshal(map[string]any{"offer_code": nil})
		var e seed002Error
		if code := s.call("POST", "/api/v1/test-sessions", adv, string(raw), &e); code != 400 || e.Error.Message != "offer_code is required" {
			t.Errorf("test session without offer_code: %d %+v", code, e)
		}
	})
}
