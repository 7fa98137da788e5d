package macro

import (
	"strings"
	"testing"
)

func TestExpandPostbackCakeTokens(t *testing.T) {
	var v Values
	v.SetString(Sub1, "aff 7")
	v.SetString(Sub2, "click-42")
	v.SetString(Sub3, "tail")
	v.SetString(Payout, "2.5")
	v.SetString(Geo, "US")
	cases := []struct{ name, tmpl, want string }{
		{"as CAKE's docs show it", "https://t.example/?click_id=#s2#&affiliate=#s1#", "https://t.example/?click_id=click-42&affiliate=aff%207"},
		{"adjacent tokens, as CAKE joins a long sub", "https://t.example/?c=#s2##s3#", "https://t.example/?c=click-42tail"},
		{"a token clickrelay cannot fill is empty, not a fragment", "https://t.example/?ip=#ip#&amt=#price#", "https://t.example/?ip=&amt=2.5"},
		{"tokens ignore case", "https://t.example/?c=#S2#", "https://t.example/?c=click-42"},
		{"a fragment stays", "https://t.example/page#section", "https://t.example/page#section"},
		{"a fragment after tokens stays", "https://t.example/?c=#s2##top", "https://t.example/?c=click-42#top"},
		{"a fragment that looks like hashes", "https://t.example/#a#b#", "https://t.example/#a#b#"},
		{"lone hashes", "##", "##"},
		{"braces and tokens together", "https://t.example/?g={geo}&c=#s2#&p={payout}", "https://t.example/?g=US&c=click-42&p=2.5"},
		{"a brace name between hashes is not a CAKE token", "https://t.example/?x=#geo#", "https://t.example/?x=#geo#"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(ExpandPostback(nil, c.tmpl, &v)); got != c.want {
				t.Errorf("ExpandPostback(%q) = %q, want %q", c.tmpl, got, c.want)
			}
		})
	}
}

// Expand, used by tracking links, leaves CAKE tokens alone: there a '#'
// always starts the link's fragment.
func TestExpandLeavesHashes(t *testing.T) {
	var v Values
	v.SetString(Sub2, "x")
	const link = "https://shop.example/land#s2#"
	if got, _ := Expand(nil, link, &v); string(got) != link {
		t.Errorf("Expand(%q) = %q", link, got)
	}
}

func TestAliases(t *testing.T) {
	for _, a := range braceAliases {
		if got := Lookup(a.name); got != a.to {
			t.Errorf("Lookup(%q) = %d, want %d", a.name, got, a.to)
		}
		if got := Lookup(strings.ToUpper(a.name)); got != a.to {
			t.Errorf("Lookup(%q) = %d, want %d", strings.ToUpper(a.name), got, a.to)
		}
	}
	// {clickid} is the click ID: a tracking link holding it gets no extra
	// click_id parameter.
	var v Values
	v.SetString(ClickID, "c1")
	if got, has := Expand(nil, "https://a.example/?id={clickid}", &v); string(got) != "https://a.example/?id=c1" || !has {
		t.Errorf("Expand({clickid}) = %q, %v", got, has)
	}
}

func FuzzExpandPostback(f *testing.F) {
	f.Add("https://t.example/?c=#s2#&a=#s1##frag", "x y")
	f.Add("####s1##", "#")
	f.Add("https://t.example/#{geo}#price#", "%")
	f.Fuzz(func(t *testing.T, tmpl, value string) {
		var v Values
		for n := Name(1); n < numNames; n++ {
			v.SetString(n, value)
		}
		out := string(ExpandPostback(nil, tmpl, &v))
		if strings.ContainsAny(out, "{}") {
			t.Fatalf("ExpandPostback(%q) = %q keeps a brace", tmpl, out)
		}
		// Values are escaped, so every '#' left comes from the template.
		if strings.Count(out, "#") > strings.Count(tmpl, "#") {
			t.Fatalf("ExpandPostback(%q) = %q adds a '#'", tmpl, out)
		}
		// Without a '#', it is Expand.
		if !strings.Contains(tmpl, "#") {
			if want, _ := Expand(nil, tmpl, &v); string(want) != out {
				t.Fatalf("ExpandPostback(%q) = %q, Expand gives %q", tmpl, out, want)
			}
		}
	})
}

func BenchmarkExpandPostbackCake(b *testing.B) {
	var v Values
	v.SetString(Sub1, "aff-7")
	v.SetString(Sub2, "01jd3k5m6n7p8q9r0s1t2v3w4x")
	v.SetString(Payout, "2.5")
	tmpl := "https://tracker.example.com/pb?click_id=#s2#&affiliate=#s1#&amount=#price#&sub={sub1}"
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = ExpandPostback(buf[:0], tmpl, &v)
	}
}
