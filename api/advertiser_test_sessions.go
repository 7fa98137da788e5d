package api

import (
	"bytes"
	"encoding/json"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/storage/redis"
)

// Test sessions (seed 002): an advertiser gets a test click_id on one of
// its offers, sends a conversion for it as it would for a real one, and
// reads here how it fared. Test conversions are validated by ingest like
// real ones and never counted, paid or postbacked.

// maxTestSessionBody bounds POST /api/v1/test-sessions' body.
const maxTestSessionBody = 4 << 10

// testSessionTokenLen is the length of the tokens ingest hands out (hex of
// 20 random bytes); anything else names no session.
const testSessionTokenLen = 40

// createTestSession serves POST /api/v1/test-sessions {"offer_code"}.
func (s *Server) createTestSession(ctx *fasthttp.RequestCtx) {
	var body struct {
		OfferCode json.RawMessage `json:"offer_code"`
		Secure    string          `json:"secure"`
	}
	raw := bytes.TrimSpace(ctx.PostBody())
	parsed := len(raw) <= maxTestSessionBody && (len(raw) == 0 || json.Unmarshal(raw, &body) == nil && raw[0] == '{')
	advertiserID, ok := s.advertiserID(ctx, body.Secure)
	if !ok {
		return
	}
	if !parsed {
		validationError(ctx, "request body must be a JSON object")
		return
	}
	var code string
	if len(body.OfferCode) > 0 && !bytes.Equal(body.OfferCode, []byte("null")) {
		if err := json.Unmarshal(body.OfferCode, &code); err != nil {
			validationError(ctx, "offer_code must be a string")
			return
		}
	}
	if code == "" {
		validationError(ctx, "offer_code is required")
		return
	}
	offer := s.ownOffer(advertiserID, code)
	if offer == nil {
		advertiserNotFound(ctx)
		return
	}
	if s.deps.TestSessions == nil {
		advertiserNotFound(ctx)
		return
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	sess, err := s.deps.TestSessions.StartTestSession(rctx, offer)
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "data": map[string]any{
		"testClickId": sess.ClickID, "sessionToken": sess.Token, "expiresAt": sess.ExpiresAt,
	}})
}

// getTestSession serves GET /api/v1/test-sessions/{token}, to the
// session's advertiser only.
func (s *Server) getTestSession(ctx *fasthttp.RequestCtx, token string) {
	advertiserID, ok := s.advertiserID(ctx, string(ctx.QueryArgs().Peek("secure")))
	if !ok {
		return
	}
	if len(token) != testSessionTokenLen || s.deps.TestSessions == nil {
		advertiserNotFound(ctx)
		return
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	sess, found, err := s.deps.TestSessions.TestSession(rctx, token)
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	if !found || sess.AdvertiserID != advertiserID {
		advertiserNotFound(ctx)
		return
	}
	data := map[string]any{
		"status":      "waiting",
		"testClickId": sess.ClickID,
		"offerCode":   s.offerCode(sess.OfferID),
		"expiresAt":   sess.ExpiresAt,
		"validation":  nil,
		"conversion":  nil,
	}
	if rec := sess.Received; rec != nil {
		data["status"] = "received"
		data["validation"] = map[string]any{
			"signatureValid": rec.SignatureValid, "fieldsValid": rec.FieldsValid, "errors": nonNil(rec.Errors),
		}
		data["conversion"] = s.testConversionJSON(sess, rec)
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "data": data})
}

// testConversionJSON is what was received, in seed 002's conversion
// vocabulary, plus the raw fields sent: id is the conversion a real click
// would have produced (null when refused).
func (s *Server) testConversionJSON(sess *redis.TestSession, rec *redis.TestConversion) map[string]any {
	orNil := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	return map[string]any{
		"id":                    orNil(rec.ConversionID),
		"clickId":               sess.ClickID,
		"offerCode":             s.offerCode(sess.OfferID),
		"vendorTxId":            orNil(rec.TxID),
		"customerId":            orNil(rec.CustomerID),
		"goal":                  orNil(rec.Goal),
		"amount":                orNil(rec.Amount),
		"currency":              orNil(rec.Currency),
		"saleAmountCents":       cents(rec.AmountMicros),
		"advertiserPayoutCents": cents(rec.RevenueMicros),
		"status":                orNil(rec.Status),
		"receivedAt":            rec.ReceivedAt,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
