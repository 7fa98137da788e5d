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

func (c fakeCatalog) Offer(id string) *model.Offer { return c[id] }

// memoryStore mimics the Redis semantics the service relies on: claims are
// all or nothing and released only by their owner.
type memoryStore struct {
	mu     sync.Mutex
	clicks map[string][]byte
	claims map[string]string
}

func (s *memoryStore) Click(_ context.Context, id string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.clicks[id]
	return p, ok, nil
}

func (s *memoryStore) Claim(_ context.Context, owner string, claims []redis.Claim) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range claims {
		if _, held := s.claims[c.Scope+":"+c.ID]; held {
			return i, nil
		}
	}
	for _, c := range claims {
		s.claims[c.Scope+":"+c.ID] = owner
	}
	return -1, nil
}

func (s *memoryStore) Release(_ context.Context, owner string, claims []redis.Claim) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range claims {
		if s.claims[c.Scope+":"+c.ID] == owner {
			delete(s.claims, c.Scope+":"+c.ID)
		}
	}
	return nil
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
