//go:build !release

// Test helpers of this package, for its tests and other packages'; left
// out of release builds (go build -tags release), as the binary needs none.

package ingest

import (
	"context"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/redis"
)

type fakeCatalog map[string]*model.Offer

func (c fakeCatalog) Offer(id string) *model.Offer                        { return c[id] }
func (c fakeCatalog) OfferAffiliate(string, string) *model.OfferAffiliate { return nil }
func (c fakeCatalog) Advertiser(string) *model.Advertiser                 { return nil }

// memoryStore mimics the Redis semantics the service relies on: claims are
// all or nothing and released only by their owner.
type memoryStore struct {
	mu      sync.Mutex
	clicks  map[string][]byte
	claims  map[string]string // claim -> owner
	pending map[string]*memoryPending
	caps    map[string]int64 // counter -> total
}

func (s *memoryStore) Click(_ context.Context, id string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.clicks[id]
	return p, ok, nil
}

func (s *memoryStore) Claim(_ context.Context, owner string, claims []redis.Claim, caps []redis.CapCount, payload, rejected []byte,
	now time.Time, lease time.Duration) (redis.ClaimResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range claims {
		held, ok := s.claims[c.Scope+":"+c.ID]
		if !ok {
			continue
		}
		if p := s.pending[held]; p != nil {
			if p.until.After(now) {
				return redis.ClaimResult{Held: i, InFlight: true}, nil
			}
			p.until = now.Add(lease)
			return redis.ClaimResult{Held: i, Stranded: p.payload}, nil
		}
		return redis.ClaimResult{Held: i}, nil
	}
	reached := -1
	for j, k := range caps {
		if s.caps[k.Key]+k.Add > k.Limit {
			reached, payload = j, rejected
			break
		}
	}
	if reached < 0 {
		if s.caps == nil {
			s.caps = map[string]int64{}
		}
		for _, k := range caps {
			s.caps[k.Key] += k.Add
		}
	}
	for _, c := range claims {
		s.claims[c.Scope+":"+c.ID] = owner
	}
	if s.pending == nil {
		s.pending = map[string]*memoryPending{}
	}
	s.pending[owner] = &memoryPending{until: now.Add(lease), payload: payload}
	return redis.ClaimResult{Held: -1, CapReached: reached}, nil
}

func (s *memoryStore) ReleaseCaps(_ context.Context, caps []redis.CapCount) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range caps {
		s.caps[k.Key] -= k.Add
	}
	return nil
}

func (s *memoryStore) Confirm(_ context.Context, owner string, _ []redis.Claim) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, owner)
	return nil
}

func (s *memoryStore) Abandon(_ context.Context, owner string, _ []redis.Claim) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pending[owner]; p != nil {
		p.until = time.Time{}
	}
	return nil
}

// memoryPending is an owner's unconfirmed claims.
type memoryPending struct {
	until   time.Time
	payload []byte
}

type memoryProducer struct {
	mu   sync.Mutex
	err  error
	msgs []kafka.Message
}

func (p *memoryProducer) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.msgs = append(p.msgs, msgs...)
	return nil
}

// memorySessions keeps test sessions in memory, clicks in a memoryStore.
type memorySessions struct {
	mu       sync.Mutex
	clicks   *memoryStore
	sessions map[string]*redis.TestSession
	byClick  map[string]string
}

func (m *memorySessions) SaveTestSession(_ context.Context, sess *redis.TestSession, payload []byte, _ time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[sess.Token], m.byClick[sess.ClickID] = sess, sess.Token
	m.clicks.mu.Lock()
	m.clicks.clicks[sess.ClickID] = payload
	m.clicks.mu.Unlock()
	return nil
}

func (m *memorySessions) TestSession(_ context.Context, token string) (*redis.TestSession, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sess, ok := m.sessions[token]
	return sess, ok, nil
}

func (m *memorySessions) RecordTestConversion(_ context.Context, clickID string, rec redis.TestConversion) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	sess, ok := m.sessions[m.byClick[clickID]]
	if !ok {
		return redis.ErrNoTestSession
	}
	sess.Received = &rec
	return nil
}
