package api

import (
	_ "embed"

	"github.com/valyala/fasthttp"
)

// openAPIDocument is the contract of every surface this server answers:
// the integration tests validate each response they receive against it.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the OpenAPI 3.1 document served at /openapi.json.
func OpenAPIDocument() []byte { return openAPIDocument }

// openAPI serves the document, without auth: it describes the API, not any
// account's data.
func (s *Server) openAPI(ctx *fasthttp.RequestCtx) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/json")
	ctx.SetBody(openAPIDocument)
}
