package tracker

import (
	"strconv"
	"unicode/utf8"

	"github.com/clickrelay/clickrelay/model"
)

// The click path writes its JSON payload by hand, straight from the
// request's bytes: encoding/json would need strings (an allocation per
// field) and reflection. model.DecodeClick reads it, model.DecodeStoredClick
// the hot record; tests hold both to what the request said.

// appendJSONString appends s as a JSON string. Control characters are
// escaped and invalid UTF-8 becomes U+FFFD, so any query string or header
// yields valid JSON.
func appendJSONString[S ~string | ~[]byte](dst []byte, s S) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			}
			i++
			start = i
			continue
		}
		size := utf8Len(s, i)
		if size == 0 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// utf8Len returns the length of the valid UTF-8 sequence at s[i] (a
// non-ASCII byte), or 0 when there is none: overlong forms and surrogates
// included, as unicode/utf8 judges them.
func utf8Len[S ~string | ~[]byte](s S, i int) int {
	cont := func(b byte) bool { return b&0xc0 == 0x80 }
	c, n := s[i], len(s)-i
	switch {
	case c >= 0xc2 && c <= 0xdf:
		if n >= 2 && cont(s[i+1]) {
			return 2
		}
	case c >= 0xe0 && c <= 0xef:
		if n >= 3 && cont(s[i+1]) && cont(s[i+2]) &&
			!(c == 0xe0 && s[i+1] < 0xa0) && !(c == 0xed && s[i+1] > 0x9f) {
			return 3
		}
	case c >= 0xf0 && c <= 0xf4:
		if n >= 4 && cont(s[i+1]) && cont(s[i+2]) && cont(s[i+3]) &&
			!(c == 0xf0 && s[i+1] < 0x90) && !(c == 0xf4 && s[i+1] > 0x8f) {
			return 4
		}
	}
	return 0
}

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

// encodeClick writes the hot record (for Redis: attribution only, in
// model's compact binary form) and the full JSON one (for Kafka) from the
// same fields.
func encodeClick(hot, full []byte, f *clickFields) ([]byte, []byte) {
	var flags byte
	if f.filterBots {
		flags |= model.ClickFlagFilterBots
	}
	hot = append(hot, model.ClickRecordV1, flags)
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
	if f.smartLinkID != "" { // the optional 13th string
		hot = model.AppendClickRecordString(hot, f.smartLinkID)
	}

	full = append(full, `{"click_id":`...)
	full = appendJSONString(full, f.id)
	full = append(full, `,"ts":`...)
	full = strconv.AppendInt(full, f.ms, 10)
	full = append(full, `,"offer_id":`...)
	full = appendJSONString(full, f.offerID)
	full = append(full, `,"aff_id":`...)
	full = appendJSONString(full, f.affiliateID)
	full = append(full, `,"adv_id":`...)
	full = appendJSONString(full, f.advertiser)
	full = append(full, `,"subs":[`...)
	for i, s := range f.subs {
		if i > 0 {
			full = append(full, ',')
		}
		full = appendJSONString(full, s)
	}
	full = append(full, `],"aff_click_id":`...)
	full = appendJSONString(full, f.affClickID)
	full = append(full, `,"geo":`...)
	full = appendJSONString(full, f.country)
	full = append(full, `,"device":`...)
	full = appendJSONString(full, f.agent.device)
	full = append(full, `,"os":`...)
	full = appendJSONString(full, f.agent.os)
	if f.filterBots {
		full = append(full, `,"filter_bots":true`...)
	}

	if payout, revenue := f.terms.Click(); payout != 0 || revenue != 0 {
		full = append(full, `,"payout_micros":`...)
		full = strconv.AppendInt(full, payout, 10)
		full = append(full, `,"revenue_micros":`...)
		full = strconv.AppendInt(full, revenue, 10)
	}

	full = append(full, `,"browser":`...)
	full = appendJSONString(full, f.agent.browser)
	if f.agent.bot {
		full = append(full, `,"bot":true`...)
	}
	full = append(full, `,"ip":`...)
	full = appendJSONString(full, f.ip)
	full = append(full, `,"ua":`...)
	full = appendJSONString(full, f.userAgent)
	full = append(full, `,"ref":`...)
	full = appendJSONString(full, f.referrer)
	if f.outcome != "" {
		full = append(full, `,"outcome":`...)
		full = appendJSONString(full, f.outcome)
	}
	if f.smartLinkID != "" {
		full = append(full, `,"smart_link_id":`...)
		full = appendJSONString(full, f.smartLinkID)
	}
	return hot, append(full, '}')
}
