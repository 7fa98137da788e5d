package ingest

import (
	"context"
	"fmt"
	"slices"

	"github.com/clickrelay/clickrelay/model"
)

// EventRequest is a secondary event (seed 002): a non-paying funnel step.
type EventRequest struct {
	ClickID  string
	Type     string
	URL      string
	Referrer string
	Secure   string
}

// Seed 002's secondary event types.
var eventTypes = []string{"pageview", "registration", "lead"}

// MaxEventURLLen bounds an event's url and referrer.
const MaxEventURLLen = 2048

func parseEvent(get lookup) (EventRequest, error) {
	var r EventRequest
	fields := []struct {
		dst   *string
		names []string
	}{
		{&r.ClickID, []string{"click_id", "clickid", "cid"}},
		{&r.Type, []string{"event_type"}},
		{&r.URL, []string{"url"}},
		{&r.Referrer, []string{"referrer"}},
		{&r.Secure, []string{"secure"}},
	}
	for _, f := range fields {
		v, _, err := resolve(get, f.names)
		if err != nil {
			return r, err
		}
		*f.dst = v
	}
	return r, nil
}

// ParseEventJSON reads a JSON event body (POST /api/v1/events).
func ParseEventJSON(body []byte) (EventRequest, error) {
	get, err := jsonLookup(body)
	if err != nil {
		return EventRequest{}, err
	}
	return parseEvent(get)
}

// ParseEventQuery reads an event from query parameters (a secondary
// GET /pb/{id}).
func ParseEventQuery(peek func(name string) ([]byte, bool)) EventRequest {
	r, _ := parseEvent(queryLookup(peek))
	return r
}

func (r *EventRequest) check() error {
	switch {
	case r.ClickID == "":
		return &FieldError{"click_id is required"}
	case r.Type == "":
		return &FieldError{"event_type is required"}
	case !slices.Contains(eventTypes, r.Type):
		return &FieldError{"event_type must be one of pageview, registration, lead"}
	case len(r.URL) > MaxEventURLLen:
		return &FieldError{fmt.Sprintf("url must be at most %d characters", MaxEventURLLen)}
	case len(r.Referrer) > MaxEventURLLen:
		return &FieldError{fmt.Sprintf("referrer must be at most %d characters", MaxEventURLLen)}
	}
	return nil
}

// Event validates and records a secondary event: the click must exist and
// belong to an active offer of the caller's, like a conversion's. The
// answer comes after the broker's acknowledgement.
func (s *Service) Event(ctx context.Context, scope Scope, req EventRequest) (*model.Event, error) {
	if err := req.check(); err != nil {
		return nil, s.count(err)
	}
	now := s.now()
	click, err := s.findClick(ctx, req.ClickID, now)
	if err == nil {
		_, err = s.checkOffer(scope, click)
	}
	if err != nil {
		return nil, s.count(err)
	}
	ev := &model.Event{
		ID:           "evt_" + s.minter.New(now),
		Time:         now.UnixMilli(),
		Type:         req.Type,
		ClickID:      click.ID,
		OfferID:      click.OfferID,
		AffiliateID:  click.AffiliateID,
		AdvertiserID: scope.AdvertiserID,
		URL:          req.URL,
		Referrer:     req.Referrer,
	}
	if click.Test {
		// A test click's event passes the same checks and goes nowhere:
		// nothing of a test session is ever published.
		return ev, nil
	}
	if err := s.publish(ctx, s.events, ev.ClickID, ev); err != nil {
		s.hotLog.Error().Err(err).Str("event_id", ev.ID).Msg("event not acknowledged by Kafka; answering 503")
		s.unavailable.Inc()
		return nil, ErrUnavailable
	}
	s.eventsTracked.Inc()
	return ev, nil
}
