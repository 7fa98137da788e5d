package postback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/model"
)

// Limits on what an attempt record keeps of a response.
const (
	maxBodyKept  = 256
	maxDebugKept = 1024
)

// Sender sends one postback request and tells what it came to: the HTTP
// client behind the SSRF guard, the timeout, and the signature. The worker
// sends real deliveries through one; the API sends test postbacks through
// another, so a test goes out exactly as a delivery would.
type Sender struct {
	client *http.Client
	log    zerolog.Logger // for test postbacks; deliveries log in the worker
	now    func() time.Time
}

// NewSender builds a Sender from the postback configuration (Timeout and
// AllowPrivate are what it reads).
func NewSender(config Configuration, log zerolog.Logger) *Sender {
	return &Sender{client: newClient(config), log: log.With().Str("component", "postback").Logger(), now: time.Now}
}

// CloseIdleConnections closes the kept-alive connections (at stop).
func (s *Sender) CloseIdleConnections() { s.client.CloseIdleConnections() }

// newClient is an HTTP client that does not follow the environment's
// proxy (it would bypass the address guard), and refuses private targets
// at dial time unless allowed.
func newClient(config Configuration) *http.Client {
	dialer := &net.Dialer{Timeout: config.Timeout, KeepAlive: 30 * time.Second}
	if !config.AllowPrivate {
		dialer.Control = guardControl
	}
	transport := &http.Transport{
		DialContext:           dialer.DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   config.Timeout,
		ResponseHeaderTimeout: config.Timeout,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   config.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("stopped after 5 redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return errors.New("redirect to a non-HTTP URL")
			}
			return nil
		},
	}
}

// Outcome is what one request came to. Its fields stay unexported so the
// delivery code reads them directly; other packages use the methods.
type Outcome struct {
	status  int
	header  http.Header
	body    string
	err     error
	invalid bool // the URL is unusable or not allowed: retrying cannot help
	url     *url.URL
	sent    string // the URL as sent (as signed), or the target when unparseable
	signed  bool
	latency time.Duration
}

// StatusCode is the receiver's status, 0 when it did not answer.
func (o Outcome) StatusCode() int { return o.status }

// Err is why there was no answer (redacted: it never carries the query).
func (o Outcome) Err() error { return o.err }

// Body is the start of the response body (at most 256 bytes).
func (o Outcome) Body() string { return o.body }

// URL is the URL sent: the one the signature covers.
func (o Outcome) URL() string { return o.sent }

// Signed tells whether the request carried a signature.
func (o Outcome) Signed() bool { return o.signed }

// Latency is how long the request took.
func (o Outcome) Latency() time.Duration { return o.latency }

// Delivered tells whether the receiver took the postback (a 2xx).
func (o Outcome) Delivered() bool { return o.err == nil && o.status >= 200 && o.status < 300 }

// Send makes one GET of target; with a secret it carries the signature
// headers, computed now (a retry is signed afresh).
func (s *Sender) Send(ctx context.Context, target string, secret model.Secret) Outcome {
	start := s.now()
	o := s.send(ctx, target, secret)
	o.latency = s.now().Sub(start)
	return o
}

func (s *Sender) send(ctx context.Context, target string, secret model.Secret) Outcome {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Outcome{err: fmt.Errorf("not a valid http(s) URL: %s", redactURL(target)), invalid: true, sent: target}
	}
	sent := SignedURL(u)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return Outcome{err: redactError(err), invalid: true, url: u, sent: sent}
	}
	req.Header.Set("User-Agent", "clickrelay-postback/1")
	if secret != "" {
		ts := s.now().Unix()
		req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(HeaderSignature, Signature(secret.Reveal(), http.MethodGet, sent, ts))
	}
	o := Outcome{url: u, sent: sent, signed: secret != ""}
	resp, err := s.client.Do(req)
	if err != nil {
		// The SSRF guard refuses at dial time, so its refusal arrives here.
		o.err, o.invalid = redactError(err), errors.Is(err, ErrBlocked)
		return o
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyKept))
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10) // let the connection be reused
	o.status, o.header, o.body, o.url = resp.StatusCode, resp.Header, string(body), resp.Request.URL
	return o
}

// debug writes the attempt's debug_information in the shape seed 004 shows.
func (o Outcome) debug(target string) string {
	var b strings.Builder
	b.WriteString("PostbackUrl: " + target + "\n")
	if o.err != nil {
		b.WriteString("Error: " + o.err.Error() + "\n")
	} else {
		b.WriteString("Status: " + strconv.Itoa(o.status) + "\n")
	}
	if o.url != nil {
		b.WriteString("Scheme: " + o.url.Scheme + "\nPath: " + o.url.Path + "\nAuthority: " + o.url.Host + "\n")
	}
	if o.header != nil {
		var hs []string
		for _, name := range []string{"Server", "Content-Type", "Retry-After"} {
			if v := o.header.Values(name); len(v) > 0 {
				hs = append(hs, name+": ["+strings.Join(v, " ")+"]")
			}
		}
		b.WriteString("Headers: " + strings.Join(hs, " ") + "\n")
	}
	if o.body != "" {
		b.WriteString("Body: " + o.body)
	}
	s := strings.TrimRight(b.String(), "\n")
	if len(s) > maxDebugKept {
		s = s[:maxDebugKept]
	}
	return s
}
