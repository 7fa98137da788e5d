package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// receiver is an affiliate's tracker: it notes when each postback lands.
type receiver struct {
	ln      net.Listener
	mu      sync.Mutex
	arrived map[string]time.Time // click ID to arrival
	server  *fasthttp.Server
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{ln: ln, arrived: map[string]time.Time{}}
	r.server = &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		now := time.Now()
		cid := string(ctx.QueryArgs().Peek("cid"))
		r.mu.Lock()
		if _, seen := r.arrived[cid]; !seen {
			r.arrived[cid] = now
		}
		r.mu.Unlock()
		ctx.SetBodyString("OK")
	}}
	go func() { _ = r.server.Serve(ln) }()
	return r, nil
}

func (r *receiver) url() string { return "http://" + r.ln.Addr().String() }

func (r *receiver) arrival(cid string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.arrived[cid]
	return t, ok
}

func (r *receiver) stop() { _ = r.server.Shutdown() }

// conversionResult is what the conversion phase measured.
type conversionResult struct {
	Sent         int64   `json:"sent"`
	Acknowledged int64   `json:"acknowledged"` // 200 with tracked: true
	Refused      int64   `json:"refused"`
	PerSecond    float64 `json:"per_second"`
	Intake       summary `json:"intake_latency"`   // request to 200
	Postback     summary `json:"postback_latency"` // request sent to postback received
	Missing      int64   `json:"postbacks_missing"`
	// Postbacks the worker put back in the retry queue meanwhile, their
	// receiver host at its bound of requests in flight, or backed off.
	DeferredBusy    float64 `json:"deferred_host_busy"`
	DeferredBackoff float64 `json:"deferred_host_backoff"`
}

// driveConversions posts one conversion per click ID at rate, each with a
// unique txid, and times each postback from the moment its conversion was
// sent to the moment the receiver got it. With watched, only the click IDs
// it names have their postback awaited at rcv (the others' go elsewhere).
func driveConversions(ctx context.Context, addr, advertiserKey string, clickIDs []string, rate float64, rcv *receiver, watched func(i int) bool) conversionResult {
	client := &fasthttp.HostClient{Addr: addr, MaxConns: 256, ReadTimeout: 10 * time.Second}
	var res conversionResult
	sentAt := make([]time.Time, len(clickIDs))
	ok := make([]bool, len(clickIDs))
	var intake latencies
	var mu sync.Mutex
	var wg sync.WaitGroup
	due := make(chan int, 1024)
	for range 128 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://" + addr + "/api/v1/conversions")
			req.Header.SetMethod("POST")
			req.Header.Set("X-API-Key", advertiserKey)
			req.Header.SetContentType("application/json")
			for i := range due {
				req.SetBodyString(fmt.Sprintf(`{"click_id":%q,"amount":"49.90","txid":"bench-%d-%s"}`, clickIDs[i], i, clickIDs[i]))
				start := time.Now()
				sentAt[i] = start
				err := client.Do(req, resp)
				took := time.Since(start)
				if err == nil && resp.StatusCode() == 200 && bytes.Contains(resp.Body(), []byte(`"tracked":true`)) {
					ok[i] = true
					mu.Lock()
					intake = append(intake, took)
					mu.Unlock()
				}
			}
		}()
	}
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	next := start
	for i := range clickIDs {
		if ctx.Err() != nil {
			break
		}
		if wait := time.Until(next); wait > 0 {
			time.Sleep(wait)
		}
		due <- i
		res.Sent++
		next = next.Add(interval)
	}
	close(due)
	wg.Wait()
	elapsed := time.Since(start)
	res.Acknowledged = int64(len(intake)) // one intake sample per acknowledgement
	res.Refused = res.Sent - res.Acknowledged
	res.PerSecond = float64(res.Acknowledged) / elapsed.Seconds()
	res.Intake = intake.summary()

	// Every acknowledged conversion's postback, within 30 s at the most.
	deadline := time.Now().Add(30 * time.Second)
	var postback latencies
	for i, cid := range clickIDs {
		if !ok[i] || watched != nil && !watched(i) {
			continue
		}
		for {
			if t, arrived := rcv.arrival(cid); arrived {
				postback = append(postback, t.Sub(sentAt[i]))
				break
			}
			if time.Now().After(deadline) {
				res.Missing++
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	res.Postback = postback.summary()
	return res
}
