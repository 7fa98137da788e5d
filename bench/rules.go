package main

import (
	"context"
	"fmt"
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
	rulesThroughputRounds = 2
)

// rulesResult is what the rules phase measured.
type rulesResult struct {
	Offers  int    `json:"offers_with_caps"`
	Records int    `json:"affiliate_records"`
	LoadFor string `json:"catalog_loaded_in"`
	// Throughput, in alternation: the plain offers, then the ruled ones.
	Plain          []wrkResult `json:"plain_runs"`
	Ruled          []wrkResult `json:"ruled_runs"`
	PlainPerSecond float64     `json:"plain_per_second"`
	RuledPerSecond float64     `json:"ruled_per_second"`
	Ratio          float64     `json:"ratio"`
	// Noise is the plain runs' own spread, (max - min) / mean: what a
	// difference between the two must exceed to be one.
	Noise float64 `json:"plain_noise"`
	// Latency at the main run's fixed rate, each.
	Rate         float64          `json:"latency_rate"`
	PlainLatency summary          `json:"plain_click_latency"`
	RuledLatency summary          `json:"ruled_click_latency"`
	PlainConvs   conversionResult `json:"plain_conversions"`
	RuledConvs   conversionResult `json:"ruled_conversions"`
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

// runRules loads the catalog, then measures the plain offers' links
// (plainScript, n.Offers) and the ruled offers' in alternation: wrk
// throughput, latency at rate, and conversions at o.conversionRate.
func runRules(ctx context.Context, cr *clickrelay, n network, rcv *receiver, plainScript string, rate float64, o options) (rulesResult, error) {
	res := rulesResult{Offers: rulesOffers, Records: rulesRecords, Rate: rate}
	start := time.Now()
	ruled, err := loadRules(ctx, cr, n, rcv.url())
	if err != nil {
		return res, err
	}
	res.LoadFor = time.Since(start).Round(time.Millisecond).String()
	ruledScript := filepath.Join(o.dataDir, "ruled-links.lua")
	if err := writeLinksLua(ruledScript, ruled, n.Affiliates); err != nil {
		return res, err
	}
	for _, script := range []string{plainScript, ruledScript} { // warm both
		if _, err := runWrk(ctx, cr.Base, script, o.threads, o.connections, 2*time.Second); err != nil {
			return res, err
		}
	}
	for range rulesThroughputRounds {
		w, err := runWrk(ctx, cr.Base, plainScript, o.threads, o.connections, o.duration)
		if err != nil {
			return res, err
		}
		res.Plain = append(res.Plain, w)
		if w, err = runWrk(ctx, cr.Base, ruledScript, o.threads, o.connections, o.duration); err != nil {
			return res, err
		}
		res.Ruled = append(res.Ruled, w)
	}
	res.PlainPerSecond, res.RuledPerSecond = meanRate(res.Plain), meanRate(res.Ruled)
	res.Ratio = res.RuledPerSecond / max(res.PlainPerSecond, 1)
	res.Noise = spreadRatio(res.Plain)

	addr, _ := url.Parse(cr.Base)
	keep := int(o.conversionRate * o.conversionDuration.Seconds())
	plainLat := newFixedRate(addr.Host, rate, 64).run(ctx, o.latencyDuration, loadgen.RealisticLink(n.Offers, n.Affiliates), keep)
	ruledLat := newFixedRate(addr.Host, rate, 64).run(ctx, o.latencyDuration, loadgen.RealisticLink(ruled, n.Affiliates), keep)
	res.PlainLatency, res.RuledLatency = plainLat.Latency.summary(), ruledLat.Latency.summary()
	res.Redirected = plainLat.Redirected + ruledLat.Redirected
	if ruledLat.Redirected != ruledLat.Sent {
		return res, fmt.Errorf("ruled links: %d of %d clicks redirected (a rule turned some away)", ruledLat.Redirected, ruledLat.Sent)
	}
	res.PlainConvs = driveConversions(ctx, addr.Host, n.AdvertiserKey, plainLat.ClickIDs, o.conversionRate, rcv, nil)
	res.RuledConvs = driveConversions(ctx, addr.Host, n.AdvertiserKey, ruledLat.ClickIDs, o.conversionRate, rcv, nil)
	return res, ctx.Err()
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
