package api

import (
	"context"
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/ingest"
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
