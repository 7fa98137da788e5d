package loadgen

import (
	"testing"
	"time"
)

// A stat line's utime and stime, after a command name with spaces and
// parentheses of its own.
func TestParseStatCPU(t *testing.T) {
	for _, c := range []struct {
		line string
		want time.Duration
		bad  bool
	}{
		{"4242 (clickhouse-serv) S 1 4242 4242 0 -1 4194560 1 0 0 0 250 75 0 0 30 10 40 0 1 0", 3250 * time.Millisecond, false},
		{"7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0", 30 * time.Millisecond, false},
		{"7 (short) R 1 7", 0, true},
		{"no name at all", 0, true},
	} {
		got, err := parseStatCPU(c.line)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("parseStatCPU(%q) = %v, %v; want %v (error: %v)", c.line, got, err, c.want, c.bad)
		}
	}
}
