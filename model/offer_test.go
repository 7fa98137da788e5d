package model

import (
	"encoding/json"
	"strings"
	"testing"
)

func applyJSON(t *testing.T, o *Offer, body string) *FieldError {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &fields); err != nil {
		t.Fatalf("bad test body %s: %v", body, err)
	}
	if err := ApplyOfferFields(o, fields); err != nil {
		return err
	}
	return ValidateOffer(o)
}

func TestOfferValidationSeed003(t *testing.T) {
	long := strings.Repeat("n", 256)
	cases := []struct {
		name, body, code string
	}{
		{"minimal", `{"name":"Summer Promo","tracking_url":"https://track.example.com/click?offer_id=123"}`, ""},
		{"full", `{"name":"Summer Promo","tracking_url":"https://track.example.com/c?cid={click_id}","external_platform":"tune","external_id":"4521","advertiser_id":"7","payout":2.5,"payout_type":"cpa","filter_bots":true,"metadata":{"vertical":"health","geo":"US"}}`, ""},
		{"null platform", `{"name":"a","tracking_url":"https://t.example/","external_platform":null}`, ""},
		{"missing name", `{"tracking_url":"https://t.example/"}`, "missing_name"},
		{"blank name", `{"name":"  ","tracking_url":"https://t.example/"}`, "missing_name"},
		{"missing tracking_url", `{"name":"a"}`, "missing_tracking_url"},
		{"name too long", `{"name":"` + long + `","tracking_url":"https://t.example/"}`, "name_too_long"},
		{"name of 255 runes", `{"name":"` + strings.Repeat("é", 255) + `","tracking_url":"https://t.example/"}`, ""},
		{"bad platform", `{"name":"a","tracking_url":"https://t.example/","external_platform":"cake"}`, "invalid_external_platform"},
		{"bad payout type", `{"name":"a","tracking_url":"https://t.example/","payout_type":"cpm"}`, "invalid_payout_type"},
		{"cps is an extension", `{"name":"a","tracking_url":"https://t.example/","payout_type":"cps","payout":15}`, ""},
		{"bad status", `{"name":"a","tracking_url":"https://t.example/","status":"archived"}`, "invalid_status"},
		{"ftp url", `{"name":"a","tracking_url":"ftp://t.example/"}`, "invalid_tracking_url"},
		{"relative url", `{"name":"a","tracking_url":"/click"}`, "invalid_tracking_url"},
		{"macro in host", `{"name":"a","tracking_url":"https://{sub1}/x"}`, "invalid_tracking_url"},
		{"userinfo host", `{"name":"a","tracking_url":"https://good.example@evil.example/"}`, "invalid_tracking_url"},
		{"number url", `{"name":"a","tracking_url":42}`, "invalid_tracking_url"},
		{"negative payout", `{"name":"a","tracking_url":"https://t.example/","payout":-1}`, "invalid_payout"},
		{"string payout", `{"name":"a","tracking_url":"https://t.example/","payout":"2.5"}`, "invalid_payout"},
		{"percent over 100", `{"name":"a","tracking_url":"https://t.example/","payout_type":"revshare","payout":150}`, "invalid_payout"},
		{"metadata not strings", `{"name":"a","tracking_url":"https://t.example/","metadata":{"a":1}}`, "invalid_metadata"},
		{"bad country", `{"name":"a","tracking_url":"https://t.example/","countries":["USA"]}`, "invalid_countries"},
		{"bad bool", `{"name":"a","tracking_url":"https://t.example/","filter_bots":"yes"}`, "invalid_filter_bots"},
		{"cpl is a fixed payout", `{"name":"a","tracking_url":"https://t.example/","payout_type":"cpl","payout":150}`, ""},
		{"app fields", `{"name":"a","tracking_url":"https://t.example/","icon":"https://cdn.example/i.png","package":"com.Plus500","conversion_flow":"1.Download\n2.Sign up","os_version":"8.0+"}`, ""},
		{"app store id package", `{"name":"a","tracking_url":"https://t.example/","package":"id284882215"}`, ""},
		{"package with a slash", `{"name":"a","tracking_url":"https://t.example/","package":"com.x/evil"}`, "invalid_package"},
		{"package too long", `{"name":"a","tracking_url":"https://t.example/","package":"` + strings.Repeat("a", 256) + `"}`, "invalid_package"},
		{"icon not a url", `{"name":"a","tracking_url":"https://t.example/","icon":"icon.png"}`, "invalid_icon"},
		{"conversion_flow too long", `{"name":"a","tracking_url":"https://t.example/","conversion_flow":"` + strings.Repeat("é", 4001) + `"}`, "invalid_conversion_flow"},
		{"os_version a number", `{"name":"a","tracking_url":"https://t.example/","os_version":8}`, "invalid_os_version"},
		{"first error wins by seed order", `{"name":"` + long + `","payout_type":"x","status":"y","tracking_url":"https://t.example/"}`, "name_too_long"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := applyJSON(t, DefaultOffer(), c.body)
			switch {
			case c.code == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case c.code != "" && (err == nil || err.Code != c.code):
				t.Fatalf("got %v, want code %s", err, c.code)
			}
		})
	}
}

func TestOfferDefaultsAndNormalisation(t *testing.T) {
	o := DefaultOffer()
	if err := applyJSON(t, o, `{"name":"a","tracking_url":"https://t.example/","countries":["us"," de "],"os":"Android","currency":"eur"}`); err != nil {
		t.Fatal(err)
	}
	if o.PayoutType != "cpa" || o.Status != "active" || o.Payout != 0 || o.FilterBots || o.ExternalPlatform != nil {
		t.Errorf("seed 003 defaults not applied: %+v", o)
	}
	if strings.Join(o.Countries, ",") != "US,DE" || o.OS != "android" || o.Currency != "EUR" {
		t.Errorf("not normalised: countries %v os %q currency %q", o.Countries, o.OS, o.Currency)
	}
}

func TestSeed003MessagesWordForWord(t *testing.T) {
	want := map[string]string{
		"missing_name":              "The name field was not provided.",
		"missing_tracking_url":      "The tracking_url field was not provided.",
		"name_too_long":             "The name exceeds 255 characters.",
		"invalid_external_platform": "The external_platform value is not tune, everflow, or null.",
		"invalid_payout_type":       "The payout_type value is not cpa or cpc.",
		"invalid_status":            "The status value is not active or paused.",
	}
	for _, e := range []*FieldError{ErrMissingName, ErrMissingTrackingURL, ErrNameTooLong, ErrInvalidExternalPlatform, ErrInvalidPayoutType, ErrInvalidStatus} {
		if want[e.Code] != e.Message {
			t.Errorf("%s: message %q, want %q", e.Code, e.Message, want[e.Code])
		}
	}
}

func TestSlugify(t *testing.T) {
	cases := map[string]string{
		"Summer Promo":        "summer-promo",
		"  --Hello,  World!!": "hello-world",
		"Ünïcode Ofé 2":       "n-code-of-2",
		"":                    "",
	}
	for in, want := range cases {
		if got := Slugify(in, 40); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Slugify(strings.Repeat("ab ", 50), 10); len(got) > 10 || strings.HasSuffix(got, "-") {
		t.Errorf("Slugify long = %q", got)
	}
}

func FuzzApplyOfferFields(f *testing.F) {
	f.Add(`{"name":"Summer Promo","tracking_url":"https://t.example/?c={click_id}","payout":2.5}`)
	f.Add(`{"name":null,"metadata":{"a":"b"},"countries":["us"]}`)
	f.Fuzz(func(t *testing.T, body string) {
		var fields map[string]json.RawMessage
		if json.Unmarshal([]byte(body), &fields) != nil {
			return
		}
		o := DefaultOffer()
		if ApplyOfferFields(o, fields) != nil || ValidateOffer(o) != nil {
			return
		}
		// An accepted offer has a tracking URL whose host no macro fills.
		if !ValidURL(o.TrackingURL) || o.Name == "" {
			t.Fatalf("accepted invalid offer %+v", o)
		}
	})
}
