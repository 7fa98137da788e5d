package model

import (
	"errors"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Money travels and is stored as integer micro-units (1e-6 of the currency),
// so sums in ClickHouse are exact and no float rounding creeps into payouts.
const microsPerUnit = 1_000_000

// MaxAmountMicros bounds a sale amount (one billion units), so sums and
// percentage products stay far inside int64.
const MaxAmountMicros = 1_000_000_000 * microsPerUnit

// Errors of ParseMoney.
var (
	ErrNotANumber = errors.New("not a number")
	ErrTooLarge   = errors.New("too large")
)

// ParseMoney parses a decimal amount such as "149.99" into micros, exactly
// for up to six decimals and rounded beyond. It accepts what JSON numbers
// and query strings carry, exponents included.
func ParseMoney(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if m, ok := parseDecimalMicros(s); ok {
		return m, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, ErrNotANumber
	}
	if math.Abs(f) > MaxAmountMicros/microsPerUnit {
		return 0, ErrTooLarge
	}
	return int64(math.Round(f * microsPerUnit)), nil
}

// parseDecimalMicros handles the common [-]digits[.digits] form exactly.
func parseDecimalMicros(s string) (int64, bool) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" || len(intPart) > 10 || len(frac) > 6 {
		return 0, false
	}
	var m int64
	for i := 0; i < len(intPart); i++ {
		c := intPart[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		m = m*10 + int64(c-'0')
	}
	m *= microsPerUnit
	scale := int64(microsPerUnit / 10)
	for i := 0; i < len(frac); i++ {
		c := frac[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		m += int64(c-'0') * scale
		scale /= 10
	}
	if m > MaxAmountMicros {
		return 0, false
	}
	if neg {
		m = -m
	}
	return m, true
}

// UnitsToMicros converts a configured amount (an offer's payout) to micros.
func UnitsToMicros(f float64) int64 { return int64(math.Round(f * microsPerUnit)) }

// FormatMicros writes micros as a plain decimal with no trailing zeros:
// 22498500 is "22.4985", 30000000 is "30".
func FormatMicros(m int64) string {
	neg := m < 0
	u := uint64(m)
	if neg {
		u = uint64(-m)
	}
	s := strconv.FormatUint(u/microsPerUnit, 10)
	if frac := u % microsPerUnit; frac != 0 {
		f := strconv.FormatUint(frac+microsPerUnit, 10)[1:] // six digits, zero-padded
		s += "." + strings.TrimRight(f, "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// MicrosToUnits converts micros back to a float for JSON answers.
func MicrosToUnits(m int64) float64 { return float64(m) / microsPerUnit }

// PercentOf returns percent % of amountMicros, rounded half up, computed in
// 128 bits so no product can overflow.
func PercentOf(amountMicros int64, percent float64) int64 {
	if amountMicros <= 0 || percent <= 0 {
		return 0
	}
	pct := uint64(math.Round(percent * microsPerUnit)) // percent in micros
	const div = 100 * microsPerUnit
	hi, lo := bits.Mul64(uint64(amountMicros), pct)
	lo, carry := bits.Add64(lo, div/2, 0)
	hi += carry
	if hi >= div { // a quotient past 64 bits: out of any valid range
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, div)
	return int64(q)
}

// Payout is what one conversion pays the affiliate on offer o. CPC offers
// pay per click (ClickPayout), not per conversion.
func Payout(o *Offer, amountMicros int64) int64 {
	switch {
	case o.IsPercentage():
		return PercentOf(amountMicros, o.Payout)
	case o.PayoutType == PayoutCPC:
		return 0
	}
	return UnitsToMicros(o.Payout)
}

// ClickPayout is what one click pays on offer o: its payout on CPC offers.
func ClickPayout(o *Offer) int64 {
	if o.PayoutType == PayoutCPC {
		return UnitsToMicros(o.Payout)
	}
	return 0
}
