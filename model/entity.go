package model

import (
	"net/netip"
	"time"
)

// Kind names a class of entity. It is part of storage keys and of cache
// invalidation messages, so its values never change.
type Kind string

// The kinds of entity an admin or an affiliate creates.
const (
	KindAdvertiser Kind = "advertiser"
	KindAffiliate  Kind = "affiliate"
	KindOffer      Kind = "offer"
	KindPostback   Kind = "postback"
	KindEndpoint   Kind = "endpoint"
	// KindOfferAffiliate is an affiliate's record on an offer, its ID
	// OfferAffiliateID(offer, affiliate).
	KindOfferAffiliate Kind = "offer_affiliate"
	// KindTrafficControls is the network's block lists, one entity of ID
	// TrafficControlsID.
	KindTrafficControls Kind = "traffic_controls"
	// KindSmartLink is a tracking link over several offers (SmartLink).
	KindSmartLink Kind = "smart_link"
)

// Kinds lists every kind, in the order a catalog loads them.
var Kinds = []Kind{KindAdvertiser, KindAffiliate, KindOffer, KindPostback, KindEndpoint, KindOfferAffiliate, KindTrafficControls, KindSmartLink}

// Entity is what the entity store persists and every process caches.
type Entity interface {
	EntityKind() Kind
	EntityID() string
}

// Entity statuses shared by several kinds.
const (
	StatusActive    = "active"
	StatusPaused    = "paused"
	StatusSuspended = "suspended" // accounts only: refused until an admin reactivates them
	// StatusDisabled is a postback turned off because its receiver kept
	// failing: its deliveries are kept in the dead letter until re-enabled.
	StatusDisabled = "disabled"
)

// Advertiser reports conversions for its offers with its own API key.
type Advertiser struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	ContactEmail string `json:"contact_email"`
	Status       string `json:"status"`
	CreatedAt    string `json:"created_at"`
	// ConversionIPs are the addresses its conversions may come from (its
	// servers'); empty, any. A conversion from elsewhere is taken as
	// rejected (ReasonIPNotAllowed).
	ConversionIPs []netip.Prefix `json:"conversion_ips,omitempty"`
}

// Affiliate sends traffic through tracking links and receives postbacks.
type Affiliate struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Tier   string   `json:"tier"`
	Scopes []string `json:"scopes"`
	// AppID identifies the affiliate on the publisher offer feed (seed 001),
	// where it travels in query strings; it is not a secret.
	AppID     string `json:"app_id"`
	Status    string `json:"status"`
	CreatedAt string `json:"created_at"`
	// SigningSecret signs every postback of the affiliate that has no
	// secret of its own; empty, they go unsigned. Stored with the entity
	// so a rotation reaches every process; API views leave it out.
	SigningSecret Secret `json:"signing_secret,omitempty"`
}

// Affiliate tiers (seed 000 rate limits depend on them).
const (
	TierStandard = "standard"
	TierPremium  = "premium"
)

// Affiliate API scopes (seed 000).
const (
	ScopeReadOffers      = "read:offers"
	ScopeReadStats       = "read:stats"
	ScopeReadConversions = "read:conversions"
	ScopeWritePostback   = "write:postback"
)

// AllScopes is every affiliate scope, the default for a new affiliate.
var AllScopes = []string{ScopeReadOffers, ScopeReadStats, ScopeReadConversions, ScopeWritePostback}

// HasScope reports whether the affiliate's key carries scope.
func (a *Affiliate) HasScope(scope string) bool {
	for _, s := range a.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Postback is an affiliate's outbound URL, fired when one of its conversions
// reaches Event. An empty OfferID makes it global to the affiliate.
type Postback struct {
	ID          string `json:"postback_id"`
	AffiliateID string `json:"affiliate_id"`
	OfferID     string `json:"offer_id,omitempty"`
	URL         string `json:"url"`
	Event       string `json:"event"`
	Status      string `json:"status"`
	CreatedAt   string `json:"created_at"`
	// SigningSecret signs this postback's requests, before the affiliate's.
	SigningSecret Secret `json:"signing_secret,omitempty"`
	// DisabledAt and DisabledReason say when and why the postback was
	// disabled (status disabled) because its receiver kept failing.
	DisabledAt     string `json:"disabled_at,omitempty"`
	DisabledReason string `json:"disabled_reason,omitempty"`
}

// Secret is a postback signing secret. It is stored with its entity (JSON
// shows it) but prints as a placeholder, so a %v of an entity in a log line
// or an error does not carry it; API views leave the field out.
type Secret string

// String hides the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "(secret)"
}

// GoString hides the secret from %#v too.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// Reveal is the secret itself, for signing and for the one answer that
// creates it.
func (s Secret) Reveal() string { return string(s) }

// Level is "global" or "offer", as the postback report's pixel_level says.
func (p *Postback) Level() string {
	if p.OfferID == "" {
		return "global"
	}
	return "offer"
}

// Postback events (seed 000).
const (
	EventConversion = "conversion"
	EventApproved   = "approved"
	EventRejected   = "rejected"
)

// Endpoint is a named GET callback (/pb/{id}) an advertiser's tracker calls
// when it cannot send JSON. Its Kind says whether a call is a conversion
// (primary) or a secondary event.
type Endpoint struct {
	ID           string `json:"id"`
	AdvertiserID string `json:"advertiser_id"`
	Kind         string `json:"kind"`
	OfferID      string `json:"offer_id,omitempty"`
	URL          string `json:"url"`
	CreatedAt    string `json:"created_at"`
}

// Endpoint kinds.
const (
	EndpointPrimary   = "primary"
	EndpointSecondary = "secondary"
)

// Principal is whom an API key belongs to.
type Principal struct {
	Kind Kind   `json:"kind"`
	ID   string `json:"id"`
}

func (a *Advertiser) EntityKind() Kind     { return KindAdvertiser }
func (a *Advertiser) EntityID() string     { return a.ID }
func (a *Affiliate) EntityKind() Kind      { return KindAffiliate }
func (a *Affiliate) EntityID() string      { return a.ID }
func (o *Offer) EntityKind() Kind          { return KindOffer }
func (o *Offer) EntityID() string          { return o.ID }
func (p *Postback) EntityKind() Kind       { return KindPostback }
func (p *Postback) EntityID() string       { return p.ID }
func (e *Endpoint) EntityKind() Kind       { return KindEndpoint }
func (e *Endpoint) EntityID() string       { return e.ID }
func (r *OfferAffiliate) EntityKind() Kind { return KindOfferAffiliate }
func (r *OfferAffiliate) EntityID() string { return OfferAffiliateID(r.OfferID, r.AffiliateID) }

// NewEntity returns an empty entity of kind, for decoding.
func NewEntity(kind Kind) Entity {
	switch kind {
	case KindAdvertiser:
		return &Advertiser{}
	case KindAffiliate:
		return &Affiliate{}
	case KindOffer:
		return &Offer{}
	case KindPostback:
		return &Postback{}
	case KindEndpoint:
		return &Endpoint{}
	case KindOfferAffiliate:
		return &OfferAffiliate{}
	case KindTrafficControls:
		return &TrafficControls{}
	case KindSmartLink:
		return &SmartLink{}
	}
	return nil
}

// Timestamp layouts of the documents the API follows.
const (
	// OfferTimeLayout is seed 003's created_at / updated_at: UTC, no zone.
	OfferTimeLayout = "2006-01-02T15:04:05"
	// APITimeLayout is seed 000's created_at: RFC 3339 in UTC.
	APITimeLayout = "2006-01-02T15:04:05Z"
)

// FormatTime formats t in UTC with layout.
func FormatTime(t time.Time, layout string) string { return t.UTC().Format(layout) }
