package model

import (
	"encoding/binary"
	"errors"
	"unicode/utf8"
)

// The hot click record is what Redis keeps of a click for the hot window:
// the fields a conversion needs, in a compact binary form. Redis holds
// every click of the hot window, so its bytes are the store's size: the
// slim JSON it replaces spent about half of its value on field names, the
// click_id (already the key) and ts (already in the click_id). Measured on
// a private Redis 7.0 with the benchmark's links, a click key took 405 bytes
// of used_memory with the JSON and 228 with this record.
//
// Layout: ClickRecordV1, a flags byte (ClickFlag*), then 12 strings, each a
// uvarint length and its bytes: offer, affiliate, advertiser, sub1..sub5,
// aff_click_id, country, device, os; and, for a click through a smart link
// only, a 13th: the smart link (so a record without one is as before). The strings are read as valid UTF-8
// (each invalid byte becomes U+FFFD, as the JSON record's encoder writes
// it), so a click decodes to the same fields from either record: fuzz tests
// hold them to it.

// ClickRecordV1 starts a hot click record; a JSON record starts with '{'.
const ClickRecordV1 = 0x01

// Flags of a hot click record.
const (
	ClickFlagFilterBots = 1 << 0
	ClickFlagTest       = 1 << 1
)

// clickRecordStrings is how many strings a hot click record holds.
const clickRecordStrings = 12

// AppendClickRecordString appends s to a hot click record: its length,
// then its bytes as they are. It does not allocate, and costs the click
// path no more than a copy: invalid UTF-8 is replaced when the record is
// read (DecodeStoredClick), which few clicks ever are.
func AppendClickRecordString[S ~string | ~[]byte](dst []byte, s S) []byte {
	if len(s) < 0x80 {
		dst = append(dst, byte(len(s)))
	} else {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
	}
	return append(dst, s...)
}

// validUTF8 returns s with each byte that is not part of valid UTF-8
// replaced by U+FFFD, as encoding/json and the tracker's JSON encoder do
// (strings.ToValidUTF8 would replace a run of them with one).
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			b = append(b, "\uFFFD"...)
			i++
			continue
		}
		b = append(b, s[i:i+size]...)
		i += size
	}
	return string(b)
}

var errBadClickRecord = errors.New("not a hot click record")

// DecodeStoredClick decodes a click as Redis stores it: a hot click record
// (the click's ID and mint time in Unix milliseconds come from its key), or
// a JSON record, as test sessions and earlier releases store them.
func DecodeStoredClick(id string, mintedMs int64, data []byte, c *Click) error {
	if len(data) == 0 || data[0] != ClickRecordV1 {
		return DecodeClick(data, c)
	}
	*c = Click{ID: id, Time: mintedMs}
	if len(data) < 2 {
		return errBadClickRecord
	}
	flags := data[1]
	c.FilterBots = flags&ClickFlagFilterBots != 0
	c.Test = flags&ClickFlagTest != 0
	// The click message's first strings, in the same order: one list.
	fields := clickMessageFields(c)
	body := data[2:]
	all := string(body)
	pos, ok := readRecordStrings(body, all, 0, fields[:clickRecordStrings])
	if ok && pos < len(body) { // the optional smart link, never empty
		pos, ok = readRecordStrings(body, all, pos, []*string{&c.SmartLinkID})
		ok = ok && c.SmartLinkID != ""
	}
	if !ok || pos != len(body) {
		*c = Click{}
		return errBadClickRecord
	}
	return nil
}

// readRecordStrings reads strings into fields, in order, from body at pos,
// and returns where they end. all is body as one string, which every field
// slices: one allocation per record rather than one per field.
func readRecordStrings(body []byte, all string, pos int, fields []*string) (int, bool) {
	for _, f := range fields {
		n, size := binary.Uvarint(body[pos:])
		if size <= 0 || n > uint64(len(body)-pos-size) {
			return pos, false
		}
		pos += size
		*f = validUTF8(all[pos : pos+int(n)])
		pos += int(n)
	}
	return pos, true
}
