package redis

import "github.com/clickrelay/clickrelay/internal/promtext"

// MetricHelp describes the Redis component's metrics for /metrics.
func MetricHelp() promtext.Help {
	return promtext.Help{
		"clickrelay_catalog_reloads_total":         "Full reloads of the in-process catalog of offers, affiliates and keys from Redis.",
		"clickrelay_unique_marks_remembered_total": "Clicks whose unique-visitor question this process answered from the marks it set itself, without asking Redis.",
		"clickrelay_catalog_empty_reloads_total":   "Catalog reloads that found Redis lacking the API keys, advertisers, affiliates or offers the catalog held, and kept the catalog (Redis, or one master of a cluster, lost its data: run clickrelay restore).",
		"clickrelay_postback_retry_queue":          "Postbacks waiting in Redis for a retry, across every process; NaN when Redis does not answer.",
	}
}
