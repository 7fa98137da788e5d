package model

import (
	"encoding/json"
	"net/netip"
	"testing"
)

func TestConversionIPs(t *testing.T) {
	list, ferr := ParseConversionIPs(json.RawMessage(`["203.0.113.0/24", "198.51.100.7", "2001:db8::/32", "::ffff:192.0.2.0/120"]`))
	if ferr != nil {
		t.Fatal(ferr)
	}
	adv := &Advertiser{ConversionIPs: list}
	for ip, want := range map[string]bool{
		"203.0.113.9": true, "203.0.114.1": false, "198.51.100.7": true, "198.51.100.8": false,
		"2001:db8::1": true, "2001:db9::1": false, "::ffff:203.0.113.9": true, "192.0.2.200": true,
	} {
		if got := adv.AllowsConversionFrom(netip.MustParseAddr(ip)); got != want {
			t.Errorf("%s: allowed %v, want %v", ip, got, want)
		}
	}
	if adv.AllowsConversionFrom(netip.Addr{}) {
		t.Error("an unknown address is allowed past a list")
	}
	if !(&Advertiser{}).AllowsConversionFrom(netip.MustParseAddr("10.0.0.1")) {
		t.Error("no list refuses")
	}
	for _, bad := range []string{`"1.2.3.4"`, `["1.2.3.4/33"]`, `["example.com"]`, `[1]`} {
		if _, ferr := ParseConversionIPs(json.RawMessage(bad)); ferr == nil || ferr.Code != "invalid_conversion_ips" {
			t.Errorf("%s: %v, want invalid_conversion_ips", bad, ferr)
		}
	}
	if list, ferr := ParseConversionIPs(json.RawMessage(`[]`)); ferr != nil || list != nil {
		t.Errorf("[]: %v %v, want cleared", list, ferr)
	}
}

func TestCTITReason(t *testing.T) {
	o := &Offer{CTITMinSeconds: 10, CTITMaxSeconds: 3600}
	for elapsed, want := range map[int64]string{0: ReasonCTITTooShort, 9_999: ReasonCTITTooShort, 10_000: "", 3_600_000: "", 3_600_001: ReasonCTITTooLong} {
		if got := o.CTITReason(1_000_000, 1_000_000+elapsed); got != want {
			t.Errorf("%d ms after the click: %q, want %q", elapsed, got, want)
		}
	}
	if got := (&Offer{}).CTITReason(0, 1e12); got != "" {
		t.Errorf("no bounds: %q", got)
	}
}
