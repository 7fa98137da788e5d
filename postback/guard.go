package postback

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// ErrBlocked is returned for a postback aimed at a private address.
var ErrBlocked = errors.New("private or reserved address refused (set CLICKRELAY_POSTBACK_ALLOW_PRIVATE=1 to allow)")

// Ranges a postback may not reach unless private targets are allowed,
// besides what netip's predicates already name: shared address space
// (carrier NAT), IETF protocol assignments, benchmarking, documentation,
// "this network", reserved and broadcast.
var blockedRanges = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// nat64 embeds an IPv4 address in its last 32 bits.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Blocked reports whether addr is one postbacks may not reach by default.
func Blocked(addr netip.Addr) bool {
	addr = addr.Unmap()
	if nat64.Contains(addr) {
		b := addr.As16()
		addr = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	if !addr.IsGlobalUnicast() || addr.IsPrivate() || addr.IsLoopback() ||
		addr.IsLinkLocalUnicast() || addr.IsMulticast() || addr.IsUnspecified() {
		return true
	}
	for _, p := range blockedRanges {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// guardControl is a net.Dialer Control function: it sees the address
// actually dialed, after name resolution, so a name that resolves to a
// private address (DNS rebinding included) is refused too.
func guardControl(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("postback target %q: %w", host, err)
	}
	if Blocked(addr) {
		return fmt.Errorf("%s: %w", addr, ErrBlocked)
	}
	return nil
}
