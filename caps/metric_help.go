package caps

import "github.com/clickrelay/clickrelay/internal/promtext"

// MetricHelp describes the caps' metrics for /metrics.
func MetricHelp() promtext.Help {
	return promtext.Help{
		"clickrelay_click_caps_reached_total": "Click caps this process saw reach their limit, and broadcast to the others.",
		"clickrelay_cap_rebuilds_total":       "Times this process rebuilt the caps' counters from ClickHouse, Redis having lost them.",
		"clickrelay_cap_refresh_errors_total": "Refreshes of the click caps' counters that failed (Redis or ClickHouse unavailable).",
	}
}
