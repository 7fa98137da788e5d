package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clickrelay/clickrelay/internal/loadgen"
)

// minted is a click answered with a 302: a promise.
type minted struct {
	id string
	at time.Time
}

// clickGen sends clicks at a fixed rate (an open loop) over keep-alive
// connections spread over the serving processes, and keeps every click ID
// answered with a 302.
type clickGen struct {
	targets []string // host:port of each serving process
	rate    float64
	conns   int
	link    loadgen.Link

	mu       sync.Mutex
	answered []minted

	sent, redirected, failed atomic.Int64
	stop                     chan struct{}
	wg                       sync.WaitGroup
}

func newClickGen(targets []string, rate float64, conns int, link loadgen.Link) *clickGen {
	return &clickGen{targets: targets, rate: rate, conns: conns, link: link, stop: make(chan struct{})}
}

// start runs the generator for at most d (bounded traffic), until halt.
func (g *clickGen) start(ctx context.Context, d time.Duration) {
	interval := time.Duration(float64(time.Second) / g.rate)
	total := int64(d / interval)
	start := time.Now().Add(50 * time.Millisecond)
	for c := range g.conns {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			w := loadgen.NewConn(g.targets[c%len(g.targets)])
			// Short: a request to a frozen or dead server fails and the
			// connection redials rather than holding its slots for long.
			w.Timeout = 3 * time.Second
			defer w.Close()
			for i := int64(c); i < total; i += int64(g.conns) {
				due := start.Add(time.Duration(i) * interval)
				if wait := time.Until(due); wait > 0 {
					select {
					case <-time.After(wait):
					case <-g.stop:
						return
					case <-ctx.Done():
						return
					}
				}
				select {
				case <-g.stop:
					return
				default:
				}
				path, agent, ip := g.link(i)
				status, location, err := w.Get(path, agent, ip)
				g.sent.Add(1)
				if err != nil || status != 302 {
					g.failed.Add(1)
					if err != nil {
						// A dead server refuses at once: pace the redials.
						time.Sleep(20 * time.Millisecond)
					}
					continue
				}
				cid := loadgen.ClickID(location)
				if cid == "" {
					g.failed.Add(1)
					continue
				}
				g.redirected.Add(1)
				g.mu.Lock()
				g.answered = append(g.answered, minted{id: cid, at: time.Now()})
				g.mu.Unlock()
			}
		}()
	}
}

func (g *clickGen) halt() {
	close(g.stop)
	g.wg.Wait()
}

func (g *clickGen) clicks() []minted {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]minted(nil), g.answered...)
}

// Outcomes of a conversion, as an advertiser retrying on 5xx sees them.
const (
	outTracked   = "tracked"   // 200, tracked
	outDuplicate = "duplicate" // 200, not tracked: duplicate_txid (a retry found its own claim)
	outRefused   = "refused"   // a 4xx other than 429: not retried
	outGaveUp    = "gave_up"   // 5xx or no answer until the deadline
)

type conversion struct {
	txid, clickID string
	outage        bool // on a click minted during the fault
	outcome       string
	status        int
	reason        string
	attempts      int
}

// convDriver posts conversions, each retried with the same txid on 5xx,
// 429 and transport errors until its deadline, as an advertiser would.
type convDriver struct {
	targets []string // base URLs
	key     string
	client  *http.Client
	sem     chan struct{}
	next    atomic.Int64

	mu   sync.Mutex
	all  []*conversion
	used map[string]bool
	wg   sync.WaitGroup
}

func newConvDriver(targets []string, key string) *convDriver {
	return &convDriver{targets: targets, key: key, client: &http.Client{Timeout: 5 * time.Second},
		sem: make(chan struct{}, 64), used: map[string]bool{}}
}

func (d *convDriver) submit(txid, clickID string, outage bool, deadline time.Time) {
	c := &conversion{txid: txid, clickID: clickID, outage: outage}
	d.mu.Lock()
	d.all = append(d.all, c)
	d.used[clickID] = true
	d.mu.Unlock()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.sem <- struct{}{}
		defer func() { <-d.sem }()
		body := fmt.Sprintf(`{"click_id":%q,"amount":"49.90","txid":%q}`, clickID, txid)
		for {
			c.attempts++
			target := d.targets[int(d.next.Add(1))%len(d.targets)]
			status, reply, err := d.post(target, body)
			c.status = status
			switch {
			case err == nil && status == 200:
				// Tracked: {"data":{"tracked":true,...}}; not tracked:
				// {"tracked":false,"reason":...} (seed 002's shapes).
				var r struct {
					Data struct {
						Tracked bool `json:"tracked"`
					} `json:"data"`
					Reason string `json:"reason"`
				}
				_ = json.Unmarshal(reply, &r)
				c.outcome, c.reason = outTracked, ""
				if !r.Data.Tracked {
					c.outcome, c.reason = outDuplicate, r.Reason
				}
				return
			case err == nil && status >= 400 && status < 500 && status != 429:
				c.outcome, c.reason = outRefused, fmt.Sprintf("%d %s", status, bytes.TrimSpace(reply[:min(len(reply), 120)]))
				return
			}
			if time.Now().After(deadline) {
				c.outcome = outGaveUp
				if err != nil {
					c.reason = err.Error()
				} else {
					c.reason = fmt.Sprintf("%d %s", status, bytes.TrimSpace(reply[:min(len(reply), 120)]))
				}
				return
			}
			time.Sleep(300 * time.Millisecond)
		}
	}()
}

func (d *convDriver) post(base, body string) (int, []byte, error) {
	req, err := http.NewRequest("POST", base+"/api/v1/conversions", bytes.NewBufferString(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-API-Key", d.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, nil
}

// pace converts, at rate, the newest click answered at least age ago and
// not converted yet, until stop: conversions on fresh clicks, as the
// advertisers of a short funnel send them.
func (d *convDriver) pace(ctx context.Context, g *clickGen, rate float64, age time.Duration, deadline func() time.Time, stop <-chan struct{}) {
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-t.C:
		}
		g.mu.Lock()
		var pick string
		for i := len(g.answered) - 1; i >= 0 && i >= len(g.answered)-5000; i-- {
			if time.Since(g.answered[i].at) >= age {
				d.mu.Lock()
				used := d.used[g.answered[i].id]
				d.mu.Unlock()
				if !used {
					pick = g.answered[i].id
				}
				break
			}
		}
		g.mu.Unlock()
		if pick != "" {
			n++
			d.submit(fmt.Sprintf("flt-%d-%s", n, pick[:min(len(pick), 12)]), pick, false, deadline())
		}
	}
}

func (d *convDriver) wait() { d.wg.Wait() }

func (d *convDriver) results() []*conversion {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*conversion(nil), d.all...)
}

// receiver is the affiliates' tracker: it counts every postback by txid.
type receiver struct {
	ln     net.Listener
	server *http.Server
	mu     sync.Mutex
	got    map[string]int
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{ln: ln, got: map[string]int{}}
	r.server = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		tx := req.URL.Query().Get("tx")
		r.mu.Lock()
		r.got[tx]++
		r.mu.Unlock()
		_, _ = w.Write([]byte("OK"))
	})}
	go func() { _ = r.server.Serve(ln) }()
	return r, nil
}

func (r *receiver) url() string { return "http://" + r.ln.Addr().String() }

func (r *receiver) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.got))
	for k, v := range r.got {
		out[k] = v
	}
	return out
}

func (r *receiver) stop() { _ = r.server.Close() }
