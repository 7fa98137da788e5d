package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// SmartLink is one tracking link over several offers: each visitor goes to
// an offer of the link that may take them (active, in its targeting, the
// affiliate allowed on it, not capped, the sub-ID not blocked), chosen
// among those of the highest priority by weight, or in SmartLinkModeEPC by
// the best earnings per click of the last 24 hours. A visitor no offer can
// take goes to FallbackURL (or gets a 404), counted as ClickUnrouted.
type SmartLink struct {
	ID     string           `json:"id"`
	Slug   string           `json:"slug"`
	Name   string           `json:"name"`
	Status string           `json:"status"`
	Offers []SmartLinkOffer `json:"offers"`
	// Mode is SmartLinkModeWeight (empty reads as it) or SmartLinkModeEPC.
	Mode string `json:"mode"`
	// ExplorePercent is, in EPC mode, the share of the traffic (0 to 100)
	// sent by weight to the offers other than the best, so that their EPC
	// keeps being measured.
	ExplorePercent int    `json:"explore_percent"`
	FallbackURL    string `json:"fallback_url"`
	CreatedAt      string `json:"created_at"`
	UpdatedAt      string `json:"updated_at"`
}

// SmartLinkOffer is one offer of a smart link. Among the offers that may
// take a visitor, those of the highest Priority (a higher number first)
// are chosen from, each in proportion to its Weight.
type SmartLinkOffer struct {
	OfferID  string `json:"offer_id"`
	Weight   int    `json:"weight"`
	Priority int    `json:"priority"`
}

// Smart link modes.
const (
	SmartLinkModeWeight = "weight"
	SmartLinkModeEPC    = "epc"
)

// Limits of a smart link.
const (
	MaxSmartLinkNameLen = 255
	MaxSmartLinkOffers  = 50
	MinSmartLinkWeight  = 1
	MaxSmartLinkWeight  = 10_000
	// Priorities run from 0 (the default, the lowest) to MaxSmartLinkPriority.
	MaxSmartLinkPriority = 100
	// DefaultExplorePercent is an EPC-mode link's exploration when its
	// request names none.
	DefaultExplorePercent = 10
)

func (l *SmartLink) EntityKind() Kind { return KindSmartLink }
func (l *SmartLink) EntityID() string { return l.ID }

// IsEPC reports whether the link chooses by EPC.
func (l *SmartLink) IsEPC() bool { return l.Mode == SmartLinkModeEPC }

// DefaultSmartLink returns a smart link with the defaults of a new one.
func DefaultSmartLink() *SmartLink {
	return &SmartLink{Status: StatusActive, Mode: SmartLinkModeWeight, ExplorePercent: DefaultExplorePercent, Offers: []SmartLinkOffer{}}
}

// smartLinkFieldOrder fixes which error a request with several bad fields
// gets.
var smartLinkFieldOrder = []string{"name", "status", "mode", "explore_percent", "offers", "fallback_url"}

// ApplySmartLinkFields sets on l every field present in fields, checking
// each value's type and range, in a fixed order. It serves both creation
// (after DefaultSmartLink) and PATCH; unknown and server-owned fields (id,
// slug, times) are ignored. That the offers exist is the caller's to
// check: the model has no catalog.
func ApplySmartLinkFields(l *SmartLink, fields map[string]json.RawMessage) *FieldError {
	for _, name := range smartLinkFieldOrder {
		raw, ok := fields[name]
		if !ok {
			continue
		}
		if err := applySmartLinkField(l, name, raw); err != nil {
			return err
		}
	}
	return nil
}

func applySmartLinkField(l *SmartLink, name string, raw json.RawMessage) *FieldError {
	switch name {
	case "name":
		s, err := parseName(raw, MaxSmartLinkNameLen)
		if err != nil {
			return err
		}
		l.Name = s
	case "status":
		s, ok := jsonString(raw)
		if !ok || (s != StatusActive && s != StatusPaused) {
			return ErrInvalidStatus
		}
		l.Status = s
	case "mode":
		s, ok := jsonString(raw)
		if !ok || (s != SmartLinkModeWeight && s != SmartLinkModeEPC) {
			return invalidField("mode", "mode must be weight or epc.")
		}
		l.Mode = s
	case "explore_percent":
		n, ok := jsonInt(raw)
		if !ok || n < 0 || n > 100 {
			return invalidField("explore_percent", "explore_percent must be a whole number from 0 to 100.")
		}
		l.ExplorePercent = n
	case "offers":
		offers, err := parseSmartLinkOffers(raw)
		if err != nil {
			return err
		}
		l.Offers = offers
	case "fallback_url":
		s, ok := jsonString(raw)
		if !ok || (s != "" && !validLinkTemplate(s)) {
			return invalidField("fallback_url", "fallback_url must be a valid http or https URL whose host is not a macro, or empty.")
		}
		l.FallbackURL = s
	}
	return nil
}

// parseSmartLinkOffers reads a link's offers: 1 to MaxSmartLinkOffers
// objects, each naming a distinct offer, weight defaulting to 1 and
// priority to 0.
func parseSmartLinkOffers(raw json.RawMessage) ([]SmartLinkOffer, *FieldError) {
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil || list == nil {
		return nil, invalidField("offers", "offers must be a list of objects {offer_id, weight, priority}.")
	}
	if len(list) == 0 || len(list) > MaxSmartLinkOffers {
		return nil, invalidField("offers", fmt.Sprintf("offers must list 1 to %d offers.", MaxSmartLinkOffers))
	}
	out := make([]SmartLinkOffer, 0, len(list))
	seen := make(map[string]bool, len(list))
	for i, item := range list {
		var fields map[string]json.RawMessage
		if json.Unmarshal(item, &fields) != nil || fields == nil {
			return nil, invalidField("offers", fmt.Sprintf("offers[%d] must be an object {offer_id, weight, priority}.", i))
		}
		o := SmartLinkOffer{Weight: MinSmartLinkWeight}
		id, ok := jsonString(fields["offer_id"])
		if id = strings.TrimSpace(id); !ok || id == "" || len(id) > MaxShortFieldLen {
			return nil, invalidField("offers", fmt.Sprintf("offers[%d].offer_id must name an offer.", i))
		}
		if seen[id] {
			return nil, invalidField("offers", fmt.Sprintf("offers[%d].offer_id %q is listed twice.", i, id))
		}
		seen[id] = true
		o.OfferID = id
		if w, present := fields["weight"]; present {
			n, ok := jsonInt(w)
			if !ok || n < MinSmartLinkWeight || n > MaxSmartLinkWeight {
				return nil, invalidField("offers", fmt.Sprintf("offers[%d].weight must be a whole number from %d to %d.", i, MinSmartLinkWeight, MaxSmartLinkWeight))
			}
			o.Weight = n
		}
		if p, present := fields["priority"]; present {
			n, ok := jsonInt(p)
			if !ok || n < 0 || n > MaxSmartLinkPriority {
				return nil, invalidField("offers", fmt.Sprintf("offers[%d].priority must be a whole number from 0 to %d (higher first).", i, MaxSmartLinkPriority))
			}
			o.Priority = n
		}
		out = append(out, o)
	}
	return out, nil
}

// ValidateSmartLink checks what only the whole link can tell: a name and
// at least one offer.
func ValidateSmartLink(l *SmartLink) *FieldError {
	if strings.TrimSpace(l.Name) == "" {
		return ErrMissingName
	}
	if len(l.Offers) == 0 {
		return &FieldError{Code: "missing_offers", Message: "The offers field was not provided: a smart link lists 1 to 50 offers."}
	}
	return nil
}

// jsonInt decodes raw as a whole number.
func jsonInt(raw json.RawMessage) (int, bool) {
	raw = bytes.TrimSpace(raw)
	var f float64
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &f) != nil || f != float64(int64(f)) || f > 1<<31 || f < -(1<<31) {
		return 0, false
	}
	return int(f), true
}
