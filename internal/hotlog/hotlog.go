// Package hotlog is the log policy of hot paths (conversion intake,
// postback delivery, the sink): during an outage every request or batch
// fails the same way, many times a second, and a line each would flood the
// log. A sampled logger lets a burst of lines through each second, then one
// in a hundred; the components' counters say how many failed, the log keeps
// enough lines to show why.
package hotlog

import (
	"time"

	"github.com/rs/zerolog"
)

// Sampled returns log sampled for a hot path.
func Sampled(log zerolog.Logger) zerolog.Logger {
	return log.Sample(&zerolog.BurstSampler{Burst: 5, Period: time.Second, NextSampler: &zerolog.BasicSampler{N: 100}})
}
