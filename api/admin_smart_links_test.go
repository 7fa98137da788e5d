package api

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// createTestOffer creates an offer and returns its ID and slug.
func createTestOffer(t *testing.T, s *Server, body string) (string, string) {
	t.Helper()
	r := do(s, "POST", "/v2/offers", map[string]string{"X-Api-Key": testAdminKey}, body)
	if r.StatusCode() != 201 {
		t.Fatalf("create offer: %d %s", r.StatusCode(), r.Body())
	}
	o := testkit.JSON(t, r.Body()).Get("offer")
	return o.Get("id").String(), o.Get("slug").String()
}

func TestSmartLinksAdmin(t *testing.T) {
	s, rd, _ := newTestServer(t, nil)
	admin := map[string]string{"X-Api-Key": testAdminKey}
	a, _ := createTestOffer(t, s, `{"name":"A","tracking_url":"https://a.example/?c={click_id}"}`)
	b, bSlug := createTestOffer(t, s, `{"name":"B","tracking_url":"https://b.example/?c={click_id}","status":"paused"}`)

	r := do(s, "POST", "/v2/smart-links", admin, fmt.Sprintf(`{"name":"Summer mix","offers":[{"offer_id":%q,"weight":3},{"offer_id":%q,"priority":2}],
		"fallback_url":"https://fb.example/?s={sub1}"}`, a, bSlug))
	if r.StatusCode() != 201 {
		t.Fatalf("create: %d %s", r.StatusCode(), r.Body())
	}
	link := testkit.JSON(t, r.Body()).Get("smart_link")
	id, slug := link.Get("id").String(), link.Get("slug").String()
	if !strings.HasPrefix(slug, "sl_summer-mix_") || link.Get("mode").String() != "weight" || link.Get("explore_percent").Int() != 10 ||
		link.Get("status").String() != "active" || !strings.HasSuffix(link.Get("url").String(), "/s/"+slug) {
		t.Errorf("created %v", link)
	}
	if o := link.Get("offers", 1); o.Get("offer_id").String() != b || o.Get("weight").Int() != 1 || o.Get("priority").Int() != 2 ||
		o.Get("offer_name").String() != "B" || o.Get("offer_status").String() != "paused" {
		t.Errorf("the second offer, named by its slug: %v; want offer %s, weight 1, priority 2, its name and status", o, b)
	}
	if l := rd.Catalog().SmartLink(slug); l == nil || l.ID != id || l.Offers[0].Weight != 3 {
		t.Errorf("catalog: %+v", l)
	}

	for _, c := range []struct{ body, code, says string }{
		{`{"offers":[{"offer_id":"` + a + `"}]}`, "missing_name", "name"},
		{`{"name":"x"}`, "missing_offers", "offers"},
		{`{"name":"x","offers":[{"offer_id":"999"}]}`, "invalid_offers", `offers[0].offer_id \"999\" does not name`},
		{`{"name":"x","offers":[{"offer_id":"` + b + `"},{"offer_id":"` + bSlug + `"}]}`, "invalid_offers", "offers[1].offer_id"},
		{`{"name":"x","offers":[{"offer_id":"` + a + `","weight":0}]}`, "invalid_offers", "offers[0].weight"},
		{`{"name":"x","offers":[{"offer_id":"` + a + `","priority":101}]}`, "invalid_offers", "offers[0].priority"},
		{`{"name":"x","offers":[{"offer_id":"` + a + `"}],"mode":"random"}`, "invalid_mode", "mode"},
		{`{"name":"x","offers":[{"offer_id":"` + a + `"}],"explore_percent":-1}`, "invalid_explore_percent", "explore_percent"},
		{`{"name":"x","offers":[{"offer_id":"` + a + `"}],"fallback_url":"javascript:alert(1)"}`, "invalid_fallback_url", "fallback_url"},
		{`{"name":"` + strings.Repeat("n", 256) + `","offers":[{"offer_id":"` + a + `"}]}`, "name_too_long", "255"},
		{`[1]`, "invalid_json", ""},
	} {
		r := do(s, "POST", "/v2/smart-links", admin, c.body)
		if r.StatusCode() != 400 || errorCode(t, r.Body()) != c.code || !strings.Contains(string(r.Body()), c.says) {
			t.Errorf("%.70s: %d %s, want 400 %s naming %s", c.body, r.StatusCode(), r.Body(), c.code, c.says)
		}
	}

	// Read back, by ID and slug; listed and searched.
	for _, key := range []string{id, slug} {
		if r := do(s, "GET", "/v2/smart-links/"+key, admin, ""); r.StatusCode() != 200 || testkit.JSON(t, r.Body()).Get("smart_link", "id").String() != id {
			t.Errorf("GET %s: %d %s", key, r.StatusCode(), r.Body())
		}
	}
	if r := do(s, "GET", "/v2/smart-links/404", admin, ""); r.StatusCode() != 404 {
		t.Errorf("unknown: %d", r.StatusCode())
	}
	do(s, "POST", "/v2/smart-links", admin, `{"name":"Winter","offers":[{"offer_id":"`+a+`"}]}`)
	for q, want := range map[string]int{"": 2, "summer": 1, "WINTER": 1, "nothing": 0} {
		r := do(s, "GET", "/v2/smart-links?per_page=1&q="+q, admin, "")
		list := testkit.JSON(t, r.Body())
		if list.Get("meta", "total").Int() != want || list.Get("smart_links").Len() != min(want, 1) {
			t.Errorf("q=%q: %s, want %d", q, r.Body(), want)
		}
	}

	// PATCH: what it names, nothing else; a bad field changes nothing.
	r = do(s, "PATCH", "/v2/smart-links/"+slug, admin, `{"mode":"epc","explore_percent":25}`)
	if got := testkit.JSON(t, r.Body()).Get("smart_link"); r.StatusCode() != 200 || got.Get("mode").String() != "epc" ||
		got.Get("explore_percent").Int() != 25 || got.Get("offers").Len() != 2 || got.Get("fallback_url").String() != "https://fb.example/?s={sub1}" {
		t.Errorf("PATCH: %d %s", r.StatusCode(), r.Body())
	}
	if r := do(s, "PATCH", "/v2/smart-links/"+id, admin, `{"offers":[{"offer_id":"nope"}]}`); r.StatusCode() != 400 || errorCode(t, r.Body()) != "invalid_offers" {
		t.Errorf("PATCH to an unknown offer: %d %s", r.StatusCode(), r.Body())
	}
	if l := rd.Catalog().SmartLink(id); len(l.Offers) != 2 || l.Mode != "epc" {
		t.Errorf("a refused PATCH changed the link: %+v", l)
	}
	if r := do(s, "PATCH", "/v2/smart-links/404", admin, `{}`); r.StatusCode() != 404 {
		t.Errorf("PATCH unknown: %d", r.StatusCode())
	}
}

// Two admins changing different fields at once: neither undoes the other.
func TestConcurrentSmartLinkPatchesKeepEveryChange(t *testing.T) {
	s1, rd, _ := newTestServer(t, nil)
	s2, _, _ := newTestServerOn(t, rd, nil, DefaultConfiguration()) // a second process
	admin := map[string]string{"X-Api-Key": testAdminKey}
	a, _ := createTestOffer(t, s1, `{"name":"A","tracking_url":"https://a.example/"}`)
	r := do(s1, "POST", "/v2/smart-links", admin, `{"name":"Mix","offers":[{"offer_id":"`+a+`"}]}`)
	id := testkit.JSON(t, r.Body()).Get("smart_link", "id").String()
	for round := range 10 {
		var wg sync.WaitGroup
		var answers [2]string
		wg.Go(func() {
			r := do(s1, "PATCH", "/v2/smart-links/"+id, admin, fmt.Sprintf(`{"fallback_url":"https://fb.example/%d"}`, round))
			answers[0] = fmt.Sprintf("%d %s", r.StatusCode(), r.Body())
		})
		wg.Go(func() {
			r := do(s2, "PATCH", "/v2/smart-links/"+id, admin, fmt.Sprintf(`{"explore_percent":%d}`, round))
			answers[1] = fmt.Sprintf("%d %s", r.StatusCode(), r.Body())
		})
		wg.Wait()
		for _, a := range answers {
			if !strings.HasPrefix(a, "200 ") {
				t.Fatalf("round %d: a PATCH answered %s", round, a)
			}
		}
		got := testkit.JSON(t, do(s1, "GET", "/v2/smart-links/"+id, admin, "").Body()).Get("smart_link")
		if got.Get("fallback_url").String() != fmt.Sprintf("https://fb.example/%d", round) || got.Get("explore_percent").Int() != round {
			t.Fatalf("round %d: %v, want both changes (the PATCHes answered %q)", round, got, answers)
		}
	}
}

func TestStatsBySmartLink(t *testing.T) {
	s, _, wh := newTestServer(t, nil)
	admin := map[string]string{"X-Api-Key": testAdminKey}
	a, _ := createTestOffer(t, s, `{"name":"A","tracking_url":"https://a.example/"}`)
	link := testkit.JSON(t, do(s, "POST", "/v2/smart-links", admin, `{"name":"Mix","offers":[{"offer_id":"`+a+`"}]}`).Body()).Get("smart_link")
	day := "date_from=2026-12-01&date_to=2026-12-01"
	if r := do(s, "GET", "/v2/stats?"+day+"&group_by=smart_link,offer&smart_link_id="+link.Get("slug").String(), admin, ""); r.StatusCode() != 200 {
		t.Fatalf("by smart link: %d %s", r.StatusCode(), r.Body())
	}
	if q := wh.stats[len(wh.stats)-1]; q.SmartLinkID != link.Get("id").String() || strings.Join(q.GroupBy, ",") != "smart_link,offer" {
		t.Errorf("query %+v: want the link's ID and both dimensions", q)
	}
	for _, query := range []string{"group_by=smart_link,geo", "smart_link_id=1&group_by=sub2"} {
		r := do(s, "GET", "/v2/stats?"+day+"&"+query, admin, "")
		if r.StatusCode() != 400 || errorCode(t, r.Body()) != "invalid_group_by" || !strings.Contains(string(r.Body()), "smart_link") {
			t.Errorf("%s: %d %s, want 400 invalid_group_by", query, r.StatusCode(), r.Body())
		}
	}
	wh.statsErr = clickhouse.ErrSmartLinkZone
	r := do(s, "GET", "/v2/stats?"+day+"&group_by=smart_link&timezone=Asia/Kolkata", admin, "")
	if r.StatusCode() != 400 || errorCode(t, r.Body()) != "invalid_timezone" || !strings.Contains(string(r.Body()), "+05:30") {
		t.Errorf("a half-hour zone: %d %s, want 400 invalid_timezone naming its offset", r.StatusCode(), r.Body())
	}
}

func TestAffiliateListsItsSmartLinks(t *testing.T) {
	config := DefaultConfiguration()
	config.PublicURL = "https://trk.example.com"
	s, _, _ := newTestServerOn(t, redis.NewForTest(t), nil, config)
	admin := map[string]string{"X-Api-Key": testAdminKey}
	public, _ := createTestOffer(t, s, `{"name":"Open","tracking_url":"https://a.example/"}`)
	private, _ := createTestOffer(t, s, `{"name":"Closed","tracking_url":"https://b.example/","visibility":"private"}`)
	aff := testkit.JSON(t, do(s, "POST", "/v2/affiliates", admin, `{"name":"Jane"}`).Body()).Get("affiliate")
	key := map[string]string{"Authorization": "Bearer " + aff.Get("api_key").String()}
	create := func(body string) string {
		return testkit.JSON(t, do(s, "POST", "/v2/smart-links", admin, body).Body()).Get("smart_link", "slug").String()
	}
	open := create(`{"name":"Open mix","offers":[{"offer_id":"` + private + `"},{"offer_id":"` + public + `"}]}`)
	create(`{"name":"Closed mix","offers":[{"offer_id":"` + private + `"}]}`)
	create(`{"name":"Paused mix","status":"paused","offers":[{"offer_id":"` + public + `"}]}`)
	second := create(`{"name":"Second","offers":[{"offer_id":"` + public + `"}]}`)

	r := do(s, "GET", "/v1/smart-links?per_page=1", key, "")
	list := testkit.JSON(t, r.Body())
	if r.StatusCode() != 200 || list.Get("meta", "total").Int() != 2 || list.Get("data").Len() != 1 ||
		list.Get("data", 0, "tracking_link").String() != "https://trk.example.com/s/"+open+"?aff_id="+aff.Get("id").String() {
		t.Fatalf("page 1: %d %s; want the two active links it may run, the first with its own link", r.StatusCode(), r.Body())
	}
	if got := testkit.JSON(t, do(s, "GET", "/v1/smart-links?per_page=1&page=2", key, "").Body()).Get("data", 0, "slug").String(); got != second {
		t.Errorf("page 2: %s, want %s", got, second)
	}
	if r := do(s, "GET", "/v1/smart-links?per_page=101", key, ""); r.StatusCode() != 400 {
		t.Errorf("per_page 101: %d", r.StatusCode())
	}
	narrow := testkit.JSON(t, do(s, "POST", "/v2/affiliates", admin, `{"name":"Narrow","scopes":["read:stats"]}`).Body()).Get("affiliate")
	if r := do(s, "GET", "/v1/smart-links", map[string]string{"Authorization": "Bearer " + narrow.Get("api_key").String()}, ""); r.StatusCode() != 403 {
		t.Errorf("without read:offers: %d", r.StatusCode())
	}
}
