package api

import (
	"strconv"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/storage/redis"
)

func TestRateLimitsAreSharedByServers(t *testing.T) {
	rd := redis.NewForTest(t)
	config := DefaultConfiguration()
	var err error
	if config.RateLimits, err = ParseRateLimits("affiliate_burst=4/min,advertiser_write=3/min"); err != nil {
		t.Fatal(err)
	}
	a, _, _ := newTestServerOn(t, rd, nil, config)
	b, _, _ := newTestServerOn(t, rd, nil, config) // a second serve process
	aff := createAccount(t, a, "affiliates", `{"name":"Jane"}`)
	key := map[string]string{"Authorization": "Bearer " + aff.Get("api_key").String()}
	for i, s := range []*Server{a, b, a, b} {
		r := do(s, "GET", "/v1/postbacks", key, "")
		h := &r.Header
		if r.StatusCode() != 200 || string(h.Peek("X-RateLimit-Limit")) != "1000" ||
			string(h.Peek("X-RateLimit-Remaining")) != strconv.Itoa(3-i) || len(h.Peek("X-RateLimit-Reset")) == 0 {
			t.Fatalf("request %d: %d, limit %q remaining %q reset %q", i+1, r.StatusCode(),
				h.Peek("X-RateLimit-Limit"), h.Peek("X-RateLimit-Remaining"), h.Peek("X-RateLimit-Reset"))
		}
	}
	r := do(b, "GET", "/v1/postbacks", key, "")
	e := testkit.JSON(t, r.Body()).Get("error")
	reset, _ := strconv.ParseInt(string(r.Header.Peek("X-RateLimit-Reset")), 10, 64)
	if r.StatusCode() != 429 || e.Get("code").String() != "RATE_LIMITED" || e.Get("status").Int() != 429 ||
		string(r.Header.Peek("X-RateLimit-Remaining")) != "0" || reset <= time.Now().Unix() || reset > time.Now().Add(time.Minute).Unix() {
		t.Fatalf("5th request: %d %s reset %d", r.StatusCode(), r.Body(), reset)
	}

	adv := createAccount(t, a, "advertisers", `{"name":"Acme"}`)
	advKey := map[string]string{"X-API-Key": adv.Get("api_key").String()}
	for range 3 {
		if r := do(a, "POST", "/api/v1/events", advKey, `{"click_id":"x","event_type":"lead"}`); r.StatusCode() == 429 {
			t.Fatal("limited before the limit")
		}
	}
	r = do(b, "POST", "/api/v1/events", advKey, `{"click_id":"x","event_type":"lead"}`)
	if r.StatusCode() != 429 || errorCode(t, r.Body()) != "RATE_LIMITED" || len(r.Header.Peek("Retry-After")) == 0 {
		t.Fatalf("advertiser past its write limit: %d %s", r.StatusCode(), r.Body())
	}
	// Conversions have a limit of their own: the events did not use it up.
	if r := do(b, "POST", "/api/v1/conversions", advKey, `{"click_id":"x"}`); r.StatusCode() == 429 {
		t.Fatalf("conversions limited by GETs: %s", r.Body())
	}
}

func TestParseRateLimits(t *testing.T) {
	l, err := ParseRateLimits(" advertiser_conversions=100000/min, affiliate_premium=5/s ")
	if err != nil || l.AdvertiserConversions.Limit != 100000 || l.AffiliatePremium.Period != time.Second || l.AffiliateBurst.Limit != 100 {
		t.Fatalf("%+v %v", l, err)
	}
	if l, err := ParseRateLimits("off"); err != nil || !l.Off {
		t.Fatalf("off: %+v %v", l, err)
	}
	for _, bad := range []string{"nope=1/min", "affiliate_burst=0/min", "affiliate_burst=5/day", "affiliate_burst", "affiliate_burst=x/min"} {
		if _, err := ParseRateLimits(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
