package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
)

// The stack tests of targeting and of the network's traffic controls
// (README, "Targeting and traffic controls").

// Visitors the tests click as: their addresses reach the stack through
// X-Forwarded-For, which it believes from a loopback peer (no
// CLICKRELAY_TRUSTED_PROXIES: loopback and private proxies are trusted).
const (
	gbIP       = "81.2.69.142" // Great Britain
	usIP       = "8.8.8.8"     // the United States
	ios16UA    = "Mozilla/5.0 (iPhone; CPU iPhone OS 16_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.2 Mobile/15E148 Safari/604.1"
	android12  = "Mozilla/5.0 (Linux; Android 12; Pixel 6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36"
	firefoxWin = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
)

// visitor is who follows a link: a user agent, an address and the
// languages its browser asks for.
type visitor struct{ ua, ip, lang string }

// visit follows path as v and answers where it went: the Location up to
// its query, or the status.
func (s *stack) visit(path string, v visitor) string {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.base+path, nil)
	req.Header.Set("User-Agent", v.ua)
	req.Header.Set("X-Forwarded-For", v.ip)
	if v.lang != "" {
		req.Header.Set("Accept-Language", v.lang)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	s.checkContract(req, resp, raw)
	if resp.StatusCode != 302 {
		return fmt.Sprint(resp.StatusCode)
	}
	loc, _, _ := strings.Cut(resp.Header.Get("Location"), "?")
	return loc
}

// Each kind of rule includes and excludes as written, the countries and
// os shorthands still apply beside them, and a record's targeting narrows
// the offer's for its affiliate only. Every visitor turned away goes to
// the fallback and counts as off_target in /v2/stats and the metrics.
func TestTargetingRulesOnTheClickPath(t *testing.T) {
	s := startStack(t)
	n := s.setUp("https://shop.example.com/?cid={click_id}")
	const land, away = "https://shop.example.com/", "https://fallback.example.com/"
	if code := s.admin("PATCH", "/v2/offers/"+n.offerID, `{"fallback_url":"https://fallback.example.com/"}`, nil); code != 200 {
		t.Fatalf("fallback: %d", code)
	}
	other := s.createAffiliate(`{"name":"Other Media"}`)
	link := "/click/" + n.offerID + "?aff_id=" + n.affiliateID
	offTarget := 0
	target := func(rules string) {
		t.Helper()
		resp := s.raw("PATCH", "/v2/offers/"+n.offerID, map[string]string{"Authorization": "Bearer " + s.adminKey}, `{"targeting":`+rules+`}`)
		if resp.status != 200 {
			t.Fatalf("targeting %s: %d %s", rules, resp.status, resp.body)
		}
	}
	expect := func(rules string, cases map[visitor]string) {
		t.Helper()
		target(rules)
		for v, want := range cases {
			if got := s.visit(link, v); got != want {
				t.Errorf("%s: %+v went to %s, want %s", rules, v, got, want)
			}
			if want == away {
				offTarget++
			}
		}
	}
	iphoneGB, iphoneUS := visitor{iPhoneUA, gbIP, ""}, visitor{iPhoneUA, usIP, ""}
	expect(`{"countries":{"include":["GB"]}}`, map[visitor]string{iphoneGB: land, iphoneUS: away})
	expect(`{"countries":{"exclude":["gb"]}}`, map[visitor]string{iphoneGB: away, iphoneUS: land})
	expect(`{"devices":{"include":["desktop"]}}`, map[visitor]string{{firefoxWin, gbIP, ""}: land, iphoneGB: away})
	expect(`{"devices":{"exclude":["mobile"]}}`, map[visitor]string{{firefoxWin, gbIP, ""}: land, iphoneGB: away})
	expect(`{"os":{"include":["android"]}}`, map[visitor]string{{android12, gbIP, ""}: land, iphoneGB: away})
	expect(`{"os":{"exclude":["android"]}}`, map[visitor]string{{android12, gbIP, ""}: away, iphoneGB: land})
	expect(`{"os_versions":{"include":[{"os":"android","min":"10","max":"13"}]}}`,
		map[visitor]string{{android12, gbIP, ""}: land, {androidUA, gbIP, ""}: away, iphoneGB: away})
	expect(`{"os_versions":{"exclude":[{"os":"ios","min":"17"}]}}`,
		map[visitor]string{{ios16UA, gbIP, ""}: land, iphoneGB: away, {android12, gbIP, ""}: land})
	expect(`{"browsers":{"include":["firefox","chrome"]}}`, map[visitor]string{{firefoxWin, gbIP, ""}: land, {android12, gbIP, ""}: land, iphoneGB: away})
	expect(`{"browsers":{"exclude":["safari"]}}`, map[visitor]string{{firefoxWin, gbIP, ""}: land, iphoneGB: away})
	expect(`{"languages":{"include":["pt"]}}`, map[visitor]string{{iPhoneUA, gbIP, "pt-BR,en;q=0.5"}: land,
		{iPhoneUA, gbIP, "en-US,pt;q=0.4"}: away, iphoneGB: away})
	expect(`{"languages":{"include":["pt-BR"]}}`, map[visitor]string{{iPhoneUA, gbIP, "pt-BR"}: land, {iPhoneUA, gbIP, "pt-PT,pt;q=0.9"}: away})
	expect(`{"languages":{"exclude":["pt-PT"]}}`, map[visitor]string{{iPhoneUA, gbIP, "pt-BR"}: land, {iPhoneUA, gbIP, "pt-pt"}: away, iphoneGB: land})
	expect(`{"ips":{"include":["81.2.69.0/24"]}}`, map[visitor]string{iphoneGB: land, {iPhoneUA, "81.2.70.1", ""}: away, iphoneUS: away})
	expect(`{"ips":{"exclude":["2001:db8::/32","8.8.8.0/24"]}}`, map[visitor]string{{iPhoneUA, "2001:db8::5", ""}: away,
		{iPhoneUA, "2001:db9::5", ""}: land, iphoneUS: away, iphoneGB: land})
	// The rules as read back.
	var got struct {
		Offer struct {
			Targeting map[string]any `json:"targeting"`
		} `json:"offer"`
	}
	if code := s.admin("GET", "/v2/offers/"+n.offerID, "", &got); code != 200 || fmt.Sprint(got.Offer.Targeting) != "map[ips:map[exclude:[2001:db8::/32 8.8.8.0/24]]]" {
		t.Errorf("GET the offer: %d %v", code, got.Offer.Targeting)
	}

	// The shorthands apply beside the targeting: both must let a visitor through.
	target(`{"countries":{"include":["GB","DE"]}}`)
	if code := s.admin("PATCH", "/v2/offers/"+n.offerID, `{"countries":["DE","US"]}`, nil); code != 200 {
		t.Fatalf("countries: %d", code)
	}
	for v, want := range map[visitor]string{iphoneGB: away, iphoneUS: away, {iPhoneUA, "5.9.0.1", ""}: land} { // the last in Germany
		if got := s.visit(link, v); got != want {
			t.Errorf("countries [DE, US] and targeting [GB, DE]: %+v went to %s, want %s", v, got, want)
		}
		if want == away {
			offTarget++
		}
	}
	if code := s.admin("PATCH", "/v2/offers/"+n.offerID, `{"countries":[],"os":"android","targeting":{"os_versions":{"include":[{"os":"android","min":"13"}]}}}`, nil); code != 200 {
		t.Fatalf("os: %d", code)
	}
	for v, want := range map[visitor]string{iphoneGB: away, {android12, gbIP, ""}: away, {androidUA, gbIP, ""}: land} {
		if got := s.visit(link, v); got != want {
			t.Errorf("os android and Android 13 or later: %+v went to %s, want %s", v, got, want)
		}
		if want == away {
			offTarget++
		}
	}

	// A record's targeting narrows the offer's for its affiliate only.
	if code := s.admin("PATCH", "/v2/offers/"+n.offerID, `{"os":"","targeting":{"countries":{"include":["GB"]}}}`, nil); code != 200 {
		t.Fatalf("reset: %d", code)
	}
	rec := s.putRecord(n.offerID, other.ID, `{"targeting":{"devices":{"include":["desktop"]}}}`)
	if rec.Get("targeting", "devices", "include", 0).String() != "desktop" {
		t.Errorf("the record read back: %v", rec)
	}
	otherLink := "/click/" + n.offerID + "?aff_id=" + other.ID
	for _, c := range []struct {
		link string
		v    visitor
		want string
	}{
		{otherLink, iphoneGB, away},                      // the record refuses a phone
		{otherLink, visitor{firefoxWin, gbIP, ""}, land}, // and takes a desktop
		{otherLink, visitor{firefoxWin, usIP, ""}, away}, // which the offer's rules still judge
		{link, iphoneGB, land},                           // another affiliate's phone is taken
	} {
		if got := s.visit(c.link, c.v); got != c.want {
			t.Errorf("%s as %+v: went to %s, want %s", c.link, c.v, got, c.want)
		}
		if c.want == away {
			offTarget++
		}
	}

	testkit.Poll(t, "the off-target clicks in /v2/stats", stackWait, func() (bool, string) {
		var stats struct {
			Totals struct {
				OffTarget int `json:"off_target"`
				Denied    int `json:"denied"`
			} `json:"totals"`
		}
		if code := s.admin("GET", "/v2/stats?date_from="+today()+"&date_to="+today(), "", &stats); code != 200 {
			return false, fmt.Sprint("status ", code)
		}
		return stats.Totals.OffTarget == offTarget && stats.Totals.Denied == 0, fmt.Sprintf("%+v, want %d off target", stats.Totals, offTarget)
	})
	if got := s.metric(`clickrelay_clicks_total{outcome="off_target"}`); got != float64(offTarget) {
		t.Errorf(`clickrelay_clicks_total{outcome="off_target"} = %v, want %d`, got, offTarget)
	}
}

// A blocked address and a blocked user agent never reach an offer: they
// go to its fallback (or a 404), count as denied in /v2/stats and the
// metrics, and the block lists come back after Redis lost them, in a
// process started afterwards too.
func TestTrafficControlsDenyBeforeAnyOffer(t *testing.T) {
	s := startStack(t)
	n := s.setUp("https://shop.example.com/?cid={click_id}")
	const land, away = "https://shop.example.com/", "https://fallback.example.com/"
	if code := s.admin("PATCH", "/v2/offers/"+n.offerID, `{"fallback_url":"https://fallback.example.com/"}`, nil); code != 200 {
		t.Fatalf("fallback: %d", code)
	}
	bare := s.createOffer(map[string]any{"name": "No fallback", "tracking_url": "https://shop.example.com/b?cid={click_id}",
		"advertiser_id": n.advertiserID, "payout": 1})
	var put struct {
		TrafficControls struct {
			IPs        []string `json:"ips"`
			UserAgents []string `json:"user_agents"`
		} `json:"traffic_controls"`
	}
	if code := s.admin("PUT", "/v2/traffic-controls", `{"ips":["81.2.69.142","2001:db8:bad::/48"],"user_agents":["BadBot"]}`, &put); code != 200 ||
		strings.Join(put.TrafficControls.IPs, ",") != "81.2.69.142/32,2001:db8:bad::/48" || strings.Join(put.TrafficControls.UserAgents, ",") != "BadBot" {
		t.Fatalf("PUT /v2/traffic-controls: %d %+v", code, put)
	}
	if code := s.admin("PUT", "/v2/traffic-controls", `{"ips":["81.2.69.142/33"]}`, nil); code != 400 {
		t.Errorf("a bad range: %d, want 400", code)
	}
	link := func(offer string) string { return "/click/" + offer + "?aff_id=" + n.affiliateID }
	denied := 0
	for _, c := range []struct {
		offer string
		v     visitor
		want  string
	}{
		{n.offerID, visitor{iPhoneUA, gbIP, ""}, away},
		{bare, visitor{iPhoneUA, gbIP, ""}, "404"},
		{n.offerID, visitor{"Mozilla/5.0 (compatible; badbot/1.1; +https://bad.example)", usIP, ""}, away},
		{n.offerID, visitor{iPhoneUA, "2001:db8:bad::1", ""}, away},
		{n.offerID, visitor{iPhoneUA, usIP, ""}, land},
		{n.offerID, visitor{iPhoneUA, "81.2.69.143", ""}, land},
		{bare, visitor{iPhoneUA, usIP, ""}, "https://shop.example.com/b"},
	} {
		if got := s.visit(link(c.offer), c.v); got != c.want {
			t.Errorf("offer %s as %+v: went to %s, want %s", c.offer, c.v, got, c.want)
		}
		if c.want == away || c.want == "404" {
			denied++
		}
	}
	testkit.Poll(t, "the denied clicks in /v2/stats", stackWait, func() (bool, string) {
		var stats struct {
			Rows []struct {
				Offer  string `json:"offer"`
				Clicks int    `json:"clicks"`
				Denied int    `json:"denied"`
			} `json:"rows"`
		}
		if code := s.admin("GET", "/v2/stats?group_by=offer&date_from="+today()+"&date_to="+today(), "", &stats); code != 200 {
			return false, fmt.Sprint("status ", code)
		}
		got := map[string][2]int{}
		for _, r := range stats.Rows {
			got[r.Offer] = [2]int{r.Clicks, r.Denied}
		}
		return got[n.offerID] == [2]int{2, 3} && got[bare] == [2]int{1, 1}, fmt.Sprintf("offer → [clicks, denied]: %v", got)
	})
	if got := s.metric(`clickrelay_clicks_total{outcome="denied"}`); got != float64(denied) {
		t.Errorf(`clickrelay_clicks_total{outcome="denied"} = %v, want %d`, got, denied)
	}

	// Redis loses the configuration: the reload restores it from the
	// journal, and a process started afterwards denies the same visitors.
	ctx := context.Background()
	client, prefix := stackRedis(t, s)
	loseConfiguration(t, client, prefix)
	if err := client.Publish(ctx, prefix+"invalidate", "*").Err(); err != nil {
		t.Fatal(err)
	}
	testkit.Poll(t, "the traffic controls back in Redis", 30*time.Second, func() (bool, string) {
		there, err := client.HExists(ctx, prefix+"ent:"+string(model.KindTrafficControls), model.TrafficControlsID).Result()
		return there, fmt.Sprintf("in Redis: %v (%v)", there, err)
	})
	serve := s.startServe()
	if got := serve.visit(link(n.offerID), visitor{iPhoneUA, gbIP, ""}); got != away {
		t.Errorf("the second process after the restore: a blocked address went to %s", got)
	}
	if got := serve.visit(link(n.offerID), visitor{"BadBot/2", usIP, ""}); got != away {
		t.Errorf("the second process after the restore: a blocked agent went to %s", got)
	}
	var read struct {
		TrafficControls struct {
			IPs []string `json:"ips"`
		} `json:"traffic_controls"`
	}
	if code := serve.admin("GET", "/v2/traffic-controls", "", &read); code != 200 || len(read.TrafficControls.IPs) != 2 {
		t.Errorf("GET /v2/traffic-controls on the second process: %d %+v", code, read)
	}
}

// Day-parting on the real binary reads the hour in the network's time
// zone. Kolkata is UTC+5:30, so its hour of the week is never UTC's: a
// schedule of Kolkata's current hour takes the visitor, one of UTC's
// current hour does not. (A visit that straddles an hour boundary is made
// again; tracker's TestDayPartingInTheNetworksTimezone walks the
// boundaries with a test clock.)
func TestDayPartingOnTheClickPath(t *testing.T) {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	s := startStack(t, "CLICKRELAY_TIMEZONE=Asia/Kolkata")
	n := s.setUp("https://shop.example.com/?cid={click_id}")
	const land, away = "https://shop.example.com/", "https://fallback.example.com/"
	if code := s.admin("PATCH", "/v2/offers/"+n.offerID, `{"fallback_url":"https://fallback.example.com/"}`, nil); code != 200 {
		t.Fatalf("fallback: %d", code)
	}
	link := "/click/" + n.offerID + "?aff_id=" + n.affiliateID
	window := func(at time.Time) string {
		return fmt.Sprintf(`{"schedule":[{"days":[%q],"hours":[%d]}]}`, strings.ToLower(at.Weekday().String()[:3]), at.Hour())
	}
	for _, c := range []struct {
		name string
		in   *time.Location
		want string
	}{{"Kolkata's hour", kolkata, land}, {"UTC's hour", time.UTC, away}} {
		for try := 0; ; try++ {
			before := time.Now().In(c.in)
			if code := s.admin("PATCH", "/v2/offers/"+n.offerID, `{"targeting":`+window(before)+`}`, nil); code != 200 {
				t.Fatalf("targeting: %d", code)
			}
			got := s.visit(link, visitor{iPhoneUA, gbIP, ""})
			if after := time.Now().In(c.in); after.Hour() != before.Hour() && try < 3 {
				continue // the hour turned during the visit
			}
			if got != c.want {
				t.Errorf("a schedule of %s (%s) in a network on Asia/Kolkata: went to %s, want %s", c.name, window(before), got, c.want)
			}
			break
		}
	}
}
