package api

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// TestLinksAndEPCQueries: tracking links start at CLICKRELAY_PUBLIC_URL,
// a list page costs one stats query for all its offers, and the feed
// answers its own envelope on every path.
func TestLinksAndEPCQueries(t *testing.T) {
	s, _, wh := newTestServer(t, nil)
	s.config.PublicURL = "https://trk.example.com"
	admin := map[string]string{"X-Api-Key": testAdminKey}
	advID := testkit.JSON(t, do(s, "POST", "/v2/advertisers", admin, `{"name":"Acme","contact_email":"a@acme.example"}`).Body()).Get("advertiser", "id").String()
	var offerIDs []string
	for i := range 3 {
		r := do(s, "POST", "/v2/offers", admin, fmt.Sprintf(`{"name":"Offer %d","tracking_url":"https://shop.example/?c={click_id}","advertiser_id":%q}`, i, advID))
		if r.StatusCode() != 201 {
			t.Fatalf("create offer: %d %s", r.StatusCode(), r.Body())
		}
		offerIDs = append(offerIDs, testkit.JSON(t, r.Body()).Get("offer", "id").String())
	}
	aff := testkit.JSON(t, do(s, "POST", "/v2/affiliates", admin, `{"name":"Jane"}`).Body()).Get("affiliate")
	key, affID, appID := aff.Get("api_key").String(), aff.Get("id").String(), aff.Get("app_id").String()

	r := do(s, "GET", "/v1/offers?per_page=2", map[string]string{"Authorization": "Bearer " + key}, "")
	if r.StatusCode() != 200 || len(wh.stats) != 1 {
		t.Fatalf("list: %d %s, %d stats queries", r.StatusCode(), r.Body(), len(wh.stats))
	}
	if q := wh.stats[0]; !slices.Equal(q.OfferIDs, offerIDs[:2]) || q.AffiliateID != "" || strings.Join(q.GroupBy, ",") != "offer" ||
		q.To.Sub(q.From) != epcWindow {
		t.Fatalf("epc query %+v: want the page's offers, network-wide, over 30 days", q)
	}
	if link := testkit.JSON(t, r.Body()).Get("data", 0, "tracking_link").String(); link != "https://trk.example.com/click/"+offerIDs[0]+"?aff_id="+affID {
		t.Fatalf("tracking_link %v", link)
	}

	r = do(s, "GET", "/v1/s2s/offers?os=ios&country=us&app_id="+appID, nil, "")
	feed := testkit.JSON(t, r.Body())
	if r.StatusCode() != 200 || feed.Get("c").Int() != 0 || !strings.HasPrefix(feed.Get("d", "data", 0, "tracking_link").String(), "https://trk.example.com/click/") {
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
		body := testkit.JSON(t, r.Body())
		if r.StatusCode() != c.status || body.Get("c").Float() != c.code || body.Get("msg").String() == "" {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.StatusCode(), r.Body())
		}
	}
}
