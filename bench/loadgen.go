package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"
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
const slowRequest = 5 * time.Millisecond

func newFixedRate(addr string, rate float64, conns int) *fixedRate {
	return &fixedRate{addr: addr, rate: rate, conns: conns}
}

// link builds the request line's target and headers of request i.
type link func(i int64) (path, agent, ip string)

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
			w := newWorker(f.addr)
			defer w.close()
			var local rateResult
			local.Latency = make(latencies, 0, total/int64(f.conns)+1)
			slow := make([]int, len(res.SlowTimeline))
			for i := int64(c); i < total && ctx.Err() == nil; i += int64(f.conns) {
				due := start.Add(time.Duration(i) * interval)
				if wait := time.Until(due); wait > 0 {
					time.Sleep(wait)
				}
				path, agent, ip := next(i)
				status, location, err := w.get(path, agent, ip)
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
					if u, err := url.Parse(location); err == nil && u.Query().Get("cid") != "" {
						local.ClickIDs = append(local.ClickIDs, u.Query().Get("cid"))
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

// worker is one keep-alive HTTP/1.1 connection, redialled after errors.
type worker struct {
	addr string
	conn net.Conn
	r    *bufio.Reader
	buf  []byte
}

func newWorker(addr string) *worker { return &worker{addr: addr, buf: make([]byte, 0, 1024)} }

func (w *worker) close() {
	if w.conn != nil {
		w.conn.Close()
	}
}

// get sends one GET and reads the answer's status and Location.
func (w *worker) get(path, agent, ip string) (int, string, error) {
	if w.conn == nil {
		conn, err := net.DialTimeout("tcp", w.addr, 5*time.Second)
		if err != nil {
			return 0, "", err
		}
		w.conn, w.r = conn, bufio.NewReaderSize(conn, 4096)
	}
	b := append(w.buf[:0], "GET "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, w.addr...)
	b = append(b, "\r\nUser-Agent: "...)
	b = append(b, agent...)
	b = append(b, "\r\nX-Forwarded-For: "...)
	b = append(b, ip...)
	b = append(b, "\r\n\r\n"...)
	w.buf = b
	_ = w.conn.SetDeadline(time.Now().Add(10 * time.Second))
	status, location, err := w.write(b)
	if err != nil {
		w.conn.Close()
		w.conn = nil
	}
	return status, location, err
}

var errBadResponse = errors.New("malformed response")

func (w *worker) write(req []byte) (int, string, error) {
	if _, err := w.conn.Write(req); err != nil {
		return 0, "", err
	}
	line, err := w.r.ReadSlice('\n')
	if err != nil {
		return 0, "", err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, "", errBadResponse
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, "", errBadResponse
	}
	var location string
	length := 0
	for {
		h, err := w.r.ReadSlice('\n')
		if err != nil {
			return 0, "", err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, _ := bytes.Cut(h, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			length, _ = strconv.Atoi(string(value))
		case bytes.EqualFold(name, []byte("Location")):
			location = string(value)
		}
	}
	if _, err := w.r.Discard(length); err != nil {
		return 0, "", err
	}
	return status, location, nil
}

// realisticLink builds the i-th tracking link of the fixed-rate runs, in
// the same spirit as the wrk script.
func realisticLink(offers, affiliates []string) link {
	return func(i int64) (string, string, string) {
		b := make([]byte, 0, 160)
		b = append(b, "/click/"...)
		b = append(b, offers[i%int64(len(offers))]...)
		b = append(b, "?aff_id="...)
		b = append(b, affiliates[i%int64(len(affiliates))]...)
		b = append(b, "&sub1=c"...)
		b = strconv.AppendInt(b, i%97, 10)
		b = append(b, "&sub2=adset-"...)
		b = strconv.AppendInt(b, i%13, 10)
		b = append(b, "&sub3=ad-"...)
		b = strconv.AppendInt(b, i%251, 10)
		b = append(b, "&sub4=r"...)
		b = strconv.AppendInt(b, i, 10)
		b = append(b, "&sub5=pl"...)
		b = strconv.AppendInt(b, i%7, 10)
		ip := strconv.Itoa(int(20+i%180)) + "." + strconv.Itoa(int((i*7)%256)) + "." + strconv.Itoa(int((i*13)%256)) + "." + strconv.Itoa(int(1+i%250))
		return string(b), userAgents[i%int64(len(userAgents))], ip
	}
}
