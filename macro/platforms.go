package macro

import "strings"

// Other platforms' postback macros, so a network migrating from Everflow,
// TUNE (HasOffers), CAKE or Affise keeps its affiliates' postback URLs. An
// alias resolves to the clickrelay value that means the same thing; where
// two platforms give one name different meanings, or a platform's meaning
// differs from clickrelay's own, clickrelay's own meaning wins (the
// README's macro table lists each case). A platform macro clickrelay has no
// value for is simply not listed: it expands empty, as any unknown name.
//
// Sources, their public docs (the README's macro table names them too):
//   - Everflow: https://helpdesk.everflow.io/en/articles/6173403-a-guide-to-parameters-and-macros
//   - TUNE: https://support.tune.com/hc/en-us/articles/1500008248741-Passing-Values-to-a-Partner-Conversion-URL
//     and https://developers.tune.com/network-models/offerurl
//   - Affise: https://help-center.affise.com/en/articles/6483741-affiliate-postback-url-macros
//     and https://help-center.affise.com/en/articles/6564528-cross-postback-link-macros
//   - CAKE: https://support.getcake.com/support/solutions/articles/5000545788
//     and https://support.getcake.com/en/support/solutions/articles/5000546096

// alias maps another platform's macro name to a clickrelay Name.
type alias struct {
	name string
	to   Name
}

// braceAliases are the {name} macros of Everflow, TUNE and Affise that are
// not already clickrelay's own names. Names shared with clickrelay
// ({offer_id}, {sub1}, {payout}, {currency}, {goal}, {geo}, {status},
// {timestamp}, {transaction_id}, {conversion_id}, {aff_click_id}) keep
// clickrelay's meaning.
var braceAliases = []alias{
	// Everflow
	{"affiliate_id", AffID}, // TUNE too
	{"payout_amount", Payout},
	{"sale_amount", Amount}, // TUNE too
	{"order_id", TxID},
	{"event_name", Goal},

	// TUNE (HasOffers)
	{"aff_sub", Sub1},
	{"aff_sub2", Sub2},
	{"aff_sub3", Sub3},
	{"aff_sub4", Sub4},
	{"aff_sub5", Sub5},
	{"goal_id", Goal},
	{"advertiser_id", AdvID}, // Affise too
	{"country_code", Geo},

	// Affise
	{"clickid", ClickID},
	{"pid", AffID},
	{"offerid", OfferID},
	{"transactionid", TxID},
	{"sum", Payout},
	{"order_sum", Amount},
	{"order_currency", Currency},
	{"date", DateTime},
	{"device_type", Device},
}

// cakeTokens are CAKE's #name# tokens. CAKE writes tokens between hashes,
// which is also how a URL's fragment starts, so only these names are
// tokens: "#section" stays a fragment. The tokens clickrelay has no value
// for are listed as Unknown all the same, so they expand empty instead of
// turning the rest of the URL into a fragment that is never sent.
var cakeTokens = map[string]Name{
	"leadid":      ConversionID,
	"affid":       AffID,
	"oid":         OfferID,
	"tid":         TxID,
	"reqid":       ClickID,
	"s1":          Sub1,
	"s2":          Sub2,
	"s3":          Sub3,
	"s4":          Sub4,
	"s5":          Sub5,
	"price":       Payout,
	"utcunixtime": Timestamp,
	"campid":      Unknown, // CAKE's campaign: clickrelay has none
	"cid":         Unknown, // CAKE's creative
	"udid":        Unknown,
	"ip":          Unknown, // clickrelay keeps no IP with a conversion
	"sourceip":    Unknown,
	"sourcetime":  Unknown, // CAKE's own time format; use #utcunixtime#
}

// maxCakeToken bounds the scan for a token's closing '#'.
const maxCakeToken = len("utcunixtime")

// ExpandPostback is Expand for a postback URL: it also replaces CAKE's
// #name# tokens (cakeTokens). Tracking links keep Expand, where a '#' is
// always the link's fragment.
func ExpandPostback(dst []byte, tmpl string, v *Values) []byte {
	for {
		i := strings.IndexByte(tmpl, '#')
		if i < 0 {
			dst, _ = Expand(dst, tmpl, v)
			return dst
		}
		dst, _ = Expand(dst, tmpl[:i], v)
		tmpl = tmpl[i:]
		n, size := cakeToken(tmpl)
		if size == 0 {
			dst = append(dst, '#') // a fragment, not a token
			tmpl = tmpl[1:]
			continue
		}
		dst = AppendEscaped(AppendEscaped(dst, v.bytes[n]), v.strings[n])
		tmpl = tmpl[size:]
	}
}

// cakeToken reports the token s starts with ("#s2#..."), and its length
// with both hashes; size 0 means s does not start with a CAKE token.
func cakeToken(s string) (n Name, size int) {
	end := strings.IndexByte(s[1:min(len(s), 2+maxCakeToken)], '#')
	if end <= 0 {
		return Unknown, 0
	}
	n, ok := lookupIn(cakeTokens, s[1:1+end])
	if !ok {
		return Unknown, 0
	}
	return n, end + 2
}
