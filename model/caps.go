package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// What a cap counts, and over which period (in the network's time zone).
const (
	CapClicks      = "clicks"
	CapConversions = "conversions"
	CapPayout      = "payout"  // what the network owes affiliates, in the offer's currency
	CapRevenue     = "revenue" // what advertisers owe the network, in the offer's currency

	PeriodDay   = "day"
	PeriodWeek  = "week" // ISO week, from Monday
	PeriodMonth = "month"
	PeriodTotal = "total"
)

// CapMetrics and CapPeriods list every metric and period.
var (
	CapMetrics = []string{CapClicks, CapConversions, CapPayout, CapRevenue}
	CapPeriods = []string{PeriodDay, PeriodWeek, PeriodMonth, PeriodTotal}
)

// MaxCapLimit bounds a cap's limit, so counts in micros stay inside int64.
const MaxCapLimit = 1_000_000_000

// Cap bounds what an offer, or an affiliate on it, may take in a period.
type Cap struct {
	Metric string  `json:"metric"`
	Period string  `json:"period"`
	Limit  float64 `json:"limit"`
}

// Units is the limit in what is counted: clicks or conversions, or micros
// of money.
func (c Cap) Units() int64 {
	if c.Money() {
		return UnitsToMicros(c.Limit)
	}
	return int64(c.Limit)
}

// Money reports whether the cap counts money (payout or revenue).
func (c Cap) Money() bool { return c.Metric == CapPayout || c.Metric == CapRevenue }

// ParseCaps reads an API's caps: a list of at most MaxCaps {metric,
// period, limit}, a metric and period at most once together.
func ParseCaps(raw json.RawMessage) ([]Cap, *FieldError) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	var caps []Cap
	if err := json.Unmarshal(raw, &caps); err != nil {
		return nil, invalidField("caps", `caps must be a list of {"metric": "clicks" | "conversions" | "payout" | "revenue", "period": "day" | "week" | "month" | "total", "limit": N}.`)
	}
	if len(caps) > MaxCaps {
		return nil, invalidField("caps", fmt.Sprintf("caps holds at most %d caps.", MaxCaps))
	}
	for i, c := range caps {
		switch {
		case !slices.Contains(CapMetrics, c.Metric):
			return nil, invalidField("caps", fmt.Sprintf("caps[%d].metric %q is not clicks, conversions, payout or revenue.", i, c.Metric))
		case !slices.Contains(CapPeriods, c.Period):
			return nil, invalidField("caps", fmt.Sprintf("caps[%d].period %q is not day, week, month or total.", i, c.Period))
		case c.Limit <= 0 || c.Limit > MaxCapLimit || math.IsNaN(c.Limit):
			return nil, invalidField("caps", fmt.Sprintf("caps[%d].limit must be above 0 and at most %d.", i, MaxCapLimit))
		case !c.Money() && c.Limit != math.Trunc(c.Limit):
			return nil, invalidField("caps", fmt.Sprintf("caps[%d].limit counts %s: a whole number.", i, c.Metric))
		}
		for _, earlier := range caps[:i] {
			if earlier.Metric == c.Metric && earlier.Period == c.Period {
				return nil, invalidField("caps", fmt.Sprintf("caps has two %s caps per %s.", c.Metric, c.Period))
			}
		}
	}
	return caps, nil
}

// PeriodKey names the period of kind period holding t in loc, as a cap's
// counter is keyed ("2026-12-06", "2026-W49", "2026-12", "total"), and
// when it ends (the zero time for total).
func PeriodKey(period string, t time.Time, loc *time.Location) (string, time.Time) {
	t = t.In(loc)
	y, m, d := t.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, loc)
	switch period {
	case PeriodDay:
		return day.Format("2006-01-02"), day.AddDate(0, 0, 1)
	case PeriodWeek:
		monday := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
		year, week := monday.ISOWeek()
		return strconv.Itoa(year) + "-W" + fmt.Sprintf("%02d", week), monday.AddDate(0, 0, 7)
	case PeriodMonth:
		first := time.Date(y, m, 1, 0, 0, 0, 0, loc)
		return first.Format("2006-01"), first.AddDate(0, 1, 0)
	}
	return PeriodTotal, time.Time{}
}

// PeriodStart is when the period of kind period holding t in loc began
// (the zero time for total).
func PeriodStart(period string, t time.Time, loc *time.Location) time.Time {
	_, end := PeriodKey(period, t, loc)
	switch period {
	case PeriodDay:
		return end.AddDate(0, 0, -1)
	case PeriodWeek:
		return end.AddDate(0, 0, -7)
	case PeriodMonth:
		return end.AddDate(0, -1, 0)
	}
	return time.Time{}
}
