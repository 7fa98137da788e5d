package postback

import "time"

// Configuration of outbound postbacks.
type Configuration struct {
	// Timeout bounds one request, connection included.
	Timeout time.Duration
	// MaxAttempts is how many times a postback is tried in all.
	MaxAttempts int
	// RetryBase is the first retry's delay; each next one doubles, up to
	// RetryMax.
	RetryBase time.Duration
	RetryMax  time.Duration
	// Concurrency caps requests in flight.
	Concurrency int
	// AllowPrivate lets postbacks reach loopback and private addresses
	// (CLICKRELAY_POSTBACK_ALLOW_PRIVATE).
	AllowPrivate bool
	// RetryPoll is how often the retry queue is read.
	RetryPoll time.Duration
	// DisableAfter is how many consecutive failed deliveries disable a
	// postback, provided the first of them died at least DisableMinAge
	// ago (CLICKRELAY_POSTBACK_DISABLE_AFTER, _MIN_AGE); 0 never does.
	DisableAfter  int
	DisableMinAge time.Duration
	// DeadLetterMax and DeadLetterTTL bound each postback's dead letter
	// (CLICKRELAY_POSTBACK_DEAD_LETTER_MAX, _TTL): past the cap the
	// oldest entries go, and an entry is kept at most the TTL.
	DeadLetterMax int
	DeadLetterTTL time.Duration
	// HostConcurrency caps requests in flight to one receiver host
	// (host:port); a job past it waits HostBusyWait at most, then is
	// deferred.
	HostConcurrency int
	// HostFailures is how many requests to a host in a row may time out
	// or fail to connect before the host is backed off as a whole.
	HostFailures int
	// HostBackoff is a host's first backoff; each failed probe doubles it,
	// up to HostBackoffMax.
	HostBackoff    time.Duration
	HostBackoffMax time.Duration
	// HostBusyWait is how long a job whose host is at its bound may wait in
	// the worker for a request to end, before it is put back in the retry
	// queue (CLICKRELAY_POSTBACK_HOST_BUSY_WAIT); 0 puts it back at once.
	HostBusyWait time.Duration
	// HostBusyDelay is how long a job whose host is at its bound waits in
	// the retry queue (plus up to as much again of jitter).
	HostBusyDelay time.Duration
}

// DefaultConfiguration returns the documented defaults: 10 attempts over
// about 4.5 hours (1 s, 2 s, 4 s, ... capped at 1 h).
func DefaultConfiguration() Configuration {
	return Configuration{
		Timeout:     5 * time.Second,
		MaxAttempts: 10,
		RetryBase:   time.Second,
		RetryMax:    time.Hour,
		Concurrency: 256,
		RetryPoll:   250 * time.Millisecond,

		DisableAfter:    100,
		DisableMinAge:   24 * time.Hour,
		DeadLetterMax:   10_000,
		DeadLetterTTL:   30 * 24 * time.Hour,
		HostConcurrency: 32,
		HostFailures:    5,
		HostBackoff:     time.Second,
		HostBackoffMax:  time.Minute,
		HostBusyWait:    100 * time.Millisecond,
		HostBusyDelay:   200 * time.Millisecond,
	}
}

// retryDelay is the wait before attempt n+1, after attempt n failed.
func (c Configuration) retryDelay(n uint32) time.Duration {
	d := c.RetryBase
	for i := uint32(1); i < n && d < c.RetryMax; i++ {
		d *= 2
	}
	return min(d, c.RetryMax)
}
