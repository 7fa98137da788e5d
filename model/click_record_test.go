package model

import (
	"encoding/json"
	"testing"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// appendClickRecord writes c's hot record as the tracker does.
func appendClickRecord(dst []byte, c *Click) []byte {
	dst = append(dst, ClickRecordV1, recordFlags(c))
	for _, s := range []string{c.OfferID, c.AffiliateID, c.AdvertiserID,
		c.Subs[0], c.Subs[1], c.Subs[2], c.Subs[3], c.Subs[4], c.AffClickID, c.Country, c.Device, c.OS} {
		dst = AppendClickRecordString(dst, s)
	}
	if c.SmartLinkID != "" {
		dst = AppendClickRecordString(dst, c.SmartLinkID)
	}
	return dst
}

// recordFlags are the hot record's flags of c.
func recordFlags(c *Click) byte {
	var flags byte
	if c.FilterBots {
		flags |= ClickFlagFilterBots
	}
	if c.Test {
		flags |= ClickFlagTest
	}
	return flags
}

// hotFields is what a hot record keeps of a click.
func hotFields(c Click) Click {
	return Click{ID: c.ID, Time: c.Time, OfferID: c.OfferID, AffiliateID: c.AffiliateID, AdvertiserID: c.AdvertiserID,
		Subs: c.Subs, AffClickID: c.AffClickID, Country: c.Country, Device: c.Device, OS: c.OS,
		FilterBots: c.FilterBots, Test: c.Test, SmartLinkID: c.SmartLinkID}
}

func TestHotClickRecord(t *testing.T) {
	long := Click{ID: "01m80qz6f76yer585m39t9sars", Time: 1795321469000, OfferID: "1"}
	for i := range long.Subs {
		long.Subs[i] = string(make([]byte, 200+i)) // lengths past one varint byte
	}
	cases := []struct {
		name  string
		click Click
	}{
		{"every field", sampleClick},
		{"empty", Click{ID: "x", Time: 5}},
		{"long subs", long},
		{"a test click", Click{ID: "test_x", Time: 7, OfferID: "9", Test: true}},
		{"through a smart link", Click{ID: "y", Time: 8, OfferID: "3", SmartLinkID: "12"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := appendClickRecord(nil, &c.click)
			var got Click
			if err := DecodeStoredClick(c.click.ID, c.click.Time, rec, &got); err != nil {
				t.Fatalf("decode %q: %v", rec, err)
			}
			testkit.Equal(t, "the round trip", hotFields(c.click), got)
			// The JSON a test session (or an earlier release) stored still
			// decodes, to the same click.
			body, _ := json.Marshal(hotFields(c.click))
			var fromJSON Click
			if err := DecodeStoredClick("ignored", 0, body, &fromJSON); err != nil {
				t.Fatalf("from JSON: %v", err)
			}
			testkit.Equal(t, "the click from JSON against the hot record's", got, fromJSON)
		})
	}
	if n := len(appendClickRecord(nil, &sampleClick)); n*2 > len(mustJSON(hotFields(sampleClick))) {
		t.Errorf("the hot record takes %d bytes, more than half of its JSON", n)
	}
}

func TestHotClickRecordRefusesDamage(t *testing.T) {
	rec := appendClickRecord(nil, &sampleClick)
	for _, bad := range [][]byte{
		{ClickRecordV1},                          // no flags
		rec[:len(rec)-1],                         // cut short
		append(append([]byte(nil), rec...), 'x'), // trailing bytes
		{ClickRecordV1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, // length overflow
	} {
		var c Click
		if err := DecodeStoredClick("x", 1, bad, &c); err == nil {
			t.Errorf("%q decoded as %+v", bad, c)
		}
	}
}

// FuzzHotClickRecord: any string survives the hot record as the JSON
// record carries it (invalid UTF-8 becomes U+FFFD in both), and no input
// makes the decoder panic.
func FuzzHotClickRecord(f *testing.F) {
	f.Add("12", "summer sale", "\xff\xfe é", "vol-123", true, []byte{ClickRecordV1, 0, 1})
	f.Add("", "", "", "", false, []byte(`{"click_id":"x"}`))
	f.Fuzz(func(t *testing.T, offer, sub1, sub5, affClickID string, filterBots bool, raw []byte) {
		c := Click{ID: "01m80qz6f76yer585m39t9sars", Time: 1795321469000, OfferID: offer, AffiliateID: "7",
			Subs: [5]string{sub1, "", "", "", sub5}, AffClickID: affClickID, Country: "DE", FilterBots: filterBots}
		var got, want Click
		if err := DecodeStoredClick(c.ID, c.Time, appendClickRecord(nil, &c), &got); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if err := json.Unmarshal(mustJSON(c), &want); err != nil {
			t.Fatal(err)
		}
		testkit.Equal(t, "the hot record against the JSON", want, got)
		var any Click
		_ = DecodeStoredClick("x", 1, raw, &any) // damaged input is an error, never a panic
	})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func BenchmarkDecodeStoredClick(b *testing.B) {
	rec := appendClickRecord(nil, &sampleClick)
	b.ReportAllocs()
	var c Click
	for b.Loop() {
		if err := DecodeStoredClick(sampleClick.ID, sampleClick.Time, rec, &c); err != nil {
			b.Fatal(err)
		}
	}
}
