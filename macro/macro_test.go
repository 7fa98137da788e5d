package macro

import (
	"net/url"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	var v Values
	v.SetString(ClickID, "01jabc")
	v.SetString(Sub1, "a b&c=d")
	v.SetString(Geo, "US")
	v.SetString(Payout, "2.5")
	v.SetString(Sub2, "ünï/{x}")
	cases := []struct {
		name, tmpl, want string
		hasClickID       bool
	}{
		{"plain", "https://a.example/x", "https://a.example/x", false},
		{"click id", "https://a.example/?cid={click_id}", "https://a.example/?cid=01jabc", true},
		{"escaped", "https://a.example/?s={sub1}", "https://a.example/?s=a%20b%26c%3Dd", false},
		{"utf8 and braces in value", "https://a.example/{sub2}", "https://a.example/%C3%BCn%C3%AF%2F%7Bx%7D", false},
		{"unknown becomes empty", "https://a.example/?x={nope}&g={geo}", "https://a.example/?x=&g=US", false},
		{"unset becomes empty", "https://a.example/?t={txid}", "https://a.example/?t=", false},
		{"case-insensitive", "https://a.example/?c={CLICK_ID}&g={Geo}", "https://a.example/?c=01jabc&g=US", true},
		{"lone open brace", "https://a.example/?x={&y={geo}", "https://a.example/?x=%7B&y=US", false},
		{"lone close brace", "https://a.example/?x=}", "https://a.example/?x=%7D", false},
		{"nested braces", "https://a.example/?x={{geo}}", "https://a.example/?x=%7BUS%7D", false},
		{"empty name", "https://a.example/?x={}", "https://a.example/?x=", false},
		{"adjacent", "{geo}{payout}", "US2.5", false},
		{"too long to be a macro", "?x={" + strings.Repeat("a", MaxNameLen+1) + "}", "?x=%7B" + strings.Repeat("a", MaxNameLen+1) + "%7D", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, has := Expand(nil, c.tmpl, &v)
			if string(got) != c.want || has != c.hasClickID {
				t.Errorf("Expand(%q) = %q, %v; want %q, %v", c.tmpl, got, has, c.want, c.hasClickID)
			}
		})
	}
}

func TestAppendParam(t *testing.T) {
	cases := []struct{ url, want string }{
		{"https://a.example/x", "https://a.example/x?click_id=v%201"},
		{"https://a.example/x?a=1", "https://a.example/x?a=1&click_id=v%201"},
		{"https://a.example/x?", "https://a.example/x?click_id=v%201"},
		{"https://a.example/x?a=1&", "https://a.example/x?a=1&click_id=v%201"},
		{"https://a.example/x#frag", "https://a.example/x?click_id=v%201#frag"},
		{"https://a.example/x?a=1#f?g", "https://a.example/x?a=1&click_id=v%201#f?g"},
	}
	for _, c := range cases {
		if got := string(AppendParam([]byte(c.url), "click_id", []byte("v 1"))); got != c.want {
			t.Errorf("AppendParam(%q) = %q, want %q", c.url, got, c.want)
		}
	}
}

func FuzzExpand(f *testing.F) {
	f.Add("https://a.example/?c={click_id}&s={sub1}", "x y")
	f.Add("{{}}{", "")
	f.Add("https://a.example/{unknown}/{geo", "%")
	f.Fuzz(func(t *testing.T, tmpl, value string) {
		var v Values
		for n := Name(1); n < numNames; n++ {
			v.SetString(n, value)
		}
		out, _ := Expand(nil, tmpl, &v)
		s := string(out)
		// No placeholder survives: braces only ever appear encoded.
		if strings.ContainsAny(s, "{}") {
			t.Fatalf("Expand(%q) = %q keeps a brace", tmpl, s)
		}
		// Every value decodes back to itself.
		esc := string(AppendEscaped(nil, value))
		if dec, err := url.PathUnescape(esc); err != nil || dec != value {
			t.Fatalf("escape(%q) = %q does not decode back (%q, %v)", value, esc, dec, err)
		}
	})
}

func BenchmarkExpandTrackingLink(b *testing.B) {
	var v Values
	v.SetString(ClickID, "01jd3k5m6n7p8q9r0s1t2v3w4x")
	v.SetString(AffID, "17")
	v.SetString(Sub1, "campaign-42")
	v.SetString(Sub2, "banner 300x250")
	tmpl := "https://shop.example.com/landing?cid={click_id}&aff={aff_id}&s1={sub1}&s2={sub2}&utm_source=clickrelay"
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = Expand(buf[:0], tmpl, &v)
	}
}
