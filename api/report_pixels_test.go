package api

import (
	"strings"
	"testing"
	"time"
)

func TestCSVCellNeutralisesFormulas(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"12.5", "12.5"},
		{"=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"},
		{"+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1:A9)", "'@SUM(A1:A9)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"a=1", "a=1"},
		{" =1", " =1"},
	} {
		if got := csvCell(tc.in); got != tc.want {
			t.Errorf("csvCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParsePixelsRequest(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	q, _, msg := parsePixelsRequest([]byte(`{"timezone_id":80,"from":"2024-02-07","to":"2024-02-08 10:00:00",
		"query":{"filters":[{"resource_type":"offer","filter_id_value":"15"},{"resource_type":"offer","filter_id_value":18},
		{"resource_type":"affiliate","filter_id_value":"7"},{"resource_type":"delivery_status","filter_id_value":"failure"}]}}`), false)
	if msg != "" {
		t.Fatal(msg)
	}
	if !q.From.Equal(time.Date(2024, 2, 7, 0, 0, 0, 0, ny)) || !q.To.Equal(time.Date(2024, 2, 8, 10, 0, 1, 0, ny)) {
		t.Errorf("range %v .. %v", q.From, q.To)
	}
	if strings.Join(q.OfferIDs, ",") != "15,18" || strings.Join(q.AffiliateIDs, ",") != "7" || q.Success == nil || *q.Success {
		t.Errorf("filters: offers %v affiliates %v success %v", q.OfferIDs, q.AffiliateIDs, q.Success)
	}
	both, _, _ := parsePixelsRequest([]byte(`{"timezone_id":67,"from":"2024-02-07","to":"2024-02-07","query":{"filters":[
		{"resource_type":"delivery_status","filter_id_value":"success"},{"resource_type":"delivery_status","filter_id_value":"failure"}]}}`), false)
	if both.Success != nil || !both.To.Equal(both.From.AddDate(0, 0, 1)) {
		t.Errorf("success OR failure must not filter, and a day runs to its end: %+v", both)
	}
	for body, want := range map[string]string{
		`{"from":"2024-02-07","to":"2024-02-08"}`:                                                                                          "timezone_id is required",
		`{"timezone_id":90,"from":"2024-02-07","to":"2024-02-08"}`:                                                                         "Unknown timezone_id 90",
		`{"timezone":"Mars/Olympus","from":"2024-02-07","to":"2024-02-08"}`:                                                                "not an IANA time zone",
		`{"timezone_id":67,"from":"07/02/2024","to":"2024-02-08"}`:                                                                         "from is required",
		`{"timezone_id":67,"from":"2024-02-09","to":"2024-02-08"}`:                                                                         "to must be after from",
		`{"timezone_id":67,"from":"2024-02-07","to":"2024-02-08","query":{"filters":[{"resource_type":"network","filter_id_value":"1"}]}}`: "resource_type",
	} {
		if _, _, msg := parsePixelsRequest([]byte(body), false); !strings.Contains(msg, want) {
			t.Errorf("%s: %q, want %q", body, msg, want)
		}
	}
	if _, _, msg := parsePixelsRequest([]byte(`{"timezone_id":67,"from":"2024-02-07","to":"2024-02-08","format":"xml"}`), true); !strings.Contains(msg, "format") {
		t.Errorf("export without a usable format: %q", msg)
	}
}
