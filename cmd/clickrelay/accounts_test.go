package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// TestLimitsAndAccountsAcrossServeProcesses runs a second node, `clickrelay
// serve`, beside the stack's `all`, as two nodes behind a load balancer:
// they enforce one rate limit, and an admin's change on one reaches the
// other at once.
func TestLimitsAndAccountsAcrossServeProcesses(t *testing.T) {
	limits := "CLICKRELAY_RATE_LIMITS=affiliate_burst=6/min,advertiser_write=4/min"
	a := startStack(t, limits)
	b := a.startServe(limits)
	n := a.setUp("https://shop.example.com/?c={click_id}")
	nodes := []*stack{a, b}

	t.Run("affiliate limit shared", func(t *testing.T) {
		bearer := map[string]string{"Authorization": "Bearer " + n.affiliateKey}
		// The serving node learns the new key from its catalog's feed: a
		// key it does not know yet is refused before anything is counted,
		// so the request counted first is the first it answers, and the
		// nodes take turns from there.
		turns := []*stack{b, a}
		var resp rawResponse
		testkit.Poll(t, "the new affiliate's key known to the other node", 10*time.Second, func() (bool, string) {
			resp = b.raw("GET", "/v1/postbacks", bearer, "")
			return resp.status != 401, fmt.Sprintf("status %d", resp.status)
		})
		for i := range 6 {
			if i > 0 {
				resp = turns[i%2].raw("GET", "/v1/postbacks", bearer, "")
			}
			if resp.status != 200 || resp.header.Get("X-RateLimit-Limit") != "10000" || // premium tier
				resp.header.Get("X-RateLimit-Remaining") != strconv.Itoa(5-i) {
				t.Fatalf("request %d: %d limit %q remaining %q", i+1, resp.status,
					resp.header.Get("X-RateLimit-Limit"), resp.header.Get("X-RateLimit-Remaining"))
			}
		}
		resp = b.raw("GET", "/v1/postbacks", bearer, "")
		reset, _ := strconv.ParseInt(resp.header.Get("X-RateLimit-Reset"), 10, 64)
		if resp.status != 429 || resp.header.Get("X-RateLimit-Remaining") != "0" ||
			reset <= time.Now().Unix() || reset > time.Now().Add(61*time.Second).Unix() ||
			resp.errorCode(t) != "RATE_LIMITED" || !strings.Contains(resp.body, `"status":429`) {
			t.Fatalf("7th request: %d reset %d %s", resp.status, reset, resp.body)
		}
	})

	t.Run("advertiser limit shared", func(t *testing.T) {
		key := map[string]string{"X-API-Key": n.advertiserKey}
		for i := range 4 {
			if resp := nodes[i%2].raw("POST", "/api/v1/events", key, `{"click_id":"nope","event_type":"lead"}`); resp.status != 400 {
				t.Fatalf("event %d: %d %s", i+1, resp.status, resp.body)
			}
		}
		resp := a.raw("POST", "/api/v1/events", key, `{"click_id":"nope","event_type":"lead"}`)
		if resp.status != 429 || resp.header.Get("Retry-After") == "" || resp.errorCode(t) != "RATE_LIMITED" {
			t.Fatalf("5th event: %d %v %s", resp.status, resp.header, resp.body)
		}
		// Conversions are limited apart (1,000 a minute): still taken.
		if resp := b.raw("POST", "/api/v1/conversions", key, `{"click_id":"nope"}`); resp.status != 400 || resp.errorCode(t) != "VALIDATION_ERROR" {
			t.Fatalf("conversion after the write limit: %d %s", resp.status, resp.body)
		}
	})

	t.Run("rotated key stops on every node", func(t *testing.T) {
		var rotated struct {
			Advertiser struct {
				APIKey string `json:"api_key"`
			} `json:"advertiser"`
		}
		if code := a.admin("POST", "/v2/advertisers/"+n.advertiserID+"/rotate-key", "", &rotated); code != 200 || rotated.Advertiser.APIKey == "" {
			t.Fatalf("rotate: %d", code)
		}
		oldKey := map[string]string{"X-API-Key": n.advertiserKey}
		newKey := map[string]string{"X-API-Key": rotated.Advertiser.APIKey}
		if resp := a.raw("POST", "/api/v1/conversions", oldKey, `{"click_id":"nope"}`); resp.status != 401 || resp.errorCode(t) != "INVALID_API_KEY" {
			t.Fatalf("old key on the rotating node: %d %s", resp.status, resp.body)
		}
		testkit.Poll(t, "the old key refused by the other node", 10*time.Second, func() (bool, string) {
			old, fresh := b.raw("POST", "/api/v1/conversions", oldKey, `{"click_id":"nope"}`), b.raw("POST", "/api/v1/conversions", newKey, `{"click_id":"nope"}`)
			return old.status == 401 && fresh.status == 400, fmt.Sprintf("the old key %d, the new one %d", old.status, fresh.status)
		})
	})

	t.Run("paused affiliate", func(t *testing.T) {
		if code := b.admin("PATCH", "/v2/affiliates/"+n.affiliateID, `{"status":"paused"}`, nil); code != 200 {
			t.Fatalf("pause: %d", code)
		}
		testkit.Poll(t, "a paused affiliate's clicks refused by the other node", 10*time.Second, func() (bool, string) {
			status, _ := a.click("/click/" + n.offerID + "?aff_id=" + n.affiliateID)
			return status == 404, fmt.Sprint(status)
		})
		resp := a.raw("GET", "/v1/postbacks", map[string]string{"Authorization": "Bearer " + n.affiliateKey}, "")
		if resp.status != 403 || resp.errorCode(t) != "ACCOUNT_INACTIVE" {
			t.Fatalf("paused affiliate's key: %d %s", resp.status, resp.body)
		}
		b.admin("PATCH", "/v2/affiliates/"+n.affiliateID, `{"status":"active"}`, nil)
		testkit.Poll(t, "a reactivated affiliate's clicks redirected", 10*time.Second, func() (bool, string) {
			status, _ := a.click("/click/" + n.offerID + "?aff_id=" + n.affiliateID)
			return status == 302, fmt.Sprint(status)
		})
	})

	t.Run("OS targeting", func(t *testing.T) {
		var offer struct {
			Offer struct {
				ID string `json:"id"`
			} `json:"offer"`
		}
		if code := a.admin("POST", "/v2/offers", `{"name":"Android only","tracking_url":"https://play.example.com/?c={click_id}","os":"android"}`, &offer); code != 201 {
			t.Fatalf("create offer: %d", code)
		}
		link := "/click/" + offer.Offer.ID + "?aff_id=" + n.affiliateID
		testkit.Poll(t, "the new offer redirecting Android on the other node", 10*time.Second, func() (bool, string) {
			status, _ := b.clickAs(link, androidUA)
			return status == 302, fmt.Sprint(status)
		})
		if status, _ := b.click(link); status != 404 { // the stack's clicks come from an iPhone
			t.Fatalf("iPhone on an Android offer: %d", status)
		}
		if code := a.admin("PATCH", "/v2/offers/"+offer.Offer.ID, `{"fallback_url":"https://apps.example.com/other"}`, nil); code != 200 {
			t.Fatalf("patch: %d", code)
		}
		testkit.Poll(t, "an iPhone sent to the fallback", 10*time.Second, func() (bool, string) {
			status, location := b.click(link)
			return status == 302 && location == "https://apps.example.com/other", fmt.Sprint(status, " ", location)
		})
	})
}

// errorCode is the error code of either envelope ({"error":{"code"}}).
func (r rawResponse) errorCode(t *testing.T) string {
	t.Helper()
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("not JSON: %d %q", r.status, r.body)
	}
	return e.Error.Code
}
