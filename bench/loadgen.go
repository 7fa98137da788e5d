package main

import (
	"context"
	"sync"
	"time"

	"github.com/clickrelay/clickrelay/internal/loadgen"
)

// fixedRate sends requests at a fixed rate whatever the server does (an
// open loop), and times each from when it was due, not from when it went
// out: a stalled server shows in the latency instead of silently lowering
// the rate (no coordinated omission).
//
// Each of conns keep-alive connections owns every conns-th slot of the
// schedule and writes its requests as plain bytes: the generator shares the
// machine with what it measures, so it must cost little per request.
type fixedRate struct {
	addr  string
	rate  float64
	conns int
}

// rateResult is what a fixed-rate run measured.
type rateResult struct {
	Start      time.Time `json:"start"` // when the first request was due
	Sent       int64     `json:"sent"`
	Redirected int64     `json:"redirected"`
	Failed     int64     `json:"failed"`
	// SlowTimeline counts requests slower than slowRequest in each 100 ms
	// of the run: a stall shows as a spike, periodic ones as a rhythm.
	SlowTimeline []int     `json:"slow_per_100ms"`
	Latency      latencies `json:"-"`
	ClickIDs     []string  `json:"-"`
}

// slowRequest is the click latency bar of the issue.
const slowRequest = time.Duration(clickP99Ceiling * float64(time.Millisecond))

func newFixedRate(addr string, rate float64, conns int) *fixedRate {
	return &fixedRate{addr: addr, rate: rate, conns: conns}
}

// link builds the request line's target and headers of request i.
type link = loadgen.Link

// run sends requests for d and keeps the click IDs of up to keep redirects
// (for the conversion phase).
func (f *fixedRate) run(ctx context.Context, d time.Duration, next link, keep int) rateResult {
	interval := time.Duration(float64(time.Second) / f.rate)
	total := int64(d / interval)
	start := time.Now().Add(100 * time.Millisecond) // every connection ready before the first slot
	var mu sync.Mutex
	res := rateResult{Start: start, SlowTimeline: make([]int, int(d/(100*time.Millisecond))+1)}
	var wg sync.WaitGroup
	for c := range f.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := loadgen.NewConn(f.addr)
			defer w.Close()
			var local rateResult
			local.Latency = make(latencies, 0, total/int64(f.conns)+1)
			slow := make([]int, len(res.SlowTimeline))
			for i := int64(c); i < total && ctx.Err() == nil; i += int64(f.conns) {
				due := start.Add(time.Duration(i) * interval)
				if wait := time.Until(due); wait > 0 {
					time.Sleep(wait)
				}
				path, agent, ip := next(i)
				status, location, err := w.Get(path, agent, ip)
				took := time.Since(due)
				local.Sent++
				local.Latency = append(local.Latency, took)
				if took > slowRequest {
					slow[min(int(due.Sub(start)/(100*time.Millisecond)), len(slow)-1)]++
				}
				if err != nil || status != 302 {
					local.Failed++
					continue
				}
				local.Redirected++
				if len(local.ClickIDs) < keep/f.conns+1 {
					if cid := loadgen.ClickID(location); cid != "" {
						local.ClickIDs = append(local.ClickIDs, cid)
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			res.Sent += local.Sent
			res.Redirected += local.Redirected
			res.Failed += local.Failed
			res.Latency = append(res.Latency, local.Latency...)
			res.ClickIDs = append(res.ClickIDs, local.ClickIDs...)
			for k, n := range slow {
				res.SlowTimeline[k] += n
			}
		}()
	}
	wg.Wait()
	return res
}
