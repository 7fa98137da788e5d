package api

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
)

// errorMessage is an admin error's message ("" for none).
func errorMessage(t *testing.T, body []byte) string {
	t.Helper()
	if m, ok := testkit.JSON(t, body).Lookup("error", "message"); ok {
		return m.String()
	}
	return ""
}

// canonJSON is s as testkit's Text writes it (keys sorted).
func canonJSON(s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic(err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// An offer's and a record's targeting are read back as the click path
// holds them (normalised), and a bad one is a 400 invalid_targeting naming
// the field, changing nothing.
func TestTargetingOnOffersAndRecords(t *testing.T) {
	s, rd, _ := newTestServer(t, nil)
	admin := map[string]string{"X-Api-Key": testAdminKey}
	r := do(s, "POST", "/v2/offers", admin, `{"name":"Promo","tracking_url":"https://t.example/?c={click_id}","countries":["gb"],
		"targeting":{"countries":{"exclude":["fr"]},"os_versions":{"include":[{"os":"Android","min":"10","max":"14"}]},"ips":{"exclude":["10.1.2.3/8"]}}}`)
	if r.StatusCode() != 201 {
		t.Fatalf("create: %d %s", r.StatusCode(), r.Body())
	}
	offer := testkit.JSON(t, r.Body()).Get("offer")
	id := offer.Get("id").String()
	if got := offer.Get("targeting").Text(); got != canonJSON(`{"countries":{"exclude":["FR"]},"os_versions":{"include":[{"os":"android","min":"10","max":"14"}]},"ips":{"exclude":["10.0.0.0/8"]}}`) {
		t.Errorf("targeting read back: %s", got)
	}
	if c := offer.Get("countries").Text(); c != canonJSON(`["GB"]`) {
		t.Errorf("the countries shorthand: %s", c)
	}
	if o := rd.Catalog().Offer(id); o.Targeting.Admits(&model.Visit{Country: "FR"}) || !o.Targeting.AdmitsCountry("GB") {
		t.Errorf("the catalog's offer: %+v", o.Targeting)
	}
	for _, c := range []struct{ body, message string }{
		{`{"targeting":{"devices":{"include":["phone"]}}}`, `targeting.devices.include[0]: "phone" is not one of desktop, mobile, tablet.`},
		{`{"targeting":{"geo":{"include":["US"]}}}`, `targeting: "geo" is not a kind of rule`},
		{`{"targeting":["US"]}`, `targeting: must be an object`},
	} {
		r := do(s, "PATCH", "/v2/offers/"+id, admin, c.body)
		if r.StatusCode() != 400 || errorCode(t, r.Body()) != "invalid_targeting" || !strings.Contains(errorMessage(t, r.Body()), c.message) {
			t.Errorf("PATCH %s: %d %s", c.body, r.StatusCode(), r.Body())
		}
	}
	r = do(s, "PATCH", "/v2/offers/"+id, admin, `{"targeting":{}}`)
	if got := testkit.JSON(t, r.Body()).Get("offer", "targeting").Text(); r.StatusCode() != 200 || got != canonJSON(`{}`) || rd.Catalog().Offer(id).Targeting != nil {
		t.Errorf("targeting removed: %d %s", r.StatusCode(), got)
	}

	aff := testkit.JSON(t, do(s, "POST", "/v2/affiliates", admin, `{"name":"Jane"}`).Body()).Get("affiliate", "id").String()
	record := "/v2/offers/" + id + "/affiliates/" + aff
	r = do(s, "PUT", record, admin, `{"targeting":{"languages":{"include":["pt_br","EN"]},"schedule":[{"days":["sat","sun"]}]}}`)
	if got := testkit.JSON(t, r.Body()).Get("offer_affiliate", "targeting").Text(); r.StatusCode() != 200 ||
		got != canonJSON(`{"languages":{"include":["pt-BR","en"]},"schedule":[{"days":["sun","sat"]}]}`) {
		t.Errorf("the record's targeting: %d %s", r.StatusCode(), r.Body())
	}
	if r := do(s, "PUT", record, admin, `{"payout":3}`); r.StatusCode() != 200 { // another field leaves the targeting
		t.Errorf("PUT of the payout: %d %s", r.StatusCode(), r.Body())
	}
	if got := testkit.JSON(t, do(s, "GET", record, admin, "").Body()).Get("offer_affiliate", "targeting", "languages", "include").Text(); got != canonJSON(`["pt-BR","en"]`) {
		t.Errorf("after a PUT of the payout: %s", got)
	}
	if r := do(s, "PUT", record, admin, `{"targeting":{"schedule":[{"hours":[25]}]}}`); r.StatusCode() != 400 ||
		errorMessage(t, r.Body()) != "targeting.schedule[0].hours[0]: 25 is not an hour from 0 to 23." {
		t.Errorf("a bad schedule: %d %s", r.StatusCode(), r.Body())
	}
	if rec := rd.Catalog().OfferAffiliate(id, aff); rec.Targeting == nil || *rec.Payout != 3 {
		t.Errorf("the catalog's record: %+v", rec)
	}
}

// GET and PUT /v2/traffic-controls: empty before any were set; each list
// the body names replaces the one in force; bad entries are refused,
// naming them.
func TestTrafficControlsAPI(t *testing.T) {
	s, rd, _ := newTestServer(t, nil)
	admin := map[string]string{"X-Api-Key": testAdminKey}
	r := do(s, "GET", "/v2/traffic-controls", admin, "")
	if got := testkit.JSON(t, r.Body()).Get("traffic_controls").Text(); r.StatusCode() != 200 || got != canonJSON(`{"ips":[],"user_agents":[],"updated_at":null}`) {
		t.Errorf("before any: %d %s", r.StatusCode(), got)
	}
	r = do(s, "PUT", "/v2/traffic-controls", admin, `{"ips":["203.0.113.7","198.51.100.9/24","2001:DB8::/32"],"user_agents":["BadBot"]}`)
	c := testkit.JSON(t, r.Body()).Get("traffic_controls")
	if r.StatusCode() != 200 || c.Get("ips").Text() != canonJSON(`["203.0.113.7/32","198.51.100.0/24","2001:db8::/32"]`) || c.Get("user_agents").Text() != canonJSON(`["BadBot"]`) ||
		c.Get("updated_at").String() == "" {
		t.Errorf("PUT: %d %s", r.StatusCode(), r.Body())
	}
	r = do(s, "PUT", "/v2/traffic-controls", admin, `{"user_agents":["EvilCrawler","evilcrawler"]}`)
	if c := testkit.JSON(t, r.Body()).Get("traffic_controls"); c.Get("ips").Text() != canonJSON(`["203.0.113.7/32","198.51.100.0/24","2001:db8::/32"]`) ||
		c.Get("user_agents").Text() != canonJSON(`["EvilCrawler"]`) {
		t.Errorf("a PUT of user_agents alone: %s", r.Body())
	}
	if tc := rd.Catalog().TrafficControls(); !tc.BlocksIP(netip.MustParseAddr("198.51.100.200")) || !tc.BlocksUserAgent([]byte("an EVILCRAWLER")) ||
		tc.BlocksUserAgent([]byte("BadBot")) {
		t.Errorf("the catalog's controls: %+v", tc)
	}
	for _, c := range []struct{ body, code, message string }{
		{`{"ips":["10.0.0.0/33"]}`, "invalid_ips", `"10.0.0.0/33" is not a CIDR prefix`},
		{`{"ips":"10.0.0.0/8"}`, "invalid_ips", "ips must be a list of strings."},
		{`{"user_agents":[""]}`, "invalid_user_agents", "user_agents[0]: each entry is 1 to 256 bytes"},
		{`{"user_agents":["` + strings.Repeat("x", 257) + `"]}`, "invalid_user_agents", "user_agents[0]"},
		{`[1]`, "invalid_json", ""},
	} {
		r := do(s, "PUT", "/v2/traffic-controls", admin, c.body)
		if r.StatusCode() != 400 || errorCode(t, r.Body()) != c.code || !strings.Contains(errorMessage(t, r.Body()), c.message) {
			t.Errorf("PUT %.60s: %d %s", c.body, r.StatusCode(), r.Body())
		}
	}
	// At least 10,000 ranges, in one request.
	ranges := make([]string, 10000)
	for i := range ranges {
		ranges[i] = fmt.Sprintf(`"100.%d.%d.0/24"`, i/256, i%256)
	}
	r = do(s, "PUT", "/v2/traffic-controls", admin, `{"ips":[`+strings.Join(ranges, ",")+`],"user_agents":null}`)
	if r.StatusCode() != 200 || !rd.Catalog().TrafficControls().BlocksIP(netip.MustParseAddr("100.39.15.1")) ||
		rd.Catalog().TrafficControls().AgentsVersion() != 0 {
		t.Errorf("10,000 ranges: %d %.200s", r.StatusCode(), r.Body())
	}
	if r := do(s, "GET", "/v2/traffic-controls", map[string]string{}, ""); r.StatusCode() != 401 {
		t.Errorf("without the admin key: %d", r.StatusCode())
	}
}
