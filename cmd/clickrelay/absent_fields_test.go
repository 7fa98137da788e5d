package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// TestConversionsWithOnlyRequiredFields sends conversions that carry the
// click_id and nothing else, on a click that carries nothing optional
// either (no sub IDs, no aff_click_id, no user agent, a loopback address
// whose country is unknown), through every conversion intake, and reads them back
// through every read surface: each answer is validated against
// api/openapi.json by s.raw, so a field the document says is a string
// that comes back null (or absent) fails here. The other tests send full
// conversions, which never exercise the absent forms.
func TestConversionsWithOnlyRequiredFields(t *testing.T) {
	s := startStack(t)
	n := s.setUp("https://shop.example.com/?cid={click_id}&s1={sub1}&geo={geo}")
	receiver := newReceiver(t)
	advertiser := map[string]string{"X-API-Key": n.advertiserKey}
	affiliate := map[string]string{"Authorization": "Bearer " + n.affiliateKey}
	admin := map[string]string{"Authorization": "Bearer " + s.adminKey}

	// A postback with only its required field (global, event conversion),
	// its URL using every value a minimal conversion leaves empty.
	var pb struct {
		PostbackID string `json:"postback_id"`
	}
	if code := s.call("POST", "/v1/postbacks", affiliate, fmt.Sprintf(`{"url":%q}`,
		receiver.URL+"/pb?cid={click_id}&tx={txid}&amount={amount}&goal={goal}&s1={sub1}&ext={aff_click_id}&geo={geo}&os={os}"), &pb); code != 200 {
		t.Fatalf("register postback: %d", code)
	}
	// A primary endpoint with only its required fields (no offer).
	var ep struct {
		Endpoint struct {
			URL string `json:"url"`
		} `json:"endpoint"`
	}
	if code := s.admin("POST", "/v2/pb-endpoints", fmt.Sprintf(`{"advertiser_id":%q,"kind":"primary"}`, n.advertiserID), &ep); code != 201 {
		t.Fatalf("create endpoint: %d", code)
	}

	// bareClick follows a tracking link with nothing optional: no user
	// agent, no forwarded address (a country unknown: ZZ), no sub IDs.
	bareClick := func(path string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", s.base+path, nil)
		req.Header.Set("User-Agent", "") // sent without one
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		s.checkContract(req, resp, raw)
		if resp.StatusCode != 302 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, raw)
		}
		return clickID(t, resp.Header.Get("Location"), "cid")
	}
	type tracked struct {
		Data struct {
			Tracked      bool   `json:"tracked"`
			ConversionID string `json:"conversionId"`
		} `json:"data"`
	}
	intakes := []struct {
		name    string
		convert func(clickID string) (int, tracked)
	}{
		{"POST /api/v1/conversions", func(cid string) (code int, out tracked) {
			code = s.call("POST", "/api/v1/conversions", advertiser, fmt.Sprintf(`{"click_id":%q}`, cid), &out)
			return
		}},
		{"GET /pb/{endpointId}", func(cid string) (code int, out tracked) {
			code = s.call("GET", ep.Endpoint.URL+"?clickid="+cid+"&secure="+n.advertiserKey, nil, "", &out)
			return
		}},
		{"POST /pb/{endpointId}", func(cid string) (code int, out tracked) {
			code = s.call("POST", ep.Endpoint.URL+"?cid="+cid, advertiser, "", &out)
			return
		}},
	}
	clickPaths := []string{
		fmt.Sprintf("/click/%s?aff_id=%s", n.offerID, n.affiliateID),
		fmt.Sprintf("/click?offer_id=%s&aff_id=%s", n.offerID, n.affiliateID),
	}
	var ids []string
	for i, in := range intakes {
		code, out := in.convert(bareClick(clickPaths[i%len(clickPaths)]))
		if code != 200 || !out.Data.Tracked || !strings.HasPrefix(out.Data.ConversionID, "conv_") {
			t.Fatalf("%s: %d %+v", in.name, code, out)
		}
		ids = append(ids, out.Data.ConversionID)
	}
	receiver.Await(t, len(ids), 15*time.Second)

	// A test session's conversion with only the click_id.
	t.Run("test session", func(t *testing.T) {
		var offer struct {
			Offer struct {
				Slug string `json:"slug"`
			} `json:"offer"`
		}
		s.admin("GET", "/v2/offers/"+n.offerID, "", &offer)
		var sess struct {
			Data struct {
				TestClickID  string `json:"testClickId"`
				SessionToken string `json:"sessionToken"`
			} `json:"data"`
		}
		if code := s.call("POST", "/api/v1/test-sessions", advertiser, fmt.Sprintf(`{"offer_code":%q}`, offer.Offer.Slug), &sess); code != 200 {
			t.Fatalf("create test session: %d", code)
		}
		if code := s.call("POST", "/api/v1/conversions", advertiser, fmt.Sprintf(`{"click_id":%q}`, sess.Data.TestClickID), nil); code != 200 {
			t.Fatalf("test conversion: %d", code)
		}
		var got struct {
			Data struct {
				Conversion map[string]any `json:"conversion"`
			} `json:"data"`
		}
		if code := s.call("GET", "/api/v1/test-sessions/"+sess.Data.SessionToken, advertiser, "", &got); code != 200 {
			t.Fatalf("read test session: %d", code)
		}
		for _, field := range []string{"vendorTxId", "customerId", "amount"} {
			if v, ok := got.Data.Conversion[field]; !ok || v != nil {
				t.Errorf("test conversion's %s: %v (present %v), want null", field, v, ok)
			}
		}
	})

	// Every conversion reaches ClickHouse.
	testkit.Poll(t, "the conversions in the warehouse", stackWait, func() (bool, string) {
		var list struct {
			Meta struct {
				Total int `json:"total"`
			} `json:"meta"`
		}
		s.admin("GET", "/v2/conversions", "", &list)
		return list.Meta.Total == len(ids), fmt.Sprintf("%d of %d listed", list.Meta.Total, len(ids))
	})

	// vendorTxId is seed 002's order id: present and null when none was
	// sent, as the seed answers a value it has not (an event's "reason": null).
	checkSeed002 := func(t *testing.T, what string, c map[string]any) {
		t.Helper()
		if v, ok := c["vendorTxId"]; !ok || v != nil {
			t.Errorf("%s: vendorTxId %v (present %v), want null", what, v, ok)
		}
		if c["saleAmountCents"] != float64(0) || c["advertiserPayoutCents"] != 2.5*100 || c["currency"] != "USD" {
			t.Errorf("%s: %v", what, c)
		}
	}
	t.Run("advertiser reads", func(t *testing.T) {
		var list struct {
			Data []map[string]any `json:"data"`
		}
		if code := s.call("GET", "/api/v1/conversions", advertiser, "", &list); code != 200 || len(list.Data) != len(ids) {
			t.Fatalf("list: %d, %d rows", code, len(list.Data))
		}
		for _, c := range list.Data {
			checkSeed002(t, "listed "+fmt.Sprint(c["id"]), c)
		}
		for _, id := range ids {
			var one struct {
				Data map[string]any `json:"data"`
			}
			if code := s.call("GET", "/api/v1/conversions/"+id, advertiser, "", &one); code != 200 {
				t.Fatalf("GET %s: %d", id, code)
			}
			checkSeed002(t, "GET "+id, one.Data)
		}
		var patched struct {
			Data map[string]any `json:"data"`
		}
		if code := s.call("PATCH", "/api/v1/conversions/"+ids[0], advertiser, `{"status":"approved"}`, &patched); code != 200 || patched.Data["status"] != "approved" {
			t.Fatalf("PATCH %s: %d %v", ids[0], code, patched.Data)
		}
		checkSeed002(t, "PATCH "+ids[0], patched.Data)
	})

	t.Run("admin reads", func(t *testing.T) {
		checkAdmin := func(t *testing.T, what string, c map[string]any) {
			t.Helper()
			for _, field := range []string{"txid", "customer_id", "sub1", "sub5", "aff_click_id"} {
				if c[field] != "" {
					t.Errorf("%s: %s = %v, want \"\"", what, field, c[field])
				}
			}
			if c["amount"] != float64(0) || c["payout"] != 2.5 {
				t.Errorf("%s: %v", what, c)
			}
		}
		var list struct {
			Conversions []map[string]any `json:"conversions"`
		}
		if code := s.admin("GET", "/v2/conversions", "", &list); code != 200 || len(list.Conversions) != len(ids) {
			t.Fatalf("list: %d, %d rows", code, len(list.Conversions))
		}
		for _, c := range list.Conversions {
			checkAdmin(t, "listed "+fmt.Sprint(c["id"]), c)
		}
		for _, id := range ids {
			var one struct {
				Conversion map[string]any `json:"conversion"`
			}
			if code := s.admin("GET", "/v2/conversions/"+id, "", &one); code != 200 {
				t.Fatalf("GET %s: %d", id, code)
			}
			checkAdmin(t, "GET "+id, one.Conversion)
		}
		var patched struct {
			Conversion map[string]any `json:"conversion"`
		}
		if code := s.admin("PATCH", "/v2/conversions/"+ids[1], `{"status":"rejected"}`, &patched); code != 200 || patched.Conversion["status"] != "rejected" {
			t.Fatalf("PATCH %s: %d %v", ids[1], code, patched.Conversion)
		}
		checkAdmin(t, "PATCH "+ids[1], patched.Conversion)
	})

	t.Run("affiliate reads", func(t *testing.T) {
		today := time.Now().UTC().Format("2006-01-02")
		var list struct {
			Data []map[string]any `json:"data"`
		}
		if code := s.call("GET", "/v1/conversions?date_from="+today+"&date_to="+today, affiliate, "", &list); code != 200 || len(list.Data) != len(ids) {
			t.Fatalf("list: %d, %d rows", code, len(list.Data))
		}
		for _, c := range list.Data {
			if c["aff_click_id"] != "" || c["sub1"] != "" {
				t.Errorf("listed %v: want empty aff_click_id and sub1", c)
			}
		}
	})

	t.Run("deliveries and the postback report", func(t *testing.T) {
		var deliveries struct {
			Data []json.RawMessage `json:"data"`
		}
		if code := s.call("GET", "/v1/postbacks/"+pb.PostbackID+"/deliveries", affiliate, "", &deliveries); code != 200 || len(deliveries.Data) < len(ids) {
			t.Fatalf("affiliate's deliveries: %d, %d rows", code, len(deliveries.Data))
		}
		if code := s.call("GET", "/v2/postbacks/"+pb.PostbackID+"/deliveries", admin, "", nil); code != 200 {
			t.Fatalf("admin's deliveries: %d", code)
		}
		today := time.Now().UTC().Format("2006-01-02")
		tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
		if code := s.call("POST", "/v1/networks/reporting/affiliate/pixels", admin,
			fmt.Sprintf(`{"timezone_id":67,"from":%q,"to":%q}`, today, tomorrow), nil); code != 200 {
			t.Fatalf("postback report: %d", code)
		}
	})

	t.Run("stats", func(t *testing.T) {
		today := time.Now().UTC().Format("2006-01-02")
		// Grouped by every key a bare click leaves empty.
		testkit.Poll(t, "the conversions in the admin stats", stackWait, func() (bool, string) {
			var stats struct {
				Totals struct {
					Conversions int `json:"conversions"`
				} `json:"totals"`
			}
			s.admin("GET", "/v2/stats?date_from="+today+"&date_to="+today+"&group_by=date,offer,geo,device,os,sub1", "", &stats)
			return stats.Totals.Conversions == len(ids), fmt.Sprintf("%d conversions", stats.Totals.Conversions)
		})
		if code := s.call("GET", "/v1/stats?date_from="+today+"&date_to="+today+"&group_by=date,offer,geo,device,os,sub1", affiliate, "", nil); code != 200 {
			t.Fatalf("affiliate stats: %d", code)
		}
		for _, path := range []string{"/api/v1/stats", "/api/v1/stats?group_by=day"} {
			if code := s.call("GET", path, advertiser, "", nil); code != 200 {
				t.Fatalf("advertiser stats %s: %d", path, code)
			}
		}
		if code := s.admin("GET", "/v2/stats/live?minutes=60", "", nil); code != 200 {
			t.Fatalf("live stats: %d", code)
		}
	})
}
