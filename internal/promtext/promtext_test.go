package promtext

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"

	"github.com/clickrelay/clickrelay/internal/testenv"
)

func TestHistogramBuckets(t *testing.T) {
	set := metrics.NewSet()
	h := NewHistogram(set, "x_seconds", []float64{0.1, 1, 10})
	for _, v := range []float64{0.05, 0.1, 0.5, 1, 5, 100} {
		h.Update(v)
	}
	var b bytes.Buffer
	set.WritePrometheus(&b)
	for _, want := range []string{
		`x_seconds_bucket{le="0.1"} 2`, // a bucket counts what is equal to its bound
		`x_seconds_bucket{le="1"} 4`,
		`x_seconds_bucket{le="10"} 5`,
		`x_seconds_bucket{le="+Inf"} 6`,
		`x_seconds_sum 106.65`,
		`x_seconds_count 6`,
	} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
	if h.Count() != 6 {
		t.Errorf("Count %d", h.Count())
	}
}

func TestHistogramUpdateAllocatesNothing(t *testing.T) {
	h := NewHistogram(metrics.NewSet(), "x_seconds", RequestSeconds)
	if n := testing.AllocsPerRun(1000, func() { h.Update(0.0003) }); n != 0 {
		t.Errorf("Update allocates %v times", n)
	}
}

func BenchmarkHistogramUpdate(b *testing.B) {
	h := NewHistogram(metrics.NewSet(), "x_seconds", RequestSeconds)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Update(0.0003)
		}
	})
}

func exposition(t *testing.T, help Help) []byte {
	t.Helper()
	set := metrics.NewSet()
	set.NewCounter(`a_total{k="1"}`).Inc()
	set.NewCounter(`a_total{k="2"}`).Inc()
	set.NewGauge(`b_depth`, func() float64 { return 3 })
	f := NewHistogramFamily(set, "c_seconds", FlushSeconds)
	f.With(`topic="one"`).Update(0.2)
	f.With(`topic="two"`).Update(2)
	var b bytes.Buffer
	Expose(&b, set, help)
	return b.Bytes()
}

func testHelp() Help {
	return Merge(RuntimeHelp(), Help{
		"a_total":   "As counted.",
		"b_depth":   "Bs waiting.",
		"c_seconds": "Time a C takes,\nwith a \\ in it.",
	})
}

func TestExposeDescribesEveryFamily(t *testing.T) {
	b := exposition(t, testHelp())
	if u := Undocumented(b); len(u) != 0 {
		t.Errorf("undocumented: %v", u)
	}
	for _, want := range []string{
		"# HELP a_total As counted.\n# TYPE a_total counter\na_total{k=\"1\"} 1\na_total{k=\"2\"} 1\n",
		"# HELP c_seconds Time a C takes,\\nwith a \\\\ in it.\n# TYPE c_seconds histogram\n",
		"# TYPE process_io_read_bytes_total counter\n",
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("missing %q in\n%s", want, b)
		}
	}
	if bytes.Contains(b, []byte("go_cgo_calls_count")) {
		t.Error("go_cgo_calls_count is exposed")
	}
}

func TestUndocumentedNamesAFamilyWithoutHelp(t *testing.T) {
	help := testHelp()
	delete(help, "b_depth")
	if u := Undocumented(exposition(t, help)); len(u) != 1 || u[0] != "b_depth" {
		t.Errorf("undocumented: %v, want [b_depth]", u)
	}
}

func TestMergePanicsOnAConflict(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	Merge(Help{"a": "one"}, Help{"a": "two"})
}

// TestPromtoolAcceptsTheExposition runs Prometheus' own linter when it is
// installed; the stack test in cmd/clickrelay checks a real /metrics.
func TestPromtoolAcceptsTheExposition(t *testing.T) {
	cmd := exec.Command(testenv.Promtool(t), "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition(t, testHelp()))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
