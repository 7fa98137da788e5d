package postback

import "github.com/clickrelay/clickrelay/internal/promtext"

// MetricHelp describes the postback worker's metrics for /metrics.
func MetricHelp() promtext.Help {
	return promtext.Help{
		"clickrelay_postbacks_total":                    "Postback tries by result: delivered, failed (given up), retry_scheduled, or already_delivered (skipped on a redelivered conversion).",
		"clickrelay_postback_schedule_errors_total":     "Failed tries to queue a postback retry in Redis; the conversion stays uncommitted meanwhile.",
		"clickrelay_postback_request_seconds":           "Time of one postback HTTP request to an affiliate's tracker, connection included.",
		"clickrelay_postback_dead_lettered_total":       "Postback deliveries put in their postback's dead letter: given up after their attempts, a permanent error, or kept while the postback is disabled.",
		"clickrelay_postback_dead_letter_evicted_total": "Dead postback deliveries dropped past the dead letter's cap or TTL.",
		"clickrelay_postback_deferred_total":            "Postback jobs put back in the retry queue without a request or an attempt used, because their receiver host was at its in-flight bound (host_busy) or backed off (host_backoff).",
		"clickrelay_postback_hosts_backed_off":          "Receiver hosts currently backed off after repeated timeouts or connection failures.",
		"clickrelay_postback_waiting_for_host":          "Postback jobs waiting in the worker, without a request slot, for their receiver host to finish a request (at most CLICKRELAY_POSTBACK_HOST_BUSY_WAIT each).",
		"clickrelay_postbacks_disabled_total":           "Postbacks disabled automatically because their receiver kept failing.",
	}
}
