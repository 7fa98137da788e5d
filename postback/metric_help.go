package postback

import "github.com/clickrelay/clickrelay/internal/promtext"

// MetricHelp describes the postback worker's metrics for /metrics.
func MetricHelp() promtext.Help {
	return promtext.Help{
		"clickrelay_postbacks_total":                "Postback tries by result: delivered, failed (given up), retry_scheduled, or already_delivered (skipped on a redelivered conversion).",
		"clickrelay_postback_schedule_errors_total": "Failed tries to queue a postback retry in Redis; the conversion stays uncommitted meanwhile.",
		"clickrelay_postback_request_seconds":       "Time of one postback HTTP request to an affiliate's tracker, connection included.",
	}
}
