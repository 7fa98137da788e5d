package model

import "testing"

func TestParseMoney(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		err  error
	}{
		{"149.99", 149_990_000, nil},
		{"0.000001", 1, nil},
		{"10", 10_000_000, nil},
		{".5", 500_000, nil},
		{"-3.5", -3_500_000, nil},
		{" 7.25 ", 7_250_000, nil},
		{"1e2", 100_000_000, nil},
		{"0.0000015", 2, nil}, // rounded beyond six decimals
		{"abc", 0, ErrNotANumber},
		{"", 0, ErrNotANumber},
		{"1.2.3", 0, ErrNotANumber},
		{"NaN", 0, ErrNotANumber},
		{"Inf", 0, ErrNotANumber},
		{"1e300", 0, ErrTooLarge},
		{"99999999999", 0, ErrTooLarge},
	}
	for _, c := range cases {
		got, err := ParseMoney(c.in)
		if got != c.want || err != c.err {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d, %v", c.in, got, err, c.want, c.err)
		}
	}
}

// What a conversion pays the affiliate and earns the network: fixed
// amounts for CPA, percentages of the sale for CPS and RevShare, nothing
// for CPC (which pays per click); revenue is the payout's where the offer
// has none, and a custom payout replaces the offer's for its affiliate.
func TestTermsOfAConversion(t *testing.T) {
	four, three, forty := 4.0, 3.0, 40.0
	cases := []struct {
		offer           Offer
		rec             *OfferAffiliate
		amount          int64
		payout, revenue int64
	}{
		{Offer{PayoutType: PayoutCPA, Payout: 30}, nil, 149_990_000, 30_000_000, 30_000_000},
		{Offer{PayoutType: PayoutCPA, Payout: 2.5, Revenue: &four}, nil, 0, 2_500_000, 4_000_000},
		{Offer{PayoutType: PayoutCPA, Payout: 2.5, Revenue: &four}, &OfferAffiliate{Payout: &three}, 0, 3_000_000, 4_000_000},
		{Offer{PayoutType: PayoutCPA, Payout: 2.5, Revenue: &four}, &OfferAffiliate{}, 0, 2_500_000, 4_000_000},
		{Offer{PayoutType: PayoutCPS, Payout: 15}, nil, 149_990_000, 22_498_500, 22_498_500},
		{Offer{PayoutType: PayoutCPS, Payout: 15, Revenue: &forty}, nil, 149_990_000, 22_498_500, 59_996_000},
		{Offer{PayoutType: PayoutRevShare, Payout: 20}, nil, 9_990_000, 1_998_000, 1_998_000},
		{Offer{PayoutType: PayoutCPS, Payout: 33.333333}, nil, 1, 0, 0},
		{Offer{PayoutType: PayoutCPS, Payout: 50}, nil, 1, 1, 1}, // half up
		{Offer{PayoutType: PayoutCPS, Payout: 100}, nil, MaxAmountMicros, MaxAmountMicros, MaxAmountMicros},
		{Offer{PayoutType: PayoutCPC, Payout: 0.35}, nil, 5_000_000, 0, 0}, // CPC pays per click
	}
	for _, c := range cases {
		payout, revenue := TermsFor(&c.offer, c.rec).Conversion(c.amount)
		if payout != c.payout || revenue != c.revenue {
			t.Errorf("%s %v (revenue %v, record %+v) on %d: payout %d revenue %d, want %d and %d",
				c.offer.PayoutType, c.offer.Payout, c.offer.Revenue, c.rec, c.amount, payout, revenue, c.payout, c.revenue)
		}
	}
}

func TestFormatMicros(t *testing.T) {
	cases := map[int64]string{22_498_500: "22.4985", 30_000_000: "30", 2_500_000: "2.5", 1: "0.000001", 0: "0", -3_500_000: "-3.5"}
	for m, want := range cases {
		if got := FormatMicros(m); got != want {
			t.Errorf("FormatMicros(%d) = %q, want %q", m, got, want)
		}
		if back, err := ParseMoney(want); err != nil || back != m {
			t.Errorf("ParseMoney(%q) = %d, %v", want, back, err)
		}
	}
}

func TestTermsOfAClick(t *testing.T) {
	half := 0.5
	if p, r := TermsFor(&Offer{PayoutType: PayoutCPC, Payout: 0.35, Revenue: &half}, nil).Click(); p != 350_000 || r != 500_000 {
		t.Errorf("CPC click: payout %d revenue %d", p, r)
	}
	if p, r := TermsFor(&Offer{PayoutType: PayoutCPA, Payout: 30}, nil).Click(); p != 0 || r != 0 {
		t.Errorf("CPA click: payout %d revenue %d", p, r)
	}
}

func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"149.99", "-1", "1e5", ".", "+.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMoney(s)
		if err == nil && (m > MaxAmountMicros || m < -MaxAmountMicros) {
			t.Fatalf("ParseMoney(%q) = %d, out of range", s, m)
		}
	})
}
