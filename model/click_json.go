package model

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeClick decodes a click as Kafka carries it: a click message (the
// tracker's) or JSON (test sessions', and earlier releases'). The JSON's
// flat shape is read without reflection, several times faster than
// encoding/json, which it falls back to for anything else (other
// whitespace, unknown fields, invalid UTF-8); the two always agree (a fuzz
// test holds them to it).
func DecodeClick(data []byte, c *Click) error {
	if len(data) > 0 && data[0] == ClickMessageV1 {
		return decodeClickMessage(data, c)
	}
	*c = Click{}
	if fastDecodeClick(data, c) {
		return nil
	}
	*c = Click{}
	return json.Unmarshal(data, c)
}

var errSlowPath = errors.New("not the fast path's shape")

// clickDecoder walks one JSON object by hand.
type clickDecoder struct {
	data []byte
	pos  int
}

func fastDecodeClick(data []byte, c *Click) bool {
	d := clickDecoder{data: data}
	if !d.byte('{') {
		return false
	}
	if d.peek() == '}' {
		d.pos++
		return d.pos == len(d.data)
	}
	for {
		key, ok := d.key()
		if !ok || !d.byte(':') {
			return false
		}
		if err := d.field(key, c); err != nil {
			return false
		}
		if d.byte(',') {
			continue
		}
		return d.byte('}') && d.pos == len(d.data)
	}
}

// key reads an object key without allocating; keys with escapes are left
// to encoding/json.
func (d *clickDecoder) key() ([]byte, bool) {
	if !d.byte('"') {
		return nil, false
	}
	start := d.pos
	for d.pos < len(d.data) {
		switch c := d.data[d.pos]; {
		case c == '"':
			d.pos++
			return d.data[start : d.pos-1], true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return nil, false
		}
		d.pos++
	}
	return nil, false
}

func (d *clickDecoder) field(key []byte, c *Click) error {
	var err error
	switch string(key) {
	case "click_id":
		c.ID, err = d.string()
	case "ts":
		c.Time, err = d.int()
	case "offer_id":
		c.OfferID, err = d.string()
	case "aff_id":
		c.AffiliateID, err = d.string()
	case "adv_id":
		c.AdvertiserID, err = d.string()
	case "subs":
		err = d.subs(&c.Subs)
	case "aff_click_id":
		c.AffClickID, err = d.string()
	case "geo":
		c.Country, err = d.string()
	case "device":
		c.Device, err = d.string()
	case "os":
		c.OS, err = d.string()
	case "filter_bots":
		c.FilterBots, err = d.bool()
	case "payout_micros":
		c.PayoutMicros, err = d.int()
	case "revenue_micros":
		c.RevenueMicros, err = d.int()
	case "test":
		c.Test, err = d.bool()
	case "browser":
		c.Browser, err = d.string()
	case "bot":
		c.Bot, err = d.bool()
	case "ip":
		c.IP, err = d.string()
	case "ua":
		c.UserAgent, err = d.string()
	case "ref":
		c.Referrer, err = d.string()
	case "unique":
		c.Unique, err = d.bool()
	case "outcome":
		c.Outcome, err = d.string()
	case "smart_link_id":
		c.SmartLinkID, err = d.string()
	default:
		err = errSlowPath
	}
	return err
}

func (d *clickDecoder) peek() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

// byte consumes c if it comes next.
func (d *clickDecoder) byte(c byte) bool {
	if d.peek() == c {
		d.pos++
		return true
	}
	return false
}

// string reads a JSON string. Escapes are decoded as encoding/json does;
// invalid UTF-8 and lone surrogates are left to it.
func (d *clickDecoder) string() (string, error) {
	if !d.byte('"') {
		return "", errSlowPath
	}
	start := d.pos
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			s := string(d.data[start:d.pos])
			d.pos++
			return s, nil
		case c == '\\':
			return d.escapedString(start)
		case c < 0x20:
			return "", errSlowPath
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(d.data[d.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", errSlowPath
			}
			d.pos += size
		default:
			d.pos++
		}
	}
	return "", errSlowPath
}

// escapedString finishes a string that holds escapes, from its start.
func (d *clickDecoder) escapedString(start int) (string, error) {
	buf := append([]byte(nil), d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return string(buf), nil
		case c == '\\':
			if d.pos+1 >= len(d.data) {
				return "", errSlowPath
			}
			e := d.data[d.pos+1]
			d.pos += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return "", errSlowPath
				}
				if utf16.IsSurrogate(r) {
					if !d.byte('\\') || !d.byte('u') {
						return "", errSlowPath
					}
					r2, ok := d.hex4()
					if !ok {
						return "", errSlowPath
					}
					if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
						return "", errSlowPath
					}
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", errSlowPath
			}
		case c < 0x20:
			return "", errSlowPath
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(d.data[d.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", errSlowPath
			}
			buf = append(buf, d.data[d.pos:d.pos+size]...)
			d.pos += size
		default:
			buf = append(buf, c)
			d.pos++
		}
	}
	return "", errSlowPath
}

func (d *clickDecoder) hex4() (rune, bool) {
	if d.pos+4 > len(d.data) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(d.data[d.pos:d.pos+4]), 16, 16)
	if err != nil {
		return 0, false
	}
	d.pos += 4
	return rune(v), true
}

// int reads a JSON integer that fits an int64.
func (d *clickDecoder) int() (int64, error) {
	start := d.pos
	if d.peek() == '-' {
		d.pos++
	}
	digits := d.pos
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
	}
	n := d.pos - digits
	if n == 0 || n > 18 || (n > 1 && d.data[digits] == '0') {
		return 0, errSlowPath // empty, possibly overflowing, or a leading zero
	}
	switch d.peek() {
	case '.', 'e', 'E':
		return 0, errSlowPath
	}
	return strconv.ParseInt(string(d.data[start:d.pos]), 10, 64)
}

func (d *clickDecoder) bool() (bool, error) {
	rest := d.data[d.pos:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		d.pos += 4
		return true, nil
	case len(rest) >= 5 && string(rest[:5]) == "false":
		d.pos += 5
		return false, nil
	}
	return false, errSlowPath
}

// subs reads the sub1..sub5 array, which always has five strings.
func (d *clickDecoder) subs(subs *[5]string) error {
	if !d.byte('[') {
		return errSlowPath
	}
	for i := range subs {
		if i > 0 && !d.byte(',') {
			return errSlowPath
		}
		s, err := d.string()
		if err != nil {
			return err
		}
		subs[i] = s
	}
	if !d.byte(']') {
		return errSlowPath
	}
	return nil
}
