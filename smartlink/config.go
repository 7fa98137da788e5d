package smartlink

import "time"

// Configuration of the EPC refresher.
type Configuration struct {
	// Refresh is how often the offers' EPCs are read again
	// (CLICKRELAY_SMART_LINK_EPC_REFRESH).
	Refresh time.Duration
	// Window is how far back an EPC reaches: the whole hours of the last
	// Window, the current hour included.
	Window time.Duration
}

// DefaultConfiguration returns the documented defaults.
func DefaultConfiguration() Configuration {
	return Configuration{Refresh: time.Minute, Window: 24 * time.Hour}
}
