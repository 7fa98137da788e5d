package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// TrafficControls are the network's own block lists, applied to every
// click before any offer's rules: IP ranges, and user agents containing
// any of a list of substrings (case-insensitive). A refused click is
// turned away as ClickDenied. There is one, TrafficControlsID.
type TrafficControls struct {
	IPs        []string `json:"ips"`
	UserAgents []string `json:"user_agents"`
	UpdatedAt  string   `json:"updated_at"`

	ipSet *IPSet
	// agents are UserAgents lower-cased; agentsVersion identifies them
	// (0: none), so a verdict cached per user agent knows when it is stale.
	agents        [][]byte
	agentsVersion uint64
}

// TrafficControlsID is the ID of the network's traffic controls.
const TrafficControlsID = "network"

// Limits of the traffic controls.
const (
	// MaxBlockedIPs bounds the IP block list: at about 45 bytes an entry
	// at worst (a long IPv6 prefix), a whole list fits a 1 MiB request.
	MaxBlockedIPs = 20000
	// MaxBlockedAgents and MaxBlockedAgentLen bound the user agent block
	// list: a user agent the click path has not seen yet is checked
	// against every entry (then its verdict is cached).
	MaxBlockedAgents   = 1000
	MaxBlockedAgentLen = 256
)

func (c *TrafficControls) EntityKind() Kind { return KindTrafficControls }
func (c *TrafficControls) EntityID() string { return TrafficControlsID }

// BlocksIP reports whether a is in the IP block list.
func (c *TrafficControls) BlocksIP(a netip.Addr) bool { return c != nil && c.ipSet.Contains(a) }

// AgentsVersion identifies the user agent block list (0: empty): equal
// lists have equal versions, in every process and across reloads.
func (c *TrafficControls) AgentsVersion() uint64 {
	if c == nil {
		return 0
	}
	return c.agentsVersion
}

// BlocksUserAgent reports whether ua contains an entry of the user agent
// block list, ignoring ASCII case. It checks every entry: callers cache the
// verdict (with AgentsVersion).
func (c *TrafficControls) BlocksUserAgent(ua []byte) bool {
	if c == nil || len(c.agents) == 0 {
		return false
	}
	var buf [512]byte
	lower := buf[:0]
	if len(ua) > len(buf) {
		lower = make([]byte, 0, len(ua))
	}
	for _, b := range ua {
		if b >= 'A' && b <= 'Z' {
			b += 'a' - 'A'
		}
		lower = append(lower, b)
	}
	for _, a := range c.agents {
		if bytes.Contains(lower, a) {
			return true
		}
	}
	return false
}

// UnmarshalJSON reads and compiles the traffic controls as stored.
func (c *TrafficControls) UnmarshalJSON(data []byte) error {
	type plain TrafficControls
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*c = TrafficControls(p)
	ips, err := ParseBlockedIPs(c.IPs)
	if err != nil {
		return err
	}
	agents, err := ParseBlockedAgents(c.UserAgents)
	if err != nil {
		return err
	}
	c.SetIPs(ips)
	c.SetUserAgents(agents)
	return nil
}

// SetIPs sets the IP block list, as ParseBlockedIPs answered it.
func (c *TrafficControls) SetIPs(ips []string) {
	c.IPs = ips
	prefixes := make([]netip.Prefix, 0, len(ips))
	for _, s := range ips {
		if p, err := ParseIPRange(s); err == nil {
			prefixes = append(prefixes, p)
		}
	}
	c.ipSet = NewIPSet(prefixes)
}

// SetUserAgents sets the user agent block list, as ParseBlockedAgents
// answered it.
func (c *TrafficControls) SetUserAgents(agents []string) {
	c.UserAgents = agents
	c.agents = make([][]byte, len(agents))
	h := fnv.New64a()
	for i, a := range agents {
		c.agents[i] = []byte(strings.ToLower(a))
		h.Write(c.agents[i])
		h.Write([]byte{0})
	}
	c.agentsVersion = 0
	if len(agents) > 0 {
		c.agentsVersion = h.Sum64() | 1
	}
}

// ParseBlockedIPs reads the IP block list: at most MaxBlockedIPs CIDR
// prefixes or addresses, v4 or v6, answered canonical (masked) and without
// repeats.
func ParseBlockedIPs(list []string) ([]string, *FieldError) {
	out, _, err := parseIPList(list, MaxBlockedIPs, "ips")
	if err != nil {
		return nil, invalidField("ips", err.Error()+".")
	}
	return out, nil
}

// ParseBlockedAgents reads the user agent block list: at most
// MaxBlockedAgents substrings of 1 to MaxBlockedAgentLen bytes (trimmed),
// without repeats (ignoring case).
func ParseBlockedAgents(list []string) ([]string, *FieldError) {
	if len(list) > MaxBlockedAgents {
		return nil, invalidField("user_agents", fmt.Sprintf("user_agents holds at most %d entries, not %d.", MaxBlockedAgents, len(list)))
	}
	out := make([]string, 0, len(list))
	seen := make(map[string]bool, len(list))
	for i, a := range list {
		a = strings.TrimSpace(a)
		if a == "" || len(a) > MaxBlockedAgentLen || !utf8.ValidString(a) {
			return nil, invalidField("user_agents", fmt.Sprintf("user_agents[%d]: each entry is 1 to %d bytes of text (a substring of the user agents to refuse).", i, MaxBlockedAgentLen))
		}
		if key := strings.ToLower(a); !seen[key] {
			seen[key] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// ParseTrafficList reads a JSON list of strings for field (ips,
// user_agents); null is an empty list.
func ParseTrafficList(raw json.RawMessage, field string) ([]string, *FieldError) {
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, invalidField(field, field+" must be a list of strings.")
	}
	return list, nil
}
