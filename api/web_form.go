package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/valyala/fasthttp"
)

// Reading the admin API's JSON bodies field by field.

// jsonFields decodes a JSON object body; ok is false (and the answer sent)
// when the body is not one.
func jsonFields(ctx *fasthttp.RequestCtx) (map[string]json.RawMessage, bool) {
	var fields map[string]json.RawMessage
	body := bytes.TrimSpace(ctx.PostBody())
	if len(body) == 0 {
		return map[string]json.RawMessage{}, true
	}
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		adminBadJSON(ctx)
		return nil, false
	}
	return fields, true
}

// form reads an admin JSON body field by field. The first bad field
// answers the request; later reads then return "" and failed stays true.
type form struct {
	ctx    *fasthttp.RequestCtx
	fields map[string]json.RawMessage
	failed bool
}

// readForm decodes the body; ok is false (and the answer sent) when it is
// not a JSON object.
func readForm(ctx *fasthttp.RequestCtx) (*form, bool) {
	fields, ok := jsonFields(ctx)
	return &form{ctx: ctx, fields: fields}, ok
}

// str reads an optional string field of at most maxLen bytes, trimmed.
func (f *form) str(name string, maxLen int) string {
	raw, present := f.fields[name]
	if f.failed || !present {
		return ""
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		f.fail("invalid_"+name, name+" must be a string.")
		return ""
	}
	if len(v) > maxLen {
		f.fail("invalid_"+name, fmt.Sprintf("%s must be at most %d characters.", name, maxLen))
		return ""
	}
	return strings.TrimSpace(v)
}

// fail answers a refused field, once.
func (f *form) fail(code, message string) {
	if !f.failed {
		f.failed = true
		envelopeError(f.ctx, fasthttp.StatusBadRequest, code, message)
	}
}
