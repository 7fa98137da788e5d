package tracker

import (
	"net/netip"
	"time"
)

// Configuration of the click path.
type Configuration struct {
	// Flushers is how many Redis pipelines may be in flight at once.
	Flushers int
	// MaxBatch caps the clicks of one Redis pipeline.
	MaxBatch int
	// Linger is how long a flusher waits for more clicks before a pipeline
	// that is not full: the longest a click waits to reach Redis when
	// traffic is light.
	Linger time.Duration
	// Shippers is how many Kafka writes may be in flight at once.
	Shippers int
	// ShipBatch caps the clicks of one Kafka write.
	ShipBatch int
	// QueueSize is how many clicks may wait for Redis before the click path
	// itself waits; ShipQueueSize (in clicks, counted in full batches) likewise
	// for Kafka. Together they bound what a crash can lose.
	QueueSize     int
	ShipQueueSize int
	// RedisTimeout bounds one Redis pipeline; a batch that does not make it
	// in time waits in the retry list.
	RedisTimeout time.Duration
	// RetryQueueSize caps the clicks waiting for Redis to come back (about
	// 400 bytes each); past it, clicks are counted as lost.
	RetryQueueSize int
	// AgentCacheSize bounds the user agent cache.
	AgentCacheSize int
	// MaxParamLen truncates each sub, aff_click_id and referrer, so one
	// oversized link cannot bloat the stores.
	MaxParamLen int
	// TrustedProxies are the peers whose X-Forwarded-For is believed. Nil
	// trusts loopback and private addresses, where load balancers live.
	TrustedProxies []netip.Prefix
	// Location is the network's time zone (CLICKRELAY_TIMEZONE), where
	// targeting's schedules tell days and hours; nil is UTC.
	Location *time.Location
}

// DefaultConfiguration returns the documented defaults.
func DefaultConfiguration() Configuration {
	return Configuration{
		Flushers:       1,
		MaxBatch:       1024,
		Linger:         2 * time.Millisecond,
		Shippers:       1,
		ShipBatch:      4096,
		QueueSize:      65536,
		ShipQueueSize:  65536,
		RedisTimeout:   time.Second,
		RetryQueueSize: 1 << 20,
		AgentCacheSize: 20000,
		MaxParamLen:    512,
	}
}
