package clickhouse

import (
	"errors"
	"strconv"
	"strings"

	"github.com/clickrelay/clickrelay/model"
)

// A click_lookup record is the fields a conversion needs from its click,
// each written as its length in bytes, a colon and its bytes, in the order
// appendLookupRecord writes them (migration 0010's copy of older clicks
// builds the same in SQL). A record may carry more fields after these,
// added by a later release; decodeLookupRecord reads the ones it knows.

var errLookupRecord = errors.New("malformed lookup record")

// lookupStrings are a click's string fields in their order in a record,
// for the encoder and the decoder alike; its payout and test flag follow
// them, as decimal text.
func lookupStrings(c *model.Click) [lookupStringFields]*string {
	return [...]*string{&c.OfferID, &c.AffiliateID, &c.AdvertiserID, &c.Subs[0], &c.Subs[1], &c.Subs[2], &c.Subs[3], &c.Subs[4],
		&c.AffClickID, &c.Country, &c.Device, &c.OS, &c.SmartLinkID}
}

// A record holds lookupStringFields strings, then the payout and the test
// flag: lookupRecordFields at least.
const (
	lookupStringFields = 13
	lookupRecordFields = lookupStringFields + 2
)

// appendLookupRecord appends c's record to dst.
func appendLookupRecord(dst []byte, c *model.Click) []byte {
	for _, f := range lookupStrings(c) {
		dst = appendLookupField(dst, *f)
	}
	var n [20]byte
	payout := strconv.AppendInt(n[:0], c.PayoutMicros, 10)
	dst = strconv.AppendInt(dst, int64(len(payout)), 10)
	dst = append(append(dst, ':'), payout...)
	if c.Test {
		return appendLookupField(dst, "1")
	}
	return appendLookupField(dst, "0")
}

func appendLookupField(dst []byte, f string) []byte {
	dst = strconv.AppendInt(dst, int64(len(f)), 10)
	dst = append(dst, ':')
	return append(dst, f...)
}

// decodeLookupRecord fills c from record. The strings it sets share
// record's memory.
func decodeLookupRecord(record string, c *model.Click) error {
	var fields [lookupRecordFields]string
	rest := record
	for i := range fields {
		length, value, ok := strings.Cut(rest, ":")
		if !ok {
			return errLookupRecord
		}
		n, err := strconv.Atoi(length)
		if err != nil || n < 0 || n > len(value) {
			return errLookupRecord
		}
		fields[i], rest = value[:n], value[n:]
	}
	payout, err := strconv.ParseInt(fields[lookupStringFields], 10, 64)
	if err != nil {
		return errLookupRecord
	}
	switch fields[lookupStringFields+1] {
	case "0":
	case "1":
		c.Test = true
	default:
		return errLookupRecord
	}
	for i, f := range lookupStrings(c) {
		*f = fields[i]
	}
	c.PayoutMicros = payout
	return nil
}
