package model

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
)

// MaxConversionIPs bounds an advertiser's conversion allow list.
const MaxConversionIPs = 100

// AllowsConversionFrom reports whether a conversion from ip may be the
// advertiser's: its allow list is empty, or holds ip (an address not
// known, as without a TCP peer, is not held).
func (a *Advertiser) AllowsConversionFrom(ip netip.Addr) bool {
	if len(a.ConversionIPs) == 0 {
		return true
	}
	ip = ip.Unmap()
	for _, p := range a.ConversionIPs {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ParseConversionIPs reads an allow list: addresses and CIDR ranges, v4 or
// v6, at most MaxConversionIPs; null or [] clears it.
func ParseConversionIPs(raw json.RawMessage) ([]netip.Prefix, *FieldError) {
	var list []string
	if json.Unmarshal(raw, &list) != nil {
		return nil, invalidField("conversion_ips", "conversion_ips must be a list of IP addresses or CIDR ranges.")
	}
	if len(list) > MaxConversionIPs {
		return nil, invalidField("conversion_ips", fmt.Sprintf("conversion_ips holds at most %d ranges.", MaxConversionIPs))
	}
	out := make([]netip.Prefix, 0, len(list))
	for _, v := range list {
		v = strings.TrimSpace(v)
		p, err := netip.ParsePrefix(v)
		if err != nil {
			addr, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return nil, invalidField("conversion_ips", fmt.Sprintf("%q is not an IP address or a CIDR range.", v))
			}
			addr = addr.Unmap()
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		out = append(out, p.Masked())
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
