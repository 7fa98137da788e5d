package promtext

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/VictoriaMetrics/metrics"
)

// Help maps a metric family's name to its HELP text: one sentence saying
// what it counts, for someone reading a dashboard, not the code.
//
// Each component keeps its own table beside its metrics (MetricHelp) and
// the binary merges them for /metrics. A family without an entry is
// exposed with an empty HELP, which promtool rejects, and Undocumented
// names it, so a metric added without its sentence fails the tests.
type Help map[string]string

// Merge joins tables into one. The same family described twice
// differently is a programming error, and panics.
func Merge(tables ...Help) Help {
	out := Help{}
	for _, t := range tables {
		for name, text := range t {
			if prev, ok := out[name]; ok && prev != text {
				panic(fmt.Sprintf("promtext: %s described twice: %q and %q", name, prev, text))
			}
			out[name] = text
		}
	}
	return out
}

// Expose writes every metric of set, then the Go runtime's and the
// process's, to w in the Prometheus text format, each family with HELP
// (from help) and TYPE lines.
func Expose(w io.Writer, set *metrics.Set, help Help) {
	// The library writes a TYPE line, and an empty HELP line this fills
	// in, only while metadata is on; it is a process-wide switch, and
	// nothing else in clickrelay writes the exposition.
	metrics.ExposeMetadata(true)
	var raw bytes.Buffer
	set.WritePrometheus(&raw)
	metrics.WriteProcessMetrics(&raw)
	bw := bufio.NewWriterSize(w, 32<<10)
	annotate(bw, raw.Bytes(), help)
	_ = bw.Flush()
}

var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

// annotate copies the exposition raw to w, giving HELP lines their text,
// and correcting or dropping the runtime families runtimeFixes names.
func annotate(w *bufio.Writer, raw []byte, help Help) {
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		if len(line) == 0 {
			continue
		}
		if rest, ok := bytes.CutPrefix(line, []byte("# HELP ")); ok {
			name, _, _ := strings.Cut(string(rest), " ")
			if runtimeFixes[name] == drop {
				continue
			}
			w.WriteString("# HELP " + name)
			if text := help[name]; text != "" {
				w.WriteString(" " + helpEscaper.Replace(text))
			}
			w.WriteByte('\n')
			continue
		}
		if rest, ok := bytes.CutPrefix(line, []byte("# TYPE ")); ok {
			name, typ, _ := strings.Cut(string(rest), " ")
			switch fix := runtimeFixes[name]; fix {
			case drop:
				continue
			case "":
			default:
				typ = fix
			}
			w.WriteString("# TYPE " + name + " " + typ + "\n")
			continue
		}
		if line[0] != '#' && runtimeFixes[string(sampleName(line))] == drop {
			continue
		}
		w.Write(line)
		w.WriteByte('\n')
	}
}

func sampleName(line []byte) []byte {
	if i := bytes.IndexAny(line, "{ "); i >= 0 {
		return line[:i]
	}
	return line
}

const drop = "drop"

// runtimeFixes are VictoriaMetrics/metrics' own runtime families that
// promtool's lint rejects: counters it types as gauges (its I/O totals,
// which only grow), and counts named _count outside a histogram, which a
// query would take for a histogram's. Those three are dropped: cgo calls
// and forced collections say little about clickrelay, and go_gomaxprocs
// tells the CPUs Go uses.
var runtimeFixes = map[string]string{
	"process_io_read_bytes_total":            "counter",
	"process_io_written_bytes_total":         "counter",
	"process_io_read_syscalls_total":         "counter",
	"process_io_write_syscalls_total":        "counter",
	"process_io_storage_read_bytes_total":    "counter",
	"process_io_storage_written_bytes_total": "counter",
	"go_cgo_calls_count":                     drop,
	"go_gc_forced_count":                     drop,
	"go_cpu_count":                           drop,
}

// Undocumented returns the families of an exposition whose HELP line has
// no text, sorted.
func Undocumented(exposition []byte) []string {
	var out []string
	for _, line := range strings.Split(string(exposition), "\n") {
		rest, ok := strings.CutPrefix(line, "# HELP ")
		if !ok {
			continue
		}
		if name, text, _ := strings.Cut(rest, " "); strings.TrimSpace(text) == "" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
