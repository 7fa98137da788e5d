package loadgen

import (
	"testing"
	"time"
)

// A stat line's minflt, utime and stime, after a command name with spaces
// and parentheses of its own.
func TestParseStat(t *testing.T) {
	for _, c := range []struct {
		line string
		want ProcessUsage
		bad  bool
	}{
		{"4242 (clickhouse-serv) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 30 10 40 0 1 0", ProcessUsage{CPU: 3250 * time.Millisecond, PageFaults: 1234}, false},
		{"7 (a (b) c) R 1 7 7 0 -1 0 5 0 0 0 1 2 0 0", ProcessUsage{CPU: 30 * time.Millisecond, PageFaults: 5}, false},
		{"7 (short) R 1 7", ProcessUsage{}, true},
		{"7 (bad) R 1 7 7 0 -1 0 x 0 0 0 1 2 0 0", ProcessUsage{}, true},
		{"no name at all", ProcessUsage{}, true},
	} {
		got, err := parseStat(c.line)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v (error: %v)", c.line, got, err, c.want, c.bad)
		}
	}
}

// The aggregate cpu line: busy leaves out idle (4th) and iowait (5th) and
// holds steal (8th), and guest time, already in user, is not counted twice.
func TestParseMachineCPU(t *testing.T) {
	for _, c := range []struct {
		stat string
		want MachineTimes
		bad  bool
	}{
		{"cpu  100 5 50 800 20 3 2 1 40 0\ncpu0 50 2 25 400 10 1 1 0 20 0\n", MachineTimes{Busy: 161, Steal: 1, Total: 981}, false},
		{"cpu  1 2 3 4 5 6 7 8", MachineTimes{Busy: 27, Steal: 8, Total: 36}, false},
		{"cpu0 1 2 3 4 5 6 7 8\n", MachineTimes{}, true},
		{"cpu  1 2 3", MachineTimes{}, true},
		{"cpu  1 2 x 4 5 6 7 8", MachineTimes{}, true},
	} {
		got, err := parseMachineCPU(c.stat)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("parseMachineCPU(%q) = %+v, %v; want %+v (error: %v)", c.stat, got, err, c.want, c.bad)
		}
	}
}
