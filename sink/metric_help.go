package sink

import "github.com/clickrelay/clickrelay/internal/promtext"

// MetricHelp describes the sink's metrics for /metrics.
func MetricHelp() promtext.Help {
	return promtext.Help{
		"clickrelay_sink_records_total":       "Records stored in ClickHouse, per Kafka topic.",
		"clickrelay_sink_undecodable_total":   "Kafka messages that do not decode and were skipped, per topic.",
		"clickrelay_sink_insert_errors_total": "Failed ClickHouse inserts, per topic; each is retried until it succeeds.",
		"clickrelay_sink_flush_seconds":       "Time to store one batch in ClickHouse and commit it, retries included, per topic.",
		"clickrelay_sink_batch_records":       "Kafka messages per batch stored in ClickHouse, per topic.",
	}
}
