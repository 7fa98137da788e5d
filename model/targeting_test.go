package model

import (
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// Targetings the API takes, and how it shows them back: normalised, repeats
// dropped, empty lists gone.
func TestParseTargetingNormalises(t *testing.T) {
	cases := []struct{ in, want string }{
		{`null`, `null`},
		{`{}`, `null`},
		{`{"countries":{"include":[]},"devices":{"exclude":[]},"schedule":[]}`, `null`},
		{`{"countries":{"include":["us"," gb ","US"],"exclude":["fr"]}}`, `{"countries":{"include":["US","GB"],"exclude":["FR"]}}`},
		{`{"devices":{"include":["Mobile","tablet"]},"os":{"exclude":["WINDOWS"]}}`, `{"devices":{"include":["mobile","tablet"]},"os":{"exclude":["windows"]}}`},
		{`{"os_versions":{"include":[{"os":"Android","min":"10","max":"14"},{"os":"ios","min":"16.4"}]}}`,
			`{"os_versions":{"include":[{"os":"android","min":"10","max":"14"},{"os":"ios","min":"16.4"}]}}`},
		{`{"browsers":{"include":["Chrome","samsung"],"exclude":["other"]}}`, `{"browsers":{"include":["chrome","samsung"],"exclude":["other"]}}`},
		{`{"languages":{"include":["PT","pt_br","zh-hant-tw","es-419"]}}`, `{"languages":{"include":["pt","pt-BR","zh-Hant-TW","es-419"]}}`},
		{`{"ips":{"include":["10.1.2.3/8","192.0.2.7","2001:DB8::/32","::ffff:198.51.100.0/120"]}}`,
			`{"ips":{"include":["10.0.0.0/8","192.0.2.7/32","2001:db8::/32","198.51.100.0/24"]}}`},
		{`{"schedule":[{"days":["fri","Mon","mon"],"hours":[17,9,9]},{"hours":[0]},{}]}`,
			`{"schedule":[{"days":["mon","fri"],"hours":[9,17]},{"hours":[0]},{}]}`},
	}
	for _, c := range cases {
		got, err := ParseTargeting([]byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		out := "null"
		if got != nil {
			b, _ := json.Marshal(got)
			out = string(b)
		}
		if out != c.want {
			t.Errorf("%s\n got %s\nwant %s", c.in, out, c.want)
		}
	}
}

// Each refusal is invalid_targeting and names the field.
func TestParseTargetingRefuses(t *testing.T) {
	many := func(n int, v string) string {
		return `[` + strings.TrimSuffix(strings.Repeat(`"`+v+`",`, n), ",") + `]`
	}
	cases := []struct{ in, field string }{
		{`[]`, "targeting: must be an object"},
		{`"US"`, "targeting: must be an object"},
		{`{"country":{"include":["US"]}}`, `targeting: "country" is not a kind of rule`},
		{`{"countries":["US"]}`, "targeting.countries: must be an object"},
		{`{"countries":{"only":["US"]}}`, `targeting.countries: "only" is neither include nor exclude`},
		{`{"countries":{"include":"US"}}`, "targeting.countries.include: must be a list of strings"},
		{`{"countries":{"include":["US","USA"]}}`, `targeting.countries.include[1]: "USA" is not an ISO 3166-1 alpha-2`},
		{`{"countries":{"exclude":` + many(251, "US") + `}}`, "targeting.countries.exclude: holds at most 250 values, not 251"},
		{`{"devices":{"include":["phone"]}}`, `targeting.devices.include[0]: "phone" is not one of desktop, mobile, tablet`},
		{`{"os":{"exclude":["symbian"]}}`, `targeting.os.exclude[0]: "symbian" is not one of android, ios`},
		{`{"browsers":{"include":["netscape"]}}`, `targeting.browsers.include[0]: "netscape" is not one of chrome`},
		{`{"languages":{"include":["p"]}}`, `targeting.languages.include[0]: "p" is not a language tag`},
		{`{"languages":{"include":["pt-BR-"]}}`, `targeting.languages.include[0]`},
		{`{"languages":{"include":["abcdefgh-ijklmnop"]}}`, `targeting.languages.include[0]`},
		{`{"languages":{"include":` + many(101, "en") + `}}`, "targeting.languages.include: holds at most 100 values"},
		{`{"ips":{"include":["10.0.0.0/33"]}}`, `targeting.ips.include[0]: "10.0.0.0/33" is not a CIDR prefix`},
		{`{"ips":{"exclude":["example.com"]}}`, `targeting.ips.exclude[0]: "example.com" is not an IP address`},
		{`{"ips":{"include":` + many(1001, "10.0.0.1") + `}}`, "targeting.ips.include: holds at most 1000 values"},
		{`{"os_versions":{"include":[{"os":"other","min":"1"}]}}`, "targeting.os_versions.include[0].os: must be one of android"},
		{`{"os_versions":{"include":[{"os":"android","min":"ten"}]}}`, `targeting.os_versions.include[0].min: "ten" is not a version`},
		{`{"os_versions":{"include":[{"os":"android","max":"14.2.1"}]}}`, `targeting.os_versions.include[0].max: "14.2.1" is not a version`},
		{`{"os_versions":{"include":[{"os":"android","min":"0"}]}}`, `targeting.os_versions.include[0].min: "0" is not a version`},
		{`{"os_versions":{"exclude":[{"os":"ios","min":"17","max":"16"}]}}`, "targeting.os_versions.exclude[0]: min 17 is above max 16"},
		{`{"os_versions":{"include":[{"os":"ios","min":16}]}}`, "targeting.os_versions.include[0].min: must be a string"},
		{`{"os_versions":{"include":[{"os":"ios","from":"16"}]}}`, `targeting.os_versions.include[0]: "from" is not one of os, min and max`},
		{`{"os_versions":{"include":["ios"]}}`, `targeting.os_versions.include[0]: must be an object`},
		{`{"schedule":{"days":["mon"]}}`, "targeting.schedule: must be a list"},
		{`{"schedule":[{"days":["monday"]}]}`, `targeting.schedule[0].days[0]: "monday" is not one of sun, mon`},
		{`{"schedule":[{"hours":[24]}]}`, "targeting.schedule[0].hours[0]: 24 is not an hour from 0 to 23"},
		{`{"schedule":[{"hours":["9"]}]}`, "targeting.schedule[0].hours: must be a list of hours"},
		{`{"schedule":[{"weeks":[1]}]}`, `targeting.schedule[0]: "weeks" is neither days nor hours`},
	}
	for _, c := range cases {
		got, err := ParseTargeting([]byte(c.in))
		if err == nil {
			t.Errorf("%s: taken as %v", c.in, got)
			continue
		}
		if err.Code != "invalid_targeting" || !strings.HasPrefix(err.Message, c.field) {
			t.Errorf("%s: %s %q, want invalid_targeting starting %q", c.in, err.Code, err.Message, c.field)
		}
	}
}

func mustTargeting(t testing.TB, s string) *Targeting {
	t.Helper()
	tg, err := ParseTargeting([]byte(s))
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return tg
}

func visit(mod func(*Visit)) *Visit {
	v := &Visit{Country: "US", Device: DeviceBit("mobile"), OS: OSBit("android"), OSVersion: OSVersion(14, 0),
		Browser: BrowserBit("chrome"), Lang: LangOf([]byte("pt-BR")), IP: netip.MustParseAddr("203.0.113.9"), Hour: 1*24 + 9}
	if mod != nil {
		mod(v)
	}
	return v
}

// Each kind of rule includes and excludes as written; an exclude wins.
func TestTargetingAdmits(t *testing.T) {
	cases := []struct {
		name, rules string
		visit       func(*Visit)
		want        bool
	}{
		{"no rules", `{}`, nil, true},
		{"country included", `{"countries":{"include":["US","CA"]}}`, nil, true},
		{"country not included", `{"countries":{"include":["CA"]}}`, nil, false},
		{"country unknown, include", `{"countries":{"include":["US"]}}`, func(v *Visit) { v.Country = "" }, false},
		{"country unknown, exclude", `{"countries":{"exclude":["US"]}}`, func(v *Visit) { v.Country = "" }, true},
		{"country excluded wins", `{"countries":{"include":["US"],"exclude":["US"]}}`, nil, false},
		{"device included", `{"devices":{"include":["mobile","tablet"]}}`, nil, true},
		{"device excluded", `{"devices":{"exclude":["mobile"]}}`, nil, false},
		{"bot device never included", `{"devices":{"include":["desktop","mobile","tablet"]}}`, func(v *Visit) { v.Device = DeviceBit("bot") }, false},
		{"os included", `{"os":{"include":["android"]}}`, nil, true},
		{"os other", `{"os":{"include":["other"]}}`, func(v *Visit) { v.OS = OSBit("freebsd") }, true},
		{"os excluded", `{"os":{"exclude":["android"]}}`, nil, false},
		{"version in range", `{"os_versions":{"include":[{"os":"android","min":"10","max":"14"}]}}`, nil, true},
		{"version 14.6 in 10..14", `{"os_versions":{"include":[{"os":"android","min":"10","max":"14"}]}}`, func(v *Visit) { v.OSVersion = OSVersion(14, 6) }, true},
		{"version below", `{"os_versions":{"include":[{"os":"android","min":"10","max":"14"}]}}`, func(v *Visit) { v.OSVersion = OSVersion(9, 0) }, false},
		{"version above", `{"os_versions":{"include":[{"os":"android","max":"13.1"}]}}`, func(v *Visit) { v.OSVersion = OSVersion(13, 2) }, false},
		{"version minor", `{"os_versions":{"include":[{"os":"android","min":"13.10"}]}}`, func(v *Visit) { v.OSVersion = OSVersion(13, 9) }, false},
		{"version unknown, bounded", `{"os_versions":{"include":[{"os":"android","min":"10"}]}}`, func(v *Visit) { v.OSVersion = 0 }, false},
		{"version unknown, os only", `{"os_versions":{"include":[{"os":"android"}]}}`, func(v *Visit) { v.OSVersion = 0 }, true},
		{"version, other os", `{"os_versions":{"include":[{"os":"ios","min":"16"}]}}`, nil, false},
		{"version, one of two", `{"os_versions":{"include":[{"os":"ios","min":"16"},{"os":"android","min":"12"}]}}`, nil, true},
		{"version excluded", `{"os_versions":{"exclude":[{"os":"android","min":"14"}]}}`, nil, false},
		{"version excluded wins", `{"os_versions":{"include":[{"os":"android"}],"exclude":[{"os":"android","max":"14"}]}}`, nil, false},
		{"version exclude, other os", `{"os_versions":{"exclude":[{"os":"ios","max":"15"}]}}`, nil, true},
		{"browser included", `{"browsers":{"include":["chrome"]}}`, nil, true},
		{"browser excluded", `{"browsers":{"exclude":["chrome"]}}`, nil, false},
		{"language pt takes pt-BR", `{"languages":{"include":["pt"]}}`, nil, true},
		{"language pt-BR takes pt-BR", `{"languages":{"include":["pt-BR"]}}`, nil, true},
		{"language pt-BR refuses pt-PT", `{"languages":{"include":["pt-BR"]}}`, func(v *Visit) { v.Lang = LangOf([]byte("pt-PT")) }, false},
		{"language pt-BR refuses pt", `{"languages":{"include":["pt-BR"]}}`, func(v *Visit) { v.Lang = LangOf([]byte("pt")) }, false},
		{"language pt refuses ptx", `{"languages":{"include":["pt"]}}`, func(v *Visit) { v.Lang = LangOf([]byte("ptx")) }, false},
		{"language none, include", `{"languages":{"include":["en"]}}`, func(v *Visit) { v.Lang = Lang{} }, false},
		{"language excluded", `{"languages":{"exclude":["pt"]}}`, nil, false},
		{"language excluded, other", `{"languages":{"exclude":["pt-PT"]}}`, nil, true},
		{"ip in range", `{"ips":{"include":["203.0.113.0/24"]}}`, nil, true},
		{"ip not in range", `{"ips":{"include":["198.51.100.0/24"]}}`, nil, false},
		{"ip v6 in range", `{"ips":{"include":["2001:db8::/32"]}}`, func(v *Visit) { v.IP = netip.MustParseAddr("2001:db8:1::5") }, true},
		{"ip v6 excluded", `{"ips":{"exclude":["2001:db8::/32"]}}`, func(v *Visit) { v.IP = netip.MustParseAddr("2001:db8:1::5") }, false},
		{"ip v4 rule, v6 visitor", `{"ips":{"exclude":["0.0.0.0/0"]}}`, func(v *Visit) { v.IP = netip.MustParseAddr("2001:db8:1::5") }, true},
		{"ip unknown, include", `{"ips":{"include":["0.0.0.0/0"]}}`, func(v *Visit) { v.IP = netip.Addr{} }, false},
		{"schedule in", `{"schedule":[{"days":["mon"],"hours":[9]}]}`, nil, true},
		{"schedule other hour", `{"schedule":[{"days":["mon"],"hours":[10]}]}`, nil, false},
		{"schedule every day at 9", `{"schedule":[{"hours":[9]}]}`, nil, true},
		{"schedule all Monday", `{"schedule":[{"days":["mon"]}]}`, nil, true},
		{"schedule Saturday 23h", `{"schedule":[{"days":["sat"],"hours":[23]}]}`, func(v *Visit) { v.Hour = 6*24 + 23 }, true},
		{"every rule passes", `{"countries":{"include":["US"]},"devices":{"include":["mobile"]},"os":{"include":["android"]},
			"os_versions":{"include":[{"os":"android","min":"10"}]},"browsers":{"exclude":["safari"]},"languages":{"include":["pt"]},
			"ips":{"exclude":["10.0.0.0/8"]},"schedule":[{"days":["mon","tue"]}]}`, nil, true},
		{"every rule but one", `{"countries":{"include":["US"]},"devices":{"include":["mobile"]},"os":{"include":["android"]},
			"os_versions":{"include":[{"os":"android","min":"10"}]},"browsers":{"exclude":["safari"]},"languages":{"include":["pt"]},
			"ips":{"exclude":["10.0.0.0/8"]},"schedule":[{"days":["tue"]}]}`, nil, false},
	}
	for _, c := range cases {
		if got := mustTargeting(t, c.rules).Admits(visit(c.visit)); got != c.want {
			t.Errorf("%s: %s admits %v, want %v", c.name, c.rules, got, c.want)
		}
	}
	var none *Targeting
	if !none.Admits(visit(nil)) || !none.AdmitsCountry("") {
		t.Error("no targeting refuses a visitor")
	}
}

// The targeting read back from Redis is the one saved: compiled again
// from its JSON, it judges the same.
func TestTargetingSurvivesItsJSON(t *testing.T) {
	o := &Offer{ID: "1", Targeting: mustTargeting(t, `{"countries":{"exclude":["FR"]},"ips":{"include":["203.0.113.0/24"]}}`)}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var back Offer
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Targeting.Admits(visit(nil)) || back.Targeting.Admits(visit(func(v *Visit) { v.Country = "FR" })) ||
		back.Targeting.Admits(visit(func(v *Visit) { v.IP = netip.MustParseAddr("203.0.114.1") })) {
		t.Errorf("the targeting read back judges otherwise: %s", b)
	}
	var plain Offer
	if err := json.Unmarshal([]byte(`{"id":"2"}`), &plain); err != nil || plain.Targeting != nil {
		t.Errorf("an offer stored without targeting: %v, %v", plain.Targeting, err)
	}
	if !strings.Contains(string(b), `"targeting":{"countries":{"exclude":["FR"]},"ips":{"include":["203.0.113.0/24"]}}`) {
		t.Errorf("stored as %s", b)
	}
}

func TestLangOf(t *testing.T) {
	for in, want := range map[string]string{"pt-BR": "pt-br", "PT_br": "pt-br", "en": "en", "": "", "*": "", "-en": "", "en-": "",
		"zh-Hant-TW": "zh-hant-tw", "x-very-long-private-tag": "x", "abcdefghijklmnopq-r": "", "en US": ""} {
		if l := LangOf([]byte(in)); l.String() != want {
			t.Errorf("LangOf(%q) = %q, want %q", in, l.String(), want)
		}
	}
}

// Admits allocates nothing, however many rules.
func TestTargetingAdmitsDoesNotAllocate(t *testing.T) {
	tg := mustTargeting(t, benchTargeting)
	v := visit(nil)
	if n := testing.AllocsPerRun(100, func() { tg.Admits(v) }); n != 0 {
		t.Errorf("Admits allocates %v times", n)
	}
}

// benchTargeting is 20 rules of every kind: 12 include or exclude lists
// (countries, devices, OS, browsers, languages, IP ranges), 5 OS version
// ranges and 3 schedule windows.
const benchTargeting = `{"countries":{"include":["US","CA","GB","DE","FR","BR","PT","ES","IT","NL"],"exclude":["CN","RU"]},
	"devices":{"include":["mobile","tablet"],"exclude":["desktop"]},
	"os":{"include":["android","ios"],"exclude":["windows"]},
	"os_versions":{"include":[{"os":"android","min":"10","max":"14"},{"os":"ios","min":"16"},{"os":"ios","min":"15.4","max":"15.8"}],
		"exclude":[{"os":"android","max":"9"},{"os":"ios","max":"12"}]},
	"browsers":{"include":["chrome","safari","samsung"],"exclude":["ie"]},
	"languages":{"include":["pt","en","es"],"exclude":["pt-PT"]},
	"ips":{"include":["203.0.113.0/24","198.51.100.0/24","2001:db8::/32"],"exclude":["10.0.0.0/8","203.0.113.128/25"]},
	"schedule":[{"days":["mon","tue","wed","thu","fri"],"hours":[8,9,10,11,12,13,14,15,16,17,18,19,20]},{"days":["sat","sun"]},{"days":["fri"],"hours":[21,22]}]}`

func BenchmarkTargetingAdmits(b *testing.B) {
	tg := mustTargeting(b, benchTargeting)
	v := visit(nil)
	b.ReportAllocs()
	for b.Loop() {
		if !tg.Admits(v) {
			b.Fatal("refused")
		}
	}
}

// FuzzParseTargeting: any input is parsed or refused as invalid_targeting,
// never a panic; what is taken shows itself in a form that parses to the
// same form again, and judges any visitor without panicking.
func FuzzParseTargeting(f *testing.F) {
	for _, s := range []string{`{}`, `null`, benchTargeting, `{"countries":{"include":["us"]}}`, `{"schedule":[{"days":["mon"],"hours":[0,23]}]}`,
		`{"os_versions":{"include":[{"os":"ios","min":"16.4","max":"17"}]}}`, `{"languages":{"exclude":["zh-Hant-TW"]}}`,
		`{"ips":{"include":["::/0","0.0.0.0/0","::ffff:1.2.3.4/128"]}}`, `{"devices":{"include":[]}}`, `[1]`, `{"ips":{"include":[null]}}`} {
		f.Add([]byte(s))
	}
	r := rand.New(rand.NewPCG(1, 2))
	f.Fuzz(func(t *testing.T, data []byte) {
		tg, err := ParseTargeting(data)
		if err != nil {
			if err.Code != "invalid_targeting" || !strings.HasPrefix(err.Message, "targeting") {
				t.Fatalf("%q: %v", data, err)
			}
			return
		}
		if tg == nil {
			return
		}
		once, _ := json.Marshal(tg)
		again, err := ParseTargeting(once)
		if err != nil || again == nil {
			t.Fatalf("%s does not parse again: %v", once, err)
		}
		twice, _ := json.Marshal(again)
		if string(once) != string(twice) {
			t.Fatalf("%s parses to %s", once, twice)
		}
		for range 8 {
			var ip [16]byte
			for i := range ip {
				ip[i] = byte(r.Uint32())
			}
			v := &Visit{Country: string([]byte{byte('A' + r.IntN(27)), byte('A' + r.IntN(26))}), Device: 1 << r.IntN(4), OS: 1 << r.IntN(8),
				OSVersion: OSVersion(r.IntN(20), r.IntN(5)), Browser: 1 << r.IntN(18), Lang: LangOf([]byte("pt-BR")), Hour: uint8(r.IntN(170)),
				IP: netip.AddrFrom16(ip)}
			if r.IntN(2) == 0 {
				v.IP = netip.AddrFrom4([4]byte(ip[:4]))
			}
			if tg.Admits(v) != again.Admits(v) {
				t.Fatalf("%s and its form again judge %+v differently", data, v)
			}
		}
	})
}
