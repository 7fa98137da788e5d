package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/internal/contract"
)

var (
	contractOnce      sync.Once
	contractValidator *contract.Validator
	contractErr       error
)

// openAPIContract is the document, loaded and validated once per test binary.
func openAPIContract(t testing.TB) *contract.Validator {
	t.Helper()
	contractOnce.Do(func() { contractValidator, contractErr = contract.Load(OpenAPIDocument()) })
	if contractErr != nil {
		t.Fatal(contractErr)
	}
	return contractValidator
}

// Every answer do gets is checked against the document.
func init() {
	checkResponse = func(t testing.TB, method, uri string, headers map[string]string, body string, resp *fasthttp.Response) {
		t.Helper()
		v := openAPIContract(t)
		req, err := http.NewRequest(method, "http://clickrelay.test"+uri, strings.NewReader(body))
		if err != nil {
			t.Fatalf("%s %s: %v", method, uri, err)
		}
		for k, val := range headers {
			req.Header.Set(k, val)
		}
		header := http.Header{}
		for k, val := range resp.Header.All() {
			header.Add(string(k), string(val))
		}
		if err := v.CheckResponse(req, resp.StatusCode(), header, resp.Body()); err != nil {
			t.Error(err)
		}
	}
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	v := openAPIContract(t) // loads and runs doc.Validate
	if got := v.Doc.OpenAPI; !strings.HasPrefix(got, "3.1") {
		t.Fatalf("openapi = %q, want 3.1.x", got)
	}
	// Every operation that needs a key says how a missing one fails: a
	// document listing only 200s would let any error body pass.
	for path, item := range v.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			needsKey := op.Security == nil || len(*op.Security) > 0
			if needsKey && op.Responses.Status(401) == nil {
				t.Errorf("%s %s needs a key but documents no 401", method, path)
			}
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	cases := []struct {
		method     string
		status     int
		wantDoc    bool
		wantHeader string
	}{
		{"GET", 200, true, ""},
		{"HEAD", 200, false, ""},
		{"POST", 405, false, "GET, HEAD"},
	}
	for _, c := range cases {
		t.Run(c.method, func(t *testing.T) {
			resp := doRaw(s, c.method, "/openapi.json", nil, "")
			if resp.StatusCode() != c.status {
				t.Fatalf("%s /openapi.json: %d, want %d", c.method, resp.StatusCode(), c.status)
			}
			if c.wantHeader != "" && string(resp.Header.Peek("Allow")) != c.wantHeader {
				t.Errorf("Allow = %q, want %q", resp.Header.Peek("Allow"), c.wantHeader)
			}
			if !c.wantDoc {
				return
			}
			if ct := string(resp.Header.ContentType()); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if !bytes.Equal(resp.Body(), OpenAPIDocument()) {
				t.Error("the served document differs from api/openapi.json")
			}
			var doc struct {
				OpenAPI string         `json:"openapi"`
				Paths   map[string]any `json:"paths"`
			}
			if err := json.Unmarshal(resp.Body(), &doc); err != nil || doc.OpenAPI == "" || doc.Paths["/openapi.json"] == nil {
				t.Fatalf("not the OpenAPI document: %v %.100s", err, resp.Body())
			}
		})
	}
	// The checked helper accepts it too: the document describes itself.
	do(s, "GET", "/openapi.json", nil, "")
}

func TestRoutesAreDocumented(t *testing.T) {
	v := openAPIContract(t)
	routed := map[string]bool{}
	for _, r := range Routes() {
		routed[r.Method+" "+r.Path] = true
		if !v.HasOperation(r.Method, r.Path) {
			t.Errorf("%s %s is served but not in api/openapi.json", r.Method, r.Path)
		}
	}
	// And the other way: nothing documented that the router lacks.
	var pending []string
	for path, item := range v.Doc.Paths.Map() {
		for method := range item.Operations() {
			if !routed[method+" "+path] {
				pending = append(pending, method+" "+path)
			}
		}
	}
	slices.Sort(pending)
	for _, p := range pending {
		t.Errorf("%s is in api/openapi.json but the server does not route it", p)
	}
}

// fillParams replaces each {param} of a template with a value no entity has.
func fillParams(template string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(template, '{')
		if open < 0 {
			b.WriteString(template)
			return b.String()
		}
		end := strings.IndexByte(template[open:], '}')
		b.WriteString(template[:open])
		b.WriteString("no-such-" + template[open+1:open+end])
		template = template[open+end+1:]
	}
}

// The prefixes whose router has a fallback answer for a path no route has.
// /pb/ has none (every /pb/{anything} is an endpoint id), so its routes are
// compared with the root's fallback.
var surfacePrefixes = []string{"/v2/", "/api/v1/", "/v1/networks/", "/v1/", "/"}

func TestRoutesAreServed(t *testing.T) {
	s, _, _ := newTestServer(t, nil)
	admin := map[string]string{"Authorization": "Bearer " + testAdminKey}
	for _, r := range Routes() {
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			uri := fillParams(r.Path)
			// The admin key opens the admin and report routers (which check
			// it before routing); other surfaces answer an unknown key with
			// 401 from a real handler, before any lookup.
			headers := map[string]string{}
			if strings.HasPrefix(uri, "/v2/") || strings.HasPrefix(uri, "/v1/networks/") {
				headers = admin
			}
			body := ""
			if r.Method == "POST" || r.Method == "PATCH" {
				body = "{}" // creates nothing: every create needs fields
			}
			resp := do(s, r.Method, uri, headers, body)
			if resp.StatusCode() == fasthttp.StatusMethodNotAllowed {
				t.Fatalf("%s %s answered 405 (Allow: %s): the router does not serve this method", r.Method, uri, resp.Header.Peek("Allow"))
			}
			var prefix string
			for _, p := range surfacePrefixes {
				if strings.HasPrefix(uri, p) {
					prefix = p
					break
				}
			}
			unknown := doRaw(s, r.Method, prefix+"no/such/route/here", headers, body)
			if resp.StatusCode() == unknown.StatusCode() && bytes.Equal(resp.Body(), unknown.Body()) {
				t.Fatalf("%s %s answered %d %s, the same as a path no route has: the route is not served",
					r.Method, uri, resp.StatusCode(), resp.Body())
			}
		})
	}
}

// A route the document lacks, or an answer it does not describe, fails the
// check do runs: the check must not be a no-op.
func TestContractCheckRejects(t *testing.T) {
	v := openAPIContract(t)
	cases := []struct {
		name, method, uri string
		status            int
		contentType, body string
		want              string
		allow             string
	}{
		{"405 allowing an undocumented method", "PUT", "/v2/offers/1", 405, "application/json", `{"success":false,"error":{"code":"method_not_allowed","message":"x"}}`, "DELETE is not documented", "GET, PATCH, DELETE"},
		{"405 in another surface's envelope", "PUT", "/v1/stats", 405, "application/json", `{"success":false,"error":{"code":"method_not_allowed","message":"x"}}`, "does not validate", "GET"},
		{"undocumented path", "GET", "/v2/nothing-here", 404, "application/json", `{"success":false,"error":{"code":"not_found","message":"x"}}`, "no such operation", ""},
		{"undocumented status", "GET", "/health", 418, "application/json", `{}`, "status is not supported", ""},
		{"wrong envelope", "POST", "/v2/offers", 400, "application/json", `{"error":{"code":"BAD","message":"x","status":400}}`, "does not validate", ""},
		{"wrong type", "GET", "/health", 200, "application/json", `{"status":"ok","timestamp":"now"}`, "does not validate", ""},
		{"missing required field", "POST", "/v1/postbacks", 200, "application/json", `{"status":"active","created_at":"x","url":"u","event":"conversion"}`, "does not validate", ""},
		{"a conversion's answer with an event's fields", "GET", "/pb/ep_1", 200, "application/json", `{"success":true,"data":{"tracked":true,"conversionId":"conv_1","status":"pending","currency":"USD","event_id":"evt_1","reason":null}}`, "does not validate", ""},
		{"a tracked answer with not-tracked fields", "POST", "/api/v1/conversions", 200, "application/json", `{"success":true,"tracked":true,"data":{"tracked":true,"conversionId":"conv_1","status":"pending","currency":"USD"}}`, "does not validate", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, "http://clickrelay.test"+c.uri, nil)
			header := http.Header{"Content-Type": {c.contentType}}
			if c.allow != "" {
				header.Set("Allow", c.allow)
			}
			err := v.CheckResponse(req, c.status, header, []byte(c.body))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error saying %q", err, c.want)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(c.status)) || !strings.Contains(err.Error(), c.uri) {
				t.Errorf("the error does not name the exchange: %v", err)
			}
		})
	}
}

// The console's tests check every field it reads against the document
// (contract.Declares): a field is declared only where the answer's schema
// names it, through $ref and allOf, item by item in arrays.
func TestOpenAPIDeclaresTheFieldsItNames(t *testing.T) {
	v := openAPIContract(t)
	cases := []struct {
		method, path string
		status       int
		field        string
		declared     bool
	}{
		{"GET", "/v2/stats", 200, "rows.[].offer", true},
		{"GET", "/v2/stats", 200, "rows.[].offer_name", true},
		{"GET", "/v2/stats", 200, "rows.[].offer_id", false}, // what the console once read
		{"GET", "/v2/stats", 200, "totals.clicks", true},
		{"GET", "/v2/conversions/conv_1", 200, "conversion.previous_status", true},
		{"PATCH", "/v2/conversions/conv_1", 200, "conversion.clicked_at", true},
		{"GET", "/v2/conversions", 200, "conversions.[].country", true},
		{"GET", "/v2/conversions", 200, "conversions.[].conversion_id", false},
		{"GET", "/v2/postbacks/pb_1", 200, "postback.affiliate_id", true}, // allOf
		{"GET", "/v2/postbacks/pb_1", 200, "postback.url", true},
		{"GET", "/v2/stats", 400, "error.message", true},
		{"GET", "/v2/stats", 200, "rows.offer", false}, // an array is read item by item
		{"GET", "/v2/nowhere", 200, "rows", false},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, "http://clickrelay.test"+c.path, nil)
		err := v.Declares(req, c.status, strings.Split(c.field, "."))
		if (err == nil) != c.declared {
			t.Errorf("%s %s %d %s: declared %v (%v), want %v", c.method, c.path, c.status, c.field, err == nil, err, c.declared)
		}
	}
}
