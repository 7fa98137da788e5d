package api

import (
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
)

func queryArgs(q string) *fasthttp.Args {
	var a fasthttp.Args
	a.Parse(q)
	return &a
}

func TestParseOfferFilter(t *testing.T) {
	cases := []struct {
		query     string
		want      offerFilter
		wantParam string // the parameter a 400 names; empty: accepted
	}{
		{"", offerFilter{Status: "active", Page: 1, PerPage: 25}, ""},
		{"geo=de&payout_type=CPL&status=all&page=3&per_page=100", offerFilter{Geo: "DE", PayoutType: "cpl", Status: "all", Page: 3, PerPage: 100}, ""},
		{"status=paused&payout_type=revshare", offerFilter{Status: "paused", PayoutType: "revshare", Page: 1, PerPage: 25}, ""},
		{"geo=USA", offerFilter{}, "geo"},
		{"geo=1A", offerFilter{}, "geo"},
		{"payout_type=cpm", offerFilter{}, "payout_type"},
		{"status=archived", offerFilter{}, "status"},
		{"page=0", offerFilter{}, "page"},
		{"page=abc", offerFilter{}, "page"},
		{"page=100001", offerFilter{}, "page"},
		{"per_page=101", offerFilter{}, "per_page"},
		{"per_page=-5", offerFilter{}, "per_page"},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			got, perr := parseOfferFilter(queryArgs(c.query))
			switch {
			case c.wantParam == "" && perr != nil:
				t.Fatalf("rejected: %v", perr)
			case c.wantParam != "" && (perr == nil || perr.Param != c.wantParam || !strings.Contains(perr.Message, c.wantParam)):
				t.Fatalf("got %+v, want an error naming %s", perr, c.wantParam)
			case c.wantParam == "" && got != c.want:
				t.Fatalf("parsed differently (-want +got):\n%s", testkit.Diff(c.want, got))
			}
		})
	}
}

func TestOfferFilterMatches(t *testing.T) {
	us := &model.Offer{Status: "active", PayoutType: "cpa", Countries: []string{"US"}}
	world := &model.Offer{Status: "paused", PayoutType: "cpl"}
	cases := []struct {
		filter    offerFilter
		us, world bool
	}{
		{offerFilter{Status: "active"}, true, false},
		{offerFilter{Status: "all"}, true, true},
		{offerFilter{Status: "all", Geo: "DE"}, false, true}, // no countries: every country
		{offerFilter{Status: "all", Geo: "US"}, true, true},
		{offerFilter{Status: "all", PayoutType: "cpl"}, false, true},
	}
	for _, c := range cases {
		if got := c.filter.matches(us); got != c.us {
			t.Errorf("%+v on the US offer: %v", c.filter, got)
		}
		if got := c.filter.matches(world); got != c.world {
			t.Errorf("%+v on the untargeted offer: %v", c.filter, got)
		}
	}
}

func TestParseConversionFilter(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
	cases := []struct {
		query     string
		statuses  []string
		wantParam string
	}{
		{"date_from=2026-01-01&date_to=2026-01-31", nil, ""},
		{"date_from=2026-01-01&date_to=2026-01-01&status=rejected", []string{"rejected", "reversed"}, ""},
		{"date_from=2026-01-01&date_to=2026-01-01&status=APPROVED", []string{"approved"}, ""},
		{"date_from=2026-01-01&date_to=2026-01-01&status=all", nil, ""},
		{"date_to=2026-01-01", nil, "date_from"},
		{"date_from=2026-01-01", nil, "date_to"},
		{"date_from=01/01/2026&date_to=2026-01-01", nil, "date_from"},
		{"date_from=2026-02-01&date_to=2026-01-01", nil, "date_to"},
		{"date_from=2020-01-01&date_to=2026-01-01", nil, "date_to"}, // over the range limit
		{"date_from=2026-01-01&date_to=2026-01-01&status=reversed", nil, "status"},
		{"date_from=2026-01-01&date_to=2026-01-01&offer_id=" + strings.Repeat("x", 256), nil, "offer_id"},
		{"date_from=2026-01-01&date_to=2026-01-01&per_page=500", nil, "per_page"},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			got, perr := parseConversionFilter(queryArgs(c.query), 366*24*time.Hour)
			if c.wantParam != "" {
				if perr == nil || perr.Param != c.wantParam {
					t.Fatalf("got %+v, want an error naming %s", perr, c.wantParam)
				}
				return
			}
			if perr != nil {
				t.Fatalf("rejected: %v", perr)
			}
			if strings.Join(got.Statuses, ",") != strings.Join(c.statuses, ",") {
				t.Fatalf("statuses %v, want %v", got.Statuses, c.statuses)
			}
			if !got.From.Equal(day(string(queryArgs(c.query).Peek("date_from")))) || !got.To.After(got.From) {
				t.Fatalf("range [%v, %v)", got.From, got.To)
			}
		})
	}
	// date_to is inclusive: one day is a 24-hour range.
	f, _ := parseConversionFilter(queryArgs("date_from=2026-01-01&date_to=2026-01-01"), 0)
	if f.To.Sub(f.From) != 24*time.Hour {
		t.Fatalf("one day spans %v", f.To.Sub(f.From))
	}
}

func TestParseFeedRequest(t *testing.T) {
	cases := []struct {
		query     string
		want      feedRequest
		wantParam string
	}{
		{"os=ios", feedRequest{OS: "ios", Page: 1, PageSize: 100}, ""},
		{"os=Android&gaid=g-1&andid=a1&country=us&page=2&page_size=10000&thirdparty_id=t9",
			feedRequest{OS: "android", GAID: "g-1", AndID: "a1", Country: "US", Page: 2, PageSize: 10000, ThirdPartyID: "t9"}, ""},
		{"", feedRequest{}, "os"},
		{"os=windows", feedRequest{}, "os"},
		{"os=android&andid=a1", feedRequest{}, "gaid"},
		{"os=android&gaid=g", feedRequest{}, "andid"},
		{"os=ios&gaid=" + strings.Repeat("g", 129), feedRequest{}, "gaid"},
		{"os=ios&country=GBR", feedRequest{}, "country"},
		{"os=ios&page_size=10001", feedRequest{}, "page_size"},
		{"os=ios&page=0", feedRequest{}, "page"},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			got, perr := parseFeedRequest(queryArgs(c.query))
			switch {
			case c.wantParam == "" && perr != nil:
				t.Fatalf("rejected: %v", perr)
			case c.wantParam != "" && (perr == nil || perr.Param != c.wantParam):
				t.Fatalf("got %+v, want an error naming %s", perr, c.wantParam)
			case c.wantParam == "" && got != c.want:
				t.Fatalf("parsed differently (-want +got):\n%s", testkit.Diff(c.want, got))
			}
			if perr != nil {
				if _, ok := feedParamCodes[perr.Param]; !ok {
					t.Fatalf("parameter %s has no c code", perr.Param)
				}
			}
		})
	}
}

// FuzzAffiliateParams feeds arbitrary query strings to every parser of the
// affiliate reads and the publisher feed: none may panic, and whatever is
// accepted stays within the documented limits.
func FuzzAffiliateParams(f *testing.F) {
	for _, seed := range []string{
		"", "geo=US&payout_type=cpa&status=all&page=2&per_page=100",
		"date_from=2026-01-01&date_to=2026-01-31&status=rejected&offer_id=7",
		"os=android&gaid=38400000-8cf0-11bd-b23e-10b96e40000d&andid=9774d56d682e549c&country=de&page_size=10000",
		"page=99999999999999999999&per_page=0x10", "geo=%00%ff&status=%E2%80%8B", "os=ios&page=-1",
		"date_from=2026-02-30&date_to=2026-13-01",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		args := queryArgs(query)
		if o, perr := parseOfferFilter(args); perr == nil {
			if o.Page < 1 || o.Page > maxPage || o.PerPage < 1 || o.PerPage > affiliateMaxPerPage ||
				(o.Geo != "" && len(o.Geo) != 2) || (o.PayoutType != "" && !model.ValidPayoutType(o.PayoutType)) {
				t.Fatalf("accepted out of range: %+v", o)
			}
		} else if perr.Message == "" || perr.Param == "" {
			t.Fatalf("error without a message or parameter: %+v", perr)
		}
		if c, perr := parseConversionFilter(args, 366*24*time.Hour); perr == nil {
			if !c.To.After(c.From) || c.To.Sub(c.From) > 366*24*time.Hour || c.PerPage > affiliateMaxPerPage || len(c.OfferID) > maxIDParamLen {
				t.Fatalf("accepted out of range: %+v", c)
			}
		}
		if r, perr := parseFeedRequest(args); perr == nil {
			if (r.OS != "android" && r.OS != "ios") || r.PageSize < 1 || r.PageSize > feedMaxPageSize ||
				(r.OS == "android" && (r.GAID == "" || r.AndID == "")) || len(r.GAID) > maxDeviceIDLen {
				t.Fatalf("accepted out of range: %+v", r)
			}
		} else if _, ok := feedParamCodes[perr.Param]; !ok {
			t.Fatalf("parameter %q has no c code", perr.Param)
		}
	})
}
