package postback

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/model"
)

// Isolation per receiver host: a receiver that hangs must not hold the
// requests meant for every other one. The host table bounds the requests
// in flight to each host (host:port of the expanded URL) and backs off, as
// a whole, a host whose requests keep timing out or failing to connect. A
// job its host cannot take now is not waited for: it goes back to the Redis
// retry queue, due a moment later (busy) or when the backoff ends, without
// using up an attempt.
//
// The table is per process: a second worker learns the same about a dead
// host after its own few failures, which is cheap; the jobs themselves stay
// in Redis and Kafka.

// admission is what the table answers a job.
type admission int

const (
	admitted      admission = iota
	hostBusy                // the host's in-flight bound is reached
	hostBackedOff           // the host is backed off, or its probe is under way
)

// hostSignal is what a finished request tells of its host.
type hostSignal int

const (
	signalNone  hostSignal = iota // no request made, or an answer that says nothing of the host
	signalAlive                   // the host answered (any status)
	signalDown                    // timed out, or could not connect
)

// signalOf classifies a request's error. A refusal by the SSRF guard says
// nothing of the host; nor does a connection the host reset mid-answer
// (it was reachable, and such a failure holds no slot for long).
func signalOf(err error) hostSignal {
	if err == nil {
		return signalAlive
	}
	if errors.Is(err, ErrBlocked) {
		return signalNone
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return signalDown
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return signalDown
	}
	return signalNone
}

// hostKey is the host:port a URL's requests go to, lower-cased, with the
// scheme's default port; "" when the URL has no host (the request will
// fail as invalid and needs no slot).
func hostKey(target string) string {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return ""
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return net.JoinHostPort(host, port)
}

// hostLimits configure the table (see Configuration).
type hostLimits struct {
	concurrency int           // requests in flight per host
	failures    int           // timeouts or connect failures in a row that back a host off
	backoff     time.Duration // first backoff; each failed probe doubles it
	backoffMax  time.Duration
	busyDelay   time.Duration // the least a job turned away as busy waits
	probeWait   time.Duration // the longest a probe takes: the request timeout
}

type hostTable struct {
	limits hostLimits
	now    func() time.Time
	log    zerolog.Logger // sampled: a flapping host must not flood the log

	mu    sync.Mutex
	hosts map[string]*hostState
}

type hostState struct {
	inFlight int
	failures int           // timeouts and connect failures in a row
	backoff  time.Duration // the current backoff; 0 when the host is not backed off
	until    time.Time     // when the backoff ends and a probe may go
	probing  bool          // the one probe request is in flight
	probeAt  time.Time     // when it went
	// One job turned away during a backoff is due when it ends, to be the
	// probe; the others wait for the probe's verdict.
	probeReserved bool

	// Jobs turned away as busy come due spaced by the host's pace (a
	// request's expected time over the bound), so a slow host's backlog
	// is not taken from Redis and put back every moment.
	latency  time.Duration // moving average of its requests' time
	fullAt   time.Time     // when it last reached its bound
	busyNext time.Time     // when the last job turned away as busy is due

	// Jobs turned away as busy may wait in the worker for room, as many
	// as the bound: a request that ends while some wait leaves a token in
	// freed, which wakes one of them.
	waiters int
	freed   chan struct{}
}

// wake tells one waiter there is room (a token already waiting will do).
func (s *hostState) wake() {
	select {
	case s.freed <- struct{}{}:
	default:
	}
}

// idle: a healthy host with nothing in flight nor waiting needs no entry,
// so the table holds only hosts in use or in trouble.
func (s *hostState) idle() bool {
	return s.inFlight == 0 && s.waiters == 0 && s.failures == 0 && s.backoff == 0
}

func newHostTable(limits hostLimits, now func() time.Time, log zerolog.Logger) *hostTable {
	return &hostTable{limits: limits, now: now, log: log, hosts: map[string]*hostState{}}
}

// hostSlot is one admitted request's place in its host's bound.
type hostSlot struct {
	table    *hostTable
	host     string
	probe    bool
	start    time.Time
	released bool
}

// acquire admits a request to host, or says why not and when to try again.
// A nil table, or an empty host, admits without bound.
func (t *hostTable) acquire(host string) (*hostSlot, admission, time.Time) {
	return t.admit(host, true)
}

// retake is acquire for a job waiting for room, already turned away as
// busy once: turned away again, it is given no due time of its own, so a
// waiter woken in vain does not push the host's later jobs further out.
func (t *hostTable) retake(host string) (*hostSlot, admission, time.Time) {
	return t.admit(host, false)
}

// admit is acquire; spaceBusy says whether a job turned away as busy is
// given its place in the host's pace (busyNext).
func (t *hostTable) admit(host string, spaceBusy bool) (*hostSlot, admission, time.Time) {
	if t == nil || host == "" {
		return &hostSlot{}, admitted, time.Time{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	s := t.hosts[host]
	if s == nil {
		s = &hostState{}
		t.hosts[host] = s
	}
	probe := false
	if s.backoff > 0 {
		switch {
		case s.probing:
			// The probe decides by the time it has had its timeout; look
			// again after one backoff at most, so that a probe answered at
			// once does not leave the others waiting a whole timeout.
			next := s.probeAt.Add(t.limits.probeWait)
			if again := now.Add(s.backoff); again.Before(next) {
				next = again
			}
			return nil, hostBackedOff, laterOf(next, now.Add(t.limits.busyDelay))
		case now.Before(s.until):
			if !s.probeReserved {
				s.probeReserved = true
				return nil, hostBackedOff, s.until
			}
			// A probe to a host that refuses at once decides in a moment,
			// one to a host that hangs in its timeout: wait one or the
			// other, whichever is shorter, then for the probe if still out.
			return nil, hostBackedOff, s.until.Add(min(t.limits.probeWait, s.backoff))
		}
		probe = true
	}
	if s.inFlight >= t.limits.concurrency {
		if !spaceBusy {
			return nil, hostBusy, time.Time{}
		}
		// Spaced by the host's pace: its requests' average time, or, while
		// none has finished, how long it has been full.
		pace := max(s.latency, now.Sub(s.fullAt)) / time.Duration(t.limits.concurrency)
		s.busyNext = laterOf(now.Add(t.limits.busyDelay), s.busyNext.Add(pace))
		return nil, hostBusy, s.busyNext
	}
	s.inFlight++
	if s.inFlight == t.limits.concurrency {
		s.fullAt = now
	}
	if probe {
		s.probing, s.probeAt, s.probeReserved = true, now, false
	}
	return &hostSlot{table: t, host: host, probe: probe, start: now}, admitted, time.Time{}
}

// wait registers a job that acquire turned away as busy to wait for room
// at host: the channel returned gets a token each time a request to host
// ends, for one waiter (one at once when a request ended meanwhile), who
// then retakes. It refuses when host already has as many jobs waiting as
// its bound, or is backed off; each job it accepts must call endWait.
func (t *hostTable) wait(host string) (<-chan struct{}, bool) {
	if t == nil || host == "" {
		return nil, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.hosts[host]
	if s == nil { // every request ended meanwhile
		s = &hostState{}
		t.hosts[host] = s
	}
	if s.waiters >= t.limits.concurrency || s.backoff > 0 {
		return nil, false
	}
	s.waiters++
	if s.freed == nil {
		s.freed = make(chan struct{}, t.limits.concurrency)
	}
	if s.inFlight < t.limits.concurrency {
		s.wake()
	}
	return s.freed, true
}

// endWait ends a wait that wait accepted, whether it ended admitted or not.
func (t *hostTable) endWait(host string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.hosts[host]; s != nil {
		s.waiters--
		if s.idle() {
			delete(t.hosts, host)
		}
	}
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// report releases the slot with what its request told of the host.
func (s *hostSlot) report(err error) {
	s.finish(signalOf(err))
}

// release gives the slot back without a request's verdict (none was made:
// the postback was deleted or delivered meanwhile). Idempotent.
func (s *hostSlot) release() { s.finish(signalNone) }

func (s *hostSlot) finish(signal hostSignal) {
	if s.released || s.table == nil {
		s.released = true
		return
	}
	s.released = true
	s.table.finish(s.host, s.probe, s.start, signal)
}

func (t *hostTable) finish(host string, probe bool, start time.Time, signal hostSignal) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.hosts[host]
	if s == nil {
		return
	}
	s.inFlight--
	if probe {
		s.probing = false
	}
	if s.waiters > 0 {
		s.wake()
	}
	if signal != signalNone {
		took := t.now().Sub(start)
		if s.latency == 0 {
			s.latency = took
		} else {
			s.latency += (took - s.latency) / 4
		}
	}
	switch signal {
	case signalAlive:
		s.failures = 0
		if s.backoff > 0 {
			t.log.Info().Str("host", host).Msg("postback receiver answers again; its backoff is over")
			s.backoff, s.until, s.probeReserved = 0, time.Time{}, false
		}
	case signalDown:
		s.failures++
		switch {
		case probe:
			// The probe failed: back off again, twice as long.
			s.backoff = min(2*s.backoff, t.limits.backoffMax)
			s.until, s.probeReserved = t.now().Add(s.backoff), false
			t.log.Warn().Str("host", host).Dur("backoff", s.backoff).Int("failures_in_a_row", s.failures).
				Msg("postback receiver still times out or refuses connections; backing off longer")
		case s.backoff == 0 && s.failures >= t.limits.failures:
			s.backoff = t.limits.backoff
			s.until, s.probeReserved = t.now().Add(s.backoff), false
			t.log.Warn().Str("host", host).Dur("backoff", s.backoff).Int("failures_in_a_row", s.failures).
				Msg("postback receiver times out or refuses connections; its postbacks wait for the backoff to end")
		}
	}
	if s.idle() {
		delete(t.hosts, host)
	}
}

// backedOffHosts is how many hosts are backed off now (for the gauge; the
// table holds only hosts in use or in trouble, so it is short).
func (t *hostTable) backedOffHosts() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, s := range t.hosts {
		if s.backoff > 0 {
			n++
		}
	}
	return n
}

// prune forgets the backed-off hosts no job has come for since a longest
// backoff after theirs ended (their postbacks were deleted, or delivered
// by another worker): else the table, and the gauge, would keep them for
// good. A job for one later starts it afresh.
func (t *hostTable) prune() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for host, s := range t.hosts {
		if s.backoff > 0 && s.inFlight == 0 && !s.probing && now.After(s.until.Add(t.limits.backoffMax)) {
			delete(t.hosts, host)
		}
	}
}

// jitter spreads the jobs of one host deferred together over a fraction
// of their wait, so they do not come due in one burst.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

// resolve reads j's postback and, when it is active, expands the URL its
// request goes to, once for both the host table and deliver. The URL is ""
// when there is nothing to send (the postback is gone, paused or disabled:
// deliver settles those without a request), and an empty or host-less URL
// takes no host slot.
func (w *Worker) resolve(j *job) (*model.Postback, string) {
	pb := w.catalog.Postback(j.PostbackID)
	if pb == nil || pb.Status != model.StatusActive {
		return pb, ""
	}
	return pb, expandURL(pb.URL, &j.Conversion, j.Event)
}

// postpone puts j back in the retry queue because its host could not take
// it: a moment later when the host is busy, at the backoff's end when it is
// backed off, with jitter so a host's jobs do not all come due at once.
// The attempt number is unchanged: no request was made. It reports whether
// Redis took the job (see schedule).
func (w *Worker) postpone(j *job, raw []byte, why admission, retryAt time.Time) bool {
	now := w.now()
	wait := max(retryAt.Sub(now), 0)
	if why == hostBusy {
		w.deferredBusy.Inc()
	} else {
		w.deferredBackoff.Inc()
	}
	due := now.Add(wait + jitter(min(max(wait/4, w.config.HostBusyDelay), 5*time.Second)))
	if raw == nil {
		raw, _ = json.Marshal(j)
	}
	return w.schedule(due, raw, j.Conversion.ID, j.PostbackID)
}
