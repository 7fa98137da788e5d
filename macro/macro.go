// Package macro expands the {name} placeholders of tracking links and
// postback URLs. The click redirect and outbound postbacks share it, so a
// macro means the same thing in both.
//
// Values are set by Name into a fixed array, not looked up through a
// function, so expansion on the click path costs no dynamic call and no
// allocation. A placeholder whose name is unknown, or whose value is not set,
// becomes empty: an affiliate never receives a literal "{...}". Every value
// is percent-encoded with RFC 3986's unreserved set (space as %20), which is
// safe in a path segment and in a query string alike.
package macro

import (
	"strings"
	"unicode/utf8"
)

// Name identifies a macro.
type Name uint8

// clickrelay's own macros (the README's macro table), then those added for
// postbacks pasted from other platforms (platforms.go). Tracking links use
// the first group; postbacks use them all.
const (
	Unknown Name = iota
	ClickID
	OfferID
	AffID
	Sub1
	Sub2
	Sub3
	Sub4
	Sub5
	Geo
	AffClickID
	Payout
	ConversionID
	TxID
	TransactionID // the click ID, as Everflow and TUNE name it
	Amount
	Currency
	Event
	Goal
	Status
	Timestamp
	AdvID    // the offer's advertiser
	DateTime // the conversion's time, "2006-01-02 15:04:05" in UTC
	Date     // the conversion's date, "2006-01-02" in UTC
	Time     // the conversion's time of day, "15:04:05" in UTC
	OS       // the click's operating system family
	Device   // the click's device class: mobile, tablet, desktop, bot or unknown
	// SmartLinkID is the smart link the click came through (empty for a
	// click on an offer's own link).
	SmartLinkID
	numNames
)

// MaxNameLen bounds what counts as a placeholder: "{" followed by up to this
// many bytes and "}".
const MaxNameLen = 64

// names maps each {name} to its Name: clickrelay's own names, then the
// other platforms' aliases (platforms.go).
var names = func() map[string]Name {
	m := map[string]Name{
		"click_id": ClickID, "offer_id": OfferID, "aff_id": AffID,
		"sub1": Sub1, "sub2": Sub2, "sub3": Sub3, "sub4": Sub4, "sub5": Sub5,
		"geo": Geo, "aff_click_id": AffClickID, "payout": Payout,
		"conversion_id": ConversionID, "txid": TxID, "transaction_id": TransactionID,
		"amount": Amount, "currency": Currency, "event": Event, "goal": Goal,
		"status": Status, "timestamp": Timestamp,
		"adv_id": AdvID, "datetime": DateTime, "date_only": Date, "time": Time,
		"os": OS, "device": Device, "smart_link_id": SmartLinkID,
	}
	for _, a := range braceAliases {
		if _, taken := m[a.name]; taken {
			panic("macro: alias " + a.name + " shadows a clickrelay macro")
		}
		m[a.name] = a.to
	}
	return m
}()

// Lookup returns the Name of a placeholder, ignoring case.
func Lookup(name string) Name {
	n, _ := lookupIn(names, name)
	return n
}

// lookupIn finds name in table, ignoring case, and reports whether the
// table holds it at all (a CAKE token may be known yet have no value here).
func lookupIn(table map[string]Name, name string) (Name, bool) {
	if n, ok := table[name]; ok { // the common, lower-case spelling
		return n, true
	}
	if len(name) > MaxNameLen {
		return Unknown, false
	}
	// Links keep the case their author typed ({CLICK_ID}): lower it on the
	// stack, since every click expands the same link again.
	var lower [MaxNameLen]byte
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= utf8.RuneSelf {
			n, ok := table[strings.ToLower(name)] // Unicode folding; rare
			return n, ok
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	n, ok := table[string(lower[:len(name)])]
	return n, ok
}

// Values holds the raw (unescaped) value of each macro, as bytes or as a
// string, whichever the caller has: converting would cost an allocation on
// the click path.
type Values struct {
	bytes   [numNames][]byte
	strings [numNames]string
}

// Set sets the value of macro n.
func (v *Values) Set(n Name, value []byte) { v.bytes[n], v.strings[n] = value, "" }

// SetString sets the value of macro n from a string.
func (v *Values) SetString(n Name, value string) { v.bytes[n], v.strings[n] = nil, value }

// Bytes returns the value of macro n set with Set.
func (v *Values) Bytes(n Name) []byte { return v.bytes[n] }

// Subs returns the Names of sub1..sub5, in order.
func Subs() [5]Name { return [5]Name{Sub1, Sub2, Sub3, Sub4, Sub5} }

// Expand appends tmpl to dst with each placeholder replaced by its escaped
// value. It reports whether tmpl holds a {click_id} placeholder, so a
// redirect can append the click ID where the link has no place for it. A
// lone "{" or "}" is written percent-encoded, keeping the URL valid.
func Expand(dst []byte, tmpl string, v *Values) (out []byte, hasClickID bool) {
	for {
		i := indexBrace(tmpl)
		if i < 0 {
			return append(dst, tmpl...), hasClickID
		}
		dst = append(dst, tmpl[:i]...)
		if tmpl[i] == '}' {
			dst = append(dst, "%7D"...)
			tmpl = tmpl[i+1:]
			continue
		}
		end := strings.IndexByte(tmpl[i+1:min(len(tmpl), i+2+MaxNameLen)], '}')
		if end < 0 || strings.IndexByte(tmpl[i+1:i+1+end], '{') >= 0 {
			dst = append(dst, "%7B"...)
			tmpl = tmpl[i+1:]
			continue
		}
		n := Lookup(tmpl[i+1 : i+1+end])
		if n == ClickID {
			hasClickID = true
		}
		// v's Unknown entries are never set: an unknown name expands empty.
		dst = AppendEscaped(AppendEscaped(dst, v.bytes[n]), v.strings[n])
		tmpl = tmpl[i+2+end:]
	}
}

// indexBrace is strings.IndexAny(s, "{}") without building a character set
// on each call.
func indexBrace(s string) int {
	left := strings.IndexByte(s, '{')
	upto := s
	if left >= 0 {
		upto = s[:left]
	}
	if right := strings.IndexByte(upto, '}'); right >= 0 {
		return right
	}
	return left
}

// AppendEscaped appends s percent-encoded: everything but RFC 3986's
// unreserved characters (A-Z a-z 0-9 - . _ ~) becomes %XX.
func AppendEscaped[S ~string | ~[]byte](dst []byte, s S) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		if c := s[i]; unreserved[c] {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		}
	}
	return dst
}

var unreserved = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
		t[c+'a'-'A'] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['-'], t['.'], t['_'], t['~'] = true, true, true, true
	return t
}()

// AppendParam appends "name=value" as a query parameter to a URL that has
// just been expanded, before any fragment, with "?" or "&" as needed.
func AppendParam(url []byte, name string, value []byte) []byte {
	var fragment []byte
	for i, c := range url {
		if c == '#' {
			fragment = append(fragment, url[i:]...)
			url = url[:i]
			break
		}
	}
	sep := byte('?')
	for _, c := range url {
		if c == '?' {
			sep = '&'
			break
		}
	}
	if n := len(url); n > 0 && (url[n-1] == '?' || url[n-1] == '&') {
		sep = 0
	}
	if sep != 0 {
		url = append(url, sep)
	}
	url = append(url, name...)
	url = append(url, '=')
	url = AppendEscaped(url, value)
	return append(url, fragment...)
}
