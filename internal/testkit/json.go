package testkit

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"testing"
)

// JSONValue is a JSON document, or a part of one, read field by field: a
// field that is missing or of another type fails the test, naming its
// path and the whole document, where a type assertion on a decoded
// map[string]any would panic.
type JSONValue struct {
	t    testing.TB
	doc  string // the whole document, for failures
	path string // how v was reached: data.conversions[0].status
	v    any
}

// JSON decodes body, failing the test when it is not JSON.
func JSON[B ~string | ~[]byte](t testing.TB, body B) JSONValue {
	t.Helper()
	j := JSONValue{t: t, doc: string(body)}
	if err := json.Unmarshal([]byte(body), &j.v); err != nil {
		t.Fatalf("not JSON (%v): %q", err, j.doc)
	}
	return j
}

// Get returns the value at path below j: a string steps into an object's
// field, an int into an array's element. A step that is not there fails
// the test.
func (j JSONValue) Get(path ...any) JSONValue {
	j.t.Helper()
	got, ok, why := j.lookup(path)
	if !ok {
		j.t.Fatalf("JSON %s: %s, in %s", got.where(), why, j.doc)
	}
	return got
}

// Lookup is Get for a value that may be missing: it reports whether it is
// there, and fails the test only when a step is of another type (a field
// of a string, say).
func (j JSONValue) Lookup(path ...any) (JSONValue, bool) {
	j.t.Helper()
	got, ok, why := j.lookup(path)
	if !ok && why != "missing" {
		j.t.Fatalf("JSON %s: %s, in %s", got.where(), why, j.doc)
	}
	return got, ok
}

// Has reports whether the value at path is there (null counts as there).
func (j JSONValue) Has(path ...any) bool {
	j.t.Helper()
	_, ok := j.Lookup(path...)
	return ok
}

func (j JSONValue) lookup(path []any) (JSONValue, bool, string) {
	cur := j
	for _, step := range path {
		next := cur
		switch s := step.(type) {
		case string:
			next.path = cur.path + "." + s
			obj, ok := cur.v.(map[string]any)
			if !ok {
				return next, false, "not in an object but " + kind(cur.v) + " " + cur.where()
			}
			v, ok := obj[s]
			if !ok {
				return next, false, "missing"
			}
			next.v = v
		case int:
			next.path = cur.path + "[" + strconv.Itoa(s) + "]"
			arr, ok := cur.v.([]any)
			if !ok {
				return next, false, "not in an array but " + kind(cur.v) + " " + cur.where()
			}
			if s < 0 || s >= len(arr) {
				return next, false, "missing"
			}
			next.v = arr[s]
		default:
			panic(fmt.Sprintf("testkit: JSON path step %v (%T): want a string or an int", step, step))
		}
		cur = next
	}
	return cur, true, ""
}

// where names j's path, "the document" for the whole.
func (j JSONValue) where() string {
	if j.path == "" {
		return "the document"
	}
	return j.path[min(1, len(j.path)):]
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func (j JSONValue) wrongType(want string) {
	j.t.Helper()
	j.t.Fatalf("JSON %s is %s %s, want %s, in %s", j.where(), kind(j.v), j.Text(), want, j.doc)
}

// String returns a string value, failing the test for any other type.
func (j JSONValue) String() string {
	j.t.Helper()
	s, ok := j.v.(string)
	if !ok {
		j.wrongType("a string")
	}
	return s
}

// Float returns a number.
func (j JSONValue) Float() float64 {
	j.t.Helper()
	f, ok := j.v.(float64)
	if !ok {
		j.wrongType("a number")
	}
	return f
}

// Int returns a whole number.
func (j JSONValue) Int() int {
	j.t.Helper()
	f, ok := j.v.(float64)
	if !ok || f != math.Trunc(f) {
		j.wrongType("a whole number")
	}
	return int(f)
}

// Bool returns a boolean.
func (j JSONValue) Bool() bool {
	j.t.Helper()
	b, ok := j.v.(bool)
	if !ok {
		j.wrongType("a boolean")
	}
	return b
}

// IsNull reports whether the value is null.
func (j JSONValue) IsNull() bool { return j.v == nil }

// Len is an array's length or an object's count of fields.
func (j JSONValue) Len() int {
	j.t.Helper()
	switch v := j.v.(type) {
	case []any:
		return len(v)
	case map[string]any:
		return len(v)
	}
	j.wrongType("an array or an object")
	return 0
}

// Items returns an array's elements.
func (j JSONValue) Items() []JSONValue {
	j.t.Helper()
	arr, ok := j.v.([]any)
	if !ok {
		j.wrongType("an array")
	}
	items := make([]JSONValue, len(arr))
	for i := range arr {
		items[i] = j.Get(i)
	}
	return items
}

// Value is the decoded value itself: map[string]any, []any, string,
// float64, bool or nil.
func (j JSONValue) Value() any { return j.v }

// Text is the value as JSON.
func (j JSONValue) Text() string {
	b, err := json.Marshal(j.v)
	if err != nil {
		return fmt.Sprint(j.v)
	}
	return string(b)
}

// Format prints the value as JSON (with %v and the like), so that a
// JSONValue in a failure message shows what it holds; String is the
// accessor of a string value, not how it prints.
func (j JSONValue) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", j.Text())
		return
	}
	_, _ = io.WriteString(f, j.Text())
}
