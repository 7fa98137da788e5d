package ingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/clickrelay/clickrelay/clickid"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// testSessionStore keeps test sessions where every serve process sees them.
type testSessionStore interface {
	SaveTestSession(ctx context.Context, sess *redis.TestSession, clickPayload []byte, ttl time.Duration) error
	TestSession(ctx context.Context, token string) (*redis.TestSession, bool, error)
	RecordTestConversion(ctx context.Context, clickID string, rec redis.TestConversion) error
}

// ErrTestSessionsOff: the service was built without a test session store.
var ErrTestSessionsOff = errors.New("test sessions are not available")

// StartTestSession opens a test session on offer for its advertiser: a
// test click_id ("test_" and a real click ID) whose click record is stored
// like a real click's, so a conversion quoting it goes through the very
// same lookup and validation. The click has no affiliate: nobody is paid.
func (s *Service) StartTestSession(ctx context.Context, offer *model.Offer) (*redis.TestSession, error) {
	if s.tests == nil {
		return nil, ErrTestSessionsOff
	}
	raw := make([]byte, 20)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("test session token: %w", err)
	}
	now := s.now()
	click := model.Click{
		ID:           clickid.TestPrefix + s.minter.New(now),
		Time:         now.UnixMilli(),
		OfferID:      offer.ID,
		AdvertiserID: offer.AdvertiserID,
		Test:         true,
	}
	payload, err := json.Marshal(&click)
	if err != nil {
		return nil, err
	}
	sess := &redis.TestSession{
		Token:        hex.EncodeToString(raw),
		AdvertiserID: offer.AdvertiserID,
		OfferID:      offer.ID,
		ClickID:      click.ID,
		CreatedAt:    now.UnixMilli(),
		ExpiresAt:    now.Add(s.config.TestSessionTTL).UnixMilli(),
	}
	if err := s.tests.SaveTestSession(ctx, sess, payload, s.config.TestSessionTTL); err != nil {
		return nil, err
	}
	return sess, nil
}

// TestSession returns a live session by its token.
func (s *Service) TestSession(ctx context.Context, token string) (*redis.TestSession, bool, error) {
	if s.tests == nil {
		return nil, false, ErrTestSessionsOff
	}
	return s.tests.TestSession(ctx, token)
}

// recordTest records a test conversion on its session, refused (refusal
// not nil) or not, and answers what a real one would have been answered.
func (s *Service) recordTest(ctx context.Context, req Request, conv *model.Conversion, refusal error, now time.Time) (Result, error) {
	if s.tests == nil {
		return Result{}, &FieldError{errClickNotFound}
	}
	rec := redis.TestConversion{
		ReceivedAt:     now.UnixMilli(),
		SignatureValid: true,
		FieldsValid:    refusal == nil,
		Errors:         []string{},
		TxID:           req.TxID,
		CustomerID:     req.CustomerID,
		Goal:           conv.Goal,
		Amount:         req.Amount,
		AmountMicros:   conv.AmountMicros,
		PayoutMicros:   conv.PayoutMicros,
		RevenueMicros:  conv.RevenueMicros,
		Currency:       conv.Currency,
	}
	var fe *FieldError
	switch {
	case refusal == nil:
		rec.ConversionID, rec.Status = conv.ID, conv.Status
	case errors.As(refusal, &fe):
		rec.Errors = append(rec.Errors, fe.Message)
		// The key that sent it does not own the click's offer.
		rec.SignatureValid = fe.Message != errUnauthorizedVendor
	default:
		return Result{}, refusal
	}
	switch err := s.tests.RecordTestConversion(ctx, conv.ClickID, rec); {
	case errors.Is(err, redis.ErrNoTestSession):
		// The session expired between the click's lookup and now.
		return Result{}, &FieldError{errClickNotFound}
	case err != nil:
		s.hotLog.Error().Err(err).Msg("cannot record a test conversion")
		return Result{}, ErrUnavailable
	}
	if refusal != nil {
		return Result{}, refusal
	}
	return Result{Tracked: true, Conversion: conv}, nil
}
