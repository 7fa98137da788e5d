package testkit

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// everything lets cmp look into unexported fields too: the values tests
// compare are their own package's.
var everything = cmp.Exporter(func(reflect.Type) bool { return true })

// Diff is how got differs from want, one line per field that differs
// (- want, + got), or "" when they are equal.
func Diff(want, got any) string { return cmp.Diff(want, got, everything) }

// Equal fails the test, showing what differs rather than both values
// whole, when got is not want. what names what is compared.
func Equal[T any](t testing.TB, what string, want, got T) {
	t.Helper()
	if d := Diff(want, got); d != "" {
		t.Fatalf("%s differs (-want +got):\n%s", what, d)
	}
}
