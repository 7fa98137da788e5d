package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// Conversion rules: a conversion sooner after its click than the offer's
// minimum, later than its maximum, or from an address outside its
// advertiser's allow list is acknowledged and not tracked, with its own
// reason; the log keeps it as rejected with that reason, it fires no
// postback, and the click-to-conversion distribution shows it. The same
// conversions inside the rules are tracked and postbacked.
func TestConversionRulesRefuseWithTheirReasons(t *testing.T) {
	s := startStack(t)
	n := s.setUp("https://shop.example.com/?cid={click_id}")
	admin := map[string]string{"Authorization": "Bearer " + s.adminKey}
	offer := func(name string, fields map[string]any) string {
		fields["name"], fields["advertiser_id"], fields["payout"] = name, n.advertiserID, 2
		fields["tracking_url"] = "https://shop.example.com/r?cid={click_id}"
		return s.createOffer(fields)
	}
	tooSoon := offer("Ten seconds at least", map[string]any{"ctit_min_seconds": 10})
	tooLate := offer("One second at most", map[string]any{"ctit_max_seconds": 1})
	plain := offer("No bounds", map[string]any{})
	receiver := newReceiver(t)
	if code := s.call("POST", "/v1/postbacks", map[string]string{"Authorization": "Bearer " + n.affiliateKey},
		fmt.Sprintf(`{"url":%q}`, receiver.URL+"/pb?c={click_id}&o={offer_id}"), nil); code != 200 {
		t.Fatalf("postback: %d", code)
	}

	// A bad bound is refused, naming the field.
	if resp := s.raw("PATCH", "/v2/offers/"+tooSoon, admin, `{"ctit_max_seconds":5}`); resp.status != 400 ||
		testkit.JSON(t, resp.body).Get("error", "code").String() != "invalid_ctit_max_seconds" {
		t.Errorf("a maximum under the minimum: %d %s", resp.status, resp.body)
	}

	lateClick := s.clickIDOn(tooLate, n.affiliateID)
	clickedAt := time.Now()
	rejected := func(answer testkit.JSONValue, reason string) string {
		t.Helper()
		if answer.Get("tracked").Bool() || answer.Get("reason").String() != reason || answer.Get("data", "reason").String() != reason ||
			answer.Get("data", "status").String() != "rejected" || answer.Get("message").String() == "" {
			t.Fatalf("want acknowledged, not tracked, %s: %v", reason, answer)
		}
		return answer.Get("data", "conversionId").String()
	}
	soonID := rejected(s.sell(n.advertiserKey, s.clickIDOn(tooSoon, n.affiliateID), "SOON-1"), "ctit_too_short")
	if a := s.sell(n.advertiserKey, s.clickIDOn(plain, n.affiliateID), "PLAIN-1"); !a.Get("data", "tracked").Bool() {
		t.Fatalf("a conversion without bounds: %v", a)
	}
	testkit.Wait(t, "the click to be more than a second old", 5*time.Second, func() bool { return time.Since(clickedAt) > 1100*time.Millisecond })
	lateID := rejected(s.sell(n.advertiserKey, lateClick, "LATE-1"), "ctit_too_long")

	// The advertiser's servers: only 10.1.2.0/24 (the stack believes
	// X-Forwarded-For from loopback, as a proxy in front of it).
	if resp := s.raw("PATCH", "/v2/advertisers/"+n.advertiserID, admin, `{"conversion_ips":["10.1.2.0/24","2001:db8::7"]}`); resp.status != 200 ||
		len(testkit.JSON(t, resp.body).Get("advertiser", "conversion_ips").Items()) != 2 {
		t.Fatalf("setting the allow list: %d %s", resp.status, resp.body)
	}
	post := func(from, txid string) testkit.JSONValue {
		t.Helper()
		resp := s.raw("POST", "/api/v1/conversions", map[string]string{"X-API-Key": n.advertiserKey, "X-Forwarded-For": from},
			fmt.Sprintf(`{"click_id":%q,"txid":%q}`, s.clickIDOn(plain, n.affiliateID), txid))
		if resp.status != 200 {
			t.Fatalf("conversion from %s: %d %s", from, resp.status, resp.body)
		}
		return testkit.JSON(t, resp.body)
	}
	strangerID := rejected(post("198.51.100.9", "IP-1"), "ip_not_allowed")
	if a := post("10.1.2.3", "IP-2"); !a.Get("data", "tracked").Bool() {
		t.Errorf("a conversion from the advertiser's range: %v", a)
	}
	if resp := s.raw("PATCH", "/v2/advertisers/"+n.advertiserID, admin, `{"conversion_ips":["10.1.2.0/99"]}`); resp.status != 400 ||
		testkit.JSON(t, resp.body).Get("error", "code").String() != "invalid_conversion_ips" {
		t.Errorf("a bad range: %d %s", resp.status, resp.body)
	}

	// The log keeps each as rejected with its reason, paying nothing.
	for id, reason := range map[string]string{soonID: "ctit_too_short", lateID: "ctit_too_long", strangerID: "ip_not_allowed"} {
		testkit.Poll(t, "conversion "+id+" in the log", stackWait, func() (bool, string) {
			resp := s.raw("GET", "/v2/conversions/"+id, admin, "")
			if resp.status != 200 { // not in ClickHouse yet
				return false, resp.body
			}
			c := testkit.JSON(t, resp.body).Get("conversion")
			return c.Get("status").String() == "rejected" && c.Get("reason").String() == reason && c.Get("payout").Float() == 0, resp.body
		})
	}
	// Two postbacks, the tracked ones', once the worker has seen all five.
	receiver.Await(t, 2, stackWait)
	awaitPostbacksSettled(t, s)
	if got := receiver.Count(); got != 2 {
		t.Errorf("%d postbacks, want 2: the three rejected fire none", got)
	}
	for reason, want := range map[string]float64{"ctit_too_short": 1, "ctit_too_long": 1, "ip_not_allowed": 1, "tracked": 2} {
		if got := s.metric(`clickrelay_conversions_total{result="` + reason + `"}`); got != want {
			t.Errorf("clickrelay_conversions_total{result=%q} = %v, want %v", reason, got, want)
		}
	}
	// The distribution: the too-soon conversion in the first bucket,
	// rejected on arrival.
	resp := s.raw("GET", "/v2/stats/ctit?offer_id="+tooSoon+"&date_from="+today()+"&date_to="+today(), admin, "")
	first := testkit.JSON(t, resp.body).Get("buckets", 0)
	if first.Get("bucket").String() != "10s" || first.Get("conversions").Int() != 1 || first.Get("rejected_at_intake").Int() != 1 {
		t.Errorf("offer %s's first bucket: %s", tooSoon, resp.body)
	}
}
