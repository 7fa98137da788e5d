package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Offer is something an advertiser pays for and affiliates send traffic to.
// Its JSON is seed 003's offer object plus clickrelay's extensions
// (api/openapi.json).
type Offer struct {
	ID               string  `json:"id"`
	Slug             string  `json:"slug"`
	Name             string  `json:"name"`
	TrackingURL      string  `json:"tracking_url"`
	ExternalPlatform *string `json:"external_platform"`
	ExternalID       string  `json:"external_id"`
	AdvertiserID     string  `json:"advertiser_id"`
	Payout           float64 `json:"payout"`
	// Revenue is what the advertiser pays the network, in the payout's
	// unit; nil when the offer leaves it to its payout (RevenueOrPayout).
	Revenue     *float64          `json:"revenue,omitempty"`
	PayoutType  string            `json:"payout_type"`
	FilterBots  bool              `json:"filter_bots"`
	Status      string            `json:"status"`
	Metadata    map[string]string `json:"metadata"`
	Countries   []string          `json:"countries"`
	OS          string            `json:"os"`
	Currency    string            `json:"currency"`
	FallbackURL string            `json:"fallback_url"`
	AutoApprove bool              `json:"auto_approve"`
	PreviewURL  string            `json:"preview_url"`
	Vertical    string            `json:"vertical"`
	// App-install fields of the publisher feed (seed 001); all optional.
	Icon           string `json:"icon"`
	Package        string `json:"package"`
	ConversionFlow string `json:"conversion_flow"`
	OSVersion      string `json:"os_version"`
	// Visibility says who may run the offer (VisibilityPublic, ...; empty
	// is public), Caps what it may take per period.
	Visibility string `json:"visibility,omitempty"`
	Caps       []Cap  `json:"caps,omitempty"`
	// CTITMinSeconds and CTITMaxSeconds bound the time from a click to its
	// conversion (0: no bound): a conversion sooner than the minimum is a
	// bot's, one past the maximum not the affiliate's. Either is taken as
	// rejected (ReasonCTITTooShort, ReasonCTITTooLong).
	CTITMinSeconds int64 `json:"ctit_min_seconds,omitempty"`
	CTITMaxSeconds int64 `json:"ctit_max_seconds,omitempty"`
	// Targeting narrows who may see the offer, beside Countries and OS
	// (which apply too); nil: no rules.
	Targeting *Targeting `json:"targeting,omitempty"`
	CreatedAt string     `json:"created_at"`
	UpdatedAt string     `json:"updated_at"`
}

// RevenueOrPayout is what the advertiser pays per conversion (or click, or
// percent of the sale): the offer's revenue, or its payout when it has none.
func (o *Offer) RevenueOrPayout() float64 {
	if o.Revenue != nil {
		return *o.Revenue
	}
	return o.Payout
}

// Payout types. CPA and CPL pay a fixed amount per conversion (a CPL
// conversion is a lead), CPC per click; CPS and RevShare pay a percentage
// of the sale amount.
const (
	PayoutCPA      = "cpa"
	PayoutCPC      = "cpc"
	PayoutCPL      = "cpl"
	PayoutCPS      = "cps"
	PayoutRevShare = "revshare"
)

// PayoutTypes lists every payout type an offer may have.
var PayoutTypes = []string{PayoutCPA, PayoutCPC, PayoutCPL, PayoutCPS, PayoutRevShare}

// ValidPayoutType reports whether s is one of PayoutTypes.
func ValidPayoutType(s string) bool { return slices.Contains(PayoutTypes, s) }

// Targets reports whether a visitor from country may see the offer: its
// countries name that country, or none, and its targeting's country rule
// lets it through.
func (o *Offer) Targets(country string) bool {
	return (len(o.Countries) == 0 || slices.Contains(o.Countries, country)) && o.Targeting.AdmitsCountry(country)
}

// IsPercentage reports whether the offer's payout is a percentage of the sale.
func (o *Offer) IsPercentage() bool {
	return o.PayoutType == PayoutCPS || o.PayoutType == PayoutRevShare
}

// Limits on offer fields. Seed 003 fixes the name's; the rest are ours.
const (
	MaxOfferNameLen    = 255
	MaxURLLen          = 2048
	MaxShortFieldLen   = 255
	MaxMetadataEntries = 50
	MaxMetadataKeyLen  = 64
	MaxMetadataValLen  = 1024
	MaxCountries       = 250
	// Seed 001's app fields: an Android package or iOS bundle name, the
	// steps a user must complete, and an OS version range such as "8.0+".
	MaxPackageLen        = 255
	MaxConversionFlowLen = 4000
	MaxOSVersionLen      = 64
	// MaxPayout bounds a CPA / CPC payout so sums stay exact in micros.
	MaxPayout = 1_000_000
	// MaxCTITSeconds bounds a click-to-conversion bound: a year.
	MaxCTITSeconds = 365 * 24 * 3600
)

// FieldError is a rejected field, with the error code and message of the
// document the surface follows.
type FieldError struct {
	Code    string
	Message string
}

func (e *FieldError) Error() string { return e.Code + ": " + e.Message }

// Seed 003's error codes and descriptions, word for word, and ours after.
var (
	ErrMissingName             = &FieldError{"missing_name", "The name field was not provided."}
	ErrMissingTrackingURL      = &FieldError{"missing_tracking_url", "The tracking_url field was not provided."}
	ErrNameTooLong             = &FieldError{"name_too_long", "The name exceeds 255 characters."}
	ErrInvalidExternalPlatform = &FieldError{"invalid_external_platform", "The external_platform value is not tune, everflow, or null."}
	ErrInvalidPayoutType       = &FieldError{"invalid_payout_type", "The payout_type value is not cpa or cpc."}
	ErrInvalidStatus           = &FieldError{"invalid_status", "The status value is not active or paused."}
	ErrInvalidTrackingURL      = &FieldError{"invalid_tracking_url", "The tracking_url value is not a valid http or https URL."}
)

func invalidField(field, message string) *FieldError {
	return &FieldError{Code: "invalid_" + field, Message: message}
}

// offerFieldOrder fixes which error a request with several bad fields gets:
// the one seed 003 lists first.
var offerFieldOrder = []string{
	"name", "tracking_url", "external_platform", "external_id", "advertiser_id",
	"payout", "revenue", "payout_type", "visibility", "caps", "ctit_min_seconds", "ctit_max_seconds", "filter_bots", "status", "metadata", "countries",
	"os", "targeting", "currency", "fallback_url", "auto_approve", "preview_url", "vertical",
	"icon", "package", "conversion_flow", "os_version",
}

// ApplyOfferFields sets on o every field present in fields, checking each
// value's type and range, in a fixed order so one request always gets the
// same error. It serves both creation (after DefaultOffer) and PATCH. Fields
// it does not know are ignored, as are server-owned ones (id, slug, times).
func ApplyOfferFields(o *Offer, fields map[string]json.RawMessage) *FieldError {
	for _, name := range offerFieldOrder {
		raw, ok := fields[name]
		if !ok {
			continue
		}
		if err := applyOfferField(o, name, raw); err != nil {
			return err
		}
	}
	return nil
}

// parseName reads an entity's name: a string, not blank, of at most max
// characters.
func parseName(raw json.RawMessage, max int) (string, *FieldError) {
	s, ok := jsonString(raw)
	if !ok {
		return "", invalidField("name", "name must be a string.")
	}
	if strings.TrimSpace(s) == "" {
		return "", ErrMissingName
	}
	if utf8.RuneCountInString(s) > max {
		return "", ErrNameTooLong
	}
	return s, nil
}

func applyOfferField(o *Offer, name string, raw json.RawMessage) *FieldError {
	null := bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
	switch name {
	case "name":
		s, err := parseName(raw, MaxOfferNameLen)
		if err != nil {
			return err
		}
		o.Name = s
	case "tracking_url":
		s, ok := jsonString(raw)
		if ok && strings.TrimSpace(s) == "" {
			return ErrMissingTrackingURL
		}
		if !ok || !validLinkTemplate(s) {
			return ErrInvalidTrackingURL
		}
		o.TrackingURL = s
	case "external_platform":
		if null {
			o.ExternalPlatform = nil
			return nil
		}
		s, ok := jsonString(raw)
		if !ok || (s != "tune" && s != "everflow") {
			return ErrInvalidExternalPlatform
		}
		o.ExternalPlatform = &s
	case "external_id":
		return setShortString(&o.ExternalID, "external_id", raw)
	case "advertiser_id":
		return setShortString(&o.AdvertiserID, "advertiser_id", raw)
	case "payout":
		var f float64
		if null || json.Unmarshal(raw, &f) != nil {
			return invalidField("payout", "payout must be a number.")
		}
		if f < 0 || f > MaxPayout {
			return invalidField("payout", fmt.Sprintf("payout must be between 0 and %d.", MaxPayout))
		}
		o.Payout = f
	case "revenue":
		if null {
			o.Revenue = nil
			return nil
		}
		var f float64
		if json.Unmarshal(raw, &f) != nil {
			return invalidField("revenue", "revenue must be a number, or null for the payout's.")
		}
		if f < 0 || f > MaxPayout {
			return invalidField("revenue", fmt.Sprintf("revenue must be between 0 and %d.", MaxPayout))
		}
		o.Revenue = &f
	case "visibility":
		s, ok := jsonString(raw)
		if !ok || !slices.Contains(Visibilities, s) {
			return invalidField("visibility", "visibility must be public, require_approval or private.")
		}
		o.Visibility = s
	case "caps":
		caps, err := ParseCaps(raw)
		if err != nil {
			return err
		}
		o.Caps = caps
	case "ctit_min_seconds", "ctit_max_seconds":
		dst := &o.CTITMinSeconds
		if name == "ctit_max_seconds" {
			dst = &o.CTITMaxSeconds
		}
		if null {
			*dst = 0
			return nil
		}
		var n int64
		if json.Unmarshal(raw, &n) != nil || n < 0 || n > MaxCTITSeconds {
			return invalidField(name, fmt.Sprintf("%s must be a whole number of seconds from 0 (no bound) to %d, or null.", name, MaxCTITSeconds))
		}
		*dst = n
	case "payout_type":
		s, ok := jsonString(raw)
		switch {
		case !ok:
			return ErrInvalidPayoutType
		case ValidPayoutType(s):
			o.PayoutType = s
		default:
			return ErrInvalidPayoutType
		}
	case "filter_bots":
		return setBool(&o.FilterBots, "filter_bots", raw)
	case "auto_approve":
		return setBool(&o.AutoApprove, "auto_approve", raw)
	case "status":
		s, ok := jsonString(raw)
		if !ok || (s != StatusActive && s != StatusPaused) {
			return ErrInvalidStatus
		}
		o.Status = s
	case "metadata":
		if null {
			o.Metadata = nil
			return nil
		}
		var m map[string]string
		if json.Unmarshal(raw, &m) != nil {
			return invalidField("metadata", "metadata must be an object whose keys and values are strings.")
		}
		if len(m) > MaxMetadataEntries {
			return invalidField("metadata", fmt.Sprintf("metadata holds at most %d entries.", MaxMetadataEntries))
		}
		for k, v := range m {
			if len(k) == 0 || len(k) > MaxMetadataKeyLen || len(v) > MaxMetadataValLen {
				return invalidField("metadata", fmt.Sprintf("metadata keys are 1 to %d bytes and values at most %d bytes.", MaxMetadataKeyLen, MaxMetadataValLen))
			}
		}
		o.Metadata = m
	case "countries":
		if null {
			o.Countries = nil
			return nil
		}
		var list []string
		if json.Unmarshal(raw, &list) != nil || len(list) > MaxCountries {
			return invalidField("countries", "countries must be a list of ISO 3166-1 alpha-2 codes.")
		}
		for i, c := range list {
			c = strings.ToUpper(strings.TrimSpace(c))
			if !isAlpha2(c) {
				return invalidField("countries", fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 country code.", list[i]))
			}
			list[i] = c
		}
		o.Countries = list
	case "os":
		s, ok := jsonString(raw)
		s = strings.ToLower(s)
		if !ok || !validOS(s) {
			return invalidField("os", "os must be one of android, ios, windows, macos, linux, or empty.")
		}
		o.OS = s
	case "targeting":
		t, err := ParseTargeting(raw)
		if err != nil {
			return err
		}
		o.Targeting = t
	case "currency":
		s, ok := jsonString(raw)
		s = strings.ToUpper(s)
		if !ok || len(s) != 3 || !isUpperASCII(s) {
			return invalidField("currency", "currency must be an ISO 4217 code such as USD.")
		}
		o.Currency = s
	case "fallback_url", "preview_url", "icon":
		dst := &o.FallbackURL
		switch name {
		case "preview_url":
			dst = &o.PreviewURL
		case "icon":
			dst = &o.Icon
		}
		s, ok := jsonString(raw)
		if !ok || (s != "" && !validLinkTemplate(s)) {
			return invalidField(name, name+" must be a valid http or https URL.")
		}
		*dst = s
	case "vertical":
		return setShortString(&o.Vertical, "vertical", raw)
	case "package":
		s, ok := jsonString(raw)
		if !ok || len(s) > MaxPackageLen || !validPackage(s) {
			return invalidField("package", fmt.Sprintf("package must be an app package or bundle name such as com.example.app, of at most %d characters, or empty.", MaxPackageLen))
		}
		o.Package = s
	case "conversion_flow":
		return setText(&o.ConversionFlow, "conversion_flow", raw, MaxConversionFlowLen)
	case "os_version":
		return setText(&o.OSVersion, "os_version", raw, MaxOSVersionLen)
	}
	return nil
}

// DefaultOffer returns an offer with seed 003's defaults.
func DefaultOffer() *Offer {
	return &Offer{PayoutType: PayoutCPA, Status: StatusActive, Currency: "USD", Visibility: VisibilityPublic}
}

// ValidateOffer checks what only the whole offer can tell: required fields
// and the payout's range for its type.
func ValidateOffer(o *Offer) *FieldError {
	if strings.TrimSpace(o.Name) == "" {
		return ErrMissingName
	}
	if o.TrackingURL == "" {
		return ErrMissingTrackingURL
	}
	if o.IsPercentage() && o.Payout > 100 {
		return invalidField("payout", "payout is a percentage of the sale for cps and revshare offers and must be between 0 and 100.")
	}
	if o.IsPercentage() && o.RevenueOrPayout() > 100 {
		return invalidField("revenue", "revenue is a percentage of the sale for cps and revshare offers and must be between 0 and 100.")
	}
	if o.CTITMinSeconds > 0 && o.CTITMaxSeconds > 0 && o.CTITMaxSeconds < o.CTITMinSeconds {
		return invalidField("ctit_max_seconds", "ctit_max_seconds must not be below ctit_min_seconds.")
	}
	return nil
}

// CTITReason is why a conversion made at ms (Unix milliseconds) on a click
// made at clickMs breaks the offer's click-to-conversion bounds
// (ReasonCTITTooShort, ReasonCTITTooLong), or "" when it does not.
func (o *Offer) CTITReason(clickMs, ms int64) string {
	elapsed := ms - clickMs
	switch {
	case o.CTITMinSeconds > 0 && elapsed < o.CTITMinSeconds*1000:
		return ReasonCTITTooShort
	case o.CTITMaxSeconds > 0 && elapsed > o.CTITMaxSeconds*1000:
		return ReasonCTITTooLong
	}
	return ""
}

// validLinkTemplate accepts an absolute http(s) URL whose scheme and host are
// literal: macros may fill the path and query, never the host, so no click
// parameter can turn a tracking link into an open redirect.
func validLinkTemplate(s string) bool {
	if len(s) > MaxURLLen || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "http://"); !ok {
			return false
		}
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if authority == "" || strings.ContainsAny(authority, "{}@") {
		return false
	}
	// Parse with macros blanked so url.Parse judges the rest of the shape.
	u, err := url.Parse(blankMacros(s))
	return err == nil && u.Host != ""
}

func blankMacros(s string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		b.WriteString(s[:i])
		b.WriteByte('x')
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

// ValidURL reports whether s is an absolute http(s) URL with a literal host.
func ValidURL(s string) bool { return validLinkTemplate(s) }

// setShortString sets a free-text field; JSON null clears it.
func setShortString(dst *string, field string, raw json.RawMessage) *FieldError {
	s, ok := jsonString(raw)
	if !ok || len(s) > MaxShortFieldLen {
		return invalidField(field, fmt.Sprintf("%s must be a string of at most %d characters.", field, MaxShortFieldLen))
	}
	*dst = s
	return nil
}

// setText sets a free-text field of at most max characters; JSON null
// clears it.
func setText(dst *string, field string, raw json.RawMessage, max int) *FieldError {
	s, ok := jsonString(raw)
	if !ok || utf8.RuneCountInString(s) > max {
		return invalidField(field, fmt.Sprintf("%s must be a string of at most %d characters.", field, max))
	}
	*dst = s
	return nil
}

// validPackage accepts an empty name or letters, digits, '_', '-' and '.'
// (Android package names and iOS bundle IDs), or an App Store id such as
// id284882215: no spaces, slashes or query characters, since the name
// travels in links.
func validPackage(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func setBool(dst *bool, field string, raw json.RawMessage) *FieldError {
	if json.Unmarshal(raw, dst) != nil {
		return invalidField(field, field+" must be true or false.")
	}
	return nil
}

// jsonString decodes raw as a JSON string (null gives ""); ok is false for
// any other type.
func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

func isAlpha2(s string) bool { return len(s) == 2 && isUpperASCII(s) }

func isUpperASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func validOS(s string) bool {
	switch s {
	case "", "android", "ios", "windows", "macos", "linux":
		return true
	}
	return false
}

// Slugify makes the readable middle of an offer slug: lower-case ASCII
// letters and digits joined by single dashes, at most max bytes.
func Slugify(name string, max int) string {
	b := make([]byte, 0, len(name))
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && len(b) > 0 {
				b = append(b, '-')
			}
			dash = false
			b = append(b, byte(r))
		default:
			dash = true
		}
		if len(b) >= max {
			break
		}
	}
	if len(b) > max {
		b = b[:max]
	}
	return strings.TrimRight(string(b), "-")
}
