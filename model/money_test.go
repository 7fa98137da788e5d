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

func TestPayout(t *testing.T) {
	cases := []struct {
		offer  Offer
		amount int64
		want   int64
	}{
		{Offer{PayoutType: PayoutCPA, Payout: 30}, 149_990_000, 30_000_000},
		{Offer{PayoutType: PayoutCPS, Payout: 15}, 149_990_000, 22_498_500},
		{Offer{PayoutType: PayoutRevShare, Payout: 20}, 9_990_000, 1_998_000},
		{Offer{PayoutType: PayoutCPS, Payout: 33.333333}, 1, 0},
		{Offer{PayoutType: PayoutCPS, Payout: 50}, 1, 1}, // half up
		{Offer{PayoutType: PayoutCPS, Payout: 100}, MaxAmountMicros, MaxAmountMicros},
		{Offer{PayoutType: PayoutCPC, Payout: 0.35}, 5_000_000, 0}, // CPC pays per click
	}
	for _, c := range cases {
		if got := Payout(&c.offer, c.amount); got != c.want {
			t.Errorf("Payout(%s %v, %d) = %d, want %d", c.offer.PayoutType, c.offer.Payout, c.amount, got, c.want)
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

func TestClickPayout(t *testing.T) {
	if got := ClickPayout(&Offer{PayoutType: PayoutCPC, Payout: 0.35}); got != 350_000 {
		t.Errorf("CPC click payout = %d", got)
	}
	if got := ClickPayout(&Offer{PayoutType: PayoutCPA, Payout: 30}); got != 0 {
		t.Errorf("CPA click payout = %d", got)
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
