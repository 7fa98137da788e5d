package sink

import "time"

// Configuration of the Kafka → ClickHouse sink.
type Configuration struct {
	// BatchSize flushes a batch when it holds this many records...
	BatchSize int
	// ...or when FlushInterval has passed since the batch began.
	FlushInterval time.Duration
}

// DefaultConfiguration returns the documented defaults.
func DefaultConfiguration() Configuration {
	return Configuration{BatchSize: 50_000, FlushInterval: time.Second}
}
