//go:build !release

// Test helpers of this package, for its tests and other packages'; left
// out of release builds (go build -tags release), as the binary needs none.

package tracker

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/segmentio/kafka-go"
	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// fakeCatalog serves fixed entities.
type fakeCatalog struct {
	offers     map[string]*model.Offer
	affiliates map[string]*model.Affiliate
	records    map[string]*model.OfferAffiliate // by model.OfferAffiliateID
	controls   atomic.Pointer[model.TrafficControls]
	smartLinks map[string]*model.SmartLink // by ID and slug
}

func (c *fakeCatalog) TrafficControls() *model.TrafficControls { return c.controls.Load() }

func (c *fakeCatalog) OfferBytes(id []byte) *model.Offer         { return c.offers[string(id)] }
func (c *fakeCatalog) Offer(id string) *model.Offer              { return c.offers[id] }
func (c *fakeCatalog) SmartLinkBytes(id []byte) *model.SmartLink { return c.smartLinks[string(id)] }
func (c *fakeCatalog) AffiliateBytes(id []byte) *model.Affiliate { return c.affiliates[string(id)] }
func (c *fakeCatalog) OfferAffiliateBytes(offerID string, affiliateID []byte) *model.OfferAffiliate {
	return c.records[model.OfferAffiliateID(offerID, string(affiliateID))]
}

// memoryStore and memoryProducer keep what the recorder writes.
type memoryStore struct {
	mu       sync.Mutex
	clicks   map[string][]byte
	visitors map[string]string // offer and visitor to the first click ID
	err      error
}

func (s *memoryStore) SaveClicks(_ context.Context, clicks []redis.ClickWrite) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if s.visitors == nil {
		s.visitors = map[string]string{}
	}
	for i := range clicks {
		c := &clicks[i]
		s.clicks[string(c.ID)] = append([]byte(nil), c.Payload...)
		if c.Visitor != 0 {
			key := fmt.Sprintf("%s:%x", c.OfferID, c.Visitor)
			if _, seen := s.visitors[key]; !seen {
				s.visitors[key] = string(c.ID)
			}
			c.Unique = s.visitors[key] == string(c.ID)
		}
	}
	return nil
}

type memoryProducer struct {
	mu   sync.Mutex
	msgs []kafka.Message
}

func (s *memoryStore) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// has reports whether every click of ids is stored.
func (s *memoryStore) has(ids ...string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if _, ok := s.clicks[id]; !ok {
			return false
		}
	}
	return true
}

func (p *memoryProducer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.msgs)
}

func (p *memoryProducer) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range msgs {
		p.msgs = append(p.msgs, kafka.Message{Key: append([]byte(nil), m.Key...), Value: append([]byte(nil), m.Value...)})
	}
	return nil
}

// newRequest builds a request context as fasthttp would hand it over.
func newRequest(uri, userAgent, forwardedFor string, remote net.IP) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.SetRequestURI(uri)
	req.Header.SetUserAgent(userAgent)
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: remote, Port: 50000}, nil)
	return ctx
}

// discardStore and discardProducer take clicks and keep nothing, so a
// benchmark measures the tracker alone.
type discardStore struct{}

func (discardStore) SaveClicks(context.Context, []redis.ClickWrite) error { return nil }

type discardProducer struct{}

func (discardProducer) WriteMessages(context.Context, ...kafka.Message) error { return nil }
