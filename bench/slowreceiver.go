package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/clickrelay/clickrelay/internal/loadgen"
)

// phaseSlowReceiver measures isolation per receiver host: conversions of
// two affiliates at the conversion rate, one affiliate's receiver hanging
// for the whole run, and the other's postbacks timed as in the
// conversion phase.
const phaseSlowReceiver = "postbacks-slow-receiver"

// hangingReceiver accepts connections and reads requests, and never
// answers: a receiver whose server is stuck.
type hangingReceiver struct {
	ln       net.Listener
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	accepted atomic.Int64
	wg       sync.WaitGroup
}

// startHangingReceiver listens on another loopback address than the
// healthy receiver (127.0.0.2, where the system routes it; else another
// port of 127.0.0.1): another host, as clickrelay keys them.
func startHangingReceiver() (*hangingReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, err
		}
	}
	h := &hangingReceiver{ln: ln, conns: map[net.Conn]struct{}{}}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			h.accepted.Add(1)
			h.mu.Lock()
			h.conns[conn] = struct{}{}
			h.mu.Unlock()
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				_, _ = io.Copy(io.Discard, conn) // until the client gives up
				h.mu.Lock()
				delete(h.conns, conn)
				h.mu.Unlock()
				conn.Close()
			}()
		}
	}()
	return h, nil
}

func (h *hangingReceiver) url() string { return "http://" + h.ln.Addr().String() }

// stop closes the listener and every connection held.
func (h *hangingReceiver) stop() {
	h.ln.Close()
	h.mu.Lock()
	for c := range h.conns {
		c.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// slowReceiverResult is what the slow-receiver phase measured.
type slowReceiverResult struct {
	Rate float64 `json:"conversions_per_second"`
	// Conversions is the whole run's; its postback figures are the healthy
	// receiver's only.
	Conversions conversionResult `json:"conversions"`
	Healthy     int64            `json:"healthy_conversions"`
	// What the hanging receiver took, and what clickrelay did about it
	// (absent metrics, as before isolation per host, read 0).
	HangingConnections int64   `json:"hanging_connections_accepted"`
	DeferredBusy       float64 `json:"deferred_host_busy"`
	DeferredBackoff    float64 `json:"deferred_host_backoff"`
	HostsBackedOff     float64 `json:"hosts_backed_off_at_end"`
}

// runSlowReceiver creates two affiliates, one whose postback goes to a
// receiver that hangs and one whose goes to rcv, converts clicks of both
// alternately at the conversion rate, and times the healthy postbacks.
func runSlowReceiver(ctx context.Context, cr *clickrelay, n network, rcv *receiver, o options) (slowReceiverResult, error) {
	res := slowReceiverResult{Rate: o.conversionRate}
	hang, err := startHangingReceiver()
	if err != nil {
		return res, err
	}
	defer hang.stop()
	// Each postback goes to its receiver's /pb with the click ID as cid.
	const pb = "/pb?cid={click_id}&payout={payout}&token=bench-secret"
	slow, _, err := loadgen.AffiliateWithPostback(cr.Base, adminKey, "Slow receiver", hang.url()+pb)
	if err != nil {
		return res, err
	}
	fast, _, err := loadgen.AffiliateWithPostback(cr.Base, adminKey, "Healthy receiver", rcv.url()+pb)
	if err != nil {
		return res, err
	}
	addr, _ := url.Parse(cr.Base)
	count := int(o.conversionRate * o.conversionDuration.Seconds())
	// Even clicks are the hanging receiver's affiliate's, odd the healthy one's.
	cids, err := clicksOf(ctx, addr.Host, n.Offers[0], []string{slow, fast}, count)
	if err != nil {
		return res, err
	}
	healthy := func(i int) bool { return i%2 == 1 }
	res.DeferredBusy, res.DeferredBackoff = cr.deferredDuring(func() {
		res.Conversions = driveConversions(ctx, addr.Host, n.AdvertiserKey, cids, o.conversionRate, rcv, healthy)
	})
	res.Healthy = int64(count / 2)
	res.HangingConnections = hang.accepted.Load()
	res.HostsBackedOff, _ = cr.metric("clickrelay_postback_hosts_backed_off")
	return res, nil
}

// clicksOf clicks count links of offer, the i-th as affiliates[i %
// len(affiliates)], and returns their click IDs in that order.
func clicksOf(ctx context.Context, addr, offer string, affiliates []string, count int) ([]string, error) {
	cids := make([]string, count)
	const workers = 8
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn := loadgen.NewConn(addr)
			defer conn.Close()
			for i := w; i < count && ctx.Err() == nil; i += workers {
				path := "/click/" + offer + "?aff_id=" + affiliates[i%len(affiliates)] + "&sub1=slow-" + strconv.Itoa(i)
				status, location, err := conn.Get(path, loadgen.UserAgents[i%len(loadgen.UserAgents)], "81.2.69.160")
				if err == nil && status != 302 {
					err = fmt.Errorf("GET %s: %d, want 302", path, status)
				}
				if err != nil {
					errs[w] = err
					return
				}
				if cids[i] = loadgen.ClickID(location); cids[i] == "" {
					errs[w] = fmt.Errorf("GET %s: Location %q carries no cid", path, location)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return cids, ctx.Err()
}
