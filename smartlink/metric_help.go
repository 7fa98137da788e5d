package smartlink

import "github.com/clickrelay/clickrelay/internal/promtext"

// MetricHelp describes the EPC refresher's metrics for /metrics.
func MetricHelp() promtext.Help {
	return promtext.Help{
		"clickrelay_smart_link_epc_refreshes_total":      "Times the EPCs of the smart links' offers were read from ClickHouse.",
		"clickrelay_smart_link_epc_refresh_errors_total": "Reads of the smart links' EPCs that failed (the click path keeps the EPCs read before).",
		"clickrelay_smart_link_epc_offers":               "Offers of EPC-mode smart links with an EPC (clicks in the window) as last read.",
	}
}
