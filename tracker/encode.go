package tracker

import "github.com/clickrelay/clickrelay/model"

// The click path writes both of its records by hand, straight from the
// request's bytes: a copy of each field, no strings and no reflection.
// model.DecodeClick reads the message, model.DecodeStoredClick the hot
// record; tests hold both to what the request said.

// clickFields are the parts of a click the encoder writes, as bytes that
// alias the request or the catalog.
type clickFields struct {
	id          []byte
	ms          int64
	offerID     string
	affiliateID string
	advertiser  string
	subs        [5][]byte
	affClickID  []byte
	country     string
	agent       agent
	filterBots  bool
	terms       model.Terms // what the click pays and earns: CPC offers only
	ip          []byte
	userAgent   []byte
	referrer    []byte
	outcome     string // a click turned away (model.ClickOffTarget, ...)
	smartLinkID string // the smart link the click came through, if any
}

// encodeClick writes the hot record (for Redis: attribution only) and the
// click message (for Kafka: every field), both in model's binary forms,
// from the same fields.
func encodeClick(hot, full []byte, f *clickFields) ([]byte, []byte) {
	var flags byte
	if f.filterBots {
		flags |= model.ClickFlagFilterBots
	}
	hot = append(hot, model.ClickRecordV1, flags)
	shared := len(hot)
	hot = model.AppendClickRecordString(hot, f.offerID)
	hot = model.AppendClickRecordString(hot, f.affiliateID)
	hot = model.AppendClickRecordString(hot, f.advertiser)
	for _, s := range f.subs {
		hot = model.AppendClickRecordString(hot, s)
	}
	hot = model.AppendClickRecordString(hot, f.affClickID)
	hot = model.AppendClickRecordString(hot, f.country)
	hot = model.AppendClickRecordString(hot, f.agent.device)
	hot = model.AppendClickRecordString(hot, f.agent.os)
	sharedEnd := len(hot)
	if f.smartLinkID != "" { // the optional 13th string
		hot = model.AppendClickRecordString(hot, f.smartLinkID)
	}

	if f.agent.bot {
		flags |= model.ClickFlagBot // the message's own flag
	}
	payout, revenue := f.terms.Click()
	full = model.AppendClickMessageHeader(full, flags, f.ms, payout, revenue)
	// The message starts with the hot record's 12 strings, then has its own
	// (model's clickMessageFields order).
	full = append(full, hot[shared:sharedEnd]...)
	full = model.AppendClickRecordString(full, f.id)
	full = model.AppendClickRecordString(full, f.agent.browser)
	full = model.AppendClickRecordString(full, f.ip)
	full = model.AppendClickRecordString(full, f.userAgent)
	full = model.AppendClickRecordString(full, f.referrer)
	full = model.AppendClickRecordString(full, f.outcome)
	full = model.AppendClickRecordString(full, f.smartLinkID)
	return hot, full
}
