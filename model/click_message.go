package model

import (
	"encoding/binary"
	"errors"
)

// The click message is what the tracker sends the sink through Kafka for
// each click it answers: every field of Click, in the hot record's binary
// form rather than JSON. Field names made up half of the JSON's bytes, and
// reading it meant a string allocation per field; this is written as a
// copy of the request's bytes and read with one allocation per click
// (README, "Performance").
//
// Layout: ClickMessageV1, a flags byte (ClickFlag*), the mint time in Unix
// milliseconds, what the click pays the affiliate and what it earns from
// the advertiser (micro-units), each a varint, then clickMessageStrings
// strings, each a uvarint length and its bytes, in clickMessageFields'
// order. A string is read as valid UTF-8 (each invalid byte becomes
// U+FFFD, as the JSON encoders write it), so a click decodes to the same
// fields from a message as from the JSON that test sessions and earlier
// releases send: DecodeClick reads both, and fuzz tests hold them to it.

// ClickMessageV1 starts a click message; a JSON one starts with '{', a hot
// record with ClickRecordV1.
const ClickMessageV1 = 0x02

// Flags a click message has besides the hot record's.
const (
	ClickFlagBot    = 1 << 2
	ClickFlagUnique = 1 << 3
)

// clickMessageFields lists the strings of a click message, in their order:
// the hot record's clickRecordStrings first (DecodeStoredClick reads them
// from this list), so that the tracker copies them from it in one piece
// (tracker/encode.go; its tests decode what it writes), then the message's
// own.
func clickMessageFields(c *Click) [clickMessageStrings]*string {
	return [...]*string{&c.OfferID, &c.AffiliateID, &c.AdvertiserID,
		&c.Subs[0], &c.Subs[1], &c.Subs[2], &c.Subs[3], &c.Subs[4],
		&c.AffClickID, &c.Country, &c.Device, &c.OS,
		&c.ID, &c.Browser, &c.IP, &c.UserAgent, &c.Referrer, &c.Outcome, &c.SmartLinkID}
}

const clickMessageStrings = 19

var errBadClickMessage = errors.New("not a click message")

// AppendClickMessageHeader starts a click message: the version, flags and
// figures that precede its strings, which the caller appends next with
// AppendClickRecordString.
func AppendClickMessageHeader(dst []byte, flags byte, ms, payoutMicros, revenueMicros int64) []byte {
	dst = append(dst, ClickMessageV1, flags)
	dst = binary.AppendVarint(dst, ms)
	dst = binary.AppendVarint(dst, payoutMicros)
	return binary.AppendVarint(dst, revenueMicros)
}

// MarkClickMessageUnique flags a click message as the visitor's first
// click on the offer, which Redis answers after the message was written.
func MarkClickMessageUnique(msg []byte) {
	msg[1] |= ClickFlagUnique
}

func decodeClickMessage(data []byte, c *Click) error {
	*c = Click{}
	if len(data) < 2 { // DecodeClick has seen ClickMessageV1
		return errBadClickMessage
	}
	flags := data[1]
	pos := 2
	var figures [3]int64
	for i := range figures {
		v, size := binary.Varint(data[pos:])
		if size <= 0 {
			return errBadClickMessage
		}
		figures[i], pos = v, pos+size
	}
	body, fields := data[pos:], clickMessageFields(c)
	if end, ok := readRecordStrings(body, string(body), 0, fields[:]); !ok || end != len(body) {
		*c = Click{}
		return errBadClickMessage
	}
	c.Time, c.PayoutMicros, c.RevenueMicros = figures[0], figures[1], figures[2]
	c.FilterBots = flags&ClickFlagFilterBots != 0
	c.Test = flags&ClickFlagTest != 0
	c.Bot = flags&ClickFlagBot != 0
	c.Unique = flags&ClickFlagUnique != 0
	return nil
}
