package postback

import (
	"strconv"
	"time"

	"github.com/clickrelay/clickrelay/macro"
	"github.com/clickrelay/clickrelay/model"
)

// expandURL is the URL a postback fires for a conversion: its {macros} and
// CAKE #tokens# replaced (macro.ExpandPostback), values query-escaped.
func expandURL(tmpl string, c *model.Conversion, event string) string {
	return string(macro.ExpandPostback(nil, tmpl, values(c, event)))
}

// values fills a postback's macros from a conversion (the README's macro table, and the
// aliases of other platforms that macro/platforms.go maps onto them).
func values(c *model.Conversion, event string) *macro.Values {
	var v macro.Values
	v.SetString(macro.ClickID, c.ClickID)
	v.SetString(macro.TransactionID, c.ClickID)
	v.SetString(macro.Payout, model.FormatMicros(c.PayoutMicros))
	v.SetString(macro.OfferID, c.OfferID)
	v.SetString(macro.AffID, c.AffiliateID)
	v.SetString(macro.AdvID, c.AdvertiserID)
	v.SetString(macro.Geo, c.Country)
	for i, n := range macro.Subs() {
		v.SetString(n, c.Subs[i])
	}
	v.SetString(macro.AffClickID, c.AffClickID)
	v.SetString(macro.ConversionID, c.ID)
	v.SetString(macro.TxID, c.TxID)
	v.SetString(macro.Amount, model.FormatMicros(c.AmountMicros))
	v.SetString(macro.Currency, c.Currency)
	v.SetString(macro.Event, event)
	v.SetString(macro.Goal, c.Goal)
	v.SetString(macro.Status, c.Status)
	v.SetString(macro.OS, c.OS)
	v.SetString(macro.Device, c.Device)
	v.SetString(macro.SmartLinkID, c.SmartLinkID)
	// The conversion's creation time, in UTC: {timestamp} in seconds as
	// Affise and CAKE (#utcunixtime#) send it, and the calendar forms TUNE
	// and Affise use.
	created := time.UnixMilli(c.Time).UTC()
	v.SetString(macro.Timestamp, strconv.FormatInt(created.Unix(), 10))
	v.SetString(macro.DateTime, created.Format(time.DateTime))
	v.SetString(macro.Date, created.Format(time.DateOnly))
	v.SetString(macro.Time, created.Format(time.TimeOnly))
	return &v
}
