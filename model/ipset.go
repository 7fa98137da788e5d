package model

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// IPSet is a set of IP ranges (CIDR prefixes), v4 and v6, compiled for the
// click path: sorted, merged ranges searched by bisection, so a lookup
// costs about log2(ranges) comparisons whatever the list's length, and
// never allocates.
type IPSet struct {
	v4 []ipRange4
	v6 []ipRange6
}

type ipRange4 struct{ lo, hi uint32 }

// u128 is an IPv6 address as a number.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

// next is a+1 and whether it did not wrap.
func (a u128) next() (u128, bool) {
	if a.lo != ^uint64(0) {
		return u128{a.hi, a.lo + 1}, true
	}
	if a.hi != ^uint64(0) {
		return u128{a.hi + 1, 0}, true
	}
	return u128{}, false
}

type ipRange6 struct{ lo, hi u128 }

// NewIPSet compiles prefixes (masked; an IPv4-mapped IPv6 prefix counts as
// the IPv4 one) into a set.
func NewIPSet(prefixes []netip.Prefix) *IPSet {
	s := &IPSet{}
	for _, p := range prefixes {
		p = canonicalPrefix(p)
		if !p.IsValid() {
			continue
		}
		if p.Addr().Is4() {
			a := p.Addr().As4()
			lo := binary.BigEndian.Uint32(a[:])
			hi := lo
			if p.Bits() < 32 {
				hi = lo | (^uint32(0) >> p.Bits())
			}
			s.v4 = append(s.v4, ipRange4{lo, hi})
			continue
		}
		lo := u128of(p.Addr())
		hi := lo
		switch bits := p.Bits(); {
		case bits == 0:
			hi = u128{^uint64(0), ^uint64(0)}
		case bits < 64:
			hi = u128{lo.hi | ^uint64(0)>>bits, ^uint64(0)}
		case bits < 128:
			hi = u128{lo.hi, lo.lo | ^uint64(0)>>(bits-64)}
		}
		s.v6 = append(s.v6, ipRange6{lo, hi})
	}
	slices.SortFunc(s.v4, func(a, b ipRange4) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	merged4 := s.v4[:0]
	for _, r := range s.v4 {
		if n := len(merged4); n > 0 && (merged4[n-1].hi == ^uint32(0) || r.lo <= merged4[n-1].hi+1) {
			merged4[n-1].hi = max(merged4[n-1].hi, r.hi)
			continue
		}
		merged4 = append(merged4, r)
	}
	s.v4 = slices.Clip(merged4)
	slices.SortFunc(s.v6, func(a, b ipRange6) int {
		switch {
		case a.lo.less(b.lo):
			return -1
		case b.lo.less(a.lo):
			return 1
		}
		return 0
	})
	merged6 := s.v6[:0]
	for _, r := range s.v6 {
		if n := len(merged6); n > 0 {
			last := &merged6[n-1]
			after, ok := last.hi.next()
			if !ok || !after.less(r.lo) { // touching or overlapping
				if last.hi.less(r.hi) {
					last.hi = r.hi
				}
				continue
			}
		}
		merged6 = append(merged6, r)
	}
	s.v6 = slices.Clip(merged6)
	return s
}

func u128of(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// canonicalPrefix masks p, and turns an IPv4-mapped IPv6 prefix of at
// least 96 bits into its IPv4 prefix: the click path compares addresses
// unmapped.
func canonicalPrefix(p netip.Prefix) netip.Prefix {
	if !p.IsValid() {
		return p
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

// Contains reports whether a is in the set. An IPv4-mapped IPv6 address
// is looked up as its IPv4 one.
func (s *IPSet) Contains(a netip.Addr) bool {
	if s == nil || !a.IsValid() {
		return false
	}
	if a.Is4In6() {
		a = a.Unmap()
	}
	if a.Is4() {
		b := a.As4()
		x := binary.BigEndian.Uint32(b[:])
		// The first range starting above x; the one before it may hold x.
		i, j := 0, len(s.v4)
		for i < j {
			h := int(uint(i+j) >> 1)
			if s.v4[h].lo <= x {
				i = h + 1
			} else {
				j = h
			}
		}
		return i > 0 && x <= s.v4[i-1].hi
	}
	x := u128of(a)
	i, j := 0, len(s.v6)
	for i < j {
		h := int(uint(i+j) >> 1)
		if !x.less(s.v6[h].lo) {
			i = h + 1
		} else {
			j = h
		}
	}
	return i > 0 && !s.v6[i-1].hi.less(x)
}

// Len is how many merged ranges the set holds.
func (s *IPSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.v4) + len(s.v6)
}

// ParseIPRange reads one entry of an IP list: a CIDR prefix (v4 or v6) or a
// single address, which stands for its /32 or /128. It answers the
// prefix masked (10.1.2.3/8 is 10.0.0.0/8) and written canonically.
func ParseIPRange(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR prefix such as 203.0.113.0/24 or 2001:db8::/32", s)
		}
		return canonicalPrefix(p), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or a CIDR prefix such as 203.0.113.0/24", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parseIPList reads a list of at most max IP ranges, answering them
// canonical and without repeats, in the order given.
func parseIPList(list []string, max int, field string) ([]string, []netip.Prefix, error) {
	if len(list) > max {
		return nil, nil, fmt.Errorf("%s holds at most %d IP ranges, not %d", field, max, len(list))
	}
	out := make([]string, 0, len(list))
	prefixes := make([]netip.Prefix, 0, len(list))
	seen := make(map[netip.Prefix]bool, len(list))
	for _, entry := range list {
		p, err := ParseIPRange(entry)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", field, err)
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		prefixes = append(prefixes, p)
		out = append(out, p.String())
	}
	return out, prefixes, nil
}
