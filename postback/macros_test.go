package postback

import (
	"net/url"
	"testing"

	"github.com/clickrelay/clickrelay/model"
)

// A conversion whose every field differs, so a macro resolving to the
// wrong one shows.
var sampleConversion = model.Conversion{
	ID:           "01jcv0000000000000000conv",
	Time:         1795321469123, // 2026-11-22 04:24:29.123 UTC
	Status:       model.ConversionApproved,
	ClickID:      "01jck0000000000000000click",
	OfferID:      "12",
	AffiliateID:  "7",
	AdvertiserID: "3",
	Subs:         [5]string{"s one", "s-two", "s3", "s4", "s5&x"},
	AffClickID:   "their-click-9",
	Country:      "DE",
	Device:       "mobile",
	OS:           "android",
	TxID:         "order-555",
	Goal:         "deposit",
	Currency:     "EUR",
	AmountMicros: 120_500_000,
	PayoutMicros: 2_750_000,
	SmartLinkID:  "4",
}

// Each platform's postback URL, written as its docs show one, expands to the
// values the README's macro table promises.
func TestExpandPlatformURLs(t *testing.T) {
	cases := []struct {
		platform, url string
		want          map[string]string // query parameter: value
	}{
		{"clickrelay", "https://r.example/pb?c={click_id}&tx={transaction_id}&p={payout}&a={amount}&cur={currency}&o={offer_id}&aff={aff_id}&adv={adv_id}" +
			"&geo={geo}&s1={sub1}&s5={sub5}&ac={aff_click_id}&conv={conversion_id}&txid={txid}&ev={event}&g={goal}&st={status}&ts={timestamp}" +
			"&dt={datetime}&d={date_only}&t={time}&os={os}&dev={device}&sl={smart_link_id}&x={nope}", map[string]string{
			"c": "01jck0000000000000000click", "tx": "01jck0000000000000000click", "p": "2.75", "a": "120.5", "cur": "EUR",
			"o": "12", "aff": "7", "adv": "3", "geo": "DE", "s1": "s one", "s5": "s5&x", "ac": "their-click-9",
			"conv": "01jcv0000000000000000conv", "txid": "order-555", "ev": "approved", "g": "deposit", "st": "approved",
			"ts": "1795321469", "dt": "2026-11-22 04:24:29", "d": "2026-11-22", "t": "04:24:29", "os": "android", "dev": "mobile", "sl": "4", "x": "",
		}},
		{"Everflow", "https://r.example/postback?click_id={transaction_id}&aff={affiliate_id}&offer={offer_id}&payout={payout_amount}" +
			"&sale={sale_amount}&s1={sub1}&s2={sub2}&s3={sub3}&s4={sub4}&s5={sub5}&event={event_name}&order={order_id}&conv={conversion_id}" +
			"&source={source_id}&rev={revenue}", map[string]string{
			"click_id": "01jck0000000000000000click", "aff": "7", "offer": "12", "payout": "2.75", "sale": "120.5",
			"s1": "s one", "s2": "s-two", "s3": "s3", "s4": "s4", "s5": "s5&x", "event": "deposit", "order": "order-555",
			"conv": "01jcv0000000000000000conv", "source": "", "rev": "",
		}},
		{"TUNE", "https://r.example/conv?transaction_id={transaction_id}&aff_click_id={aff_click_id}&sub={aff_sub}&sub2={aff_sub2}" +
			"&sub3={aff_sub3}&sub4={aff_sub4}&sub5={aff_sub5}&offer={offer_id}&aff={affiliate_id}&adv={advertiser_id}&payout={payout}" +
			"&sale={sale_amount}&cur={currency}&goal={goal_id}&cc={country_code}&datetime={datetime}&time={time}&ip={ip}&source={source}", map[string]string{
			"transaction_id": "01jck0000000000000000click", "aff_click_id": "their-click-9", "sub": "s one", "sub2": "s-two",
			"sub3": "s3", "sub4": "s4", "sub5": "s5&x", "offer": "12", "aff": "7", "adv": "3", "payout": "2.75", "sale": "120.5",
			"cur": "EUR", "goal": "deposit", "cc": "DE", "datetime": "2026-11-22 04:24:29", "time": "04:24:29", "ip": "", "source": "",
		}},
		{"Affise", "https://r.example/mystat.php?myprofit={sum}&mySubID={sub1}&s2={sub2}&s5={sub5}&s8={sub8}&clickid={clickid}&pid={pid}" +
			"&offer={offerid}&tx={transactionid}&goal={goal}&status={status}&cur={currency}&order_sum={order_sum}&order_cur={order_currency}" +
			"&geo={geo}&date={date}&date_only={date_only}&time={time}&ts={timestamp}&os={os}&dev={device_type}&adv={advertiser_id}&ip={ip}", map[string]string{
			"myprofit": "2.75", "mySubID": "s one", "s2": "s-two", "s5": "s5&x", "s8": "", "clickid": "01jck0000000000000000click",
			"pid": "7", "offer": "12", "tx": "order-555", "goal": "deposit", "status": "approved", "cur": "EUR", "order_sum": "120.5",
			"order_cur": "EUR", "geo": "DE", "date": "2026-11-22 04:24:29", "date_only": "2026-11-22", "time": "04:24:29",
			"ts": "1795321469", "os": "android", "dev": "mobile", "adv": "3", "ip": "",
		}},
		{"CAKE", "https://r.example/?click_id=#s2#&affiliate=#s1#&s3=#s3#&s4=#s4#&s5=#s5#&lead=#leadid#&aff=#affid#&offer=#oid#" +
			"&tid=#tid#&req=#reqid#&price=#price#&ts=#utcunixtime#&ip=#ip#&camp=#campid#&creative=#cid#&udid=#udid#&sip=#sourceip#&st=#sourcetime#", map[string]string{
			"click_id": "s-two", "affiliate": "s one", "s3": "s3", "s4": "s4", "s5": "s5&x", "lead": "01jcv0000000000000000conv",
			"aff": "7", "offer": "12", "tid": "order-555", "req": "01jck0000000000000000click", "price": "2.75", "ts": "1795321469",
			"ip": "", "camp": "", "creative": "", "udid": "", "sip": "", "st": "",
		}},
	}
	for _, c := range cases {
		t.Run(c.platform, func(t *testing.T) {
			expanded := expandURL(c.url, &sampleConversion, model.EventApproved)
			u, err := url.Parse(expanded)
			if err != nil {
				t.Fatalf("%s does not parse: %v", expanded, err)
			}
			if u.Fragment != "" {
				t.Errorf("%s has a fragment %q: part of the query would not be sent", expanded, u.Fragment)
			}
			got := u.Query()
			if len(got) != len(c.want) {
				t.Errorf("%s has %d parameters, want %d", expanded, len(got), len(c.want))
			}
			for param, want := range c.want {
				if v, ok := got[param]; !ok || len(v) != 1 || v[0] != want {
					t.Errorf("%s: %s = %q, want %q", c.platform, param, v, want)
				}
			}
		})
	}
}
