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
}

// DefaultConfiguration returns the documented defaults.
func DefaultConfiguration() Configuration {
	return Configuration{
		AttributionWindow: 30 * 24 * time.Hour,
		WriteTimeout:      10 * time.Second,
	}
}
