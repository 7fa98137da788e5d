// Package loadgen holds the pieces the benchmark (bench/) and the fault
// suite (faults/) both drive clickrelay with: a cheap keep-alive HTTP/1.1
// connection, realistic tracking links, browsers' user agents, and (for
// the bench's runners) a clickrelay process started and stopped, the
// process behind a port, its CPU time, Redis's used_memory, and clicks
// shaped as the bench's links or bench/consoleday's campaigns make them.
package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/url"
	"strconv"
	"time"
)

// Conn is one keep-alive HTTP/1.1 connection, redialled after errors. It
// writes its requests as plain bytes: the generator shares the machine
// with what it measures, so it must cost little per request.
type Conn struct {
	addr string
	conn net.Conn
	r    *bufio.Reader
	buf  []byte
	// Timeout bounds each request (dial, write and read).
	Timeout time.Duration
}

// NewConn returns a connection to addr (host:port), dialled on first use.
func NewConn(addr string) *Conn {
	return &Conn{addr: addr, buf: make([]byte, 0, 1024), Timeout: 10 * time.Second}
}

// Close closes the connection.
func (w *Conn) Close() {
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}

// Get sends one GET and reads the answer's status and Location.
func (w *Conn) Get(path, agent, ip string) (int, string, error) {
	if w.conn == nil {
		conn, err := net.DialTimeout("tcp", w.addr, min(w.Timeout, 5*time.Second))
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
	if lang := agentLanguages[agent]; lang != "" {
		b = append(b, "\r\nAccept-Language: "...)
		b = append(b, lang...)
	}
	b = append(b, "\r\n\r\n"...)
	w.buf = b
	_ = w.conn.SetDeadline(time.Now().Add(w.Timeout))
	status, location, err := w.roundTrip(b)
	if err != nil {
		w.Close()
	}
	return status, location, err
}

var errBadResponse = errors.New("malformed response")

func (w *Conn) roundTrip(req []byte) (int, string, error) {
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

// Link builds the request line's target and headers of request i.
type Link func(i int64) (path, agent, ip string)

// RealisticLink builds the i-th tracking link over offers and affiliates,
// with varied subs, agents and client addresses.
func RealisticLink(offers, affiliates []string) Link {
	return RealisticLinkAt("/click/", offers, affiliates)
}

// RealisticLinkAt is RealisticLink on another path: "/s/" and smart links'
// slugs for offers.
func RealisticLinkAt(prefix string, offers, affiliates []string) Link {
	return func(i int64) (string, string, string) {
		b := make([]byte, 0, 160)
		b = append(b, prefix...)
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
		return string(b), UserAgents[i%int64(len(UserAgents))], ip
	}
}

// UserAgents are real browsers' agents, in rough proportion to traffic.
var UserAgents = []string{
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
	"Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
}

// Languages are the Accept-Language of each of UserAgents' browsers, in
// its order.
var Languages = []string{"en-US,en;q=0.9", "pt-BR,pt;q=0.9,en;q=0.7", "en-GB,en;q=0.9", "de-DE,de;q=0.9,en;q=0.8",
	"es-ES,es;q=0.9", "en-US"}

// agentLanguages is each agent's language, for Conn.Get.
var agentLanguages = func() map[string]string {
	m := make(map[string]string, len(UserAgents))
	for i, a := range UserAgents {
		m[a] = Languages[i%len(Languages)]
	}
	return m
}()

// ClickID is the click ID a redirect's Location carries as cid, or "" when
// it has none.
func ClickID(location string) string {
	u, err := url.Parse(location)
	if err != nil {
		return ""
	}
	return u.Query().Get("cid")
}
