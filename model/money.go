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

// Terms are what a conversion (or a click, on a CPC offer) on an offer is
// worth, in the offer's unit: an amount, or a percentage of the sale for
// CPS and RevShare. Payout is what the network owes the affiliate (its
// custom payout on the offer, else the offer's), Revenue what the
// advertiser owes the network.
type Terms struct {
	Type            string
	Payout, Revenue float64
}

// TermsFor are offer o's terms for an affiliate whose record on it is rec
// (nil: none).
func TermsFor(o *Offer, rec *OfferAffiliate) Terms {
	t := Terms{Type: o.PayoutType, Payout: o.Payout, Revenue: o.RevenueOrPayout()}
	if rec != nil && rec.Payout != nil {
		t.Payout = *rec.Payout
	}
	return t
}

// Conversion is what one conversion with sale amount amountMicros pays the
// affiliate and earns the network. CPC offers pay per click (Click).
func (t Terms) Conversion(amountMicros int64) (payout, revenue int64) {
	switch t.Type {
	case PayoutCPS, PayoutRevShare:
		return PercentOf(amountMicros, t.Payout), PercentOf(amountMicros, t.Revenue)
	case PayoutCPC:
		return 0, 0
	}
	return UnitsToMicros(t.Payout), UnitsToMicros(t.Revenue)
}

// Click is what one click pays and earns: CPC offers only.
func (t Terms) Click() (payout, revenue int64) {
	if t.Type == PayoutCPC {
		return UnitsToMicros(t.Payout), UnitsToMicros(t.Revenue)
	}
	return 0, 0
}
