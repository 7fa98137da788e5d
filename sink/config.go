package sink

import "time"

// Configuration of the Kafka → ClickHouse sink.
type Configuration struct {
	// BatchSize flushes a batch when it holds this many records...
	BatchSize int
	// ...or when FlushInterval has passed since the batch began
	// (ClickFlushInterval for clicks).
	FlushInterval time.Duration
	// ClickFlushInterval is the clicks' own, longer: they are most of the
	// volume, and ClickHouse's work is mostly per insert rather than per
	// row below 10,000 clicks a second (each insert is a part in the raw
	// table and in every rollup, which its merges then rewrite): README,
	// "Performance". Conversions keep FlushInterval, since an advertiser
	// may read one back right after reporting it.
	ClickFlushInterval time.Duration
}

// DefaultConfiguration returns the documented defaults.
func DefaultConfiguration() Configuration {
	return Configuration{BatchSize: 50_000, FlushInterval: time.Second, ClickFlushInterval: 5 * time.Second}
}
