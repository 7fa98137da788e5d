package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"sync"
	"time"

	"github.com/clickrelay/clickrelay/internal/loadgen"
)

// phaseRules measures what a network's business rules cost: with 1,000
// offers carrying caps and 10,000 affiliates' records on them in the
// catalog, clicks and conversions on offers whose every click is judged by
// them (visibility, the affiliate's record, its blocked sub-IDs, caps
// checked and counted) against clicks and conversions on the plain offers,
// in alternation, in the same run.
const phaseRules = "rules"

// The catalog the rules phase loads.
const (
	rulesOffers           = 1000
	rulesRecords          = 10_000
	rulesWriters          = 8 // concurrent admin requests while loading it
	rulesBlockedSubsEach  = 20
	rulesCapLimit         = 1_000_000_000 // never reached: the cost of counting, not of turning away
	rulesCustomPayout     = 3.0
	rulesThroughputRounds = 3
)

// rulesResult is what the rules phase measured.
type rulesResult struct {
	Offers  int    `json:"offers_with_caps"`
	Records int    `json:"affiliate_records"`
	LoadFor string `json:"catalog_loaded_in"`
	// Throughput, in alternation each round: the plain offers, the ruled
	// ones (caps and records), a smart link over three plain offers, and
	// an offer with 20 targeting rules while the network blocks 10,000 IP
	// ranges and 1,000 user agents (none of the visitors').
	Plain          []wrkResult `json:"plain_runs"`
	Ruled          []wrkResult `json:"ruled_runs"`
	Smart          []wrkResult `json:"smart_link_runs"`
	Targeted       []wrkResult `json:"targeted_runs"`
	PlainPerSecond float64     `json:"plain_per_second"`
	RuledPerSecond float64     `json:"ruled_per_second"`
	SmartPerSecond float64     `json:"smart_link_per_second"`
	TargetedPerSec float64     `json:"targeted_per_second"`
	Ratio          float64     `json:"ratio"` // ruled / plain
	SmartRatio     float64     `json:"smart_link_ratio"`
	TargetedRatio  float64     `json:"targeted_ratio"`
	// Noise is the plain runs' own spread, (max - min) / mean: what a
	// difference between the sets must exceed to be one.
	Noise float64 `json:"plain_noise"`
	// Latency at the main run's fixed rate, each.
	Rate            float64 `json:"latency_rate"`
	PlainLatency    summary `json:"plain_click_latency"`
	RuledLatency    summary `json:"ruled_click_latency"`
	SmartLatency    summary `json:"smart_link_click_latency"`
	TargetedLatency summary `json:"targeted_click_latency"`
	// PlainLatencyAgain and PlainConvsAgain are the plain offers' measured
	// once more, after the others: how far two runs of the same differ.
	PlainLatencyAgain summary          `json:"plain_click_latency_again"`
	PlainConvs        conversionResult `json:"plain_conversions"`
	RuledConvs        conversionResult `json:"ruled_conversions"`
	PlainConvsAgain   conversionResult `json:"plain_conversions_again"`
	// Redirected is what the fixed-rate runs saw redirected, for the
	// accounting.
	Redirected int64 `json:"redirected_by_generator"`
}

// loadRules fills the catalog: rulesOffers offers of n's advertiser, each
// with a click, a conversion and a revenue cap, whose first len(n.Offers)
// take n's affiliates' traffic; and rulesRecords affiliates' records over
// them (n's affiliates and more), each with a custom payout, a conversion
// cap and blocked sub-IDs no link carries. It returns the offers n's links
// go to.
func loadRules(ctx context.Context, cr *clickrelay, n network, postbackURL string) ([]string, error) {
	admin := map[string]string{"Authorization": "Bearer " + adminKey}
	offers := make([]string, rulesOffers)
	err := inParallel(ctx, rulesOffers, func(i int) error {
		var o struct {
			Offer struct {
				ID string `json:"id"`
			} `json:"offer"`
		}
		err := cr.api("POST", "/v2/offers", admin, map[string]any{
			"name": fmt.Sprintf("Capped offer %d", i), "advertiser_id": n.AdvertiserID, "payout": 2.5, "revenue": 4.0,
			"payout_type": "cpa", "visibility": "require_approval",
			"tracking_url": "https://shop.example.com/landing?cid={click_id}&aff={aff_id}&s1={sub1}&s2={sub2}&geo={geo}",
			"caps": []map[string]any{
				{"metric": "clicks", "period": "day", "limit": rulesCapLimit},
				{"metric": "conversions", "period": "day", "limit": rulesCapLimit},
				{"metric": "revenue", "period": "month", "limit": rulesCapLimit},
			},
		}, &o)
		offers[i] = o.Offer.ID
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("creating capped offers: %w", err)
	}
	affiliates := append([]string(nil), n.Affiliates...)
	for i := len(affiliates); i < rulesRecords/rulesOffers; i++ {
		id, _, err := loadgen.AffiliateWithPostback(cr.Base, adminKey, fmt.Sprintf("Ruled affiliate %d", i), postbackURL+"/pb?cid={click_id}")
		if err != nil {
			return nil, fmt.Errorf("creating affiliates: %w", err)
		}
		affiliates = append(affiliates, id)
	}
	blocked := make([]string, rulesBlockedSubsEach)
	for i := range blocked {
		blocked[i] = fmt.Sprintf("blocked-site-%d", i)
	}
	err = inParallel(ctx, rulesRecords, func(i int) error {
		offer, affiliate := offers[i%rulesOffers], affiliates[i/rulesOffers]
		return cr.api("PUT", "/v2/offers/"+offer+"/affiliates/"+affiliate, admin, map[string]any{
			"access": "approved", "payout": rulesCustomPayout,
			"caps":         []map[string]any{{"metric": "conversions", "period": "day", "limit": rulesCapLimit}},
			"blocked_subs": map[string]any{"sub1": blocked, "sub3": blocked},
		}, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("creating affiliates' records: %w", err)
	}
	return offers[:len(n.Offers)], nil
}

// inParallel runs do(0..count-1) over rulesWriters goroutines, stopping at
// the first error.
func inParallel(ctx context.Context, count int, do func(i int) error) error {
	next := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range rulesWriters {
		wg.Go(func() {
			for i := range next {
				if err := do(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		})
	}
	for i := 0; i < count && first == nil && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// benchTargeting is 18 targeting rules (10 include or exclude lists, 5 OS
// version ranges, 3 schedule windows) that every visitor of the links
// passes, so each rule is judged on every click; the affiliates' records
// on the offer hold 2 more.
const benchTargeting = `{"countries":{"exclude":["AQ","BV","HM","TF","UM","IO","PN","NU","TK","NF"]},
	"devices":{"include":["desktop","mobile","tablet"]},
	"os":{"include":["android","ios","windows","macos"],"exclude":["linux"]},
	"os_versions":{"include":[{"os":"android","min":"10","max":"15"},{"os":"ios","min":"15"},{"os":"windows","min":"10"},{"os":"macos","min":"10"}],
		"exclude":[{"os":"android","max":"9"}]},
	"browsers":{"include":["chrome","safari","samsung"],"exclude":["ie","opera"]},
	"languages":{"include":["en","pt","de","es"],"exclude":["fr"]},
	"ips":{"include":["0.0.0.0/0"],"exclude":["10.0.0.0/8","240.0.0.0/4"]},
	"schedule":[{"days":["mon","tue","wed","thu","fri"]},{"days":["sat"]},{"days":["sun"]}]}`

// setBlockLists sets the network's traffic controls: 10,000 IP ranges and
// 1,000 user agents none of the links' visitors match, or, on is false,
// none.
func setBlockLists(cr *clickrelay, on bool) error {
	ips, agents := []string{}, []string{}
	if on {
		for i := range 10_000 {
			ips = append(ips, fmt.Sprintf("240.%d.%d.0/24", i/256, i%256))
		}
		for i := range 1000 {
			agents = append(agents, fmt.Sprintf("crawler-%d/", i))
		}
	}
	return cr.api("PUT", "/v2/traffic-controls", map[string]string{"Authorization": "Bearer " + adminKey},
		map[string]any{"ips": ips, "user_agents": agents}, nil)
}

// loadTraffic makes the smart link (over three of n's offers) and the
// targeted offer, each for n's affiliates; it returns the link's slug and
// the offer's ID.
func loadTraffic(cr *clickrelay, n network) (slug, targeted string, err error) {
	admin := map[string]string{"Authorization": "Bearer " + adminKey}
	var link struct {
		SmartLink struct {
			Slug string `json:"slug"`
		} `json:"smart_link"`
	}
	if err := cr.api("POST", "/v2/smart-links", admin, map[string]any{"name": "Bench mix", "fallback_url": "https://shop.example.com/sorry",
		"offers": []map[string]any{{"offer_id": n.Offers[0], "weight": 50}, {"offer_id": n.Offers[1], "weight": 30}, {"offer_id": n.Offers[2], "weight": 20}},
	}, &link); err != nil {
		return "", "", fmt.Errorf("creating the smart link: %w", err)
	}
	var o struct {
		Offer struct {
			ID string `json:"id"`
		} `json:"offer"`
	}
	if err := cr.api("POST", "/v2/offers", admin, map[string]any{
		// A visitor the rules turn away after all (an address in a country
		// they exclude) costs as much, and goes to the fallback.
		"name": "Targeted offer", "advertiser_id": n.AdvertiserID, "payout": 2.5, "payout_type": "cpa", "fallback_url": "https://shop.example.com/other",
		"tracking_url": "https://shop.example.com/landing?cid={click_id}&aff={aff_id}&s1={sub1}&s2={sub2}&geo={geo}",
		"targeting":    json.RawMessage(benchTargeting),
	}, &o); err != nil {
		return "", "", fmt.Errorf("creating the targeted offer: %w", err)
	}
	for _, a := range n.Affiliates {
		if err := cr.api("PUT", "/v2/offers/"+o.Offer.ID+"/affiliates/"+a, admin, map[string]any{
			"targeting": json.RawMessage(`{"countries":{"exclude":["KP"]},"os":{"exclude":["chromeos"]}}`),
		}, nil); err != nil {
			return "", "", fmt.Errorf("the targeted offer's records: %w", err)
		}
	}
	return link.SmartLink.Slug, o.Offer.ID, nil
}

// runRules loads the catalog, then measures four sets of links in
// alternation: the plain offers' (plainScript, n.Offers), the ruled
// offers', the smart link's and the targeted offer's (under the block
// lists): wrk throughput and latency at rate; and conversions at
// o.conversionRate on the plain and the ruled offers.
func runRules(ctx context.Context, cr *clickrelay, st *stores, n network, rcv *receiver, plainScript string, rate float64, o options) (rulesResult, error) {
	res := rulesResult{Offers: rulesOffers, Records: rulesRecords, Rate: rate}
	start := time.Now()
	ruled, err := loadRules(ctx, cr, n, rcv.url())
	if err != nil {
		return res, err
	}
	slug, targeted, err := loadTraffic(cr, n)
	if err != nil {
		return res, err
	}
	res.LoadFor = time.Since(start).Round(time.Millisecond).String()
	// The earlier phases' inserts merged first: the rounds compare the
	// sets, not ClickHouse's backlog.
	if _, err := settle(ctx, cr, st); err != nil {
		return res, err
	}
	type set struct {
		script   string
		link     loadgen.Link
		blocking bool
		runs     *[]wrkResult
		latency  *summary
	}
	sets := []*set{
		{script: plainScript, link: loadgen.RealisticLink(n.Offers, n.Affiliates), runs: &res.Plain, latency: &res.PlainLatency},
		{script: filepath.Join(o.dataDir, "ruled-links.lua"), link: loadgen.RealisticLink(ruled, n.Affiliates), runs: &res.Ruled, latency: &res.RuledLatency},
		{script: filepath.Join(o.dataDir, "smart-links.lua"), link: loadgen.RealisticLinkAt("/s/", []string{slug}, n.Affiliates), runs: &res.Smart, latency: &res.SmartLatency},
		{script: filepath.Join(o.dataDir, "targeted-links.lua"), link: loadgen.RealisticLink([]string{targeted}, n.Affiliates), blocking: true,
			runs: &res.Targeted, latency: &res.TargetedLatency},
	}
	for _, w := range []struct {
		script, prefix string
		targets        []string
	}{{sets[1].script, "/click/", ruled}, {sets[2].script, "/s/", []string{slug}}, {sets[3].script, "/click/", []string{targeted}}} {
		if err := writeLinksLuaAt(w.script, w.prefix, w.targets, n.Affiliates); err != nil {
			return res, err
		}
	}
	blocking := false
	block := func(on bool) error {
		if on == blocking {
			return nil
		}
		blocking = on
		return setBlockLists(cr, on)
	}
	for _, ls := range sets { // warm each
		if err := block(ls.blocking); err != nil {
			return res, err
		}
		if _, err := runWrk(ctx, cr.Base, ls.script, o.threads, o.connections, 2*time.Second); err != nil {
			return res, err
		}
	}
	for range rulesThroughputRounds {
		for _, ls := range sets {
			if err := block(ls.blocking); err != nil {
				return res, err
			}
			w, err := runWrk(ctx, cr.Base, ls.script, o.threads, o.connections, o.duration)
			if err != nil {
				return res, err
			}
			if w.NotRedir > 0 {
				return res, fmt.Errorf("%s: %d answers were not redirects", ls.script, w.NotRedir)
			}
			*ls.runs = append(*ls.runs, w)
		}
	}
	res.PlainPerSecond, res.RuledPerSecond = meanRate(res.Plain), meanRate(res.Ruled)
	res.SmartPerSecond, res.TargetedPerSec = meanRate(res.Smart), meanRate(res.Targeted)
	plain := max(res.PlainPerSecond, 1)
	res.Ratio, res.SmartRatio, res.TargetedRatio = res.RuledPerSecond/plain, res.SmartPerSecond/plain, res.TargetedPerSec/plain
	res.Noise = spreadRatio(res.Plain)

	addr, _ := url.Parse(cr.Base)
	keep := int(o.conversionRate * o.conversionDuration.Seconds())
	// The plain set once more at the end, for the noise of latencies.
	sets = append(sets, &set{script: plainScript, link: sets[0].link, latency: &res.PlainLatencyAgain})
	var clickIDs [5][]string // each set's, in order
	for i, ls := range sets {
		if err := block(ls.blocking); err != nil {
			return res, err
		}
		lat := newFixedRate(addr.Host, rate, 64).run(ctx, o.latencyDuration, ls.link, keep)
		*ls.latency = lat.Latency.summary()
		res.Redirected += lat.Redirected
		if lat.Redirected != lat.Sent {
			return res, fmt.Errorf("%s: %d of %d clicks redirected", ls.script, lat.Redirected, lat.Sent)
		}
		clickIDs[i] = lat.ClickIDs
	}
	if err := block(false); err != nil {
		return res, err
	}
	res.PlainConvs = driveConversions(ctx, addr.Host, n.AdvertiserKey, clickIDs[0], o.conversionRate, rcv, nil)
	res.RuledConvs = driveConversions(ctx, addr.Host, n.AdvertiserKey, clickIDs[1], o.conversionRate, rcv, nil)
	res.PlainConvsAgain = driveConversions(ctx, addr.Host, n.AdvertiserKey, clickIDs[4], o.conversionRate, rcv, nil)
	return res, ctx.Err()
}

// withinNoise reports whether x, a figure where less is better (a
// latency), is no worse than two measures of the peer, a and b, by more
// than they differ from each other.
func withinNoise(x, a, b float64) bool {
	return x <= max(a, b)+math.Abs(a-b)
}

// spreadRatio is (max - min) / mean of the runs' rates.
func spreadRatio(runs []wrkResult) float64 {
	if len(runs) < 2 {
		return 0
	}
	lo, hi := runs[0].PerSecond, runs[0].PerSecond
	for _, w := range runs[1:] {
		lo, hi = min(lo, w.PerSecond), max(hi, w.PerSecond)
	}
	return (hi - lo) / max(meanRate(runs), 1)
}
