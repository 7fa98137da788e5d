package model

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestApplySmartLinkFields(t *testing.T) {
	many := make([]string, MaxSmartLinkOffers+1)
	for i := range many {
		many[i] = `{"offer_id":"` + strings.Repeat("1", i+1) + `"}`
	}
	cases := []struct {
		body      string
		code      string // "" : accepted
		inMessage string
	}{
		{`{"name":"Mix","offers":[{"offer_id":"1"}]}`, "", ""},
		{`{"name":"Mix","offers":[{"offer_id":"1","weight":10000,"priority":100}],"mode":"epc","explore_percent":0}`, "", ""},
		{`{"name":"  "}`, "missing_name", "name"},
		{`{"name":"` + strings.Repeat("é", 256) + `"}`, "name_too_long", "255"},
		{`{"name":7}`, "invalid_name", "name"},
		{`{"status":"gone"}`, "invalid_status", "status"},
		{`{"mode":"best"}`, "invalid_mode", "mode"},
		{`{"explore_percent":101}`, "invalid_explore_percent", "explore_percent"},
		{`{"explore_percent":2.5}`, "invalid_explore_percent", "explore_percent"},
		{`{"explore_percent":"5"}`, "invalid_explore_percent", "explore_percent"},
		{`{"offers":[]}`, "invalid_offers", "1 to 50"},
		{`{"offers":{"offer_id":"1"}}`, "invalid_offers", "list"},
		{`{"offers":[` + strings.Join(many, ",") + `]}`, "invalid_offers", "1 to 50"},
		{`{"offers":[{"offer_id":"1"},{"offer_id":"1"}]}`, "invalid_offers", "offers[1].offer_id"},
		{`{"offers":[{"offer_id":""}]}`, "invalid_offers", "offers[0].offer_id"},
		{`{"offers":[{"offer_id":"1"},{"offer_id":"2","weight":0}]}`, "invalid_offers", "offers[1].weight"},
		{`{"offers":[{"offer_id":"1","weight":10001}]}`, "invalid_offers", "offers[0].weight"},
		{`{"offers":[{"offer_id":"1","priority":-1}]}`, "invalid_offers", "offers[0].priority"},
		{`{"offers":[{"offer_id":"1","priority":101}]}`, "invalid_offers", "offers[0].priority"},
		{`{"offers":["1"]}`, "invalid_offers", "offers[0]"},
		{`{"fallback_url":"https://{geo}.example/"}`, "invalid_fallback_url", "fallback_url"},
		{`{"fallback_url":"ftp://x.example/"}`, "invalid_fallback_url", "fallback_url"},
		{`{"fallback_url":""}`, "", ""},
	}
	for _, c := range cases {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal([]byte(c.body), &fields); err != nil {
			t.Fatal(err)
		}
		l := DefaultSmartLink()
		err := ApplySmartLinkFields(l, fields)
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%s: %v, want it accepted", c.body, err)
		case c.code != "" && (err == nil || err.Code != c.code || !strings.Contains(err.Message, c.inMessage)):
			t.Errorf("%.80s: %v, want %s naming %q", c.body, err, c.code, c.inMessage)
		}
	}
}

func TestSmartLinkDefaults(t *testing.T) {
	l := DefaultSmartLink()
	var fields map[string]json.RawMessage
	_ = json.Unmarshal([]byte(`{"name":"Mix","offers":[{"offer_id":"7"}]}`), &fields)
	if err := ApplySmartLinkFields(l, fields); err != nil {
		t.Fatal(err)
	}
	if l.Mode != SmartLinkModeWeight || l.Status != StatusActive || l.ExplorePercent != DefaultExplorePercent ||
		l.Offers[0] != (SmartLinkOffer{OfferID: "7", Weight: 1, Priority: 0}) {
		t.Errorf("defaults %+v", l)
	}
	if err := ValidateSmartLink(DefaultSmartLink()); err == nil || err.Code != "missing_name" {
		t.Errorf("a link without a name: %v", err)
	}
	if err := ValidateSmartLink(&SmartLink{Name: "x"}); err == nil || err.Code != "missing_offers" {
		t.Errorf("a link without offers: %v", err)
	}
}
