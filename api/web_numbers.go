package api

import (
	"math"

	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

// Figures as the surfaces show them: money from micro-units, ratios.

// cents converts micro-units to cents, rounding half away from zero.
func cents(micros int64) int64 {
	if micros < 0 {
		return -cents(-micros)
	}
	return (micros + 5_000) / 10_000
}

func ratio(num, den float64, decimals int) float64 {
	if den == 0 {
		return 0
	}
	return round(num/den, decimals)
}

func round(f float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(f*p) / p
}

// advertiserRevenueMicros is what an advertiser's stats call its revenue in
// a stats group: its sales (the sale amounts). A CPA conversion reported
// without an amount has none, so a group with no amount at all counts what
// the advertiser pays for its conversions instead (the network's revenue,
// never the affiliates' payout). The rollup keeps sums, not which
// conversions carried an amount, so a CPA offer mixing both counts only the
// amounts: documented as a lower bound.
func advertiserRevenueMicros(r *clickhouse.StatsRow) int64 {
	if r.AmountMicros > 0 {
		return r.AmountMicros
	}
	return r.RevenueMicros
}
