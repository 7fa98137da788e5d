package api

import (
	"context"
	"strings"
	"testing"

	"github.com/clickrelay/clickrelay/ingest"
	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
)

// fakeStatuses answers status changes as ingest does, from one conversion.
type fakeStatuses struct {
	conv   model.Conversion
	broken bool // Kafka down
}

func (f *fakeStatuses) ChangeStatus(_ context.Context, scope ingest.Scope, id, status string) (ingest.StatusChange, error) {
	switch {
	case !ingest.ValidStatus(status):
		return ingest.StatusChange{}, ingest.ErrInvalidStatus
	case id != f.conv.ID || scope.AdvertiserID != "" && scope.AdvertiserID != f.conv.AdvertiserID:
		return ingest.StatusChange{}, ingest.ErrNotFound
	case f.broken:
		return ingest.StatusChange{}, ingest.ErrUnavailable
	case status == f.conv.Status:
		return ingest.StatusChange{Conversion: f.conv}, nil
	}
	f.conv.Version++
	f.conv.PrevStatus, f.conv.Status = f.conv.Status, status
	return ingest.StatusChange{Conversion: f.conv, Changed: true}, nil
}

func TestConversionStatusEnvelopes(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	admin := map[string]string{"X-Api-Key": testAdminKey}
	advertiserKey := func(name string) string {
		r := do(s, "POST", "/v2/advertisers", admin, `{"name":"`+name+`"}`)
		if r.StatusCode() != 201 {
			t.Fatalf("create advertiser: %d %s", r.StatusCode(), r.Body())
		}
		return testkit.JSON(t, r.Body()).Get("advertiser", "api_key").String()
	}
	ownKey, otherKey := advertiserKey("Acme"), advertiserKey("Globex")
	ownID, _ := s.principal(ownKey, model.KindAdvertiser)
	fake := &fakeStatuses{conv: model.Conversion{ID: "conv_1", Version: 1, Status: "pending", AdvertiserID: ownID, OfferID: "9",
		TxID: "ORDER-1", Currency: "USD", AmountMicros: 149_990_000, PayoutMicros: 2_500_000, RevenueMicros: 2_500_000, Time: 1706234567000, UpdatedTime: 1706234567000}}
	s.deps.Statuses = fake
	own := map[string]string{"X-API-Key": ownKey}

	cases := []struct {
		name, method, path string
		headers            map[string]string
		body               string
		broken             bool
		status             int
		code, message      string
	}{
		{"admin without key", "PATCH", "/v2/conversions/conv_1", nil, `{"status":"approved"}`, false, 401, "unauthorized", ""},
		{"admin DELETE", "DELETE", "/v2/conversions/conv_1", admin, "", false, 405, "method_not_allowed", ""},
		{"admin broken JSON", "PATCH", "/v2/conversions/conv_1", admin, `{"status":`, false, 400, "invalid_json", ""},
		{"admin no status", "PATCH", "/v2/conversions/conv_1", admin, `{}`, false, 400, "invalid_status", ""},
		{"admin status not a string", "PATCH", "/v2/conversions/conv_1", admin, `{"status":1}`, false, 400, "invalid_status", ""},
		{"admin bad status", "PATCH", "/v2/conversions/conv_1", admin, `{"status":"paid"}`, false, 400, "invalid_status", "The status value is not pending, approved, rejected or reversed."},
		{"admin unknown id", "PATCH", "/v2/conversions/conv_2", admin, `{"status":"approved"}`, false, 404, "not_found", "Conversion not found."},
		{"admin Kafka down", "PATCH", "/v2/conversions/conv_1", admin, `{"status":"approved"}`, true, 503, "service_unavailable", ""},
		{"advertiser without key", "PATCH", "/api/v1/conversions/conv_1", nil, `{"status":"approved"}`, false, 401, "UNAUTHORIZED", "API key required"},
		{"advertiser broken JSON", "PATCH", "/api/v1/conversions/conv_1", own, `status=approved`, false, 400, "VALIDATION_ERROR", "request body must be a JSON object"},
		{"advertiser no status", "PATCH", "/api/v1/conversions/conv_1", own, `{}`, false, 400, "VALIDATION_ERROR", msgStatusRequired},
		{"advertiser bad status", "PATCH", "/api/v1/conversions/conv_1", own, `{"status":"paid"}`, false, 400, "VALIDATION_ERROR", "status must be pending, approved, rejected or reversed"},
		{"advertiser long status", "PATCH", "/api/v1/conversions/conv_1", own, `{"status":"` + strings.Repeat("x", 100) + `"}`, false, 400, "VALIDATION_ERROR", "status must be pending, approved, rejected or reversed"},
		{"another advertiser's", "PATCH", "/api/v1/conversions/conv_1", map[string]string{"X-API-Key": otherKey}, `{"status":"approved"}`, false, 404, "NOT_FOUND", "Resource not found"},
		{"advertiser unknown id", "PATCH", "/api/v1/conversions/conv_2", own, `{"status":"approved"}`, false, 404, "NOT_FOUND", "Resource not found"},
		{"advertiser Kafka down", "PATCH", "/api/v1/conversions/conv_1", own, `{"status":"approved"}`, true, 503, "SERVICE_UNAVAILABLE", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake.broken = c.broken
			r := do(s, c.method, c.path, c.headers, c.body)
			body := testkit.JSON(t, r.Body())
			e := body.Get("error")
			if r.StatusCode() != c.status || body.Get("success").Bool() || e.Get("code").String() != c.code || (c.message != "" && e.Get("message").String() != c.message) {
				t.Fatalf("%d %s; want %d %s %q", r.StatusCode(), r.Body(), c.status, c.code, c.message)
			}
			if c.status == 503 && string(r.Header.Peek("Retry-After")) == "" {
				t.Fatal("503 without Retry-After")
			}
		})
	}
	fake.broken = false

	r := do(s, "PATCH", "/v2/conversions/conv_1", admin, `{"status":"approved"}`)
	body := testkit.JSON(t, r.Body())
	conv := body.Get("conversion")
	if r.StatusCode() != 200 || !body.Get("success").Bool() || conv.Get("id").String() != "conv_1" || conv.Get("status").String() != "approved" ||
		conv.Get("previous_status").String() != "pending" || conv.Get("version").Int() != 2 || conv.Get("payout").Float() != 2.5 ||
		conv.Get("created_at").String() != "2024-01-26T02:02:47Z" {
		t.Fatalf("admin approve: %d %s", r.StatusCode(), r.Body())
	}
	r = do(s, "PATCH", "/api/v1/conversions/conv_1", map[string]string{"Authorization": "Bearer " + ownKey}, `{"status":"reversed"}`)
	body = testkit.JSON(t, r.Body())
	if r.StatusCode() != 200 || !body.Get("success").Bool() {
		t.Fatalf("advertiser reverse: %d %s", r.StatusCode(), r.Body())
	}
	want := map[string]any{"id": "conv_1", "offerCode": "9", "vendorTxId": "ORDER-1", "currency": "USD", "saleAmountCents": float64(14999),
		"advertiserPayoutCents": float64(250), "status": "reversed", "createdAt": float64(1706234567000)}
	testkit.Equal(t, "the advertiser's answer's data", any(want), body.Get("data").Value())
	// The key may also come in the body's "secure" field, as on seed 002's POSTs.
	if r := do(s, "PATCH", "/api/v1/conversions/conv_1", nil, `{"status":"reversed","secure":"`+ownKey+`"}`); r.StatusCode() != 200 {
		t.Fatalf("key in secure: %d %s", r.StatusCode(), r.Body())
	}
}
