package ingest

import "time"

// Configuration of conversion intake.
type Configuration struct {
	// AttributionWindow: a click older than this converts no more. Click IDs
	// carry their mint time, so an expired one is refused without a lookup.
	AttributionWindow time.Duration
	// WriteTimeout bounds the wait for the broker's acknowledgement; past
	// it the answer is 503 and the advertiser's retry will be accepted.
	WriteTimeout time.Duration
	// FreshClickWait: clicks reach Redis just after their 302, so a
	// conversion quoting a click minted less than this long ago, not found
	// yet, waits for it to land (up to this long after its minting).
	FreshClickWait time.Duration
	// PendingClickWindow: a conversion quoting an authentic click minted
	// less than this long ago that is not in Redis (yet) is answered 503
	// with Retry-After, not 400 "Click not found": the click may have been
	// answered during a Redis outage and still be in the tracker's retry
	// queue, or lag behind a slow Redis. Advertisers retry a 503; they do
	// not retry a 400. Older missing clicks are 400.
	PendingClickWindow time.Duration
	// TestSessionTTL is how long a test session (seed 002) and its test
	// click live, from their creation.
	TestSessionTTL time.Duration
	// StatusLoadWait: a status change on a conversion acknowledged moments
	// ago, not in ClickHouse yet, waits this long for the sink to store it
	// before answering 404.
	StatusLoadWait time.Duration
	// StatusBusyWait: a status change arriving while another change of the
	// same conversion is being published waits this long for it, then
	// answers 503.
	StatusBusyWait time.Duration
}

// DefaultConfiguration returns the documented defaults.
func DefaultConfiguration() Configuration {
	return Configuration{
		AttributionWindow:  30 * 24 * time.Hour,
		WriteTimeout:       10 * time.Second,
		FreshClickWait:     2 * time.Second,
		PendingClickWindow: 15 * time.Minute,
		TestSessionTTL:     30 * time.Minute,
		StatusLoadWait:     3 * time.Second,
		StatusBusyWait:     15 * time.Second,
	}
}
