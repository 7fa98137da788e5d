package ingest

import (
	"time"

	"github.com/rs/zerolog"
)

// sampled lets a burst of lines through each second, then one in a
// hundred: during an outage every request fails the same way, and the
// counters (clickrelay_conversions_total{result="unavailable"}) say how
// many, while the log keeps enough lines to show why.
func sampled(log zerolog.Logger) zerolog.Logger {
	return log.Sample(&zerolog.BurstSampler{Burst: 5, Period: time.Second, NextSampler: &zerolog.BasicSampler{N: 100}})
}
