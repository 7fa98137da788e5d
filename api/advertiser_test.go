package api

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
)

// newAdvertiser creates an advertiser and one CPA offer through the admin
// API and returns its key and the offer's slug.
func newAdvertiser(t *testing.T, s *Server, name string) (key, slug string) {
	t.Helper()
	admin := map[string]string{"X-Api-Key": testAdminKey}
	r := do(s, "POST", "/v2/advertisers", admin, fmt.Sprintf(`{"name":%q,"contact_email":"a@b.example"}`, name))
	if r.StatusCode() != 201 {
		t.Fatalf("create advertiser: %d %s", r.StatusCode(), r.Body())
	}
	adv := testkit.JSON(t, r.Body()).Get("advertiser")
	r = do(s, "POST", "/v2/offers", admin, fmt.Sprintf(`{"name":"%s offer","tracking_url":"https://x.example/?c={click_id}","advertiser_id":%q,"payout":30}`, name, adv.Get("id").String()))
	if r.StatusCode() != 201 {
		t.Fatalf("create offer: %d %s", r.StatusCode(), r.Body())
	}
	return adv.Get("api_key").String(), testkit.JSON(t, r.Body()).Get("offer", "slug").String()
}

// Bad parameters are 400 VALIDATION_ERROR in seed 002's envelope, before
// any storage is asked; nothing is a 500.
func TestAdvertiserReadsRefuseBadParameters(t *testing.T) {
	s, _, wh := newTestServer(t, nil)
	key, _ := newAdvertiser(t, s, "Acme")
	_, otherSlug := newAdvertiser(t, s, "Other")
	h := map[string]string{"X-API-Key": key}
	year := time.Now().AddDate(-2, 0, 0).UnixMilli()
	for _, tc := range []struct{ method, path, body, message string }{
		{"GET", "/api/v1/conversions?status=paid", "", "status must be one of pending, approved, rejected, reversed"},
		{"GET", "/api/v1/conversions?limit=0", "", "limit must be a whole number from 1 to 500"},
		{"GET", "/api/v1/conversions?limit=501", "", "limit must be a whole number from 1 to 500"},
		{"GET", "/api/v1/conversions?limit=ten", "", "limit must be a whole number from 1 to 500"},
		{"GET", "/api/v1/conversions?cursor=garbage!", "", msgBadCursor},
		{"GET", "/api/v1/conversions?cursor=" + encodeCursor("o", "1"), "", msgBadCursor}, // an offers cursor
		{"GET", "/api/v1/conversions?cursor=" + encodeCursor("c", "-5.conv_x"), "", msgBadCursor},
		{"GET", "/api/v1/conversions?cursor=" + encodeCursor("c", "5.conv_x'; DROP"), "", msgBadCursor},
		{"GET", "/api/v1/conversions?start_date=yesterday", "", "start_date must be a Unix timestamp in milliseconds"},
		{"GET", "/api/v1/conversions?start_date=2000&end_date=1000", "", "start_date must not be after end_date"},
		{"GET", "/api/v1/conversions?offer_code=" + otherSlug, "", "offer_code does not name one of your offers"},
		{"GET", "/api/v1/stats?group_by=year", "", "group_by must be one of day, week, month"},
		{"GET", fmt.Sprintf("/api/v1/stats?start_date=%d", year), "", "the range from start_date to end_date may span at most 366 days"},
		{"GET", "/api/v1/stats?end_date=99999999999999999999", "", "end_date must be a Unix timestamp in milliseconds"},
		{"GET", "/api/v1/stats?offer_code=nope", "", "offer_code does not name one of your offers"},
		{"GET", "/api/v1/offers?status=live", "", "status must be one of published, paused, draft, archived"},
		{"GET", "/api/v1/offers?limit=101", "", "limit must be a whole number from 1 to 100"},
		{"GET", "/api/v1/offers?cursor=" + encodeCursor("c", "5.conv_x"), "", msgBadCursor},
		{"POST", "/api/v1/test-sessions", `{}`, "offer_code is required"},
		{"POST", "/api/v1/test-sessions", ``, "offer_code is required"},
		{"POST", "/api/v1/test-sessions", `{"offer_code":7}`, "offer_code must be a string"},
		{"POST", "/api/v1/test-sessions", `[1]`, "request body must be a JSON object"},
	} {
		t.Run(tc.method+" "+tc.path+" "+tc.body, func(t *testing.T) {
			r := do(s, tc.method, tc.path, h, tc.body)
			e := testkit.JSON(t, r.Body()).Get("error")
			if r.StatusCode() != 400 || e.Get("code").String() != codeValidation || e.Get("message").String() != tc.message {
				t.Fatalf("%d %s, want 400 %s %q", r.StatusCode(), r.Body(), codeValidation, tc.message)
			}
		})
	}
	if len(wh.stats) != 0 {
		t.Fatalf("refused requests reached the warehouse: %+v", wh.stats)
	}
}

func TestAdvertiserReadsAuthAndMethods(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	key, slug := newAdvertiser(t, s, "Acme")
	_, otherSlug := newAdvertiser(t, s, "Other")
	for _, tc := range []struct {
		method, path string
		headers      map[string]string
		status       int
		code         string
	}{
		{"GET", "/api/v1/profile", nil, 401, codeUnauthorized},
		{"GET", "/api/v1/profile", map[string]string{"X-API-Key": "nope"}, 401, codeInvalidKey},
		{"GET", "/api/v1/profile?secure=" + key, nil, 200, ""},
		{"GET", "/api/v1/offers", map[string]string{"Authorization": "Bearer " + key}, 200, ""},
		{"GET", "/api/v1/offers/" + slug, map[string]string{"X-API-Key": key}, 200, ""},
		{"GET", "/api/v1/offers/" + otherSlug, map[string]string{"X-API-Key": key}, 404, codeNotFound},
		{"GET", "/api/v1/offers/" + strings.Repeat("x", 500), map[string]string{"X-API-Key": key}, 404, codeNotFound},
		{"GET", "/api/v1/conversions/not-a-conversion", map[string]string{"X-API-Key": key}, 404, codeNotFound},
		{"DELETE", "/api/v1/conversions/conv_abc", map[string]string{"X-API-Key": key}, 405, "METHOD_NOT_ALLOWED"},
		{"DELETE", "/api/v1/conversions", map[string]string{"X-API-Key": key}, 405, "METHOD_NOT_ALLOWED"},
		{"POST", "/api/v1/stats", map[string]string{"X-API-Key": key}, 405, "METHOD_NOT_ALLOWED"},
		{"GET", "/api/v1/test-sessions/short", map[string]string{"X-API-Key": key}, 404, codeNotFound},
		{"POST", "/api/v1/test-sessions", map[string]string{"X-API-Key": key}, 400, codeValidation},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := do(s, tc.method, tc.path, tc.headers, "")
			if r.StatusCode() != tc.status || (tc.code != "" && errorCode(t, r.Body()) != tc.code) {
				t.Fatalf("%d %s, want %d %s", r.StatusCode(), r.Body(), tc.status, tc.code)
			}
			if tc.status == 405 && string(r.Header.Peek("Allow")) == "" {
				t.Fatal("405 without Allow")
			}
		})
	}
	r := do(s, "DELETE", "/api/v1/conversions/conv_abc", map[string]string{"X-API-Key": key}, "")
	if allow := string(r.Header.Peek("Allow")); allow != "GET, PATCH, HEAD" {
		t.Fatalf("DELETE conversion: Allow %q", allow)
	}
}

func TestCentsAndCursors(t *testing.T) {
	for micros, want := range map[int64]int64{0: 0, 149_990_000: 14999, 2_500_000: 250, 4_999: 0, 5_000: 1, -5_000: -1, 1_234_567: 123} {
		if got := cents(micros); got != want {
			t.Errorf("cents(%d) = %d, want %d", micros, got, want)
		}
	}
	c := &model.Conversion{ID: "conv_0m8k2l9p5qrs", Time: 1706234567000}
	got, ok := parseConversionCursor(conversionCursor(c))
	if !ok || got.ID != c.ID || got.Time != c.Time {
		t.Fatalf("cursor round trip: %+v %v", got, ok)
	}
}
