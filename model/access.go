package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Offer visibility: who may run an offer. A public offer is open to every
// active affiliate; one that requires approval only to those approved on
// it; a private one likewise, and the others do not even see it.
const (
	VisibilityPublic          = "public"
	VisibilityRequireApproval = "require_approval"
	VisibilityPrivate         = "private"
)

// Visibilities lists every visibility, the default first.
var Visibilities = []string{VisibilityPublic, VisibilityRequireApproval, VisibilityPrivate}

// An affiliate's access to an offer. An affiliate applies (pending, or at
// once approved on a public offer); the network approves or rejects it, or
// blocks it (rejected and blocked affiliates see the offer as gone).
const (
	AccessApproved = "approved"
	AccessPending  = "pending"
	AccessRejected = "rejected"
	AccessBlocked  = "blocked"
)

// Accesses lists every access.
var Accesses = []string{AccessApproved, AccessPending, AccessRejected, AccessBlocked}

// Limits of an affiliate's record on an offer.
const (
	// MaxBlockedSubs bounds each sub's block list: the click path looks a
	// sub up in it.
	MaxBlockedSubs = 1000
	// MaxCaps bounds the caps of an offer or of an affiliate on it.
	MaxCaps = 16
)

// OfferAffiliate is an affiliate's standing on one offer: whether it may
// run it, what it earns on it, its own caps there, and the sub-IDs of its
// traffic (placements, apps, sites) that offer refuses.
type OfferAffiliate struct {
	OfferID     string `json:"offer_id"`
	AffiliateID string `json:"affiliate_id"`
	Access      string `json:"access"`
	// Payout is the affiliate's custom payout on the offer, in the offer's
	// unit (an amount, or a percentage for CPS and RevShare); nil is the
	// offer's own.
	Payout      *float64    `json:"payout"`
	Caps        []Cap       `json:"caps"`
	BlockedSubs BlockedSubs `json:"blocked_subs"`
	// Targeting narrows the offer's for this affiliate's visitors (both
	// apply); nil: the offer's alone.
	Targeting *Targeting `json:"targeting,omitempty"`
	CreatedAt string     `json:"created_at"`
	UpdatedAt string     `json:"updated_at"`
}

// BlockedSubs are the values of sub1..sub5 an offer refuses from one
// affiliate, each list sorted.
type BlockedSubs [5][]string

// Blocks reports whether any of subs is blocked.
func (b *BlockedSubs) Blocks(subs *[5][]byte) bool {
	for i, list := range b {
		if len(list) > 0 && len(subs[i]) > 0 {
			if _, found := slices.BinarySearch(list, string(subs[i])); found {
				return true
			}
		}
	}
	return false
}

// OfferAffiliateID is the entity ID of an affiliate's record on an offer.
func OfferAffiliateID(offerID, affiliateID string) string { return offerID + ":" + affiliateID }

// SplitOfferAffiliateID is OfferAffiliateID's inverse.
func SplitOfferAffiliateID(id string) (offerID, affiliateID string, ok bool) {
	return strings.Cut(id, ":")
}

// MayRun reports whether an affiliate with record rec (nil: none) may send
// traffic to offer o: a public offer takes every affiliate not rejected or
// blocked on it; the others only approved ones.
func MayRun(o *Offer, rec *OfferAffiliate) bool {
	if rec != nil && (rec.Access == AccessRejected || rec.Access == AccessBlocked) {
		return false
	}
	if o.Visibility == "" || o.Visibility == VisibilityPublic {
		return true
	}
	return rec != nil && rec.Access == AccessApproved
}

// Sees reports whether the affiliate sees the offer at all (in its offer
// list and the publisher feed): not when rejected or blocked on it, nor a
// private offer it is not approved on.
func Sees(o *Offer, rec *OfferAffiliate) bool {
	if rec != nil && (rec.Access == AccessRejected || rec.Access == AccessBlocked) {
		return false
	}
	return o.Visibility != VisibilityPrivate || rec != nil && rec.Access == AccessApproved
}

// blockedSubNames are BlockedSubs' JSON keys.
var blockedSubNames = [5]string{"sub1", "sub2", "sub3", "sub4", "sub5"}

// MarshalJSON writes {"sub1": [...], ..., "sub5": [...]}, every list
// present (empty when nothing is blocked).
func (b BlockedSubs) MarshalJSON() ([]byte, error) {
	m := make(map[string][]string, len(b))
	for i, name := range blockedSubNames {
		m[name] = b[i]
		if m[name] == nil {
			m[name] = []string{}
		}
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads what MarshalJSON writes; absent subs block nothing.
func (b *BlockedSubs) UnmarshalJSON(data []byte) error {
	var m map[string][]string
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*b = BlockedSubs{}
	for name, list := range m {
		i := slices.Index(blockedSubNames[:], name)
		if i < 0 {
			return fmt.Errorf("blocked_subs: %q is not one of sub1..sub5", name)
		}
		b[i] = list
	}
	return nil
}

// ParseBlockedSubs reads an API's blocked_subs: an object of sub1..sub5,
// each a list of at most MaxBlockedSubs values of at most MaxSubLen bytes.
// Lists come back sorted and without repeats.
func ParseBlockedSubs(raw json.RawMessage) (BlockedSubs, *FieldError) {
	var b BlockedSubs
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return b, nil
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return b, invalidField("blocked_subs", `blocked_subs must be an object such as {"sub1": ["site-42"], "sub3": []}, of sub1..sub5.`)
	}
	for i, list := range b {
		if len(list) > MaxBlockedSubs {
			return b, invalidField("blocked_subs", fmt.Sprintf("blocked_subs.%s holds at most %d values.", blockedSubNames[i], MaxBlockedSubs))
		}
		for _, v := range list {
			if v == "" || len(v) > MaxSubLen {
				return b, invalidField("blocked_subs", fmt.Sprintf("blocked_subs.%s values are 1 to %d bytes.", blockedSubNames[i], MaxSubLen))
			}
		}
		slices.Sort(list)
		b[i] = slices.Compact(list)
	}
	return b, nil
}

// MaxSubLen is the longest sub-ID the click path keeps (its values are
// cut there).
const MaxSubLen = 512
