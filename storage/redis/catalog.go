package redis

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	goredis "github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/model"
)

// Catalog is this process's copy of every entity, so the click path and
// authentication never wait on Redis. Writers update it directly and publish
// an invalidation; every process reloads the named entity within
// milliseconds, and the whole catalog on each (re)subscription and every
// CatalogResync as a safety net.
//
// Entities in the catalog are immutable: an update replaces the pointer.
type Catalog struct {
	c *Component

	mu          sync.RWMutex
	advertisers map[string]*model.Advertiser
	affiliates  map[string]*model.Affiliate
	offers      map[string]*model.Offer
	postbacks   map[string]*model.Postback
	endpoints   map[string]*model.Endpoint
	// offerAffiliates holds affiliates' records on offers, by offer then
	// affiliate: the click path finds one with two map lookups.
	offerAffiliates map[string]map[string]*model.OfferAffiliate
	// trafficControls are the network's block lists; nil: none set.
	trafficControls *model.TrafficControls
	smartLinks      map[string]*model.SmartLink
	// Secondary indexes, kept in step with the maps above.
	offersBySlug         map[string]*model.Offer
	smartLinksBySlug     map[string]*model.SmartLink
	affiliatesByAppID    map[string]*model.Affiliate
	postbacksByAffiliate map[string][]*model.Postback // each slice replaced, never mutated
	// keys indexes API key hashes by their first 8 bytes; the full hash is
	// then compared in constant time.
	keys map[uint64][]storedKey

	// writes counts this process's own entity and API key writes, and
	// lastWrite holds each one's ("kind:id", "key:hash") latest. A reload reads Redis without the
	// lock, so a write of ours may land in between: what the reload read of
	// that entity is older than the catalog's, and is not applied (the
	// write's own invalidation follows and reloads it).
	writes    uint64
	lastWrite map[string]uint64

	reloads *metrics.Counter
	// emptyReloads counts full reloads that found Redis lacking what the
	// catalog held and is never all removed (lostIn), and kept the catalog.
	emptyReloads *metrics.Counter
	// emptyLog is sampled: an emptied Redis is seen at every resync of
	// every process until it is restored.
	emptyLog zerolog.Logger
	// capReached hears of cap counters other processes saw reach their
	// limit (OnCapReached).
	capReached atomic.Pointer[func(key string)]
}

// OnCapReached sets what hears of a cap counter reaching its limit in any
// process (PublishCapReached), as invalidations arrive.
func (cat *Catalog) OnCapReached(fn func(key string)) { cat.capReached.Store(&fn) }

func newCatalog(c *Component, set *metrics.Set) *Catalog {
	cat := &Catalog{c: c, emptyLog: c.log.Sample(&zerolog.BurstSampler{Burst: 1, Period: time.Minute}), lastWrite: map[string]uint64{}}
	cat.reset()
	cat.reloads = set.NewCounter(`clickrelay_catalog_reloads_total`)
	cat.emptyReloads = set.NewCounter(`clickrelay_catalog_empty_reloads_total`)
	return cat
}

// EmptyReloads is how many full reloads found Redis empty and kept the
// catalog instead.
func (cat *Catalog) EmptyReloads() uint64 { return cat.emptyReloads.Get() }

// lostIn names what the catalog holds and fresh, read from Redis, has none
// of, among what is never all removed: API keys (a key is only replaced)
// and the kinds of neverAllRemoved. Each lives in a hash of its own, so on
// a Redis Cluster one master restarted empty loses some and keeps the
// others.
func (cat *Catalog) lostIn(fresh *Catalog) []string {
	cat.mu.RLock()
	defer cat.mu.RUnlock()
	var lost []string
	if len(cat.keys) > 0 && len(fresh.keys) == 0 {
		lost = append(lost, model.JournalAPIKey)
	}
	for _, kind := range neverAllRemoved {
		if cat.sizeOf(kind) > 0 && fresh.sizeOf(kind) == 0 {
			lost = append(lost, string(kind))
		}
	}
	return lost
}

// sizeOf is how many entities of kind, one of neverAllRemoved, the catalog
// holds.
func (cat *Catalog) sizeOf(kind model.Kind) int {
	switch kind {
	case model.KindAdvertiser:
		return len(cat.advertisers)
	case model.KindAffiliate:
		return len(cat.affiliates)
	case model.KindOffer:
		return len(cat.offers)
	}
	panic("sizeOf(" + string(kind) + "): not a kind that is never all removed")
}

// highestID reports whether the catalog holds an entity of kind with ID id
// (for postbacks, "pb_"+id), and the highest numeric ID of that kind.
func (cat *Catalog) highestID(kind model.Kind, id string) (int64, bool) {
	cat.mu.RLock()
	defer cat.mu.RUnlock()
	var ids []string
	switch kind {
	case model.KindAdvertiser:
		ids = slices.Collect(maps.Keys(cat.advertisers))
	case model.KindAffiliate:
		ids = slices.Collect(maps.Keys(cat.affiliates))
	case model.KindOffer:
		ids = slices.Collect(maps.Keys(cat.offers))
	case model.KindPostback:
		ids = slices.Collect(maps.Keys(cat.postbacks))
		id = "pb_" + id
	case model.KindSmartLink:
		ids = slices.Collect(maps.Keys(cat.smartLinks))
	default:
		return 0, false
	}
	var highest int64
	taken := false
	for _, have := range ids {
		taken = taken || have == id
		if n, err := strconv.ParseInt(strings.TrimPrefix(have, "pb_"), 10, 64); err == nil {
			highest = max(highest, n)
		}
	}
	return highest, taken
}

func (cat *Catalog) reset() {
	cat.advertisers = map[string]*model.Advertiser{}
	cat.affiliates = map[string]*model.Affiliate{}
	cat.offers = map[string]*model.Offer{}
	cat.postbacks = map[string]*model.Postback{}
	cat.endpoints = map[string]*model.Endpoint{}
	cat.offerAffiliates = map[string]map[string]*model.OfferAffiliate{}
	cat.trafficControls = nil
	cat.smartLinks = map[string]*model.SmartLink{}
	cat.offersBySlug = map[string]*model.Offer{}
	cat.smartLinksBySlug = map[string]*model.SmartLink{}
	cat.affiliatesByAppID = map[string]*model.Affiliate{}
	cat.postbacksByAffiliate = map[string][]*model.Postback{}
	cat.keys = map[uint64][]storedKey{}
}

type storedKey struct {
	hash      [32]byte
	principal model.Principal
}

func keyIndex(hash [32]byte) uint64 { return binary.LittleEndian.Uint64(hash[:8]) }

// Offer returns an offer by ID or slug.
func (cat *Catalog) Offer(idOrSlug string) *model.Offer {
	cat.mu.RLock()
	o := cat.offers[idOrSlug]
	if o == nil {
		o = cat.offersBySlug[idOrSlug]
	}
	cat.mu.RUnlock()
	return o
}

// OfferBytes is Offer for the click path: it does not allocate.
func (cat *Catalog) OfferBytes(idOrSlug []byte) *model.Offer {
	cat.mu.RLock()
	o := cat.offers[string(idOrSlug)]
	if o == nil {
		o = cat.offersBySlug[string(idOrSlug)]
	}
	cat.mu.RUnlock()
	return o
}

// SmartLink returns a smart link by ID or slug.
func (cat *Catalog) SmartLink(idOrSlug string) *model.SmartLink {
	cat.mu.RLock()
	l := cat.smartLinks[idOrSlug]
	if l == nil {
		l = cat.smartLinksBySlug[idOrSlug]
	}
	cat.mu.RUnlock()
	return l
}

// SmartLinkBytes is SmartLink for the click path: it does not allocate.
func (cat *Catalog) SmartLinkBytes(idOrSlug []byte) *model.SmartLink {
	cat.mu.RLock()
	l := cat.smartLinksBySlug[string(idOrSlug)]
	if l == nil {
		l = cat.smartLinks[string(idOrSlug)]
	}
	cat.mu.RUnlock()
	return l
}

// SmartLinks returns every smart link, in ID order.
func (cat *Catalog) SmartLinks() []*model.SmartLink { return sortedByID(cat, cat.smartLinks) }

// AffiliateBytes returns an affiliate by ID without allocating.
func (cat *Catalog) AffiliateBytes(id []byte) *model.Affiliate {
	cat.mu.RLock()
	a := cat.affiliates[string(id)]
	cat.mu.RUnlock()
	return a
}

// Affiliate returns an affiliate by ID.
func (cat *Catalog) Affiliate(id string) *model.Affiliate {
	cat.mu.RLock()
	defer cat.mu.RUnlock()
	return cat.affiliates[id]
}

// AffiliateByAppID returns the affiliate whose publisher feed app_id
// (seed 001) is appID.
func (cat *Catalog) AffiliateByAppID(appID string) *model.Affiliate {
	if appID == "" {
		return nil
	}
	cat.mu.RLock()
	defer cat.mu.RUnlock()
	return cat.affiliatesByAppID[appID]
}

// Advertiser returns an advertiser by ID.
func (cat *Catalog) Advertiser(id string) *model.Advertiser {
	cat.mu.RLock()
	defer cat.mu.RUnlock()
	return cat.advertisers[id]
}

// Endpoint returns a postback endpoint by ID.
func (cat *Catalog) Endpoint(id string) *model.Endpoint {
	cat.mu.RLock()
	defer cat.mu.RUnlock()
	return cat.endpoints[id]
}

// Postback returns an affiliate postback by ID.
func (cat *Catalog) Postback(id string) *model.Postback {
	cat.mu.RLock()
	defer cat.mu.RUnlock()
	return cat.postbacks[id]
}

// Postbacks returns the affiliate's postbacks, oldest first. The slice is
// shared: callers must not modify it.
func (cat *Catalog) Postbacks(affiliateID string) []*model.Postback {
	cat.mu.RLock()
	defer cat.mu.RUnlock()
	return cat.postbacksByAffiliate[affiliateID]
}

// Endpoints returns every advertiser postback endpoint, oldest first
// (their IDs are random, so by creation time, then ID).
func (cat *Catalog) Endpoints() []*model.Endpoint {
	cat.mu.RLock()
	out := make([]*model.Endpoint, 0, len(cat.endpoints))
	for _, e := range cat.endpoints {
		out = append(out, e)
	}
	cat.mu.RUnlock()
	slices.SortFunc(out, func(a, b *model.Endpoint) int {
		if c := strings.Compare(a.CreatedAt, b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// OfferAffiliate returns the affiliate's record on the offer, or nil.
func (cat *Catalog) OfferAffiliate(offerID, affiliateID string) *model.OfferAffiliate {
	cat.mu.RLock()
	defer cat.mu.RUnlock()
	return cat.offerAffiliates[offerID][affiliateID]
}

// OfferAffiliateBytes is OfferAffiliate for the click path: it does not
// allocate.
func (cat *Catalog) OfferAffiliateBytes(offerID string, affiliateID []byte) *model.OfferAffiliate {
	cat.mu.RLock()
	r := cat.offerAffiliates[offerID][string(affiliateID)]
	cat.mu.RUnlock()
	return r
}

// TrafficControls returns the network's traffic controls, nil when none
// were ever set. The click path reads them on every click: it does not
// allocate.
func (cat *Catalog) TrafficControls() *model.TrafficControls {
	cat.mu.RLock()
	c := cat.trafficControls
	cat.mu.RUnlock()
	return c
}

// OfferAffiliates returns the records of every affiliate on the offer, by
// affiliate ID.
func (cat *Catalog) OfferAffiliates(offerID string) []*model.OfferAffiliate {
	cat.mu.RLock()
	out := slices.Collect(maps.Values(cat.offerAffiliates[offerID]))
	cat.mu.RUnlock()
	slices.SortFunc(out, func(a, b *model.OfferAffiliate) int { return compareIDs(a.AffiliateID, b.AffiliateID) })
	return out
}

// OfferAffiliatesWhere returns every record keep accepts, by offer then
// affiliate.
func (cat *Catalog) OfferAffiliatesWhere(keep func(*model.OfferAffiliate) bool) []*model.OfferAffiliate {
	cat.mu.RLock()
	var out []*model.OfferAffiliate
	for _, byAffiliate := range cat.offerAffiliates {
		for _, r := range byAffiliate {
			if keep(r) {
				out = append(out, r)
			}
		}
	}
	cat.mu.RUnlock()
	slices.SortFunc(out, func(a, b *model.OfferAffiliate) int {
		if c := compareIDs(a.OfferID, b.OfferID); c != 0 {
			return c
		}
		return compareIDs(a.AffiliateID, b.AffiliateID)
	})
	return out
}

// Offers returns every offer, in ID order.
func (cat *Catalog) Offers() []*model.Offer { return sortedByID(cat, cat.offers) }

// Advertisers returns every advertiser, by ID.
func (cat *Catalog) Advertisers() []*model.Advertiser { return sortedByID(cat, cat.advertisers) }

// Affiliates returns every affiliate, by ID.
func (cat *Catalog) Affiliates() []*model.Affiliate { return sortedByID(cat, cat.affiliates) }

// sortedByID lists a catalog map's entities in ID order.
func sortedByID[E model.Entity](cat *Catalog, m map[string]E) []E {
	cat.mu.RLock()
	out := make([]E, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	cat.mu.RUnlock()
	slices.SortFunc(out, func(a, b E) int { return compareIDs(a.EntityID(), b.EntityID()) })
	return out
}

// compareIDs orders numeric IDs by value and any others after, by text.
func compareIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// HoldsKey reports whether p still holds a key whose SHA-256 begins with
// prefix (at least 8 bytes): a console session names its key this way, so
// rotating the key ends the session without the cookie carrying the key.
func (cat *Catalog) HoldsKey(p model.Principal, prefix []byte) bool {
	if len(prefix) < 8 || len(prefix) > 32 {
		return false
	}
	var head [32]byte
	copy(head[:], prefix)
	cat.mu.RLock()
	candidates := cat.keys[keyIndex(head)]
	cat.mu.RUnlock()
	for _, k := range candidates {
		if k.principal == p && subtle.ConstantTimeCompare(prefix, k.hash[:len(prefix)]) == 1 {
			return true
		}
	}
	return false
}

// Principal returns whom the API key belongs to. The map is keyed by the
// key's SHA-256; the final comparison runs in constant time so a lookup
// reveals nothing about how close a wrong key came.
func (cat *Catalog) Principal(key string) (model.Principal, bool) {
	hash := HashKey(key)
	cat.mu.RLock()
	candidates := cat.keys[keyIndex(hash)]
	cat.mu.RUnlock()
	for _, k := range candidates {
		if subtle.ConstantTimeCompare(hash[:], k.hash[:]) == 1 {
			return k.principal, true
		}
	}
	return model.Principal{}, false
}

// write applies an entity this process has just saved (nil e: deleted).
func (cat *Catalog) write(kind model.Kind, id string, e model.Entity) {
	cat.mu.Lock()
	defer cat.mu.Unlock()
	cat.writes++
	cat.lastWrite[string(kind)+":"+id] = cat.writes
	if e == nil {
		cat.removeLocked(kind, id)
	} else {
		cat.putLocked(e)
	}
}

// writeMark is where this process's writes stand; read before Redis.
func (cat *Catalog) writeMark() uint64 {
	cat.mu.RLock()
	defer cat.mu.RUnlock()
	return cat.writes
}

// writtenSince reports whether this process wrote the entity after mark.
func (cat *Catalog) writtenSince(kind model.Kind, id string, mark uint64) bool {
	return cat.lastWrite[string(kind)+":"+id] > mark
}

func (cat *Catalog) put(e model.Entity) {
	cat.mu.Lock()
	defer cat.mu.Unlock()
	cat.putLocked(e)
}

func (cat *Catalog) putLocked(e model.Entity) {
	cat.removeLocked(e.EntityKind(), e.EntityID())
	switch e := e.(type) {
	case *model.Advertiser:
		cat.advertisers[e.ID] = e
	case *model.Affiliate:
		cat.affiliates[e.ID] = e
		if e.AppID != "" {
			cat.affiliatesByAppID[e.AppID] = e
		}
	case *model.Offer:
		cat.offers[e.ID] = e
		if e.Slug != "" {
			cat.offersBySlug[e.Slug] = e
		}
	case *model.Postback:
		cat.postbacks[e.ID] = e
		list := append(slices.Clone(cat.postbacksByAffiliate[e.AffiliateID]), e)
		slices.SortFunc(list, func(a, b *model.Postback) int {
			return compareIDs(strings.TrimPrefix(a.ID, "pb_"), strings.TrimPrefix(b.ID, "pb_"))
		})
		cat.postbacksByAffiliate[e.AffiliateID] = list
	case *model.Endpoint:
		cat.endpoints[e.ID] = e
	case *model.OfferAffiliate:
		byAffiliate := cat.offerAffiliates[e.OfferID]
		if byAffiliate == nil {
			byAffiliate = map[string]*model.OfferAffiliate{}
			cat.offerAffiliates[e.OfferID] = byAffiliate
		}
		byAffiliate[e.AffiliateID] = e
	case *model.TrafficControls:
		cat.trafficControls = e
	case *model.SmartLink:
		cat.smartLinks[e.ID] = e
		if e.Slug != "" {
			cat.smartLinksBySlug[e.Slug] = e
		}
	}
}

// entityLocked returns the catalog's entity of kind and id, or nil.
func (cat *Catalog) entityLocked(kind model.Kind, id string) model.Entity {
	switch kind {
	case model.KindAdvertiser:
		if e := cat.advertisers[id]; e != nil {
			return e
		}
	case model.KindAffiliate:
		if e := cat.affiliates[id]; e != nil {
			return e
		}
	case model.KindOffer:
		if e := cat.offers[id]; e != nil {
			return e
		}
	case model.KindPostback:
		if e := cat.postbacks[id]; e != nil {
			return e
		}
	case model.KindEndpoint:
		if e := cat.endpoints[id]; e != nil {
			return e
		}
	case model.KindOfferAffiliate:
		offerID, affiliateID, _ := model.SplitOfferAffiliateID(id)
		if e := cat.offerAffiliates[offerID][affiliateID]; e != nil {
			return e
		}
	case model.KindTrafficControls:
		if cat.trafficControls != nil {
			return cat.trafficControls
		}
	case model.KindSmartLink:
		if e := cat.smartLinks[id]; e != nil {
			return e
		}
	}
	return nil
}

func (cat *Catalog) removeLocked(kind model.Kind, id string) {
	switch kind {
	case model.KindAdvertiser:
		delete(cat.advertisers, id)
	case model.KindAffiliate:
		if old := cat.affiliates[id]; old != nil && cat.affiliatesByAppID[old.AppID] == old {
			delete(cat.affiliatesByAppID, old.AppID)
		}
		delete(cat.affiliates, id)
	case model.KindOffer:
		if old := cat.offers[id]; old != nil {
			delete(cat.offersBySlug, old.Slug)
		}
		delete(cat.offers, id)
	case model.KindPostback:
		if old := cat.postbacks[id]; old != nil {
			list := slices.DeleteFunc(slices.Clone(cat.postbacksByAffiliate[old.AffiliateID]),
				func(p *model.Postback) bool { return p.ID == id })
			if len(list) == 0 {
				delete(cat.postbacksByAffiliate, old.AffiliateID)
			} else {
				cat.postbacksByAffiliate[old.AffiliateID] = list
			}
		}
		delete(cat.postbacks, id)
	case model.KindEndpoint:
		delete(cat.endpoints, id)
	case model.KindOfferAffiliate:
		offerID, affiliateID, _ := model.SplitOfferAffiliateID(id)
		if byAffiliate := cat.offerAffiliates[offerID]; byAffiliate != nil {
			delete(byAffiliate, affiliateID)
			if len(byAffiliate) == 0 {
				delete(cat.offerAffiliates, offerID)
			}
		}
	case model.KindTrafficControls:
		cat.trafficControls = nil
	case model.KindSmartLink:
		if old := cat.smartLinks[id]; old != nil {
			delete(cat.smartLinksBySlug, old.Slug)
		}
		delete(cat.smartLinks, id)
	}
}

// writeKey applies an API key this process has just saved (nil p:
// removed), marked as its own write as entities are, so that a reload
// which read Redis before the write does not undo it.
func (cat *Catalog) writeKey(hash [32]byte, p *model.Principal) {
	cat.mu.Lock()
	defer cat.mu.Unlock()
	cat.writes++
	cat.lastWrite[keyWriteName(hash)] = cat.writes
	if p == nil {
		cat.removeKeyLocked(hash)
	} else {
		cat.putKeyLocked(hash, *p)
	}
}

// keyWriteName is an API key's name in lastWrite, as its invalidation
// names it.
func keyWriteName(hash [32]byte) string { return "key:" + hex.EncodeToString(hash[:]) }

// applyKey applies what a reload read of one key, unless this process
// wrote that key after mark.
func (cat *Catalog) applyKey(hash [32]byte, p *model.Principal, mark uint64) {
	cat.mu.Lock()
	defer cat.mu.Unlock()
	if cat.lastWrite[keyWriteName(hash)] > mark {
		return
	}
	if p == nil {
		cat.removeKeyLocked(hash)
	} else {
		cat.putKeyLocked(hash, *p)
	}
}

// keyLocked is the principal of exactly this hash, if the catalog has it.
func (cat *Catalog) keyLocked(hash [32]byte) (model.Principal, bool) {
	for _, k := range cat.keys[keyIndex(hash)] {
		if k.hash == hash {
			return k.principal, true
		}
	}
	return model.Principal{}, false
}

func (cat *Catalog) removeKeyLocked(hash [32]byte) {
	i := keyIndex(hash)
	list := slices.DeleteFunc(slices.Clone(cat.keys[i]), func(k storedKey) bool { return k.hash == hash })
	if len(list) == 0 {
		delete(cat.keys, i)
	} else {
		cat.keys[i] = list
	}
}

func (cat *Catalog) putKeyLocked(hash [32]byte, p model.Principal) {
	i := keyIndex(hash)
	list := slices.DeleteFunc(slices.Clone(cat.keys[i]), func(k storedKey) bool { return k.hash == hash })
	cat.keys[i] = append(list, storedKey{hash: hash, principal: p})
}

// reloadAll replaces the catalog with what Redis holds now, except that a
// Redis lacking what is never all removed (lostIn) never empties the
// catalog of it: Redis, or one master of a cluster, has lost its data, and
// swapping would make every click answer 404 or every key 401. The catalog
// is kept, the event counted and logged, and, with a journal, Redis is
// restored and read again.
func (cat *Catalog) reloadAll(ctx context.Context) error {
	mark := cat.writeMark()
	fresh, err := cat.read(ctx)
	if err != nil {
		return err
	}
	if lost := cat.lostIn(fresh); len(lost) > 0 {
		cat.emptyReloads.Inc()
		if cat.c.journalStore == nil {
			cat.emptyLog.Error().Strs("lost", lost).Msg("Redis lacks what this process's catalog holds and is never all removed: Redis (or, on a cluster, one of its masters) lost its data. " +
				"The catalog is kept, so clicks still redirect, but these entities exist only in process memory: restore Redis")
			return nil
		}
		report, err := cat.c.Restore(ctx)
		if err != nil {
			cat.emptyLog.Error().Err(err).Strs("lost", lost).Msg("Redis lacks what this process's catalog holds: Redis lost its data, " +
				"and restoring it from the entity journal failed; the catalog is kept")
			return nil
		}
		cat.emptyLog.Error().Strs("lost", lost).Int("restored", report.Total()).Interface("by_kind", report.Restored).
			Msg("Redis lacked what this process's catalog holds: Redis lost its data; the catalog was kept and Redis restored from the entity journal")
		if fresh, err = cat.read(ctx); err != nil {
			return err
		}
		if len(cat.lostIn(fresh)) > 0 {
			return nil
		}
	}
	cat.install(fresh, mark)
	return nil
}

// install swaps in what a reload read, keeping every entity and API key
// this process wrote after mark: the read may have seen Redis before it.
func (cat *Catalog) install(fresh *Catalog, mark uint64) {
	cat.mu.Lock()
	for k, at := range cat.lastWrite {
		if at <= mark {
			continue
		}
		kind, id, _ := strings.Cut(k, ":")
		if kind == "key" {
			if raw, err := hex.DecodeString(id); err == nil && len(raw) == 32 {
				hash := [32]byte(raw)
				fresh.removeKeyLocked(hash)
				if p, ok := cat.keyLocked(hash); ok {
					fresh.putKeyLocked(hash, p)
				}
			}
			continue
		}
		fresh.removeLocked(model.Kind(kind), id)
		if e := cat.entityLocked(model.Kind(kind), id); e != nil {
			fresh.putLocked(e)
		}
	}
	cat.advertisers, cat.affiliates, cat.offers = fresh.advertisers, fresh.affiliates, fresh.offers
	cat.postbacks, cat.endpoints, cat.offerAffiliates = fresh.postbacks, fresh.endpoints, fresh.offerAffiliates
	cat.trafficControls = fresh.trafficControls
	cat.offersBySlug, cat.affiliatesByAppID = fresh.offersBySlug, fresh.affiliatesByAppID
	cat.smartLinks, cat.smartLinksBySlug = fresh.smartLinks, fresh.smartLinksBySlug
	cat.postbacksByAffiliate, cat.keys = fresh.postbacksByAffiliate, fresh.keys
	cat.mu.Unlock()
	cat.reloads.Inc()
}

// read loads everything Redis holds into a catalog of its own.
func (cat *Catalog) read(ctx context.Context) (*Catalog, error) {
	fresh := &Catalog{}
	fresh.reset()
	for _, kind := range model.Kinds {
		all, err := cat.c.client.HGetAll(ctx, cat.c.keys.entities(kind)).Result()
		if err != nil {
			return nil, err
		}
		for id, body := range all {
			e := model.NewEntity(kind)
			if err := json.Unmarshal([]byte(body), e); err != nil {
				cat.c.log.Error().Err(err).Str("kind", string(kind)).Str("id", id).Msg("skipping an entity that does not decode")
				continue
			}
			fresh.put(e)
		}
	}
	keys, err := cat.c.client.HGetAll(ctx, cat.c.keys.apiKeys()).Result()
	if err != nil {
		return nil, err
	}
	for h, body := range keys {
		hash, p, err := decodeKey(h, body)
		if err != nil {
			cat.c.log.Error().Err(err).Msg("skipping an API key that does not decode")
			continue
		}
		fresh.putKeyLocked(hash, p)
	}
	return fresh, nil
}

func decodeKey(h, body string) ([32]byte, model.Principal, error) {
	var hash [32]byte
	var p model.Principal
	raw, err := hex.DecodeString(h)
	if err != nil || len(raw) != len(hash) {
		return hash, p, fmt.Errorf("bad key hash %q", h)
	}
	copy(hash[:], raw)
	return hash, p, json.Unmarshal([]byte(body), &p)
}

// reloadOne applies an invalidation message "kind:id" or "key:hash".
func (cat *Catalog) reloadOne(ctx context.Context, msg string) error {
	if msg == reloadAllMessage {
		return cat.reloadAll(ctx)
	}
	if key, ok := strings.CutPrefix(msg, capReachedPrefix); ok {
		if fn := cat.capReached.Load(); fn != nil {
			(*fn)(key)
		}
		return nil
	}
	kind, id, ok := strings.Cut(msg, ":")
	if !ok {
		return fmt.Errorf("malformed invalidation %q", msg)
	}
	if kind == "key" {
		mark := cat.writeMark()
		body, err := cat.c.client.HGet(ctx, cat.c.keys.apiKeys(), id).Result()
		if isNil(err) { // a rotated key: gone
			body = "{}"
			err = nil
		}
		if err != nil {
			return err
		}
		hash, p, err := decodeKey(id, body)
		if err != nil {
			return err
		}
		if p == (model.Principal{}) {
			cat.applyKey(hash, nil, mark)
		} else {
			cat.applyKey(hash, &p, mark)
		}
		return nil
	}
	mark := cat.writeMark()
	e, found, err := cat.c.loadEntity(ctx, model.Kind(kind), id)
	if err != nil {
		return err
	}
	cat.mu.Lock()
	defer cat.mu.Unlock()
	switch {
	case cat.writtenSince(model.Kind(kind), id, mark):
	case found:
		cat.putLocked(e)
	default:
		cat.removeLocked(model.Kind(kind), id)
	}
	return nil
}

// follow applies the invalidations sub receives until ctx ends. go-redis
// resubscribes after a lost connection and then delivers a Subscription
// message: messages may have been missed meanwhile, so each one triggers a
// full reload.
func (cat *Catalog) follow(ctx context.Context, sub *goredis.PubSub) error {
	defer sub.Close()
	ch := sub.ChannelWithSubscriptions(goredis.WithChannelSize(1024))
	resync := time.NewTicker(cat.c.config.CatalogResync)
	defer resync.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-resync.C:
			err = cat.reloadAll(ctx)
		case m, ok := <-ch:
			if !ok {
				return errors.New("the subscription to catalog invalidations ended: this process would serve a stale catalog")
			}
			switch m := m.(type) {
			case *goredis.Subscription:
				err = cat.reloadAll(ctx)
			case *goredis.Message:
				err = cat.reloadOne(ctx, m.Payload)
			}
		}
		if err != nil && ctx.Err() == nil {
			cat.c.log.Warn().Err(err).Msg("catalog reload failed; retrying at the next resync")
		}
	}
}
