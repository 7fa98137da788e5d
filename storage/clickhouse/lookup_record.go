package clickhouse

import (
	"errors"
	"strconv"
	"strings"

	"github.com/clickrelay/clickrelay/model"
)

// A click_lookup record is the fields a conversion needs from its click,
// each written as its length in bytes, a colon and its bytes, in this order
// (the view of migration 0010 writes them). A record may carry more fields
// after these, added by a later migration; decodeLookupRecord reads the
// ones it knows.

var errLookupRecord = errors.New("malformed lookup record")

// lookupRecordFields is how many fields a record holds at least.
const lookupRecordFields = 15

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
	payout, err := strconv.ParseInt(fields[13], 10, 64)
	if err != nil {
		return errLookupRecord
	}
	switch fields[14] {
	case "0":
	case "1":
		c.Test = true
	default:
		return errLookupRecord
	}
	c.OfferID, c.AffiliateID, c.AdvertiserID = fields[0], fields[1], fields[2]
	copy(c.Subs[:], fields[3:8])
	c.AffClickID, c.Country, c.Device, c.OS, c.SmartLinkID = fields[8], fields[9], fields[10], fields[11], fields[12]
	c.PayoutMicros = payout
	return nil
}
