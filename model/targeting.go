package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Targeting is who may see an offer, or, on an affiliate's record, who
// may see it through that affiliate: include or exclude lists of
// countries, device types, operating systems and their versions,
// browsers, browser languages and IP ranges, and the hours of the week
// (in the network's time zone) it runs. An absent or empty list
// constrains nothing; a visitor an exclude list names is refused whatever
// the include list says. A visitor must pass every kind of rule.
//
// It is compiled when parsed (from the API or from Redis): the click path
// only looks bits, ranges and map keys up (Admits).
type Targeting struct {
	spec targetingSpec
	c    compiledTargeting
}

// targetingSpec is the JSON shape, as the API takes and shows it.
type targetingSpec struct {
	Countries  *ListRule        `json:"countries,omitempty"`
	Devices    *ListRule        `json:"devices,omitempty"`
	OS         *ListRule        `json:"os,omitempty"`
	OSVersions *OSVersionRule   `json:"os_versions,omitempty"`
	Browsers   *ListRule        `json:"browsers,omitempty"`
	Languages  *ListRule        `json:"languages,omitempty"`
	IPs        *ListRule        `json:"ips,omitempty"`
	Schedule   []ScheduleWindow `json:"schedule,omitempty"`
}

// ListRule is one kind of rule: the values a visitor must match one of
// (Include; empty, any) and those it must match none of (Exclude).
type ListRule struct {
	Include []string `json:"include,omitempty"`
	Exclude []string `json:"exclude,omitempty"`
}

// OSVersionRule is the rule on operating system versions.
type OSVersionRule struct {
	Include []OSVersionRange `json:"include,omitempty"`
	Exclude []OSVersionRange `json:"exclude,omitempty"`
}

// OSVersionRange is an operating system, and optionally the range of its
// versions (major or major.minor, both ends included: a max of "14" takes
// 14.x). A visitor whose version the user agent does not tell matches a
// range with an end only when it has none.
type OSVersionRange struct {
	OS  string `json:"os"`
	Min string `json:"min,omitempty"`
	Max string `json:"max,omitempty"`
}

// ScheduleWindow is a set of hours on a set of days of the week, in the
// network's time zone (CLICKRELAY_TIMEZONE): no days is every day, no
// hours every hour. An offer with a schedule runs only in its windows.
type ScheduleWindow struct {
	Days  []string `json:"days,omitempty"`
	Hours []int    `json:"hours,omitempty"`
}

// Limits of a targeting (each per list: an include and an exclude list
// have one each).
const (
	MaxTargetCountries  = 250
	MaxTargetOSVersions = 20
	MaxTargetLanguages  = 100
	MaxTargetIPs        = 1000
	MaxScheduleWindows  = 50
	// MaxLanguageTagLen bounds a language tag (pt-BR, zh-Hant-TW).
	MaxLanguageTagLen = 16
	// MaxOSVersionPart bounds each number of an OS version.
	MaxOSVersionPart = 999
)

// The vocabularies of targeting. A device is what the user agent says;
// "other" OS or browser is any the lists do not name (or none told).
var (
	TargetDevices  = []string{"desktop", "mobile", "tablet"}
	TargetOSes     = []string{"android", "ios", "windows", "macos", "linux", "chromeos", "other"}
	TargetBrowsers = []string{"chrome", "safari", "firefox", "edge", "opera", "samsung", "ie", "vivaldi", "yandex", "uc",
		"miui", "huawei", "android_browser", "facebook", "instagram", "tiktok", "other"}
	// WeekDays are the schedule's days, from Sunday as Go's time.Weekday.
	WeekDays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
)

// DeviceBit is the targeting bit of a device ("bot" and "unknown": none).
func DeviceBit(device string) uint32 { return bitOf(TargetDevices, device, false) }

// OSBit is the targeting bit of an operating system as the click path
// names it (normalised: "ios", "android", ...); any other is "other".
func OSBit(os string) uint32 { return bitOf(TargetOSes, os, true) }

// BrowserBit is the targeting bit of a browser as TargetBrowsers names it;
// any other is "other".
func BrowserBit(browser string) uint32 { return bitOf(TargetBrowsers, browser, true) }

func bitOf(names []string, name string, other bool) uint32 {
	if i := slices.Index(names, name); i >= 0 {
		return 1 << i
	}
	if other {
		return 1 << (len(names) - 1)
	}
	return 0
}

// OSVersion packs a version as the click path compares it: major and
// minor, 0 when unknown.
func OSVersion(major, minor int) uint32 {
	if major <= 0 {
		return 0
	}
	return uint32(min(major, 0xffff))<<16 | uint32(min(max(minor, 0), 0xffff))
}

// Visit is what targeting judges of a visitor, read once per click.
type Visit struct {
	Country string // ISO 3166-1 alpha-2; "" unknown
	Device  uint32 // DeviceBit
	OS      uint32 // OSBit
	// OSVersion is OSVersion(major, minor); 0 unknown.
	OSVersion uint32
	Browser   uint32 // BrowserBit
	Lang      Lang
	IP        netip.Addr
	// Hour is the hour of the week in the network's time zone:
	// weekday (Sunday 0) × 24 + hour.
	Hour uint8
}

// Lang is a visitor's preferred language, lower-case, its subtags joined
// by '-' (pt-br).
type Lang struct {
	tag [MaxLanguageTagLen]byte
	n   uint8
}

// LangOf reads a language tag from an Accept-Language entry ("pt-BR",
// "pt_br"): lower-cased, '_' read as '-'. A tag longer than
// MaxLanguageTagLen keeps its primary language alone; one that is not
// letters, digits and dashes is none.
func LangOf(tag []byte) Lang {
	var l Lang
	primary := len(tag)
	for i, c := range tag {
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_') && i > 0 && i < len(tag)-1:
			c = '-'
			primary = min(primary, i)
		default:
			return Lang{}
		}
		if i < len(l.tag) {
			l.tag[i] = c
		}
	}
	switch {
	case len(tag) <= len(l.tag):
		l.n = uint8(len(tag))
	case primary <= len(l.tag):
		l.n = uint8(primary)
	}
	return l
}

// String is the tag ("" for none).
func (l *Lang) String() string { return string(l.tag[:l.n]) }

// Targeting's compiled form.
type compiledTargeting struct {
	countries    countryRule
	devices      bitRule
	os           bitRule
	browsers     bitRule
	versionsIn   []versionRange
	versionsEx   []versionRange
	languagesIn  map[string]struct{}
	languagesEx  map[string]struct{}
	ipsIn, ipsEx *IPSet
	schedule     *WeekHours
	// rules counts the include and exclude lists, and the schedule: none
	// is no targeting.
	rules int
}

// bitRule is an include and an exclude set of a small vocabulary.
type bitRule struct{ in, ex uint32 }

func (r bitRule) admits(bit uint32) bool { return (r.in == 0 || r.in&bit != 0) && r.ex&bit == 0 }

// countrySet holds a bit per pair of letters AA..ZZ.
type countrySet [(26*26 + 63) / 64]uint64

func countryIndex(c string) int {
	if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return -1
	}
	return int(c[0]-'A')*26 + int(c[1]-'A')
}

func (s *countrySet) has(i int) bool { return i >= 0 && s[i>>6]&(1<<(i&63)) != 0 }
func (s *countrySet) add(i int)      { s[i>>6] |= 1 << (i & 63) }

type countryRule struct {
	in, ex *countrySet
}

func (r *countryRule) admits(country string) bool {
	if r.in == nil && r.ex == nil {
		return true
	}
	i := countryIndex(country)
	return (r.in == nil || r.in.has(i)) && (r.ex == nil || !r.ex.has(i))
}

type versionRange struct {
	os      uint32
	bounded bool
	lo, hi  uint32
}

func (r *versionRange) matches(v *Visit) bool {
	return r.os&v.OS != 0 && (!r.bounded || v.OSVersion != 0 && r.lo <= v.OSVersion && v.OSVersion <= r.hi)
}

// WeekHours holds a bit per hour of the week (Visit.Hour).
type WeekHours [3]uint64

func (w *WeekHours) has(h uint8) bool { return h < 168 && w[h>>6]&(1<<(h&63)) != 0 }
func (w *WeekHours) add(h int)        { w[h>>6] |= 1 << (h & 63) }

// Admits reports whether the targeting lets v through; nil admits all. It
// does not allocate.
func (t *Targeting) Admits(v *Visit) bool {
	if t == nil {
		return true
	}
	c := &t.c
	if !c.devices.admits(v.Device) || !c.os.admits(v.OS) || !c.browsers.admits(v.Browser) || !c.countries.admits(v.Country) {
		return false
	}
	if c.schedule != nil && !c.schedule.has(v.Hour) {
		return false
	}
	if c.versionsIn != nil || c.versionsEx != nil {
		in := c.versionsIn == nil
		for i := range c.versionsIn {
			if c.versionsIn[i].matches(v) {
				in = true
				break
			}
		}
		if !in {
			return false
		}
		for i := range c.versionsEx {
			if c.versionsEx[i].matches(v) {
				return false
			}
		}
	}
	if c.languagesIn != nil && !langMatches(c.languagesIn, &v.Lang) || c.languagesEx != nil && langMatches(c.languagesEx, &v.Lang) {
		return false
	}
	if c.ipsIn != nil && !c.ipsIn.Contains(v.IP) || c.ipsEx != nil && c.ipsEx.Contains(v.IP) {
		return false
	}
	return true
}

// AdmitsCountry reports whether the targeting's country rule lets a
// visitor from country through (nil: any).
func (t *Targeting) AdmitsCountry(country string) bool {
	return t == nil || t.c.countries.admits(country)
}

// langMatches reports whether set holds l or one of its prefixes ending at
// a subtag (RFC 4647's basic filtering: "pt" matches pt-br, "pt-br" only
// it).
func langMatches(set map[string]struct{}, l *Lang) bool {
	tag := l.tag[:l.n]
	for n := len(tag); n > 0; n-- {
		if n < len(tag) && tag[n] != '-' {
			continue
		}
		if _, ok := set[string(tag[:n])]; ok {
			return true
		}
	}
	return false
}

// MarshalJSON writes the targeting as the API shows it: each kind of rule
// present, normalised (upper-case countries, masked prefixes, ...).
func (t *Targeting) MarshalJSON() ([]byte, error) {
	if t == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(&t.spec)
}

// UnmarshalJSON parses and compiles a targeting, as ParseTargeting does.
func (t *Targeting) UnmarshalJSON(data []byte) error {
	parsed, err := ParseTargeting(data)
	if err != nil {
		return err
	}
	if parsed == nil {
		*t = Targeting{}
		return nil
	}
	*t = *parsed
	return nil
}

// targetingError is an invalid_targeting 400 naming the field.
func targetingError(field, format string, args ...any) *FieldError {
	return &FieldError{Code: "invalid_targeting", Message: field + ": " + fmt.Sprintf(format, args...)}
}

// targetingKinds are the keys of a targeting object, in the order they are
// checked.
var targetingKinds = []string{"countries", "devices", "os", "os_versions", "browsers", "languages", "ips", "schedule"}

// ParseTargeting reads and compiles a targeting from the API (or Redis):
// an object of the kinds of rule in targetingKinds, each optional. null,
// {} and rules that list nothing are no targeting (nil). Errors are
// invalid_targeting, their message naming the field
// ("targeting.countries.include[1]: ...").
func ParseTargeting(raw []byte) (*Targeting, *FieldError) {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var fields map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &fields) != nil {
		return nil, targetingError("targeting", `must be an object such as {"countries": {"include": ["US"]}, "devices": {"exclude": ["desktop"]}}, or null.`)
	}
	for name := range fields {
		if !slices.Contains(targetingKinds, name) {
			return nil, targetingError("targeting", "%q is not a kind of rule; the kinds are %s.", name, strings.Join(targetingKinds, ", "))
		}
	}
	t := &Targeting{}
	for _, name := range targetingKinds {
		field, ok := fields[name]
		if !ok || bytes.Equal(bytes.TrimSpace(field), []byte("null")) {
			continue
		}
		var err *FieldError
		switch name {
		case "countries":
			t.spec.Countries, err = parseListRule(field, "targeting.countries", MaxTargetCountries, normaliseCountry)
		case "devices":
			t.spec.Devices, err = parseListRule(field, "targeting.devices", len(TargetDevices), vocabulary(TargetDevices))
		case "os":
			t.spec.OS, err = parseListRule(field, "targeting.os", len(TargetOSes), vocabulary(TargetOSes))
		case "os_versions":
			t.spec.OSVersions, err = parseVersionRule(field)
		case "browsers":
			t.spec.Browsers, err = parseListRule(field, "targeting.browsers", len(TargetBrowsers), vocabulary(TargetBrowsers))
		case "languages":
			t.spec.Languages, err = parseListRule(field, "targeting.languages", MaxTargetLanguages, normaliseLanguage)
		case "ips":
			t.spec.IPs, err = parseListRule(field, "targeting.ips", MaxTargetIPs, normaliseIPRange)
		case "schedule":
			t.spec.Schedule, err = parseSchedule(field)
		}
		if err != nil {
			return nil, err
		}
	}
	t.compile()
	if t.c.rules == 0 {
		return nil, nil
	}
	return t, nil
}

// parseListRule reads {"include": [...], "exclude": [...]}, each value
// normalised by norm (which answers why it refuses one); nil when both are
// empty.
func parseListRule(raw json.RawMessage, field string, max int, norm func(string) (string, string)) (*ListRule, *FieldError) {
	include, exclude, err := parseIncludeExclude(raw, field, `{"include": [...], "exclude": [...]}`, "must be a list of strings.", max, "values",
		func(v, at string) (string, *FieldError) {
			n, why := norm(v)
			if why != "" {
				return "", targetingError(at, "%s", why)
			}
			return n, nil
		})
	if err != nil || include == nil && exclude == nil {
		return nil, err
	}
	return &ListRule{Include: include, Exclude: exclude}, nil
}

// parseIncludeExclude reads an object of shape {"include": [...],
// "exclude": [...]} (either may be absent) whose lists hold at most max
// entries of type E, each read by parse (at names it: field.include[2]);
// repeats are dropped, and an empty list is nil.
func parseIncludeExclude[E any, T comparable](raw json.RawMessage, field, shape, notAList string, max int, noun string,
	parse func(entry E, at string) (T, *FieldError)) (include, exclude []T, ferr *FieldError) {
	var parts map[string]json.RawMessage
	if json.Unmarshal(raw, &parts) != nil || bytes.TrimSpace(raw)[0] != '{' {
		return nil, nil, targetingError(field, "must be an object %s.", shape)
	}
	for name, list := range parts {
		var dst *[]T
		switch name {
		case "include":
			dst = &include
		case "exclude":
			dst = &exclude
		default:
			return nil, nil, targetingError(field, "%q is neither include nor exclude.", name)
		}
		var entries []E
		if json.Unmarshal(list, &entries) != nil {
			return nil, nil, targetingError(field+"."+name, "%s", notAList)
		}
		if len(entries) > max {
			return nil, nil, targetingError(field+"."+name, "holds at most %d %s, not %d.", max, noun, len(entries))
		}
		var out []T
		for i, entry := range entries {
			v, err := parse(entry, fmt.Sprintf("%s.%s[%d]", field, name, i))
			if err != nil {
				return nil, nil, err
			}
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		*dst = out
	}
	return include, exclude, nil
}

func normaliseCountry(s string) (string, string) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if !isAlpha2(c) {
		return "", fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 country code.", s)
	}
	return c, ""
}

func vocabulary(names []string) func(string) (string, string) {
	return func(s string) (string, string) {
		v := strings.ToLower(strings.TrimSpace(s))
		if !slices.Contains(names, v) {
			return "", fmt.Sprintf("%q is not one of %s.", s, strings.Join(names, ", "))
		}
		return v, ""
	}
}

// normaliseLanguage reads a language tag: a primary language of 2 to 8
// letters and subtags of 1 to 8 letters or digits, joined by '-', at most
// MaxLanguageTagLen characters. It is written with a lower-case language,
// an upper-case region and a title-case script (pt-BR, zh-Hant-TW).
func normaliseLanguage(s string) (string, string) {
	tag := strings.ReplaceAll(strings.TrimSpace(s), "_", "-")
	bad := fmt.Sprintf("%q is not a language tag such as pt or pt-BR (a language of 2 to 8 letters, subtags of 1 to 8 letters or digits, at most %d characters).", s, MaxLanguageTagLen)
	if len(tag) == 0 || len(tag) > MaxLanguageTagLen {
		return "", bad
	}
	parts := strings.Split(tag, "-")
	for i, p := range parts {
		if len(p) < 1 || len(p) > 8 || i == 0 && len(p) < 2 {
			return "", bad
		}
		for j := 0; j < len(p); j++ {
			c := p[j]
			letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			if !letter && (i == 0 || c < '0' || c > '9') {
				return "", bad
			}
		}
		lower := strings.ToLower(p)
		switch {
		case i == 0:
			parts[i] = lower
		case len(p) == 2 && isAlpha2(strings.ToUpper(p)):
			parts[i] = strings.ToUpper(p)
		case len(p) == 4 && isLetters(p):
			parts[i] = strings.ToUpper(lower[:1]) + lower[1:]
		default:
			parts[i] = lower
		}
	}
	return strings.Join(parts, "-"), ""
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func normaliseIPRange(s string) (string, string) {
	p, err := ParseIPRange(s)
	if err != nil {
		return "", err.Error() + "."
	}
	return p.String(), ""
}

func parseVersionRule(raw json.RawMessage) (*OSVersionRule, *FieldError) {
	include, exclude, err := parseIncludeExclude(raw, "targeting.os_versions",
		`{"include": [{"os": "android", "min": "10", "max": "14"}], "exclude": [...]}`, `must be a list of {"os", "min", "max"}.`,
		MaxTargetOSVersions, "ranges", parseVersionRange)
	if err != nil || include == nil && exclude == nil {
		return nil, err
	}
	return &OSVersionRule{Include: include, Exclude: exclude}, nil
}

func parseVersionRange(raw json.RawMessage, at string) (OSVersionRange, *FieldError) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || bytes.TrimSpace(raw)[0] != '{' {
		return OSVersionRange{}, targetingError(at, `must be an object {"os": "android", "min": "10", "max": "14"}.`)
	}
	var r OSVersionRange
	for name, v := range fields {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return r, targetingError(at+"."+name, "must be a string.")
		}
		switch name {
		case "os":
			r.OS = strings.ToLower(strings.TrimSpace(s))
		case "min":
			r.Min = strings.TrimSpace(s)
		case "max":
			r.Max = strings.TrimSpace(s)
		default:
			return r, targetingError(at, "%q is not one of os, min and max.", name)
		}
	}
	versioned := TargetOSes[:len(TargetOSes)-1] // not "other"
	if !slices.Contains(versioned, r.OS) {
		return r, targetingError(at+".os", "must be one of %s.", strings.Join(versioned, ", "))
	}
	lo, hi, err := versionBounds(r, at)
	if err != nil {
		return r, err
	}
	if lo > hi {
		return r, targetingError(at, "min %s is above max %s.", r.Min, r.Max)
	}
	return r, nil
}

// versionBounds are r's ends packed as OSVersion: min's minor defaults to
// 0, max's to every minor of its major.
func versionBounds(r OSVersionRange, at string) (lo, hi uint32, err *FieldError) {
	lo, hi = 0, ^uint32(0)
	if r.Min != "" {
		major, minor, ok := parseVersion(r.Min)
		if !ok {
			return 0, 0, versionError(at+".min", r.Min)
		}
		lo = uint32(major)<<16 | uint32(max(minor, 0))
	}
	if r.Max != "" {
		major, minor, ok := parseVersion(r.Max)
		if !ok {
			return 0, 0, versionError(at+".max", r.Max)
		}
		hi = uint32(major)<<16 | 0xffff
		if minor >= 0 {
			hi = uint32(major)<<16 | uint32(minor)
		}
	}
	return lo, hi, nil
}

func versionError(at, v string) *FieldError {
	return targetingError(at, "%q is not a version such as 14 or 16.4 (numbers of 0 to %d; the major at least 1).", v, MaxOSVersionPart)
}

// parseVersion reads "14" (minor -1: not given) or "16.4".
func parseVersion(s string) (major, minor int, ok bool) {
	majorText, minorText, dotted := strings.Cut(s, ".")
	major, ok = versionPart(majorText)
	if !ok || major < 1 {
		return 0, 0, false
	}
	minor = -1
	if dotted {
		if minor, ok = versionPart(minorText); !ok {
			return 0, 0, false
		}
	}
	return major, minor, true
}

func versionPart(s string) (int, bool) {
	if s == "" || len(s) > 3 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n <= MaxOSVersionPart
}

func parseSchedule(raw json.RawMessage) ([]ScheduleWindow, *FieldError) {
	const field = "targeting.schedule"
	var entries []json.RawMessage
	if json.Unmarshal(raw, &entries) != nil || bytes.TrimSpace(raw)[0] != '[' {
		return nil, targetingError(field, `must be a list of {"days": ["mon", ...], "hours": [9, 10, ...]}.`)
	}
	if len(entries) > MaxScheduleWindows {
		return nil, targetingError(field, "holds at most %d windows, not %d.", MaxScheduleWindows, len(entries))
	}
	var out []ScheduleWindow
	for i, entry := range entries {
		at := fmt.Sprintf("%s[%d]", field, i)
		var fields map[string]json.RawMessage
		if json.Unmarshal(entry, &fields) != nil || bytes.TrimSpace(entry)[0] != '{' {
			return nil, targetingError(at, `must be an object {"days": ["mon", ...], "hours": [9, 10, ...]}.`)
		}
		var w ScheduleWindow
		for name, v := range fields {
			switch name {
			case "days":
				var days []string
				if json.Unmarshal(v, &days) != nil || len(days) > 7*4 {
					return nil, targetingError(at+".days", "must be a list of sun, mon, tue, wed, thu, fri, sat.")
				}
				var seen [7]bool
				for j, d := range days {
					k := slices.Index(WeekDays, strings.ToLower(strings.TrimSpace(d)))
					if k < 0 {
						return nil, targetingError(fmt.Sprintf("%s.days[%d]", at, j), "%q is not one of sun, mon, tue, wed, thu, fri, sat.", d)
					}
					seen[k] = true
				}
				for k, ok := range seen {
					if ok {
						w.Days = append(w.Days, WeekDays[k])
					}
				}
			case "hours":
				var hours []int
				if json.Unmarshal(v, &hours) != nil || len(hours) > 24*4 {
					return nil, targetingError(at+".hours", "must be a list of hours from 0 to 23.")
				}
				var seen [24]bool
				for j, h := range hours {
					if h < 0 || h > 23 {
						return nil, targetingError(fmt.Sprintf("%s.hours[%d]", at, j), "%d is not an hour from 0 to 23.", h)
					}
					seen[h] = true
				}
				for h, ok := range seen {
					if ok {
						w.Hours = append(w.Hours, h)
					}
				}
			default:
				return nil, targetingError(at, "%q is neither days nor hours.", name)
			}
		}
		if !slices.ContainsFunc(out, func(o ScheduleWindow) bool { return slices.Equal(o.Days, w.Days) && slices.Equal(o.Hours, w.Hours) }) {
			out = append(out, w)
		}
	}
	return out, nil
}

// compile builds the click path's form of t.spec.
func (t *Targeting) compile() {
	s, c := &t.spec, &t.c
	*c = compiledTargeting{}
	count := func(r *ListRule) {
		if r == nil {
			return
		}
		if len(r.Include) > 0 {
			c.rules++
		}
		if len(r.Exclude) > 0 {
			c.rules++
		}
	}
	for _, r := range []*ListRule{s.Countries, s.Devices, s.OS, s.Browsers, s.Languages, s.IPs} {
		count(r)
	}
	if r := s.Countries; r != nil {
		c.countries.in, c.countries.ex = countriesOf(r.Include), countriesOf(r.Exclude)
	}
	c.devices = ruleBits(s.Devices, DeviceBit)
	c.os = ruleBits(s.OS, OSBit)
	c.browsers = ruleBits(s.Browsers, BrowserBit)
	if r := s.OSVersions; r != nil {
		c.versionsIn, c.versionsEx = versionRanges(r.Include), versionRanges(r.Exclude)
		if len(r.Include) > 0 {
			c.rules++
		}
		if len(r.Exclude) > 0 {
			c.rules++
		}
	}
	if r := s.Languages; r != nil {
		c.languagesIn, c.languagesEx = languageSet(r.Include), languageSet(r.Exclude)
	}
	if r := s.IPs; r != nil {
		c.ipsIn, c.ipsEx = ipSet(r.Include), ipSet(r.Exclude)
	}
	if len(s.Schedule) > 0 {
		c.rules++
		c.schedule = &WeekHours{}
		for _, w := range s.Schedule {
			days, hours := w.Days, w.Hours
			if len(days) == 0 {
				days = WeekDays
			}
			for _, d := range days {
				day := slices.Index(WeekDays, d)
				if len(hours) == 0 {
					for h := range 24 {
						c.schedule.add(day*24 + h)
					}
				}
				for _, h := range hours {
					c.schedule.add(day*24 + h)
				}
			}
		}
	}
}

func countriesOf(list []string) *countrySet {
	if len(list) == 0 {
		return nil
	}
	s := &countrySet{}
	for _, c := range list {
		if i := countryIndex(c); i >= 0 {
			s.add(i)
		}
	}
	return s
}

func ruleBits(r *ListRule, bit func(string) uint32) bitRule {
	var b bitRule
	if r == nil {
		return b
	}
	for _, v := range r.Include {
		b.in |= bit(v)
	}
	for _, v := range r.Exclude {
		b.ex |= bit(v)
	}
	return b
}

func versionRanges(list []OSVersionRange) []versionRange {
	if len(list) == 0 {
		return nil
	}
	out := make([]versionRange, 0, len(list))
	for _, r := range list {
		lo, hi, _ := versionBounds(r, "")
		out = append(out, versionRange{os: OSBit(r.OS), bounded: r.Min != "" || r.Max != "", lo: lo, hi: hi})
	}
	return out
}

func languageSet(list []string) map[string]struct{} {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]struct{}, len(list))
	for _, tag := range list {
		m[strings.ToLower(tag)] = struct{}{}
	}
	return m
}

func ipSet(list []string) *IPSet {
	if len(list) == 0 {
		return nil
	}
	prefixes := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if p, err := ParseIPRange(s); err == nil {
			prefixes = append(prefixes, p)
		}
	}
	return NewIPSet(prefixes)
}
