//go:build !release

// Test helpers of this package, for its tests and other packages'; left
// out of release builds (go build -tags release), as the binary needs none.

package api

import (
	"context"
	"crypto/sha256"
	"net"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/ingest"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// fakeConverter answers conversions and events from functions.
type fakeConverter struct {
	convert func(ingest.Scope, ingest.Request) (ingest.Result, error)
}

func (f *fakeConverter) Convert(_ context.Context, scope ingest.Scope, req ingest.Request) (ingest.Result, error) {
	return f.convert(scope, req)
}

func (f *fakeConverter) Event(context.Context, ingest.Scope, ingest.EventRequest) (*model.Event, error) {
	return &model.Event{ID: "evt_test"}, nil
}

// fakeWarehouse records the queries it is asked (the live overview asks
// several at once).
type fakeWarehouse struct {
	mu    sync.Mutex
	stats []clickhouse.StatsQuery
	// statsErr is what Stats answers, nil by default.
	statsErr error
}

func (w *fakeWarehouse) Stats(_ context.Context, q clickhouse.StatsQuery) ([]clickhouse.StatsRow, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stats = append(w.stats, q)
	return nil, w.statsErr
}

func (w *fakeWarehouse) Conversions(context.Context, clickhouse.ConversionQuery) ([]model.Conversion, error) {
	return nil, nil
}

func (w *fakeWarehouse) CTIT(context.Context, clickhouse.CTITQuery) ([]clickhouse.CTITBucket, error) {
	return make([]clickhouse.CTITBucket, len(clickhouse.CTITBounds)+1), nil
}

func (w *fakeWarehouse) CountConversions(context.Context, clickhouse.ConversionQuery) (uint64, error) {
	return 0, nil
}

func (w *fakeWarehouse) PostbackReport(context.Context, clickhouse.PostbackQuery, func(*clickhouse.PostbackRow) error) error {
	return nil
}

type noClicks struct{}

// Handle answers as the tracker does for a known offer: 302 with a Location.
func (noClicks) Handle(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("Location", "https://landing.example/?click_id=test")
	ctx.SetStatusCode(fasthttp.StatusFound)
}

// HandleSmartLink answers as the tracker does for a known smart link.
func (noClicks) HandleSmartLink(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("Location", "https://landing.example/?click_id=smart")
	ctx.SetStatusCode(fasthttp.StatusFound)
}

const testAdminKey = "test-admin-key-0123456789"

// newTestServer is a server on the test Redis, not listening: requests go
// straight to its handler.
func newTestServer(t *testing.T, conv *fakeConverter) (*Server, *redis.Component, *fakeWarehouse) {
	t.Helper()
	return newTestServerOn(t, redis.NewForTest(t), conv, DefaultConfiguration())
}

// newTestServerOn is newTestServer on a given Redis (another server on the
// same one plays a second process) and configuration; it enforces rate
// limits.
func newTestServerOn(t *testing.T, rd *redis.Component, conv *fakeConverter, config Configuration) (*Server, *redis.Component, *fakeWarehouse) {
	t.Helper()
	wh := &fakeWarehouse{}
	if conv == nil {
		// No click is ever found: what a new network answers.
		conv = &fakeConverter{convert: func(ingest.Scope, ingest.Request) (ingest.Result, error) {
			return ingest.Result{}, &ingest.FieldError{Message: "Click not found"}
		}}
	}
	s, err := New(Dependencies{Logger: zerolog.Nop(), Store: rd, Clicks: noClicks{}, Conversions: conv, Warehouse: wh,
		AdminKeyHash: sha256.Sum256([]byte(testAdminKey)), Limiter: rd, SignedOut: rd}, config)
	if err != nil {
		t.Fatal(err)
	}
	testOf.Store(s, t)
	t.Cleanup(func() { testOf.Delete(s) })
	return s, rd, wh
}

// checkResponse, when set (openapi_test.go sets it), checks each answer do
// gets against the OpenAPI document and fails the test of the server.
var checkResponse func(t testing.TB, method, uri string, headers map[string]string, body string, resp *fasthttp.Response)

// testOf maps a test server to its test, so do can report on it without
// changing its signature.
var testOf sync.Map // *Server → testing.TB

// do runs one request through the server's handler, and checks the answer
// against the OpenAPI document.
func do(s *Server, method, uri string, headers map[string]string, body string) *fasthttp.Response {
	resp := doRaw(s, method, uri, headers, body)
	if t, ok := testOf.Load(s); ok && checkResponse != nil {
		checkResponse(t.(testing.TB), method, uri, headers, body, resp)
	}
	return resp
}

// doRaw runs one request through the server's handler, unchecked: for
// answers the document does not describe (paths that do not exist).
func doRaw(s *Server, method, uri string, headers map[string]string, body string) *fasthttp.Response {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.SetBodyString(body)
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, nil)
	s.serve(ctx)
	var resp fasthttp.Response
	ctx.Response.CopyTo(&resp)
	return &resp
}
