package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/clickid"
)

// TestIntakeAnswersOverHTTP checks issue 8's intake answers through the
// real binary, against the OpenAPI document: a conversion on a click
// minted moments ago but not in Redis is a retryable 503 in seed 002's
// envelope, an old missing click is 400, and inputs that would be stored
// differently from what was sent are refused with a clear message.
func TestIntakeAnswersOverHTTP(t *testing.T) {
	const secret = "intake-stack-test-secret-0123456789"
	s := startStack(t, "CLICKRELAY_CLICK_SECRET="+secret)
	n := s.setUp("https://shop.example.com/?c={click_id}")
	minter, err := clickid.NewMinter([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	status, location := s.click(fmt.Sprintf("/click/%s?aff_id=%s", n.offerID, n.affiliateID))
	if status != 302 {
		t.Fatalf("click: %d", status)
	}
	real := clickID(t, location, "c")
	key := map[string]string{"X-API-Key": n.advertiserKey, "Content-Type": "application/json"}
	cases := []struct {
		name, body     string
		status         int
		code, message  string
		wantRetryAfter bool
	}{
		{"lagging click", `{"click_id":"` + minter.New(time.Now()) + `"}`, 503, "SERVICE_UNAVAILABLE", "", true},
		{"old missing click", `{"click_id":"` + minter.New(time.Now().Add(-time.Hour)) + `"}`, 400, "VALIDATION_ERROR", "Click not found", false},
		{"NUL in txid", `{"click_id":"` + real + `","txid":"A\u0000B"}`, 400, "VALIDATION_ERROR", "txid must not contain control characters", false},
		{"lone surrogate", `{"click_id":"` + real + `","txid":"A\ud800"}`, 400, "VALIDATION_ERROR", "txid must be valid UTF-8", false},
		{"amount overflow", `{"click_id":"` + real + `","amount":1e309}`, 400, "VALIDATION_ERROR", "amount is too large", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.raw("POST", "/api/v1/conversions", key, c.body)
			if r.status != c.status || !strings.Contains(r.body, `"`+c.code+`"`) || !strings.Contains(r.body, c.message) {
				t.Fatalf("%d %s; want %d %s %q", r.status, r.body, c.status, c.code, c.message)
			}
			if c.wantRetryAfter && r.header.Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
		})
	}
	// The click answered converts, once: the retry of the same txid is the
	// seed's duplicate, with no second conversion.
	var first struct {
		Data struct {
			Tracked      bool   `json:"tracked"`
			ConversionID string `json:"conversionId"`
		} `json:"data"`
	}
	var second struct {
		Tracked bool   `json:"tracked"`
		Reason  string `json:"reason"`
	}
	body := `{"click_id":"` + real + `","txid":"STACK-1"}`
	if code := s.call("POST", "/api/v1/conversions", key, body, &first); code != 200 || !first.Data.Tracked {
		t.Fatalf("conversion: %d %+v", code, first)
	}
	if code := s.call("POST", "/api/v1/conversions", key, body, &second); code != 200 || second.Tracked || second.Reason != "duplicate_txid" {
		t.Fatalf("same txid again: %d %+v", code, second)
	}
}
