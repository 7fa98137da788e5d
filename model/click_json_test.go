package model

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

var sampleClick = Click{
	ID: "01m80qz6f76yer585m39t9sars", Time: 1795321469000, OfferID: "12", AffiliateID: "7", AdvertiserID: "3",
	Subs: [5]string{"summer sale", "", "ad \"7\"", "", "\u00e9\U0001F600"}, AffClickID: "vol-123", Country: "DE",
	Device: "mobile", OS: "ios", FilterBots: true, PayoutMicros: 350000, Browser: "Safari", Bot: true,
	IP: "81.2.69.142", UserAgent: "Mozilla/5.0 (iPhone)\t\\", Referrer: "https://ref.example/?a=1&b=<2>", Unique: true,
}

func TestDecodeClickMatchesEncodingJSON(t *testing.T) {
	body, _ := json.Marshal(sampleClick)
	var fast Click
	if !fastDecodeClick(body, &fast) {
		t.Fatalf("the fast path refused a record encoding/json wrote: %s", body)
	}
	testkit.Equal(t, "the fast decode", sampleClick, fast)
	// Shapes the fast path leaves to encoding/json still decode.
	for _, s := range []string{
		` {"click_id":"a"}`,                    // whitespace
		`{"click_id":"a","extra":{"x":[1,2]}}`, // unknown field
		`{"click_id":"a\ud800"}`,               // lone surrogate
		"{\"click_id\":\"a\xff\"}",             // invalid UTF-8
		`{"ts":1e3}`,                           // exponent
	} {
		var c Click
		err := DecodeClick([]byte(s), &c)
		var want Click
		werr := json.Unmarshal([]byte(s), &want)
		if (err == nil) != (werr == nil) || !reflect.DeepEqual(c, want) {
			t.Errorf("%s: got %+v, %v; encoding/json %+v, %v", s, c, err, want, werr)
		}
	}
}

func FuzzDecodeClick(f *testing.F) {
	body, _ := json.Marshal(sampleClick)
	f.Add(body)
	f.Add([]byte(`{"click_id":"x","subs":["a","b","c","d","e"],"ts":-5}`))
	f.Add([]byte(`{"click_id":"\u00e9\ud83d\ude00\/","bot":false}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast Click
		if !fastDecodeClick(data, &fast) {
			return // encoding/json decides
		}
		var want Click
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("fast path accepted %q, which encoding/json refuses: %v", data, err)
		}
		if d := testkit.Diff(want, fast); d != "" {
			t.Fatalf("%q: the fast path differs from encoding/json (-json +fast):\n%s", data, d)
		}
	})
}

func BenchmarkDecodeClick(b *testing.B) {
	body, _ := json.Marshal(sampleClick)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		var c Click
		for b.Loop() {
			if err := DecodeClick(body, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("message", func(b *testing.B) {
		msg := appendClickMessage(nil, &sampleClick)
		b.ReportAllocs()
		var c Click
		for b.Loop() {
			if err := DecodeClick(msg, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		var c Click
		for b.Loop() {
			if err := json.Unmarshal(body, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
