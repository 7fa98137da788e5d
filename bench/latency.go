package main

import (
	"math"
	"slices"
	"time"
)

// latencies collects durations and answers percentiles exactly (the runs
// are short enough to keep every sample).
type latencies []time.Duration

// percentile returns the p-th percentile of sorted samples s.
func percentile(s []time.Duration, p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
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
	s := slices.Sorted(slices.Values(l)) // once, not once per percentile
	at := func(p float64) float64 { return ms(percentile(s, p)) }
	return summary{Count: len(l), P50: at(50), P99: at(99), P999: at(99.9), Max: at(100)}
}
