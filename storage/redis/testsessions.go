package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// TestSession is an advertiser's integration test (seed 002): a test click
// on one of its offers and what was received for it. It lives in Redis so
// every serve process sees it, under three keys sharing one lifetime:
//
//	{prefix}testsess:{token}      the session, JSON
//	{prefix}testclick:{click_id}  the session's token, found by its click
//	{prefix}click:{click_id}      the test click record, found like any click
//
// (On a Redis Cluster the click ID is a hash tag, so the last two share a
// slot; see keys.)
type TestSession struct {
	Token        string `json:"token"`
	AdvertiserID string `json:"advertiser_id"`
	OfferID      string `json:"offer_id"`
	ClickID      string `json:"click_id"`   // with its "test_" prefix
	CreatedAt    int64  `json:"created_at"` // Unix milliseconds
	ExpiresAt    int64  `json:"expires_at"` // Unix milliseconds
	// Received is the last test conversion sent for the click; nil while
	// the session waits for one.
	Received *TestConversion `json:"received,omitempty"`
}

// TestConversion is what a test conversion carried and how it fared in
// the same validation as a real one.
type TestConversion struct {
	ReceivedAt int64 `json:"received_at"` // Unix milliseconds
	// SignatureValid: the key that sent it owns the click's offer.
	SignatureValid bool `json:"signature_valid"`
	// FieldsValid: every field passed the offer's rules.
	FieldsValid bool     `json:"fields_valid"`
	Errors      []string `json:"errors"`
	// What was sent and what it would have become.
	ConversionID string `json:"conversion_id,omitempty"` // when it would have been tracked
	TxID         string `json:"txid,omitempty"`
	CustomerID   string `json:"customer_id,omitempty"`
	Goal         string `json:"goal,omitempty"`
	Amount       string `json:"amount,omitempty"` // as sent
	AmountMicros int64  `json:"amount_micros"`
	PayoutMicros int64  `json:"payout_micros"`
	// RevenueMicros is what the advertiser would have paid for it.
	RevenueMicros int64  `json:"revenue_micros"`
	Currency      string `json:"currency,omitempty"`
	Status        string `json:"status,omitempty"`
}

// ErrNoTestSession: the test click has no live session (expired or never
// created).
var ErrNoTestSession = errors.New("no test session for this click")

// SaveTestSession stores a new session and its test click record, all
// expiring together after ttl.
func (c *Component) SaveTestSession(ctx context.Context, sess *TestSession, clickPayload []byte, ttl time.Duration) error {
	body, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	if c.cluster {
		// The session (by token) and the click's keys (by click ID) hash
		// to different slots: the session goes first, then the click's
		// two keys in one MULTI. A failure in between leaves a session
		// whose click is unknown, until it expires; the caller was told.
		if err := c.client.Set(ctx, c.keys.testSession(sess.Token), body, ttl).Err(); err != nil {
			return fmt.Errorf("saving test session: %w", err)
		}
	}
	_, err = c.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		if !c.cluster {
			p.Set(ctx, c.keys.testSession(sess.Token), body, ttl)
		}
		p.Set(ctx, c.keys.testClick(sess.ClickID), sess.Token, ttl)
		p.Set(ctx, c.keys.click(sess.ClickID), clickPayload, ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("saving test session: %w", err)
	}
	return nil
}

// TestSession returns a session by its token; found is false once it
// expired or when it never existed.
func (c *Component) TestSession(ctx context.Context, token string) (*TestSession, bool, error) {
	body, err := c.client.Get(ctx, c.keys.testSession(token)).Bytes()
	if isNil(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading test session: %w", err)
	}
	var sess TestSession
	if err := json.Unmarshal(body, &sess); err != nil {
		return nil, false, fmt.Errorf("decoding test session: %w", err)
	}
	return &sess, true, nil
}

// RecordTestConversion records what was received for a test click on its
// session, keeping the session's expiry. The last conversion received
// wins: a session shows one result, as seed 002's answer has one. It is a
// WATCH transaction so two test conversions at once do not interleave a
// read and a write; ErrNoTestSession when the session is gone.
func (c *Component) RecordTestConversion(ctx context.Context, clickID string, rec TestConversion) error {
	token, err := c.client.Get(ctx, c.keys.testClick(clickID)).Result()
	if isNil(err) {
		return ErrNoTestSession
	}
	if err != nil {
		return fmt.Errorf("finding the test session of %s: %w", clickID, err)
	}
	key := c.keys.testSession(token)
	const attempts = 5 // a concurrent writer makes EXEC fail; a few tries settle it
	for range attempts {
		err = c.client.Watch(ctx, func(tx *goredis.Tx) error {
			body, err := tx.Get(ctx, key).Bytes()
			if isNil(err) {
				return ErrNoTestSession
			}
			if err != nil {
				return err
			}
			var sess TestSession
			if err := json.Unmarshal(body, &sess); err != nil {
				return fmt.Errorf("decoding test session: %w", err)
			}
			sess.Received = &rec
			if body, err = json.Marshal(&sess); err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
				p.SetArgs(ctx, key, body, goredis.SetArgs{KeepTTL: true})
				return nil
			})
			return err
		}, key)
		if !errors.Is(err, goredis.TxFailedErr) {
			break
		}
	}
	if err != nil && !errors.Is(err, ErrNoTestSession) {
		return fmt.Errorf("recording a test conversion: %w", err)
	}
	return err
}
