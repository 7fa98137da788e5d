// Package promtext is clickrelay's side of the Prometheus text exposition:
// standard histograms (le buckets, which histogram_quantile reads, where
// VictoriaMetrics/metrics v1.35 only has vmrange buckets) and the HELP
// sentences every metric family is exposed with.
package promtext

import (
	"io"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Bucket sets, in the metric's unit (seconds, or items for sizes), chosen
// for what each measures.
var (
	// RequestSeconds spans one HTTP request's handling, from a click
	// (tens of microseconds, so the low buckets are fine) to a slow
	// ClickHouse report (the request context ends at 30 s). One set for
	// every route, so that routes can be summed.
	RequestSeconds = []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	// OutboundSeconds spans an outbound HTTP request up to a long
	// timeout (postbacks: 5 s by default).
	OutboundSeconds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	// FlushSeconds spans one batch insert or write to a store.
	FlushSeconds = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	// BatchSizes spans a batch's item count up to the largest batches.
	BatchSizes = []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000}
)

// HistogramFamily is one histogram metric family, its series told apart by
// labels fixed when each is created. It writes itself into the Set it was
// made in, HELP and TYPE lines first.
type HistogramFamily struct {
	name   string
	bounds []float64
	mu     sync.Mutex
	series []*Histogram
}

// NewHistogramFamily registers the family name (no labels) in set with the
// given upper bounds, ascending; +Inf is added.
func NewHistogramFamily(set *metrics.Set, name string, bounds []float64) *HistogramFamily {
	for i := 1; i < len(bounds); i++ {
		if !(bounds[i] > bounds[i-1]) {
			panic("promtext: " + name + ": bucket bounds must ascend")
		}
	}
	f := &HistogramFamily{name: name, bounds: bounds}
	set.RegisterMetricsWriter(f.write)
	return f
}

// NewHistogram registers an unlabelled histogram family and returns its
// one series.
func NewHistogram(set *metrics.Set, name string, bounds []float64) *Histogram {
	return NewHistogramFamily(set, name, bounds).With("")
}

// With returns a new series of the family with labels, written as they
// are inside the braces (`topic="clicks"`), or "" for none. Call it at
// setup, not per observation: each call adds a series.
func (f *HistogramFamily) With(labels string) *Histogram {
	h := &Histogram{labels: labels, bounds: f.bounds, counts: make([]atomic.Uint64, len(f.bounds)+1)}
	f.mu.Lock()
	f.series = append(f.series, h)
	f.mu.Unlock()
	return h
}

// Histogram is one series of a HistogramFamily. Update is lock-free and
// allocates nothing, so it may sit on the click path.
type Histogram struct {
	labels string
	bounds []float64
	// counts[i] is the observations in (bounds[i-1], bounds[i]];
	// the last one those above every bound.
	counts  []atomic.Uint64
	sumBits atomic.Uint64
}

// Update records one observation.
func (h *Histogram) Update(v float64) {
	// The first bound >= v (a bucket counts what is less or equal).
	lo, hi := 0, len(h.bounds)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if h.bounds[mid] < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	h.counts[lo].Add(1)
	for {
		old := h.sumBits.Load()
		if h.sumBits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// UpdateDuration records the seconds since start.
func (h *Histogram) UpdateDuration(start time.Time) { h.Update(time.Since(start).Seconds()) }

// Count is the observations so far.
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// Sum is the sum of the observations so far.
func (h *Histogram) Sum() float64 { return math.Float64frombits(h.sumBits.Load()) }

func (f *HistogramFamily) write(w io.Writer) {
	f.mu.Lock()
	series := append([]*Histogram(nil), f.series...)
	f.mu.Unlock()
	if len(series) == 0 {
		return
	}
	le := make([]string, len(f.bounds))
	for i, b := range f.bounds {
		le[i] = strconv.FormatFloat(b, 'g', -1, 64)
	}
	var b []byte
	b = append(b, "# HELP "+f.name+"\n# TYPE "+f.name+" histogram\n"...)
	for _, h := range series {
		sep := ""
		if h.labels != "" {
			sep = ","
		}
		var cum uint64
		for i := range h.counts {
			cum += h.counts[i].Load()
			bound := "+Inf"
			if i < len(le) {
				bound = le[i]
			}
			b = append(b, f.name+"_bucket{"+h.labels+sep+`le="`+bound+`"} `...)
			b = strconv.AppendUint(b, cum, 10)
			b = append(b, '\n')
		}
		// The sum is read after the buckets, so a concurrent Update may
		// show in it and not in _count: the same skew a scrape of any
		// client library may have.
		b = append(b, f.name+"_sum"...)
		if h.labels != "" {
			b = append(b, "{"+h.labels+"}"...)
		}
		b = append(b, ' ')
		b = strconv.AppendFloat(b, h.Sum(), 'g', -1, 64)
		b = append(b, '\n')
		b = append(b, f.name+"_count"...)
		if h.labels != "" {
			b = append(b, "{"+h.labels+"}"...)
		}
		b = append(b, ' ')
		b = strconv.AppendUint(b, cum, 10)
		b = append(b, '\n')
	}
	_, _ = w.Write(b)
}
