package tracker

import "github.com/clickrelay/clickrelay/internal/promtext"

// MetricHelp describes the tracker's metrics for /metrics.
func MetricHelp() promtext.Help {
	return promtext.Help{
		"clickrelay_clicks_total":                "Clicks answered, by outcome: redirected (a 302 to the offer's landing page), off_target (a visitor outside the offer's targeting) and paused (an offer or smart link not active), blocked (an affiliate without access to the offer, or a sub-ID the offer blocks from it), capped (past a click cap reached), denied (an IP address or user agent on the network's traffic controls) and unrouted (a smart link's visitor no offer could take), each sent to the fallback URL or answered 404, and not_found (no such offer, smart link or affiliate).",
		"clickrelay_click_fallbacks_total":       "Clicks turned away (off_target, paused, blocked, capped, denied, unrouted) and sent to the offer's or the smart link's fallback URL.",
		"clickrelay_smart_link_clicks_total":     "Clicks on smart links, by result: routed (sent to an offer of the link, also counted as redirected), unrouted (no offer could take the visitor), paused (the link is not active) and denied (the network's traffic controls).",
		"clickrelay_click_redis_errors_total":    "Clicks whose Redis write failed at first (they are retried).",
		"clickrelay_clicks_shipped_total":        "Clicks written to Kafka.",
		"clickrelay_click_ship_errors_total":     "Kafka produce requests of clicks that failed.",
		"clickrelay_clicks_lost_total":           "Clicks answered with a 302 that reached neither Kafka nor ClickHouse: data lost.",
		"clickrelay_click_redis_gave_up_total":   "Clicks the Redis retry list gave up on (full, or a stop's deadline); they are in Kafka and ClickHouse, where conversions still find them.",
		"clickrelay_click_queue_full_total":      "Times the click path or a flusher waited for room in the click queues (Redis or Kafka falling behind).",
		"clickrelay_click_ship_queue_full_total": "Times a flusher waited for room in the Kafka shipping queue.",
		"clickrelay_click_redis_batch_size":      "Clicks per Redis pipeline written by the click flushers.",
		"clickrelay_click_redis_retried_total":   "Clicks Redis refused at first and took on a retry.",
		"clickrelay_click_redis_retry_queue":     "Clicks waiting in memory for a Redis retry.",
		"clickrelay_redis_full":                  "1 while Redis refuses click writes for want of memory, else 0.",
	}
}
