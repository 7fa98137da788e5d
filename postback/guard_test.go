package postback

import (
	"net/netip"
	"testing"
)

func TestBlocked(t *testing.T) {
	cases := map[string]bool{
		"127.0.0.1": true, "10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true,
		"169.254.169.254": true, // cloud metadata
		"100.64.0.1":      true, "0.0.0.0": true, "255.255.255.255": true, "224.0.0.1": true,
		"::1": true, "fe80::1": true, "fc00::1": true, "::": true,
		"::ffff:127.0.0.1": true, "64:ff9b::a00:1": true, // IPv4 dressed as IPv6
		"8.8.8.8": false, "1.1.1.1": false, "2606:4700::1111": false, "64:ff9b::808:808": false,
	}
	for s, want := range cases {
		if got := Blocked(netip.MustParseAddr(s)); got != want {
			t.Errorf("Blocked(%s) = %v, want %v", s, got, want)
		}
	}
}
