package api

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestLinksAndEPCQueries: tracking links start at CLICKRELAY_PUBLIC_URL,
// a list page costs one stats query for all its offers, and the feed
// answers its own envelope on every path.
func TestLinksAndEPCQueries(t *testing.T) {
	s, _, wh := newTestServer(t, nil)
	s.config.PublicURL = "https://trk.example.com"
	admin := map[string]string{"X-Api-Key": testAdminKey}
	adv := decode(t, do(s, "POST", "/v2/advertisers", admin, `{"name":"Acme","contact_email":"a@acme.example"}`).Body())
	advID := adv["advertiser"].(map[string]any)["id"].(string)
	var offerIDs []string
	for i := range 3 {
		r := do(s, "POST", "/v2/offers", admin, fmt.Sprintf(`{"name":"Offer %d","tracking_url":"https://shop.example/?c={click_id}","advertiser_id":%q}`, i, advID))
		if r.StatusCode() != 201 {
			t.Fatalf("create offer: %d %s", r.StatusCode(), r.Body())
		}
		offerIDs = append(offerIDs, decode(t, r.Body())["offer"].(map[string]any)["id"].(string))
	}
	aff := decode(t, do(s, "POST", "/v2/affiliates", admin, `{"name":"Jane"}`).Body())["affiliate"].(map[string]any)
	key, affID, appID := aff["api_key"].(string), aff["id"].(string), aff["app_id"].(string)

	r := do(s, "GET", "/v1/offers?per_page=2", map[string]string{"Authorization": "Bearer " + key}, "")
	if r.StatusCode() != 200 || len(wh.stats) != 1 {
		t.Fatalf("list: %d %s, %d stats queries", r.StatusCode(), r.Body(), len(wh.stats))
	}
	if q := wh.stats[0]; !slices.Equal(q.OfferIDs, offerIDs[:2]) || q.AffiliateID != "" || strings.Join(q.GroupBy, ",") != "offer" ||
		q.To.Sub(q.From) != epcWindow {
		t.Fatalf("epc query %+v: want the page's offers, network-wide, over 30 days", q)
	}
	data := decode(t, r.Body())["data"].([]any)
	if link := data[0].(map[string]any)["tracking_link"]; link != "https://trk.example.com/click/"+offerIDs[0]+"?aff_id="+affID {
		t.Fatalf("tracking_link %v", link)
	}

	r = do(s, "GET", "/v1/s2s/offers?os=ios&country=us&app_id="+appID, nil, "")
	feed := decode(t, r.Body())
	first := feed["d"].(map[string]any)["data"].([]any)[0].(map[string]any)
	if r.StatusCode() != 200 || feed["c"] != 0.0 || !strings.HasPrefix(first["tracking_link"].(string), "https://trk.example.com/click/") {
		t.Fatalf("feed: %d %s", r.StatusCode(), r.Body())
	}
	for _, c := range []struct {
		method, path string
		status       int
		code         float64
	}{
		{"POST", "/v1/s2s/offers?os=ios&app_id=" + appID, 405, 1405},
		{"GET", "/v1/s2s/other", 404, 1404},
	} {
		r := doRaw(s, c.method, c.path, nil, "") // the unknown path is not in the contract
		body := decode(t, r.Body())
		if r.StatusCode() != c.status || body["c"] != c.code || body["msg"] == "" {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.StatusCode(), r.Body())
		}
	}
}
