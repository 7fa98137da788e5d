package model

// Click is one redirect. The tracker writes it twice: a hot record to Redis
// (what a conversion needs: attribution fields, no IP or user agent, in
// click_record.go's binary form, kept for the hot window) and the full JSON
// record to Kafka, from where the sink stores it in ClickHouse, where
// conversions past the hot window find it.
type Click struct {
	ID           string    `json:"click_id"`
	Time         int64     `json:"ts"` // Unix milliseconds
	OfferID      string    `json:"offer_id"`
	AffiliateID  string    `json:"aff_id"`
	AdvertiserID string    `json:"adv_id"`
	Subs         [5]string `json:"subs"`
	AffClickID   string    `json:"aff_click_id"`
	Country      string    `json:"geo"`
	Device       string    `json:"device"` // mobile, tablet, desktop, bot or unknown
	OS           string    `json:"os"`
	// FilterBots is the offer's setting at click time: a bot click on such
	// an offer is stored but left out of stats.
	FilterBots bool `json:"filter_bots,omitempty"`
	// PayoutMicros is what the click itself pays the affiliate, and
	// RevenueMicros what the advertiser pays for it: CPC offers only.
	PayoutMicros  int64 `json:"payout_micros,omitempty"`
	RevenueMicros int64 `json:"revenue_micros,omitempty"`
	Test          bool  `json:"test,omitempty"`
	// The full record only.
	Browser   string `json:"browser,omitempty"`
	Bot       bool   `json:"bot,omitempty"`
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"ua,omitempty"`
	Referrer  string `json:"ref,omitempty"`
	// Unique: the visitor's first click on the offer within the unique
	// window, as Redis answered when the click was stored.
	Unique bool `json:"unique,omitempty"`
	// Outcome is empty for a click sent to its offer; otherwise why the
	// tracker turned it away (ClickOffTarget, ...). A turned-away
	// click is stored for the stats only: it never converts.
	Outcome string `json:"outcome,omitempty"`
	// SmartLinkID is the smart link the click came through, which chose
	// its offer; empty for a click on an offer's own link.
	SmartLinkID string `json:"smart_link_id,omitempty"`
}

// Outcomes of clicks the tracker did not send to their offer: the visitor
// went to the offer's fallback URL, or got a 404 when it has none.
const (
	ClickOffTarget = "off_target" // outside the offer's targeting
	ClickPaused    = "paused"     // the offer is not active
	ClickBlocked   = "blocked"    // an affiliate without access to the offer, or a sub-ID it blocks
	ClickCapped    = "capped"     // past a click cap reached
	ClickDenied    = "denied"     // refused by the network's traffic controls, before any offer rule
	// ClickUnrouted: a smart link's visitor no offer of the link could
	// take, sent to the link's fallback; the click has no offer.
	ClickUnrouted = "unrouted"
)

// Conversion statuses (seed 002).
const (
	ConversionPending  = "pending"
	ConversionApproved = "approved"
	ConversionRejected = "rejected"
	ConversionReversed = "reversed"
)

// ConversionStatuses are every status a conversion may have; any may
// follow any other.
var ConversionStatuses = []string{ConversionPending, ConversionApproved, ConversionRejected, ConversionReversed}

// Conversion is a payable action attributed to a click. Every change of
// status is a new Version of the same ID; ClickHouse keeps the highest.
type Conversion struct {
	ID          string `json:"conversion_id"`
	Version     uint32 `json:"version"`
	Time        int64  `json:"ts"`         // created, Unix milliseconds
	UpdatedTime int64  `json:"updated_ts"` // this version, Unix milliseconds
	Status      string `json:"status"`
	// PrevStatus is the status this version replaced (empty on version 1),
	// so the stats rollup can move a conversion from one status to another.
	PrevStatus   string    `json:"prev_status,omitempty"`
	ClickID      string    `json:"click_id"`
	ClickTime    int64     `json:"click_ts"`
	OfferID      string    `json:"offer_id"`
	AffiliateID  string    `json:"aff_id"`
	AdvertiserID string    `json:"adv_id"`
	Subs         [5]string `json:"subs"`
	AffClickID   string    `json:"aff_click_id"`
	Country      string    `json:"geo"`
	Device       string    `json:"device"`
	OS           string    `json:"os"`
	TxID         string    `json:"txid"`
	CustomerID   string    `json:"customer_id"`
	Goal         string    `json:"goal"`
	Currency     string    `json:"currency"`
	AmountMicros int64     `json:"amount_micros"`
	// PayoutMicros is what the network owes the affiliate for it,
	// RevenueMicros what the advertiser owes the network.
	PayoutMicros  int64  `json:"payout_micros"`
	RevenueMicros int64  `json:"revenue_micros"`
	PayoutType    string `json:"payout_type"`
	// Reason is why a conversion taken as rejected was (ReasonCapReached):
	// acknowledged to the advertiser, kept in the log, paying nothing.
	Reason string `json:"reason,omitempty"`
	Test   bool   `json:"test,omitempty"`
	// SmartLinkID is its click's smart link (Click.SmartLinkID).
	SmartLinkID string `json:"smart_link_id,omitempty"`
}

// Reasons a conversion was taken as rejected at intake: acknowledged to
// the advertiser as not tracked, kept in the log, paying nothing, firing
// no postback.
const (
	// ReasonCapReached: it came past a cap of its offer, or of its
	// affiliate on the offer, that was reached.
	ReasonCapReached = "cap_reached"
	// ReasonCTITTooShort and ReasonCTITTooLong: the time from its click
	// was under the offer's minimum (a bot's speed) or past its maximum.
	ReasonCTITTooShort = "ctit_too_short"
	ReasonCTITTooLong  = "ctit_too_long"
	// ReasonIPNotAllowed: it came from an address outside its
	// advertiser's allow list.
	ReasonIPNotAllowed = "ip_not_allowed"
)

// Event is a secondary, non-paying funnel step on a click (seed 002):
// pageview, registration or lead.
type Event struct {
	ID           string `json:"event_id"`
	Time         int64  `json:"ts"` // Unix milliseconds
	Type         string `json:"event_type"`
	ClickID      string `json:"click_id"`
	OfferID      string `json:"offer_id"`
	AffiliateID  string `json:"aff_id"`
	AdvertiserID string `json:"adv_id"`
	URL          string `json:"url"`
	Referrer     string `json:"referrer"`
	Test         bool   `json:"test,omitempty"`
}

// Attempt is one outbound postback request and its outcome. Attempts of the
// same (conversion, postback, event) form one row of the seed 004 report.
type Attempt struct {
	ConversionID  string `json:"conversion_id"`
	PostbackID    string `json:"postback_id"`
	Event         string `json:"event"`
	Number        uint32 `json:"attempt"` // 1 for the first try
	Time          int64  `json:"ts"`      // Unix milliseconds
	ClickID       string `json:"click_id"`
	OfferID       string `json:"offer_id"`
	AffiliateID   string `json:"aff_id"`
	AdvertiserID  string `json:"adv_id"`
	Level         string `json:"level"` // global or offer
	URL           string `json:"url"`   // the URL requested, macros expanded
	Success       bool   `json:"success"`
	StatusCode    int    `json:"status_code"`
	Debug         string `json:"debug"`
	Final         bool   `json:"final"` // no further attempt follows
	LatencyMicros int64  `json:"latency_us"`
	// ResponseBody is the start of the receiver's answer (trimmed), and
	// Error why no answer came (empty when one did).
	ResponseBody string `json:"response_body,omitempty"`
	Error        string `json:"error,omitempty"`
}
