// Package api serves every HTTP surface from one fasthttp server: the click
// redirect, the network admin API, the advertiser API (seed 002), the
// affiliate API (seed 000), the publisher feed (seed 001), the postback
// report (seed 004), the web console, and the operational endpoints
// (/health, /ready, /metrics). api/openapi.json is their contract.
//
// Files are named after the surface and the resource they serve
// (admin_offers.go, advertiser_conversions.go, ...), routes.go lists every
// route and the file that answers it, and web_*.go hold what the surfaces
// share: envelopes, auth, forms, parameters, listings.
package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/console"
	"github.com/clickrelay/clickrelay/ingest"
	"github.com/clickrelay/clickrelay/internal/daemon"
	"github.com/clickrelay/clickrelay/internal/hotlog"
	"github.com/clickrelay/clickrelay/internal/promtext"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// entityStore keeps entities and API keys.
type entityStore interface {
	NextID(ctx context.Context, kind model.Kind) (string, error)
	SaveEntity(ctx context.Context, e model.Entity) error
	UpdateEntity(ctx context.Context, kind model.Kind, id string, change func(model.Entity) (model.Entity, error)) (model.Entity, error)
	UpsertEntity(ctx context.Context, kind model.Kind, id string, change func(model.Entity) (model.Entity, error)) (model.Entity, error)
	DeleteEntity(ctx context.Context, kind model.Kind, id string) error
	SaveAPIKey(ctx context.Context, key string, p model.Principal) error
	ReplaceAPIKeys(ctx context.Context, key string, p model.Principal) error
	Catalog() *redis.Catalog
}

// clickHandler serves the redirects: an offer's link (/click) and a smart
// link (/s/).
type clickHandler interface {
	Handle(ctx *fasthttp.RequestCtx)
	HandleSmartLink(ctx *fasthttp.RequestCtx)
}

// converter takes conversions and secondary events.
type converter interface {
	Convert(ctx context.Context, scope ingest.Scope, req ingest.Request) (ingest.Result, error)
	Event(ctx context.Context, scope ingest.Scope, req ingest.EventRequest) (*model.Event, error)
}

// warehouse answers stats and reports.
type warehouse interface {
	Stats(ctx context.Context, q clickhouse.StatsQuery) ([]clickhouse.StatsRow, error)
	PostbackReport(ctx context.Context, q clickhouse.PostbackQuery, each func(*clickhouse.PostbackRow) error) error
	Conversions(ctx context.Context, q clickhouse.ConversionQuery) ([]model.Conversion, error)
	CountConversions(ctx context.Context, q clickhouse.ConversionQuery) (uint64, error)
	CTIT(ctx context.Context, q clickhouse.CTITQuery) ([]clickhouse.CTITBucket, error)
}

// limiter counts requests against rate limits shared by every process.
type limiter interface {
	CountRequest(ctx context.Context, subject string, now time.Time, windows []redis.Window) ([]redis.WindowCount, error)
}

// testSessions opens and reads seed 002's test sessions.
type testSessions interface {
	StartTestSession(ctx context.Context, offer *model.Offer) (*redis.TestSession, error)
	TestSession(ctx context.Context, token string) (*redis.TestSession, bool, error)
}

// Check is a named readiness probe.
type Check struct {
	Name string
	Ping func(context.Context) error
}

// Dependencies of the server.
type Dependencies struct {
	Logger      zerolog.Logger
	Metrics     *metrics.Set
	Store       entityStore
	Clicks      clickHandler
	Conversions converter
	Warehouse   warehouse
	// TestSessions serves /api/v1/test-sessions; without it they are 404.
	TestSessions testSessions
	Checks       []Check
	// Limiter enforces the rate limits; nil disables them.
	Limiter limiter
	// AdminKeyHash is the SHA-256 of the network admin key.
	AdminKeyHash [32]byte
	// Statuses changes conversions' statuses; nil: Conversions, when it
	// can (ingest.Service does).
	Statuses statusChanger
	// Postbacks fires test postbacks (a postback.Sender); nil: the test
	// endpoints answer 503.
	Postbacks postbackTester
	// DeadLetter and Deliveries serve postbacks' deliveries, re-drive and
	// re-enabling (affiliate_deliveries.go); without them those answer 503.
	DeadLetter deadLetter
	Deliveries deliveryLog
	// SignedOut remembers console sessions signed out before they expire;
	// without it a sign-out only clears the browser's cookie.
	SignedOut signedOutSessions
	// MetricHelp describes the families of Metrics, for /metrics; the
	// server's own and the Go runtime's are added.
	MetricHelp promtext.Help
	// Failer hears of a listener that fails while the server runs: the
	// process would otherwise go on answering nothing.
	Failer daemon.Failer
	// Caps says where caps stand ("used"); without it they read 0.
	Caps capsReader
}

// capsReader says where an offer's caps, or an affiliate's on it, stand in
// their current periods (caps.Caps).
type capsReader interface {
	Used(ctx context.Context, offer *model.Offer, rec *model.OfferAffiliate) ([]int64, error)
}

// signedOutSessions remembers console sessions signed out before their
// expiry, for every process (storage/redis/sessions.go).
type signedOutSessions interface {
	RevokeSession(ctx context.Context, id string, until time.Time) error
	SessionRevoked(ctx context.Context, id string) (bool, error)
}

// deadLetter is the postbacks' dead letter (storage/redis/deadletter.go).
type deadLetter interface {
	DeadLetters(ctx context.Context, postbackID string, from, to time.Time, offset, limit int) ([]redis.DeadDelivery, int64, error)
	DeadLetterIndex(ctx context.Context, postbackID string) (map[string]time.Time, error)
	RedriveDeliveries(ctx context.Context, postbackID string, ids []string, due time.Time) (redis.Redrive, error)
	RedriveRange(ctx context.Context, postbackID string, from, to time.Time, limit int, due time.Time) (redis.Redrive, error)
	ResetFailures(ctx context.Context, postbackID string) error
}

// deliveryLog reads postback attempts (storage/clickhouse/deliveries.go).
type deliveryLog interface {
	PostbackDeliveries(ctx context.Context, q clickhouse.DeliveryQuery) ([]clickhouse.DeliveryRow, uint64, error)
	DeliveryAttempts(ctx context.Context, postbackID string, deliveryIDs []string) ([]clickhouse.DeliveryAttempt, error)
}

// Server is the HTTP server.
type Server struct {
	config Configuration
	deps   Dependencies
	log    zerolog.Logger
	// sampledLog is for what may repeat per request (an engine outage).
	sampledLog zerolog.Logger
	catalog    *redis.Catalog
	server     *fasthttp.Server
	ln         net.Listener
	done       chan error
	stopping   atomic.Bool
	// conns and handling let Stop tell requests being answered (drained)
	// from connections still sending one (closed).
	conns    connSet
	handling atomic.Int64

	panics, serverErrors *metrics.Counter
	// postbackTests counts test postbacks fired; real deliveries are the
	// postback worker's clickrelay_postbacks_total, which tests never touch.
	postbackTests *metrics.Counter
	// redriven counts dead postback deliveries queued again.
	redriven   *metrics.Counter
	stats      *serverStats
	metricHelp promtext.Help
	// sealer signs and checks console sessions; it is derived from the
	// admin key's hash, which is fixed for the server's life.
	sealer console.Sealer
}

// New prepares the server; Start listens.
func New(deps Dependencies, config Configuration) (*Server, error) {
	if deps.Store == nil || deps.Clicks == nil || deps.Conversions == nil || deps.Warehouse == nil {
		return nil, errors.New("api: store, clicks, conversions and warehouse are required")
	}
	if deps.Metrics == nil {
		deps.Metrics = metrics.NewSet()
	}
	if config.Location == nil {
		config.Location = time.UTC
	}
	s := &Server{
		config:        config,
		deps:          deps,
		log:           deps.Logger.With().Str("component", "api").Logger(),
		sampledLog:    hotlog.Sampled(deps.Logger.With().Str("component", "api").Logger()),
		catalog:       deps.Store.Catalog(),
		panics:        deps.Metrics.NewCounter(`clickrelay_http_panics_total`),
		serverErrors:  deps.Metrics.NewCounter(`clickrelay_http_server_errors_total`),
		postbackTests: deps.Metrics.NewCounter(`clickrelay_postback_tests_total`),
		redriven:      deps.Metrics.NewCounter(`clickrelay_postback_redriven_total`),
		stats:         newServerStats(deps.Metrics),
		metricHelp:    promtext.Merge(promtext.RuntimeHelp(), MetricHelp(), deps.MetricHelp),
		sealer:        console.NewSealer(deps.AdminKeyHash),
	}
	s.server = &fasthttp.Server{
		Handler:               s.serve,
		ErrorHandler:          s.parseError,
		Name:                  "clickrelay",
		ReadTimeout:           config.ReadTimeout,
		WriteTimeout:          config.WriteTimeout,
		IdleTimeout:           config.IdleTimeout,
		MaxRequestBodySize:    config.MaxBodyBytes,
		ReadBufferSize:        16 << 10, // long tracking links fit
		CloseOnShutdown:       true,
		NoDefaultContentType:  true,
		NoDefaultServerHeader: false,
		Logger:                fasthttpLogger{s.log},
	}
	return s, nil
}

// Start listens on Addr and serves in the background. A listener that
// fails afterwards is reported to the Failer.
func (s *Server) Start(context.Context) error {
	ln, err := net.Listen("tcp", s.config.Addr)
	if err != nil {
		return fmt.Errorf("CLICKRELAY_ADDR: cannot listen on %s: %w", s.config.Addr, err)
	}
	s.conns.maxPerIP = s.config.MaxConnsPerIP
	s.ln = s.conns.listener(ln)
	s.done = make(chan error, 1)
	go func() {
		err := s.server.Serve(s.ln)
		if err != nil && !s.stopping.Load() {
			err = fmt.Errorf("the listener on %s failed: %w", ln.Addr(), err)
			if s.deps.Failer != nil {
				s.deps.Failer.Fail("http server", err)
			} else {
				s.log.Error().Err(err).Msg("no longer taking connections")
			}
		}
		s.done <- err
	}()
	s.log.Info().Str("addr", ln.Addr().String()).Msg("serving HTTP")
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// stopGrace is how long a stop lets a request already on the wire reach
// its handler before the connection is closed.
const stopGrace = 250 * time.Millisecond

// Stop stops accepting connections, lets the handlers under way finish, and
// closes every other connection: a client still sending its request (slow,
// or stalled on purpose) was promised nothing, and waiting for it would
// make ReadTimeout the length of every stop. When ctx ends first, the
// connections of the handlers still running are closed too, and the error
// says how many there were.
func (s *Server) Stop(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	s.stopping.Store(true)
	shutdown := make(chan error, 1)
	go func() { shutdown <- s.server.ShutdownWithContext(ctx) }()
	grace := time.Now().Add(stopGrace)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for {
		select {
		case err = <-shutdown:
			break wait
		case <-tick.C:
			if s.handling.Load() == 0 && time.Now().After(grace) {
				s.conns.closeAll()
			}
		case <-ctx.Done():
			running := s.handling.Load()
			closed := s.conns.closeAll()
			<-shutdown // it returns at once: ctx is done
			err = fmt.Errorf("%d requests still in their handlers at the deadline, %d connections closed: %w", running, closed, ctx.Err())
			break wait
		}
	}
	if serveErr := <-s.done; serveErr != nil && err == nil {
		err = serveErr
	}
	return err
}

// connSet is the server's open connections, and their count per client
// address for the per-IP cap. It wraps the listener rather than using
// fasthttp's ConnState hook and MaxConnsPerIP: fasthttp (v1.74) pools its
// per-IP connection wrappers and closes a connection twice on some paths,
// so under load a wrapper may be closed after it was handed to another
// client (a nil-pointer panic in SetReadDeadline, seen in a stop test).
type connSet struct {
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
	perIP map[netip.Addr]int
	// maxPerIP is the cap (0: none).
	maxPerIP int
}

// listener wraps ln so that every connection it accepts is tracked.
func (c *connSet) listener(ln net.Listener) net.Listener {
	return &trackedListener{Listener: ln, set: c}
}

// closeAll closes every open connection and returns how many there were.
func (c *connSet) closeAll() int {
	c.mu.Lock()
	conns := make([]*trackedConn, 0, len(c.conns))
	for conn := range c.conns {
		conns = append(conns, conn)
	}
	c.mu.Unlock()
	for _, conn := range conns {
		_ = conn.Close()
	}
	return len(conns)
}

// tooManyConns is the whole answer to a connection past the per-IP cap.
var tooManyConns = []byte("HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 46\r\n\r\n" +
	"Too many connections from your address; retry.")

type trackedListener struct {
	net.Listener
	set *connSet
}

func (l *trackedListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		var ip netip.Addr
		if a, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
			ip = a.AddrPort().Addr().Unmap()
		}
		t := &trackedConn{Conn: conn, set: l.set, ip: ip}
		l.set.mu.Lock()
		if l.set.maxPerIP > 0 && ip.IsValid() && l.set.perIP[ip] >= l.set.maxPerIP {
			l.set.mu.Unlock()
			// Answered and closed off the accept loop: a client that
			// does not read must not stall it.
			go func() {
				_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = conn.Write(tooManyConns)
				_ = conn.Close()
			}()
			continue
		}
		if l.set.conns == nil {
			l.set.conns, l.set.perIP = map[*trackedConn]struct{}{}, map[netip.Addr]int{}
		}
		l.set.conns[t] = struct{}{}
		if ip.IsValid() {
			l.set.perIP[ip]++
		}
		l.set.mu.Unlock()
		return t, nil
	}
}

type trackedConn struct {
	net.Conn
	set  *connSet
	ip   netip.Addr
	once sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.set.mu.Lock()
		delete(c.set.conns, c)
		if c.ip.IsValid() {
			if n := c.set.perIP[c.ip] - 1; n > 0 {
				c.set.perIP[c.ip] = n
			} else {
				delete(c.set.perIP, c.ip)
			}
		}
		c.set.mu.Unlock()
	})
	return err
}

var (
	clickPrefix     = []byte("/click")
	smartLinkPrefix = []byte("/s/")
)

// serve routes a request. The click path is tested first and alone: it is
// most of the traffic; a smart link's clicks come next.
func (s *Server) serve(ctx *fasthttp.RequestCtx) {
	s.handling.Add(1)
	defer s.handling.Add(-1)
	// Counted after recoverPanic has turned a panic into its 500.
	stats := &s.stats.other
	defer func() { stats.observe(ctx) }()
	defer s.recoverPanic(ctx)
	path := ctx.Path()
	if bytes.HasPrefix(path, clickPrefix) && (len(path) == len(clickPrefix) || path[len(clickPrefix)] == '/') {
		if !ctx.IsGet() {
			// Error resets the response, so Allow is set after it.
			ctx.Error("Method Not Allowed", fasthttp.StatusMethodNotAllowed)
			ctx.Response.Header.Set("Allow", "GET")
			return
		}
		stats = &s.stats.click
		s.deps.Clicks.Handle(ctx)
		return
	}
	if bytes.HasPrefix(path, smartLinkPrefix) {
		if !ctx.IsGet() {
			ctx.Error("Method Not Allowed", fasthttp.StatusMethodNotAllowed)
			ctx.Response.Header.Set("Allow", "GET")
			return
		}
		stats = &s.stats.smartLink
		s.deps.Clicks.HandleSmartLink(ctx)
		return
	}
	s.route(ctx, string(path), &stats)
	if ctx.Response.StatusCode() >= 500 {
		s.serverErrors.Inc()
	}
}

// fail answers an error in the envelope of the surface the path belongs to.
func (s *Server) fail(ctx *fasthttp.RequestCtx, status int, code, message string) {
	surfaceOf(string(ctx.Path())).fail(ctx, status, code, message)
}

func (s *Server) recoverPanic(ctx *fasthttp.RequestCtx) {
	if r := recover(); r != nil {
		s.panics.Inc()
		s.log.Error().Interface("panic", r).Bytes("path", ctx.Path()).Str("stack", string(debug.Stack())).Msg("handler panicked")
		ctx.Response.Reset()
		s.fail(ctx, fasthttp.StatusInternalServerError, "server_error", "An unexpected error occurred on the server.")
	}
}

// parseError answers requests fasthttp could not read.
func (s *Server) parseError(ctx *fasthttp.RequestCtx, err error) {
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		s.fail(ctx, fasthttp.StatusRequestEntityTooLarge, "payload_too_large",
			fmt.Sprintf("The request body exceeds %d bytes.", s.config.MaxBodyBytes))
	case isTimeout(err):
		s.fail(ctx, fasthttp.StatusRequestTimeout, "request_timeout", "The request was not received in time.")
	default:
		var small *fasthttp.ErrSmallBuffer
		if errors.As(err, &small) {
			s.fail(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, "headers_too_large", "The request line or headers are too large.")
			return
		}
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "The request could not be parsed.")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// requestContext bounds the storage calls of one API request.
func requestContext(ctx *fasthttp.RequestCtx) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

type fasthttpLogger struct{ log zerolog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) { l.log.Debug().Msgf(format, args...) }
