package smartlink

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/clickrelay/clickrelay/model"
)

// fakeEPCs are fixed EPCs by offer.
type fakeEPCs map[string]float64

func (f fakeEPCs) EPC(offerID string) float64 { return f[offerID] }

// noRandom fails a test that draws: a choice with one candidate needs none.
type noRandom struct{ t *testing.T }

func (r noRandom) Uint64N(uint64) uint64 {
	r.t.Fatal("drew a random number for a choice of one")
	return 0
}

func link(mode string, explore int, offers ...model.SmartLinkOffer) *model.SmartLink {
	return &model.SmartLink{ID: "1", Mode: mode, ExplorePercent: explore, Offers: offers}
}

func offer(id string, weight, priority int) model.SmartLinkOffer {
	return model.SmartLinkOffer{OfferID: id, Weight: weight, Priority: priority}
}

// share draws n choices and returns each offer's share of them, in percent.
func share(c *Chooser, l *model.SmartLink, takes func(int) bool, n int) map[string]float64 {
	counts := map[string]int{}
	for range n {
		i := c.Pick(l, takes)
		id := "none"
		if i >= 0 {
			id = l.Offers[i].OfferID
		}
		counts[id]++
	}
	out := map[string]float64{}
	for id, k := range counts {
		out[id] = 100 * float64(k) / float64(n)
	}
	return out
}

func TestChooserSplitsTraffic(t *testing.T) {
	all := func(int) bool { return true }
	only := func(ids ...string) func(*model.SmartLink) func(int) bool {
		return func(l *model.SmartLink) func(int) bool {
			return func(i int) bool { return slices.Contains(ids, l.Offers[i].OfferID) }
		}
	}
	cases := []struct {
		name  string
		link  *model.SmartLink
		epc   EPCs
		takes func(*model.SmartLink) func(int) bool // nil: every offer takes the visitor
		want  map[string]float64                    // percent of the visitors
	}{
		{"by weight", link("weight", 0, offer("a", 50, 0), offer("b", 30, 0), offer("c", 20, 0)), nil, nil,
			map[string]float64{"a": 50, "b": 30, "c": 20}},
		{"weight mode ignores EPCs", link("weight", 10, offer("a", 1, 0), offer("b", 1, 0)), fakeEPCs{"a": 9}, nil,
			map[string]float64{"a": 50, "b": 50}},
		{"the highest priority first, whatever the weights", link("weight", 0, offer("low", 1000, 0), offer("high", 1, 5), offer("high2", 3, 5)), nil, nil,
			map[string]float64{"high": 25, "high2": 75}},
		{"an offer that cannot take the visitor is skipped", link("weight", 0, offer("a", 50, 0), offer("b", 30, 0), offer("c", 20, 0)), nil,
			only("a", "c"), map[string]float64{"a": 71.43, "c": 28.57}},
		{"the next priority when the first cannot take the visitor", link("weight", 0, offer("top", 1, 9), offer("next", 1, 3), offer("last", 1, 0)), nil,
			only("next", "last"), map[string]float64{"next": 100}},
		{"no offer left", link("weight", 0, offer("a", 1, 0), offer("b", 1, 1)), nil, only(), map[string]float64{"none": 100}},
		{"EPC: the best, exploring the others by weight", link("epc", 10, offer("a", 1, 0), offer("b", 3, 0), offer("best", 1, 0)),
			fakeEPCs{"a": 0.1, "b": 0.2, "best": 0.9}, nil, map[string]float64{"best": 90, "a": 2.5, "b": 7.5}},
		{"EPC: no exploring", link("epc", 0, offer("a", 1, 0), offer("best", 1, 0)), fakeEPCs{"a": 0.1, "best": 0.2}, nil,
			map[string]float64{"best": 100}},
		{"EPC: all exploring", link("epc", 100, offer("a", 1, 0), offer("b", 1, 0), offer("best", 1, 0)), fakeEPCs{"a": 0.1, "best": 0.2}, nil,
			map[string]float64{"a": 50, "b": 50}},
		{"EPC: ties share by weight", link("epc", 10, offer("a", 1, 0), offer("b", 3, 0), offer("c", 1, 0)), fakeEPCs{"a": 0.5, "b": 0.5, "c": 0.1}, nil,
			map[string]float64{"a": 22.5, "b": 67.5, "c": 10}},
		{"EPC: none measured yet, by weight", link("epc", 10, offer("a", 1, 0), offer("b", 3, 0)), fakeEPCs{}, nil,
			map[string]float64{"a": 25, "b": 75}},
		{"EPC: without a source, by weight", link("epc", 10, offer("a", 1, 0), offer("b", 3, 0)), nil, nil,
			map[string]float64{"a": 25, "b": 75}},
		{"EPC within the highest priority only", link("epc", 10, offer("rich", 1, 0), offer("a", 1, 2), offer("b", 1, 2)), fakeEPCs{"rich": 5, "a": 0.3, "b": 0.1}, nil,
			map[string]float64{"a": 90, "b": 10}},
		{"EPC: the best cannot take the visitor", link("epc", 10, offer("a", 1, 0), offer("b", 1, 0), offer("best", 1, 0)),
			fakeEPCs{"a": 0.2, "b": 0.1, "best": 3}, only("a", "b"), map[string]float64{"a": 90, "b": 10}},
	}
	const n = 200_000
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			chooser := &Chooser{EPC: c.epc, Rand: rand.New(rand.NewPCG(1, 2))}
			if c.epc == nil {
				chooser.EPC = nil // not a typed nil
			}
			takes := all
			if c.takes != nil {
				takes = c.takes(c.link)
			}
			got := share(chooser, c.link, takes, n)
			for id, want := range c.want {
				if math.Abs(got[id]-want) > 0.5 {
					t.Errorf("%s got %.2f%% of the visitors, want %.2f%% (all: %v)", id, got[id], want, got)
				}
			}
			for id := range got {
				if _, ok := c.want[id]; !ok {
					t.Errorf("%s got %.2f%% of the visitors, want none", id, got[id])
				}
			}
		})
	}
}

// The judge is asked only of offers that can still win: none of a lower
// priority than one that took the visitor.
func TestChooserAsksOnlyOffersThatCanWin(t *testing.T) {
	l := link("weight", 0, offer("p5", 1, 5), offer("p0", 1, 0), offer("p9", 1, 9), offer("p1", 1, 1), offer("p9b", 1, 9))
	var asked []string
	c := &Chooser{Rand: rand.New(rand.NewPCG(3, 4))}
	i := c.Pick(l, func(i int) bool {
		asked = append(asked, l.Offers[i].OfferID)
		return l.Offers[i].OfferID != "p9b"
	})
	if want := []string{"p5", "p9", "p9b"}; !slices.Equal(asked, want) {
		t.Errorf("asked %v, want %v (p0 comes after p5, p1 after p9 took the visitor)", asked, want)
	}
	if l.Offers[i].OfferID != "p9" {
		t.Errorf("chose %s, want p9", l.Offers[i].OfferID)
	}
}

// A choice of one draws no random number; an EPC-mode one neither.
func TestChooserOfOneDrawsNothing(t *testing.T) {
	for _, mode := range []string{"weight", "epc"} {
		l := link(mode, 50, offer("a", 1, 0), offer("b", 1, 0))
		c := &Chooser{EPC: fakeEPCs{"a": 1}, Rand: noRandom{t}}
		if i := c.Pick(l, func(i int) bool { return i == 1 }); i != 1 {
			t.Errorf("%s: chose %d, want 1", mode, i)
		}
	}
}

func TestChooserDoesNotAllocate(t *testing.T) {
	l := link("epc", 10, offer("a", 1, 0), offer("b", 3, 0), offer("c", 2, 1), offer("d", 2, 1))
	c := &Chooser{EPC: fakeEPCs{"c": 0.5, "d": 0.2}}
	v := 0
	if allocs := testing.AllocsPerRun(1000, func() {
		v += c.Pick(l, func(i int) bool { return i != 3 || v%2 == 0 })
	}); allocs != 0 {
		t.Errorf("Pick allocates %.1f times per choice", allocs)
	}
}
