package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/clickrelay/clickrelay/api"
)

// TestContractOnTheRealBinary sends the real binary the requests the other
// end-to-end tests do not (the operational endpoints, the document itself,
// list and read routes, each surface's 403 / 404 / 405), so that those
// answers too are validated against api/openapi.json by s.call.
func TestContractOnTheRealBinary(t *testing.T) {
	s := startStack(t)
	n := s.setUp("https://shop.example.com/?c={click_id}")
	admin := map[string]string{"Authorization": "Bearer " + s.adminKey}
	affiliate := map[string]string{"Authorization": "Bearer " + n.affiliateKey}
	var statsOnly struct {
		Affiliate struct {
			APIKey string `json:"api_key"`
		} `json:"affiliate"`
	}
	if code := s.admin("POST", "/v2/affiliates", `{"name":"Stats only","scopes":["read:stats"]}`, &statsOnly); code != 201 {
		t.Fatalf("create affiliate: %d", code)
	}
	narrow := map[string]string{"Authorization": "Bearer " + statsOnly.Affiliate.APIKey}
	report := `{"timezone_id":67,"from":"2026-01-01","to":"2026-01-02"`
	// Seed 004's own example request, word for word: Los Angeles (90).
	seedExample := `{"timezone_id": 90, "from": "2024-02-07", "to": "2024-02-08", "query":{"filters": [` +
		`{"resource_type": "offer", "filter_id_value": "11"}, {"resource_type": "delivery_status", "filter_id_value": "success"}]}`

	cases := []struct {
		name, method, path string
		headers            map[string]string
		body               string
		status             int
	}{
		{"health", "GET", "/health", nil, "", 200},
		{"ready on real engines", "GET", "/ready", nil, "", 200},
		{"metrics", "GET", "/metrics", nil, "", 200},
		{"document refuses POST", "POST", "/openapi.json", nil, "", 405},
		{"health refuses POST", "POST", "/health", nil, "", 405},
		{"ready refuses DELETE", "DELETE", "/ready", nil, "", 405},
		{"metrics refuse POST", "POST", "/metrics", nil, "", 405},
		{"console page refuses POST", "POST", "/", nil, "", 405},
		{"click refuses POST", "POST", "/click/" + n.offerID + "?aff_id=" + n.affiliateID, nil, "", 405},
		{"list offers", "GET", "/v2/offers?per_page=10", admin, "", 200},
		{"list offers, page too large", "GET", "/v2/offers?per_page=501", admin, "", 400},
		{"get offer", "GET", "/v2/offers/" + n.offerID, admin, "", 200},
		{"get unknown offer", "GET", "/v2/offers/999999", admin, "", 404},
		{"offers refuse DELETE", "DELETE", "/v2/offers/" + n.offerID, admin, "", 405},
		{"endpoint for unknown advertiser", "POST", "/v2/pb-endpoints", admin, `{"advertiser_id":"999999","kind":"primary"}`, 400},
		{"report", "POST", "/v1/networks/reporting/affiliate/pixels", map[string]string{"X-Eflow-API-Key": s.adminKey}, report + `}`, 200},
		{"seed 004's example report", "POST", "/v1/networks/reporting/affiliate/pixels", map[string]string{"X-Eflow-API-Key": s.adminKey}, seedExample + `}`, 200},
		{"seed 004's example export", "POST", "/v1/networks/reporting/affiliate/pixels/export", map[string]string{"X-Eflow-API-Key": s.adminKey}, seedExample + `,"format": "csv"}`, 200},
		{"report without key", "POST", "/v1/networks/reporting/affiliate/pixels", nil, report + `}`, 401},
		{"export CSV", "POST", "/v1/networks/reporting/affiliate/pixels/export", admin, report + `,"format":"csv"}`, 200},
		{"export NDJSON", "POST", "/v1/networks/reporting/affiliate/pixels/export", admin, report + `,"format":"json"}`, 200},
		{"export without format", "POST", "/v1/networks/reporting/affiliate/pixels/export", admin, report + `}`, 400},
		{"conversion without key", "POST", "/api/v1/conversions", nil, `{"click_id":"x"}`, 401},
		{"events refuse PUT", "PUT", "/api/v1/events", map[string]string{"X-API-Key": n.advertiserKey}, "", 405},
		{"event without click", "POST", "/api/v1/events", map[string]string{"X-API-Key": n.advertiserKey}, `{"event_type":"lead"}`, 400},
		{"named endpoint without key", "GET", "/pb/unknown", nil, "", 401},
		{"postbacks list", "GET", "/v1/postbacks", affiliate, "", 200},
		{"delete unknown postback", "DELETE", "/v1/postbacks/pb_999999", affiliate, "", 404},
		{"postbacks without the scope", "POST", "/v1/postbacks", narrow, `{"url":"https://t.example/pb?c={click_id}"}`, 403},
		{"stats refuse POST", "POST", "/v1/stats", affiliate, "", 405},
		{"stats", "GET", "/v1/stats?date_from=2026-01-01&date_to=2026-01-02&group_by=date,geo", affiliate, "", 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := s.call(c.method, c.path, c.headers, c.body, nil); got != c.status {
				t.Fatalf("%s %s: %d, want %d", c.method, c.path, got, c.status)
			}
		})
	}

	t.Run("the document is served as checked in", func(t *testing.T) {
		if code := s.call("GET", "/openapi.json", nil, "", nil); code != 200 {
			t.Fatalf("GET /openapi.json: %d", code)
		}
		resp, err := http.Get(s.base + "/openapi.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		if !bytes.Equal(body, api.OpenAPIDocument()) {
			t.Errorf("served %d bytes that differ from api/openapi.json (%d bytes)", len(body), len(api.OpenAPIDocument()))
		}
	})
	t.Run("a redirect validates", func(t *testing.T) {
		if status, location := s.click(fmt.Sprintf("/click/%s?aff_id=%s", n.offerID, n.affiliateID)); status != 302 || location == "" {
			t.Fatalf("click: %d %q", status, location)
		}
	})
}
