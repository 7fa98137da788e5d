// Package contract checks HTTP exchanges against clickrelay's OpenAPI
// document (api/openapi.json) with kin-openapi. Only tests import it: the
// server itself never links the validator.
//
// It takes the document's bytes rather than importing package api, so that
// package api's own tests can use it without an import cycle.
package contract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Validator holds a loaded, valid document and a router over its paths.
type Validator struct {
	Doc    *openapi3.T
	router routers.Router
}

// Load parses the document, checks it is a valid OpenAPI document
// (doc.Validate) and builds a router over its paths.
func Load(document []byte) (*Validator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(document)
	if err != nil {
		return nil, fmt.Errorf("openapi.json does not load: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
	}
	router, err := legacy.NewRouter(sameOrigin(doc))
	if err != nil {
		return nil, fmt.Errorf("openapi.json: cannot route its paths: %w", err)
	}
	return &Validator{Doc: doc, router: router}, nil
}

// sameOrigin is doc as the router matches requests against it. The
// document's one server is "/": relative to where the document is served,
// the server under test, whatever its address. That is what a document
// without servers means too, and kin-openapi's router matches a server's
// URL against the request's absolute URL, so it routes on a copy without
// them. Any other server list is kept, and routes as kin-openapi does.
func sameOrigin(doc *openapi3.T) *openapi3.T {
	for _, s := range doc.Servers {
		if s == nil || s.URL != "/" {
			return doc
		}
	}
	routed := *doc
	routed.Servers = nil
	return &routed
}

// maxExcerpt bounds the body quoted in an error.
const maxExcerpt = 400

// CheckResponse validates one exchange: the request's method and path must
// be an operation of the document, and the response's status, headers and
// body must be one the operation documents. Requests are not validated:
// tests send malformed ones on purpose, and what the server answers them is
// what the document must describe.
func (v *Validator) CheckResponse(req *http.Request, status int, header http.Header, body []byte) error {
	route, pathParams, err := v.router.FindRoute(req)
	if err != nil && status == http.StatusMethodNotAllowed {
		route, pathParams, err = v.methodNotAllowed(req, header)
	}
	if err != nil {
		return fmt.Errorf("%s %s answered %d, but the OpenAPI document has no such operation (%w); body: %s",
			req.Method, req.URL.RequestURI(), status, err, excerpt(body))
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route},
		Status:                 status,
		Header:                 header,
		// An undocumented status is a failure, not a pass.
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	input.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return fmt.Errorf("%s %s answered %d (Content-Type %q), which does not validate against the OpenAPI document: %s; body: %s",
			req.Method, req.URL.RequestURI(), status, header.Get("Content-Type"), describe(err), excerpt(body))
	}
	return nil
}

// routeMethods are the methods tried to find a documented path for a 405.
var routeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete}

// methodNotAllowed finds the route a 405 is checked against: a method not
// served on a documented path has no operation, so its answer is checked
// against the 405 an operation of that path documents (each surface's 405
// is the same envelope). Allow must list only documented methods (HEAD is
// implied by GET).
func (v *Validator) methodNotAllowed(req *http.Request, header http.Header) (*routers.Route, map[string]string, error) {
	for _, m := range routeMethods {
		other := req.Clone(req.Context())
		other.Method = m
		route, pathParams, err := v.router.FindRoute(other)
		if err != nil {
			continue
		}
		for _, allowed := range strings.Split(header.Get("Allow"), ",") {
			allowed = strings.TrimSpace(allowed)
			if allowed == "" || allowed == http.MethodHead && route.PathItem.Get != nil {
				continue
			}
			if route.PathItem.GetOperation(allowed) == nil {
				return nil, nil, fmt.Errorf("405 with Allow %q, but %s is not documented on %s", header.Get("Allow"), allowed, route.Path)
			}
		}
		return route, pathParams, nil
	}
	return nil, nil, errors.New("no documented path matches")
}

// HasOperation reports whether the document has method on the path
// template (e.g. "/v2/offers/{id}").
func (v *Validator) HasOperation(method, template string) bool {
	item := v.Doc.Paths.Find(template)
	return item != nil && item.GetOperation(strings.ToUpper(method)) != nil
}

// Declares reports whether the document's answer to req with status
// declares the field at path in its JSON body: each step a property
// name, "[]" for an array's items. A property must be listed by name (in
// the object or a branch of its allOf, anyOf or oneOf); only an object
// with no listed properties at all, a map, declares any name its
// additionalProperties allow. The console's tests check with it that
// every field the console reads is one its API answers.
func (v *Validator) Declares(req *http.Request, status int, path []string) error {
	route, _, err := v.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("%s %s: no such operation in the OpenAPI document (%w)", req.Method, req.URL.Path, err)
	}
	ref := route.Operation.Responses.Status(status)
	if ref == nil {
		ref = route.Operation.Responses.Default()
	}
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("%s %s documents no %d answer", req.Method, route.Path, status)
	}
	media := ref.Value.Content.Get("application/json")
	if media == nil || media.Schema == nil {
		return fmt.Errorf("%s %s's %d answer has no JSON body", req.Method, route.Path, status)
	}
	schemas := []*openapi3.Schema{media.Schema.Value}
	for i, step := range path {
		schemas = declared(schemas, step)
		if len(schemas) == 0 {
			return fmt.Errorf("%s %s's %d answer does not declare %s", req.Method, route.Path, status, strings.Join(path[:i+1], "."))
		}
	}
	return nil
}

// declared is what step names under any of schemas: their item schemas
// for "[]", else the property's.
func declared(schemas []*openapi3.Schema, step string) []*openapi3.Schema {
	var out []*openapi3.Schema
	for _, s := range schemas {
		if s == nil {
			continue
		}
		for _, branches := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
			for _, b := range branches {
				out = append(out, declared([]*openapi3.Schema{b.Value}, step)...)
			}
		}
		switch {
		case step == "[]":
			if s.Items != nil {
				out = append(out, s.Items.Value)
			}
		case s.Properties[step] != nil:
			out = append(out, s.Properties[step].Value)
		case len(s.Properties) == 0 && s.AdditionalProperties.Schema != nil:
			out = append(out, s.AdditionalProperties.Schema.Value)
		}
	}
	return out
}

// describe flattens kin-openapi's nested errors into one readable line.
func describe(err error) string {
	var multi openapi3.MultiError
	if errors.As(err, &multi) {
		parts := make([]string, 0, len(multi))
		for _, e := range multi {
			parts = append(parts, describe(e))
		}
		return strings.Join(parts, " | ")
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

func excerpt(body []byte) string {
	if len(body) > maxExcerpt {
		return fmt.Sprintf("%q...", body[:maxExcerpt])
	}
	return fmt.Sprintf("%q", body)
}

// ReadBody reads and closes a response body, leaving a copy in its place
// so the caller can still read it.
func ReadBody(resp *http.Response) ([]byte, error) {
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	return raw, err
}
