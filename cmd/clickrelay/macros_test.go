package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

// An affiliate migrating from Everflow, TUNE, CAKE or Affise pastes its
// postback URL unchanged; each receiver gets the values the README's macro
// table promises.
func TestPostbackMacrosOfOtherPlatforms(t *testing.T) {
	s := startStack(t)
	n := s.setUp("https://shop.example.com/land?cid={click_id}")
	affiliate := map[string]string{"Authorization": "Bearer " + n.affiliateKey}

	platforms := []struct {
		name, query string
	}{
		{"Everflow", "click_id={transaction_id}&aff={affiliate_id}&offer={offer_id}&payout={payout_amount}&sale={sale_amount}" +
			"&s1={sub1}&s2={sub2}&s5={sub5}&event={event_name}&order={order_id}&conv={conversion_id}&source={source_id}"},
		{"TUNE", "transaction_id={transaction_id}&aff_click_id={aff_click_id}&sub={aff_sub}&sub2={aff_sub2}&sub5={aff_sub5}" +
			"&offer={offer_id}&aff={affiliate_id}&adv={advertiser_id}&payout={payout}&sale={sale_amount}&cur={currency}" +
			"&goal={goal_id}&cc={country_code}&datetime={datetime}&time={time}&ip={ip}"},
		{"Affise", "myprofit={sum}&mySubID={sub1}&s2={sub2}&clickid={clickid}&pid={pid}&offer={offerid}&tx={transactionid}" +
			"&goal={goal}&status={status}&cur={currency}&order_sum={order_sum}&geo={geo}&date={date}&date_only={date_only}" +
			"&ts={timestamp}&os={os}&dev={device_type}&s8={sub8}"},
		{"CAKE", "click_id=#s2#&affiliate=#s1#&s5=#s5#&lead=#leadid#&aff=#affid#&offer=#oid#&tid=#tid#&req=#reqid#" +
			"&price=#price#&ts=#utcunixtime#&ip=#ip#"},
	}
	receivers := map[string]*testkit.Receiver{}
	for _, p := range platforms {
		r := newReceiver(t)
		receivers[p.name] = r
		var pb struct {
			PostbackID string `json:"postback_id"`
		}
		body := fmt.Sprintf(`{"url":%q}`, r.URL+"/pb?"+p.query)
		if code := s.call("POST", "/v1/postbacks", affiliate, body, &pb); code != 200 || pb.PostbackID == "" {
			t.Fatalf("register the %s postback: %d %+v", p.name, code, pb)
		}
	}

	// A click with sub IDs and the affiliate's own click ID, then a sale.
	status, location := s.click(fmt.Sprintf("/click/%s?aff_id=%s&sub1=summer%%20sale&sub2=banner-7&sub5=x%%26y&aff_click_id=vol-123",
		n.offerID, n.affiliateID))
	if status != 302 {
		t.Fatalf("click: %d", status)
	}
	cid := clickID(t, location, "cid")
	before := time.Now().Unix()
	var conv struct {
		Data struct {
			Tracked      bool   `json:"tracked"`
			ConversionID string `json:"conversionId"`
		} `json:"data"`
	}
	advertiser := map[string]string{"X-API-Key": n.advertiserKey, "Content-Type": "application/json"}
	body := fmt.Sprintf(`{"click_id":%q,"amount":"149.99","txid":"ORDER-98765","goal":"deposit"}`, cid)
	if code := s.call("POST", "/api/v1/conversions", advertiser, body, &conv); code != 200 || !conv.Data.Tracked {
		t.Fatalf("conversion: %d %+v", code, conv)
	}
	after := time.Now().Unix()

	// The conversion's time, as the receivers see it, must be one instant
	// between the request and its answer, in every form.
	checkTime := func(t *testing.T, q url.Values, unix, datetime, dateOnly, clock string) {
		t.Helper()
		var at time.Time
		if unix != "" {
			sec, err := strconv.ParseInt(q.Get(unix), 10, 64)
			if err != nil || sec < before || sec > after {
				t.Fatalf("%s = %q, want a Unix time in [%d, %d]", unix, q.Get(unix), before, after)
			}
			at = time.Unix(sec, 0).UTC()
		}
		if datetime != "" {
			dt, err := time.Parse(time.DateTime, q.Get(datetime))
			if err != nil || dt.Unix() < before || dt.Unix() > after || (!at.IsZero() && !dt.Equal(at)) {
				t.Fatalf("%s = %q, want the conversion's time as YYYY-MM-DD HH:MM:SS in UTC (%v)", datetime, q.Get(datetime), at)
			}
			at = dt
		}
		if dateOnly != "" && q.Get(dateOnly) != at.Format(time.DateOnly) {
			t.Errorf("%s = %q, want %q", dateOnly, q.Get(dateOnly), at.Format(time.DateOnly))
		}
		if clock != "" && q.Get(clock) != at.Format(time.TimeOnly) {
			t.Errorf("%s = %q, want %q", clock, q.Get(clock), at.Format(time.TimeOnly))
		}
	}

	want := map[string]map[string]string{
		"Everflow": {"click_id": cid, "aff": n.affiliateID, "offer": n.offerID, "payout": "2.5", "sale": "149.99",
			"s1": "summer sale", "s2": "banner-7", "s5": "x&y", "event": "deposit", "order": "ORDER-98765",
			"conv": conv.Data.ConversionID, "source": ""},
		"TUNE": {"transaction_id": cid, "aff_click_id": "vol-123", "sub": "summer sale", "sub2": "banner-7", "sub5": "x&y",
			"offer": n.offerID, "aff": n.affiliateID, "adv": n.advertiserID, "payout": "2.5", "sale": "149.99", "cur": "USD",
			"goal": "deposit", "cc": "GB", "ip": ""},
		"Affise": {"myprofit": "2.5", "mySubID": "summer sale", "s2": "banner-7", "clickid": cid, "pid": n.affiliateID,
			"offer": n.offerID, "tx": "ORDER-98765", "goal": "deposit", "status": "pending", "cur": "USD", "order_sum": "149.99",
			"geo": "GB", "os": "ios", "dev": "mobile", "s8": ""},
		"CAKE": {"click_id": "banner-7", "affiliate": "summer sale", "s5": "x&y", "lead": conv.Data.ConversionID,
			"aff": n.affiliateID, "offer": n.offerID, "tid": "ORDER-98765", "req": cid, "price": "2.5", "ip": ""},
	}
	for _, p := range platforms {
		t.Run(p.name, func(t *testing.T) {
			q := receivers[p.name].Await(t, 1, 30*time.Second).Query
			for param, v := range want[p.name] {
				if got, ok := q[param]; !ok || len(got) != 1 || got[0] != v {
					t.Errorf("%s = %q, want %q (query %s)", param, got, v, queryParamNames(q))
				}
			}
			switch p.name {
			case "TUNE":
				checkTime(t, q, "", "datetime", "", "time")
			case "Affise":
				checkTime(t, q, "ts", "date", "date_only", "")
			case "CAKE":
				checkTime(t, q, "ts", "", "", "")
			}
			// Every parameter arrives: none was cut off into a fragment.
			if params := strings.Count(p.query, "&") + 1; len(q) != params {
				t.Errorf("%d parameters arrived (%s), the URL has %d", len(q), queryParamNames(q), params)
			}
		})
	}
}

// queryParamNames lists a query's parameter names, for a failure message.
func queryParamNames(q url.Values) string {
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	return strings.Join(names, ",")
}
