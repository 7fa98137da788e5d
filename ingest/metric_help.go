package ingest

import "github.com/clickrelay/clickrelay/internal/promtext"

// MetricHelp describes the conversion intake's metrics for /metrics.
func MetricHelp() promtext.Help {
	return promtext.Help{
		"clickrelay_conversions_total":                       "Conversions received, by result: tracked, not_tracked (a duplicate), cap_reached (recorded as rejected past a reached cap), ctit_too_short and ctit_too_long (recorded as rejected outside the offer's click-to-conversion bounds), ip_not_allowed (recorded as rejected from an address outside the advertiser's allow list), invalid, or unavailable (answered 503).",
		"clickrelay_events_total":                            "Secondary events tracked on conversions.",
		"clickrelay_conversion_fresh_click_waits_total":      "Conversions that waited for their click, minted moments before, to reach Redis, and found it.",
		"clickrelay_conversion_status_changes_total":         "Conversion status changes (approve, reject, reverse) applied.",
		"clickrelay_conversions_republished_total":           "Conversions whose earlier publish to Kafka had failed, published again on the advertiser's retry.",
		"clickrelay_conversion_click_pending_total":          "Conversions answered 503 because their recent click is not in Redis yet.",
		"clickrelay_conversion_clicks_from_clickhouse_total": "Conversions whose click Redis did not hold (past its hot window, or lost), found in ClickHouse.",
		"clickrelay_conversion_click_clickhouse_seconds":     "Time to read from ClickHouse a click Redis did not hold: the cold path's own cost.",
	}
}
