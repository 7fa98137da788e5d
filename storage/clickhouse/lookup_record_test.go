package clickhouse

import (
	"strings"
	"testing"

	"github.com/clickrelay/clickrelay/model"
)

func encodeLookupRecord(c model.Click) string { return string(appendLookupRecord(nil, &c)) }

func TestDecodeLookupRecord(t *testing.T) {
	full := model.Click{OfferID: "5", AffiliateID: "7", AdvertiserID: "3", Subs: [5]string{"1:", "", "::", "22:x", "é"},
		AffClickID: "a", Country: "DE", Device: "mobile", OS: "ios", SmartLinkID: "9", PayoutMicros: -1, Test: true}
	for _, tc := range []struct {
		name   string
		record string
		want   *model.Click // nil: malformed
	}{
		{"every field", encodeLookupRecord(full), &full},
		{"empty fields", encodeLookupRecord(model.Click{}), &model.Click{}},
		{"a field added later", encodeLookupRecord(full) + "3:new", &full},
		{"empty", "", nil},
		{"a field short", strings.TrimSuffix(encodeLookupRecord(full), "1:1"), nil},
		{"a length past the end", "1:51:71:30:0:0:0:0:0:0:0:0:0:1:099:1", nil},
		{"a negative length", "-1:", nil},
		{"no length", ":", nil},
		{"payout not a number", "0:0:0:0:0:0:0:0:0:0:0:0:0:1:x1:0", nil},
		{"test flag not 0 or 1", "0:0:0:0:0:0:0:0:0:0:0:0:0:1:01:2", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got model.Click
			err := decodeLookupRecord(tc.record, &got)
			switch {
			case tc.want == nil && err == nil:
				t.Fatalf("decoded %+v from a malformed record", got)
			case tc.want != nil && err != nil:
				t.Fatal(err)
			case tc.want != nil && got != *tc.want:
				t.Fatalf("got %+v, want %+v", got, *tc.want)
			}
		})
	}
}

// FuzzDecodeLookupRecord: any bytes decode or fail without a panic, and a
// record of any fields decodes back to them.
func FuzzDecodeLookupRecord(f *testing.F) {
	f.Add("5", "7", "12:x", "", int64(10), true, "0:0:0:")
	f.Fuzz(func(t *testing.T, offer, affiliate, sub, country string, payout int64, test bool, raw string) {
		var c model.Click
		_ = decodeLookupRecord(raw, &c)
		want := model.Click{OfferID: offer, AffiliateID: affiliate, Subs: [5]string{sub, "", sub}, Country: country, PayoutMicros: payout, Test: test}
		var got model.Click
		if err := decodeLookupRecord(encodeLookupRecord(want), &got); err != nil || got != want {
			t.Fatalf("round trip: %+v, %v; want %+v", got, err, want)
		}
	})
}

func BenchmarkAppendLookupRecord(b *testing.B) {
	c := model.Click{OfferID: "5", AffiliateID: "7", AdvertiserID: "3", Subs: [5]string{"c12", "adset-3", "ad-77", "1234567", "pl3"},
		AffClickID: "ext1234567", Country: "DE", Device: "mobile", OS: "android", PayoutMicros: 1_500_000}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = appendLookupRecord(buf[:0], &c)
	}
}
