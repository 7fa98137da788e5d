package ingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// Status changes (approve, reject, reverse) are new versions of a
// conversion, published to the conversions topic like the conversion
// itself: the sink stores them (ClickHouse keeps the highest version, the
// rollup moves approved counts and payouts) and the postback worker fires
// the approved and rejected postbacks. Admins and advertisers share this
// one code path; only their Scope differs.

// conversionReader reads a conversion at its latest stored version.
type conversionReader interface {
	Conversion(ctx context.Context, id string, test bool) (model.Conversion, bool, error)
}

// statusStore numbers status changes (see storage/redis AdvanceStatus).
type statusStore interface {
	AdvanceStatus(ctx context.Context, id string, seed redis.StatusVersion, status, owner string, lease time.Duration, updated time.Time) (redis.StatusOutcome, redis.StatusVersion, error)
	CommitStatus(ctx context.Context, id, owner string) (bool, error)
	RollbackStatus(ctx context.Context, id, owner string) (bool, error)
}

var (
	// ErrNotFound: no such conversion for this caller (unknown, a test
	// conversion, or another advertiser's). Answer 404.
	ErrNotFound = errors.New("conversion not found")
	// ErrInvalidStatus: the status asked for is not one of model.ConversionStatuses.
	ErrInvalidStatus = errors.New("status must be pending, approved, rejected or reversed")
)

// ValidStatus reports whether status is one of model.ConversionStatuses.
func ValidStatus(status string) bool { return slices.Contains(model.ConversionStatuses, status) }

// maxConversionIDLen bounds an ID worth looking up ("conv_" and a click_id).
const maxConversionIDLen = 64

// StatusChange is the answer to ChangeStatus.
type StatusChange struct {
	Conversion model.Conversion // at its new (or, unchanged, current) version
	Changed    bool             // false: it already had that status
}

// ChangeStatus gives conversion id the status, as a new version published
// to Kafka (acks=all) before it returns. The same status again is a no-op
// answering the current version. ErrNotFound, ErrInvalidStatus, or
// ErrUnavailable (answer 503: nothing changed, a retry works).
func (s *Service) ChangeStatus(ctx context.Context, scope Scope, id, status string) (StatusChange, error) {
	if s.conversions == nil || s.statuses == nil {
		return StatusChange{}, fmt.Errorf("ingest: status changes need a conversion reader and a status store: %w", ErrUnavailable)
	}
	if !ValidStatus(status) {
		return StatusChange{}, ErrInvalidStatus
	}
	conv, err := s.loadConversion(ctx, id)
	if err != nil {
		return StatusChange{}, err
	}
	if scope.AdvertiserID != "" && conv.AdvertiserID != scope.AdvertiserID {
		return StatusChange{}, ErrNotFound // another advertiser's is as good as unknown
	}
	owner := ownerToken()
	// The lease outlives the longest publish, so it never runs out under a
	// live owner.
	lease := s.config.WriteTimeout + 5*time.Second
	seed := redis.StatusVersion{Version: conv.Version, Status: conv.Status, PrevStatus: conv.PrevStatus, UpdatedTime: conv.UpdatedTime}

	// Another change in flight is waited for (about one broker ack), then
	// this one is decided against its outcome.
	deadline := time.Now().Add(s.config.StatusBusyWait)
	var outcome redis.StatusOutcome
	var state redis.StatusVersion
	for {
		now := s.now()
		outcome, state, err = s.statuses.AdvanceStatus(ctx, id, seed, status, owner, lease, now)
		if err != nil {
			s.hotLog.Error().Err(err).Str("conversion_id", id).Msg("cannot number a status change")
			return StatusChange{}, ErrUnavailable
		}
		if outcome != redis.StatusBusy {
			break
		}
		if time.Now().After(deadline) {
			s.hotLog.Warn().Str("conversion_id", id).Msg("another status change is still being published; answering 503")
			return StatusChange{}, ErrUnavailable
		}
		select {
		case <-ctx.Done():
			return StatusChange{}, ErrUnavailable
		case <-time.After(10 * time.Millisecond):
		}
	}

	if outcome == redis.StatusUnchanged {
		// Redis may know a version ClickHouse has not stored yet.
		conv.Version, conv.Status, conv.PrevStatus, conv.UpdatedTime = state.Version, state.Status, state.PrevStatus, state.UpdatedTime
		return StatusChange{Conversion: conv}, nil
	}
	next := conv
	next.Version = state.Version + 1
	next.PrevStatus = state.Status
	next.Status = status
	next.UpdatedTime = s.now().UnixMilli()
	if err := s.publish(ctx, s.producer, next.ClickID, &next); err != nil {
		s.hotLog.Error().Err(err).Str("conversion_id", id).Msg("status change not acknowledged by Kafka; answering 503")
		relCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := s.statuses.RollbackStatus(relCtx, id, owner); err != nil {
			// The lease runs out instead, and the version is skipped: a
			// gap in numbering is harmless, a reused number is not.
			s.hotLog.Error().Err(err).Str("conversion_id", id).Msg("cannot roll a status change back; its lease will run out")
		}
		s.unavailable.Inc()
		return StatusChange{}, ErrUnavailable
	}
	comCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := s.statuses.CommitStatus(comCtx, id, owner); err != nil {
		// Durable already; the next change waits for the lease to run out.
		s.hotLog.Warn().Err(err).Str("conversion_id", id).Msg("cannot end a status change's lease")
	}
	s.statusChanges.Inc()
	return StatusChange{Conversion: next, Changed: true}, nil
}

// loadConversion reads a real (not test) conversion. One acknowledged
// moments ago may not be stored yet (the sink inserts within its flush
// interval): an authentic ID minted less than FreshConversionWindow ago is
// polled for up to StatusLoadWait. A malformed ID costs no query.
func (s *Service) loadConversion(ctx context.Context, id string) (model.Conversion, error) {
	clickPart, ok := strings.CutPrefix(id, "conv_")
	if !ok || len(id) > maxConversionIDLen {
		return model.Conversion{}, ErrNotFound
	}
	// An ID whose MAC does not check is still looked up (once): it may
	// predate a change of CLICKRELAY_CLICK_SECRET.
	var deadline time.Time
	if minted, _, ok := s.minter.Parse(clickPart); ok && s.now().Sub(minted) < freshConversionWindow {
		deadline = time.Now().Add(s.config.StatusLoadWait)
	}
	for {
		conv, found, err := s.conversions.Conversion(ctx, id, false)
		switch {
		case err != nil:
			s.hotLog.Error().Err(err).Str("conversion_id", id).Msg("cannot read a conversion")
			return model.Conversion{}, ErrUnavailable
		case found:
			return conv, nil
		case time.Now().After(deadline):
			return model.Conversion{}, ErrNotFound
		}
		select {
		case <-ctx.Done():
			return model.Conversion{}, ErrUnavailable
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freshConversionWindow: a conversion minted longer ago than this and not
// in ClickHouse will not appear there; it is answered 404 at once.
const freshConversionWindow = time.Minute

func ownerToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
