package model

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

func TestIPSetMergesAndFinds(t *testing.T) {
	set := NewIPSet([]netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.1.0.0/16"), // inside the first
		netip.MustParsePrefix("192.168.0.0/24"), netip.MustParsePrefix("192.168.1.0/24"), // adjacent: one range
		netip.MustParsePrefix("255.255.255.255/32"), netip.MustParsePrefix("0.0.0.0/32"),
		netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("2001:db8:ffff::/48"),
		netip.MustParsePrefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124"),
		netip.MustParsePrefix("::ffff:198.51.100.0/120"), // an IPv4-mapped prefix is the IPv4 one
	})
	if got := set.Len(); got != 7 {
		t.Errorf("%d ranges after merging, want 7", got)
	}
	for addr, want := range map[string]bool{
		"10.0.0.0": true, "10.255.255.255": true, "11.0.0.0": false, "9.255.255.255": false,
		"192.168.0.0": true, "192.168.1.255": true, "192.168.2.0": false,
		"255.255.255.255": true, "255.255.255.254": false, "0.0.0.0": true, "0.0.0.1": false,
		"198.51.100.7": true, "::ffff:198.51.100.7": true, "::ffff:10.2.3.4": true,
		"2001:db8::1": true, "2001:db8:ffff:ffff::1": true, "2001:db9::": false, "2001:db7:ffff::": false,
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": true, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffef": false,
		"::": false, "::1": false,
	} {
		if got := set.Contains(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Contains(%s) = %v, want %v", addr, got, want)
		}
	}
	if set.Contains(netip.Addr{}) || (*IPSet)(nil).Contains(netip.MustParseAddr("10.0.0.1")) {
		t.Error("an invalid address or a nil set holds something")
	}
	everything := NewIPSet([]netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")})
	if everything.Len() != 2 || !everything.Contains(netip.MustParseAddr("1.2.3.4")) || !everything.Contains(netip.MustParseAddr("2001::1")) {
		t.Errorf("/0 prefixes: %d ranges", everything.Len())
	}
}

// Against a plain scan of the prefixes, on random lists and addresses.
func TestIPSetAgreesWithAScan(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	for round := range 200 {
		var prefixes []netip.Prefix
		for range r.IntN(40) {
			if r.IntN(2) == 0 {
				a := netip.AddrFrom4([4]byte{byte(r.IntN(4)), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
				prefixes = append(prefixes, netip.PrefixFrom(a, 6+r.IntN(27)).Masked())
			} else {
				var b [16]byte
				b[0], b[1], b[2] = 0x20, byte(r.IntN(3)), byte(r.Uint32())
				for i := 3; i < 16; i++ {
					b[i] = byte(r.Uint32())
				}
				prefixes = append(prefixes, netip.PrefixFrom(netip.AddrFrom16(b), 8+r.IntN(121)).Masked())
			}
		}
		set := NewIPSet(prefixes)
		for range 200 {
			var a netip.Addr
			if len(prefixes) > 0 && r.IntN(2) == 0 { // near a prefix's ends
				p := prefixes[r.IntN(len(prefixes))]
				a = p.Addr()
				if r.IntN(2) == 0 {
					a = a.Prev()
				}
				if !a.IsValid() {
					continue
				}
			} else if r.IntN(2) == 0 {
				a = netip.AddrFrom4([4]byte{byte(r.IntN(4)), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
			} else {
				var b [16]byte
				b[0], b[1] = 0x20, byte(r.IntN(3))
				for i := 2; i < 16; i++ {
					b[i] = byte(r.Uint32())
				}
				a = netip.AddrFrom16(b)
			}
			want := false
			for _, p := range prefixes {
				want = want || p.Contains(a)
			}
			if got := set.Contains(a); got != want {
				t.Fatalf("round %d: Contains(%s) = %v, a scan of %v says %v", round, a, got, prefixes, want)
			}
		}
	}
}

func TestTrafficControlsParse(t *testing.T) {
	ips, err := ParseBlockedIPs([]string{"203.0.113.7", "198.51.100.9/24", "2001:DB8::/32", "203.0.113.7/32"})
	if err != nil || strings.Join(ips, ",") != "203.0.113.7/32,198.51.100.0/24,2001:db8::/32" {
		t.Errorf("ParseBlockedIPs: %v %v", ips, err)
	}
	if _, err := ParseBlockedIPs([]string{"1.2.3.4", "1.2.3.0/40"}); err == nil || err.Code != "invalid_ips" || !strings.Contains(err.Message, `"1.2.3.0/40"`) {
		t.Errorf("a bad prefix: %v", err)
	}
	big := make([]string, MaxBlockedIPs+1)
	for i := range big {
		big[i] = fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)
	}
	if _, err := ParseBlockedIPs(big); err == nil || !strings.Contains(err.Message, "at most 20000") {
		t.Errorf("too many ranges: %v", err)
	}
	if ips, err := ParseBlockedIPs(big[:MaxBlockedIPs]); err != nil || len(ips) != MaxBlockedIPs {
		t.Errorf("the most ranges: %d, %v", len(ips), err)
	}
	agents, err := ParseBlockedAgents([]string{" BadBot ", "badbot", "EvilCrawler/2"})
	if err != nil || strings.Join(agents, ",") != "BadBot,EvilCrawler/2" {
		t.Errorf("ParseBlockedAgents: %v %v", agents, err)
	}
	for _, bad := range [][]string{{""}, {"  "}, {strings.Repeat("x", MaxBlockedAgentLen+1)}, make([]string, MaxBlockedAgents+1)} {
		if _, err := ParseBlockedAgents(bad); err == nil || err.Code != "invalid_user_agents" {
			t.Errorf("ParseBlockedAgents(%d entries) = %v", len(bad), err)
		}
	}
}

func TestTrafficControlsBlock(t *testing.T) {
	var c TrafficControls
	if err := c.UnmarshalJSON([]byte(`{"ips":["203.0.113.0/24","2001:db8::/32"],"user_agents":["BadBot","curl/"],"updated_at":"x"}`)); err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"203.0.113.200": true, "203.0.114.1": false, "2001:db8::9": true, "2001:db9::9": false} {
		if got := c.BlocksIP(netip.MustParseAddr(addr)); got != want {
			t.Errorf("BlocksIP(%s) = %v", addr, got)
		}
	}
	for ua, want := range map[string]bool{"Mozilla/5.0 (compatible; BADBOT/1.0)": true, "Curl/8.5": true, "Mozilla/5.0 (iPhone)": false, "": false,
		strings.Repeat("a", 600) + "badbot": true} {
		if got := c.BlocksUserAgent([]byte(ua)); got != want {
			t.Errorf("BlocksUserAgent(%.40q) = %v", ua, got)
		}
	}
	var same, other TrafficControls
	same.SetUserAgents([]string{"BadBot", "curl/"})
	other.SetUserAgents([]string{"BadBot"})
	if c.AgentsVersion() == 0 || same.AgentsVersion() != c.AgentsVersion() || other.AgentsVersion() == c.AgentsVersion() {
		t.Errorf("versions %x %x %x", c.AgentsVersion(), same.AgentsVersion(), other.AgentsVersion())
	}
	var none *TrafficControls
	if none.BlocksIP(netip.MustParseAddr("1.2.3.4")) || none.BlocksUserAgent([]byte("x")) || none.AgentsVersion() != 0 {
		t.Error("no traffic controls block something")
	}
	if n := testing.AllocsPerRun(100, func() {
		c.BlocksIP(netip.MustParseAddr("203.0.113.9"))
		c.BlocksUserAgent([]byte("Mozilla/5.0 (Linux; Android 14)"))
	}); n != 0 {
		t.Errorf("a check allocates %v times", n)
	}
}
