package smartlink

import (
	"math/rand/v2"

	"github.com/clickrelay/clickrelay/model"
)

// Random draws uniform numbers: [0, n) from Uint64N. The click path's is
// math/rand/v2's (safe for concurrent use, no lock, no allocation); tests
// pass a seeded *rand.Rand.
type Random interface {
	Uint64N(n uint64) uint64
}

// EPCs answers an offer's earnings per click (Refresher).
type EPCs interface {
	EPC(offerID string) float64
}

// Chooser picks a smart link's offer for each visitor.
type Chooser struct {
	// EPC ranks the offers of an EPC-mode link; nil: such links choose
	// by weight.
	EPC EPCs
	// Rand draws the choices; nil: math/rand/v2's.
	Rand Random
}

type globalRand struct{}

func (globalRand) Uint64N(n uint64) uint64 { return rand.Uint64N(n) }

// Pick returns the index in link.Offers of the offer a visitor goes to, or
// -1 when none may take them. takes(i) says whether offer i may (the
// tracker's judge: active, in its targeting, the affiliate allowed, not
// capped, no blocked sub-ID); it is asked only of the offers that can still
// win, those of a priority no lower than the best that took the visitor so
// far.
//
// Among the offers that take the visitor, those of the highest priority (a
// higher number wins) are chosen from: by weight (an offer of weight 3 gets
// three times the traffic of one of weight 1), or, for an EPC-mode link,
// the one with the best EPC (offers tied on it, by weight: so without any
// EPC yet, by weight), except that ExplorePercent of the visitors go by
// weight to the others. Only the first model.MaxSmartLinkOffers offers are
// tried. Pick does not allocate.
func (c *Chooser) Pick(link *model.SmartLink, takes func(i int) bool) int {
	var candidates [model.MaxSmartLinkOffers]int8
	n, best := 0, -1
	for i := range min(len(link.Offers), model.MaxSmartLinkOffers) {
		p := link.Offers[i].Priority
		if p < best || !takes(i) {
			continue
		}
		if p > best {
			best, n = p, 0
		}
		candidates[n] = int8(i)
		n++
	}
	switch {
	case n == 0:
		return -1
	case n == 1:
		return int(candidates[0])
	}
	rnd := c.Rand
	if rnd == nil {
		rnd = globalRand{}
	}
	if !link.IsEPC() || c.EPC == nil {
		return weighted(link.Offers, candidates[:n], rnd)
	}
	var epc [model.MaxSmartLinkOffers]float64
	top := -1.0
	for k, i := range candidates[:n] {
		epc[k] = c.EPC.EPC(link.Offers[i].OfferID)
		top = max(top, epc[k])
	}
	// The best to the front, the others after, each in the link's order.
	var sorted [model.MaxSmartLinkOffers]int8
	front, back := 0, n
	for k := n - 1; k >= 0; k-- {
		if epc[k] == top {
			continue
		}
		back--
		sorted[back] = candidates[k]
	}
	for k := range n {
		if epc[k] == top {
			sorted[front] = candidates[k]
			front++
		}
	}
	if back < n && link.ExplorePercent > 0 && rnd.Uint64N(100) < uint64(link.ExplorePercent) {
		return weighted(link.Offers, sorted[back:n], rnd)
	}
	return weighted(link.Offers, sorted[:front], rnd)
}

// weighted picks one of candidates (indexes in offers), each in
// proportion to its weight.
func weighted(offers []model.SmartLinkOffer, candidates []int8, rnd Random) int {
	if len(candidates) == 1 {
		return int(candidates[0])
	}
	var total uint64
	for _, i := range candidates {
		total += uint64(max(offers[i].Weight, 1))
	}
	r := rnd.Uint64N(total)
	for _, i := range candidates {
		w := uint64(max(offers[i].Weight, 1))
		if r < w {
			return int(i)
		}
		r -= w
	}
	return int(candidates[len(candidates)-1])
}
