package api

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/ingest"
	"github.com/clickrelay/clickrelay/model"
)

// Status changes of conversions: PATCH /v2/conversions/{id} for the network
// admin (any conversion) and PATCH /api/v1/conversions/{id} for an
// advertiser (its own). Both run ingest's ChangeStatus, so the rules are
// one: any of pending, approved, rejected, reversed may follow any other;
// the same status again answers the conversion unchanged; the change is in
// Kafka before the 200.

// statusChanger changes a conversion's status (ingest.Service).
type statusChanger interface {
	ChangeStatus(ctx context.Context, scope ingest.Scope, id, status string) (ingest.StatusChange, error)
}

// maxStatusLen bounds the status field read from a body.
const maxStatusLen = 32

const msgStatusRequired = "status is required: pending, approved, rejected or reversed"

// statusChanges is the dependency that changes statuses: Statuses when set,
// else the converter when it can (ingest.Service does both).
func (s *Server) statusChanges() statusChanger {
	if s.deps.Statuses != nil {
		return s.deps.Statuses
	}
	if sc, ok := s.deps.Conversions.(statusChanger); ok {
		return sc
	}
	return nil
}

// changeStatus runs a status change; answered is true when it failed and
// the answer (in the surface's envelope, through fail) has been sent.
func (s *Server) changeStatus(ctx *fasthttp.RequestCtx, scope ingest.Scope, id, status string,
	fail func(ctx *fasthttp.RequestCtx, status int, code, message string), codes statusCodes) (ingest.StatusChange, bool) {
	changer := s.statusChanges()
	if changer == nil {
		s.storageError(ctx, errors.New("no status changer configured"))
		return ingest.StatusChange{}, true
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	res, err := changer.ChangeStatus(rctx, scope, id, status)
	switch {
	case err == nil:
		return res, false
	case errors.Is(err, ingest.ErrInvalidStatus):
		fail(ctx, fasthttp.StatusBadRequest, codes.invalid, codes.invalidMessage)
	case errors.Is(err, ingest.ErrNotFound):
		fail(ctx, fasthttp.StatusNotFound, codes.notFound, codes.notFoundMessage)
	default:
		s.log.Warn().Err(err).Str("conversion_id", id).Msg("status change not made; answering 503")
		ctx.Response.Header.Set("Retry-After", retryAfterSeconds)
		fail(ctx, fasthttp.StatusServiceUnavailable, codes.unavailable, msgUnavailable)
	}
	return ingest.StatusChange{}, true
}

// statusCodes are a surface's error codes and messages for status changes.
type statusCodes struct {
	invalid, invalidMessage   string
	notFound, notFoundMessage string
	unavailable               string
}

var (
	adminStatusCodes = statusCodes{
		invalid: "invalid_status", invalidMessage: "The status value is not pending, approved, rejected or reversed.",
		notFound: "not_found", notFoundMessage: "Conversion not found.",
		unavailable: "service_unavailable",
	}
	advertiserStatusCodes = statusCodes{
		invalid: codeValidation, invalidMessage: ingest.ErrInvalidStatus.Error(),
		notFound: codeNotFound, notFoundMessage: msgNotFound,
		unavailable: codeUnavailable,
	}
)

// patchConversionAdmin serves PATCH /v2/conversions/{id}.
func (s *Server) patchConversionAdmin(ctx *fasthttp.RequestCtx, id string) {
	f, ok := readForm(ctx)
	if !ok {
		return
	}
	status := f.str("status", maxStatusLen)
	switch {
	case f.failed:
		return
	case status == "":
		f.fail(adminStatusCodes.invalid, "The status field was not provided; it is pending, approved, rejected or reversed.")
		return
	}
	res, answered := s.changeStatus(ctx, ingest.Scope{}, id, status, envelopeError, adminStatusCodes)
	if answered {
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "conversion": adminConversionOf(&res.Conversion)})
}

// adminConversionView is a conversion as the admin API shows it.
type adminConversionView struct {
	ID             string  `json:"id"`
	Version        uint32  `json:"version"`
	Status         string  `json:"status"`
	PreviousStatus string  `json:"previous_status"`
	ClickID        string  `json:"click_id"`
	OfferID        string  `json:"offer_id"`
	AffiliateID    string  `json:"affiliate_id"`
	AdvertiserID   string  `json:"advertiser_id"`
	TxID           string  `json:"txid"`
	CustomerID     string  `json:"customer_id"`
	Goal           string  `json:"goal"`
	Currency       string  `json:"currency"`
	Amount         float64 `json:"amount"`
	Payout         float64 `json:"payout"`
	PayoutType     string  `json:"payout_type"`
	Country        string  `json:"country"`
	CreatedAt      string  `json:"created_at"`
	UpdatedAt      string  `json:"updated_at"`
}

func adminConversionOf(c *model.Conversion) adminConversionView {
	return adminConversionView{
		ID: c.ID, Version: c.Version, Status: c.Status, PreviousStatus: c.PrevStatus,
		ClickID: c.ClickID, OfferID: c.OfferID, AffiliateID: c.AffiliateID, AdvertiserID: c.AdvertiserID,
		TxID: c.TxID, CustomerID: c.CustomerID, Goal: c.Goal, Currency: c.Currency,
		Amount: model.MicrosToUnits(c.AmountMicros), Payout: model.MicrosToUnits(c.PayoutMicros), PayoutType: c.PayoutType,
		Country:   c.Country,
		CreatedAt: model.FormatTime(time.UnixMilli(c.Time).UTC(), model.APITimeLayout),
		UpdatedAt: model.FormatTime(time.UnixMilli(c.UpdatedTime).UTC(), model.APITimeLayout),
	}
}

// statusBody is the advertiser's PATCH body.
type statusBody struct {
	Status, Secure string
}

// parseStatusBody reads {"status": ..., "secure"?: ...}; a body that is not
// a JSON object, or whose fields are not strings, is refused with seed
// 002's VALIDATION_ERROR message.
func parseStatusBody(body []byte) (statusBody, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return statusBody{}, &ingest.FieldError{Message: "request body must be a JSON object"}
	}
	var out statusBody
	for name, dst := range map[string]*string{"status": &out.Status, "secure": &out.Secure} {
		raw, ok := fields[name]
		if !ok || string(raw) == "null" {
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return statusBody{}, &ingest.FieldError{Message: name + " must be a string"}
		}
	}
	out.Status = strings.TrimSpace(out.Status)
	return out, nil
}

// patchConversionAdvertiser serves PATCH /api/v1/conversions/{id}: an
// advertiser approves, rejects or reverses one of its own conversions.
func (s *Server) patchConversionAdvertiser(ctx *fasthttp.RequestCtx, id string) {
	req, advertiserID, ok := parseAuthenticated(s, ctx, parseStatusBody, func(b statusBody) string { return b.Secure })
	if !ok {
		return
	}
	switch {
	case req.Status == "":
		envelopeError(ctx, fasthttp.StatusBadRequest, codeValidation, msgStatusRequired)
		return
	case len(req.Status) > maxStatusLen || !ingest.ValidStatus(req.Status):
		envelopeError(ctx, fasthttp.StatusBadRequest, codeValidation, ingest.ErrInvalidStatus.Error())
		return
	}
	res, answered := s.changeStatus(ctx, ingest.Scope{AdvertiserID: advertiserID}, id, req.Status, envelopeError, advertiserStatusCodes)
	if answered {
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "data": s.conversionJSON(&res.Conversion)})
}
