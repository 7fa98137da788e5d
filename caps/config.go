package caps

import "time"

// Configuration of the caps.
type Configuration struct {
	// Location is the network's time zone: a cap's day, week and month
	// are its (CLICKRELAY_TIMEZONE).
	Location *time.Location
	// Refresh is how often each process reads the click caps' counters,
	// so a process learns of a cap reached elsewhere even without its
	// broadcast (started late, or a message lost), and checks that Redis
	// still holds the counters.
	Refresh time.Duration
}

// DefaultConfiguration returns the documented defaults.
func DefaultConfiguration() Configuration {
	return Configuration{Location: time.UTC, Refresh: time.Second}
}
