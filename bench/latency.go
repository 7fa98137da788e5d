package main

import (
	"math"
	"slices"
	"time"
)

// latencies collects durations and answers percentiles exactly (the runs
// are short enough to keep every sample).
type latencies []time.Duration

func (l latencies) percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	// The nearest-rank index; the small epsilon keeps 99.9% of 1000 at 999
	// despite floating point.
	i := int(math.Ceil(p/100*float64(len(s))-1e-9)) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// summary is what a report shows of a latency distribution.
type summary struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Millisecond)*1000) / 1000 }

func (l latencies) summary() summary {
	return summary{Count: len(l), P50: ms(l.percentile(50)), P99: ms(l.percentile(99)), P999: ms(l.percentile(99.9)), Max: ms(l.percentile(100))}
}
