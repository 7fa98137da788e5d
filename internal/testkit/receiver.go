package testkit

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Receiver is an HTTP server standing for what the engine sends requests
// to, an affiliate's tracker above all: it records every request as it
// was sent and answers as the test says, and it may hold requests until
// the test lets them go. Its waits are bounded, as every wait in a test.
type Receiver struct {
	// URL is the server's base URL, http://127.0.0.1:port.
	URL string

	srv       *httptest.Server
	hold      bool
	released  chan struct{}
	release   sync.Once
	onRequest func(Request)

	mu       sync.Mutex
	requests []Request
	inTurn   []Answer              // the first requests' answers, in turn
	answer   func(*Request) Answer // every later request's
}

// Request is a request as a Receiver got it.
type Request struct {
	Time   time.Time // when it arrived
	Method string
	// URL is the full URL as sent: scheme, host and the request line's
	// path and query, escaped as they were (what a signature covers).
	URL    string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
	// Answer is what the receiver answered it with (or will, when held).
	Answer Answer
}

// Answer is what a Receiver answers a request with.
type Answer struct {
	Status int // 200 when 0
	Body   string
	Header http.Header // set on the answer, besides Go's own
}

// ReceiverOption sets up a Receiver.
type ReceiverOption func(*Receiver)

// InTurn answers the first requests with answers, one each, in turn; the
// ones after them get the default answer.
func InTurn(answers ...Answer) ReceiverOption {
	return func(r *Receiver) { r.inTurn = append(r.inTurn, answers...) }
}

// Statuses is InTurn with answers of those statuses and no body.
func Statuses(codes ...int) ReceiverOption {
	return func(r *Receiver) {
		for _, c := range codes {
			r.inTurn = append(r.inTurn, Answer{Status: c})
		}
	}
}

// Default sets the answer of every request past the ones InTurn answers
// (a 200 with no body unless set). SetDefault changes it while serving.
func Default(a Answer) ReceiverOption {
	return func(r *Receiver) { r.answer = fixed(a) }
}

// Held makes the receiver hold every request, unanswered, until Release
// (or until its client gives up on it), as a receiver that hangs does. A
// test's end releases them.
func Held() ReceiverOption {
	return func(r *Receiver) { r.hold = true }
}

// Listener serves on ln instead of a new loopback listener: a port picked
// before the receiver starts, as for a host that comes up late.
func Listener(ln net.Listener) ReceiverOption {
	return func(r *Receiver) { r.srv.Listener.Close(); r.srv.Listener = ln }
}

// OnRequest calls f with each request as it is recorded, before it is
// answered (and before a hold), on the server's goroutine.
func OnRequest(f func(Request)) ReceiverOption {
	return func(r *Receiver) { r.onRequest = f }
}

func fixed(a Answer) func(*Request) Answer { return func(*Request) Answer { return a } }

// NewReceiver starts a Receiver, closed at the test's end (its held
// requests released first).
func NewReceiver(t testing.TB, options ...ReceiverOption) *Receiver {
	t.Helper()
	r := &Receiver{released: make(chan struct{}), answer: fixed(Answer{})}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	for _, o := range options {
		o(r)
	}
	r.srv.Start()
	r.URL = r.srv.URL
	t.Cleanup(func() {
		r.Release()
		r.srv.Close()
	})
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	got := Request{Time: time.Now(), Method: req.Method, URL: "http://" + req.Host + req.RequestURI,
		Path: req.URL.Path, Query: req.URL.Query(), Header: req.Header.Clone(), Body: body}
	r.mu.Lock()
	if n := len(r.requests); n < len(r.inTurn) {
		got.Answer = r.inTurn[n]
	} else {
		got.Answer = r.answer(&got)
	}
	r.requests = append(r.requests, got)
	r.mu.Unlock()
	if r.onRequest != nil {
		r.onRequest(got)
	}
	if r.hold {
		select {
		case <-r.released:
		case <-req.Context().Done():
			return
		}
	}
	for k, vs := range got.Answer.Header {
		w.Header()[k] = vs
	}
	status := got.Answer.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, got.Answer.Body)
}

// SetDefault changes the answer of the requests to come (past those
// answered in turn): a receiver that fails, then recovers.
func (r *Receiver) SetDefault(a Answer) { r.AnswerWith(fixed(a)) }

// AnswerWith makes the answer of the requests to come (past those
// answered in turn) from each request: an answer that names what it
// answers. f runs with the receiver locked: it must not call it.
func (r *Receiver) AnswerWith(f func(*Request) Answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = f
}

// Release answers the held requests and every later one at once.
func (r *Receiver) Release() { r.release.Do(func() { close(r.released) }) }

// Requests returns the requests received so far, in the order they came.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Count is how many requests were received.
func (r *Receiver) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

// CountWhere is how many requests received match.
func (r *Receiver) CountWhere(match func(Request) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, q := range r.requests {
		if match(q) {
			n++
		}
	}
	return n
}

// CountQuery is how many requests received carry value as query
// parameter key: the postbacks of one conversion or click.
func (r *Receiver) CountQuery(key, value string) int {
	return r.CountWhere(func(q Request) bool { return q.Query.Get(key) == value })
}

// Find returns the first request whose URL contains part.
func (r *Receiver) Find(part string) (Request, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, q := range r.requests {
		if strings.Contains(q.URL, part) {
			return q, true
		}
	}
	return Request{}, false
}

// Await waits for the receiver's n-th request (counting from 1) and
// returns it, failing the test when it has not come within within.
func (r *Receiver) Await(t testing.TB, n int, within time.Duration) Request {
	t.Helper()
	Poll(t, fmt.Sprintf("request %d at %s", n, r.URL), within, func() (bool, string) {
		got := r.Count()
		return got >= n, fmt.Sprintf("%d requests", got)
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests[n-1]
}

// AwaitFind waits for a request whose URL contains part and returns it,
// failing the test when none has come within within.
func (r *Receiver) AwaitFind(t testing.TB, part string, within time.Duration) Request {
	t.Helper()
	var found Request
	Poll(t, fmt.Sprintf("a request to %s with %q", r.URL, part), within, func() (bool, string) {
		var ok bool
		found, ok = r.Find(part)
		return ok, r.seen()
	})
	return found
}

// seen sums up the requests received, for a failure.
func (r *Receiver) seen() string {
	reqs := r.Requests()
	if len(reqs) == 0 {
		return "no request"
	}
	urls := make([]string, 0, len(reqs))
	for _, q := range reqs {
		urls = append(urls, q.URL)
	}
	return fmt.Sprintf("%d requests: %s", len(reqs), strings.Join(urls, ", "))
}
