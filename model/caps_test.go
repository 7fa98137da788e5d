package model

import (
	"encoding/json"
	"testing"
	"time"
)

// A cap's period is the network's: its day, ISO week (from Monday) and
// month in the configured zone, each keyed by its name.
func TestPeriodKey(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	// 2026-12-07 05:30 UTC is Sunday 2026-12-06 21:30 in Los Angeles.
	at := time.Date(2026, 12, 7, 5, 30, 0, 0, time.UTC)
	cases := []struct {
		period string
		loc    *time.Location
		key    string
		start  time.Time
		end    time.Time
	}{
		{PeriodDay, time.UTC, "2026-12-07", time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)},
		{PeriodDay, la, "2026-12-06", time.Date(2026, 12, 6, 0, 0, 0, 0, la), time.Date(2026, 12, 7, 0, 0, 0, 0, la)},
		{PeriodWeek, time.UTC, "2026-W50", time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 14, 0, 0, 0, 0, time.UTC)},
		{PeriodWeek, la, "2026-W49", time.Date(2026, 11, 30, 0, 0, 0, 0, la), time.Date(2026, 12, 7, 0, 0, 0, 0, la)},
		{PeriodMonth, la, "2026-12", time.Date(2026, 12, 1, 0, 0, 0, 0, la), time.Date(2027, 1, 1, 0, 0, 0, 0, la)},
		{PeriodTotal, la, "total", time.Time{}, time.Time{}},
	}
	for _, c := range cases {
		key, end := PeriodKey(c.period, at, c.loc)
		start := PeriodStart(c.period, at, c.loc)
		if key != c.key || !end.Equal(c.end) || !start.Equal(c.start) {
			t.Errorf("%s in %s: %s [%s, %s), want %s [%s, %s)", c.period, c.loc, key, start, end, c.key, c.start, c.end)
		}
	}
	// The first ISO week of 2027 begins on Monday 2027-01-04; 2027-01-01
	// belongs to 2026's last week.
	if key, _ := PeriodKey(PeriodWeek, time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC), time.UTC); key != "2026-W53" {
		t.Errorf("2027-01-01's week: %s", key)
	}
}

func TestParseCaps(t *testing.T) {
	good := `[{"metric":"conversions","period":"day","limit":500},{"metric":"payout","period":"month","limit":1250.50}]`
	caps, err := ParseCaps(json.RawMessage(good))
	if err != nil || len(caps) != 2 || caps[1].Units() != 1_250_500_000 || caps[0].Units() != 500 {
		t.Fatalf("%s: %+v %v", good, caps, err)
	}
	for _, bad := range []string{
		`{}`, `[{"metric":"sales","period":"day","limit":1}]`, `[{"metric":"clicks","period":"hour","limit":1}]`,
		`[{"metric":"clicks","period":"day","limit":0}]`, `[{"metric":"clicks","period":"day","limit":1.5}]`,
		`[{"metric":"clicks","period":"day","limit":1e12}]`,
		`[{"metric":"clicks","period":"day","limit":1},{"metric":"clicks","period":"day","limit":2}]`,
	} {
		if _, err := ParseCaps(json.RawMessage(bad)); err == nil || err.Code != "invalid_caps" {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// Who may run an offer and who sees it, by its visibility and the
// affiliate's record on it.
func TestAccess(t *testing.T) {
	rec := func(access string) *OfferAffiliate { return &OfferAffiliate{Access: access} }
	cases := []struct {
		visibility string
		rec        *OfferAffiliate
		runs, sees bool
	}{
		{VisibilityPublic, nil, true, true},
		{"", nil, true, true},
		{VisibilityPublic, rec(AccessPending), true, true},
		{VisibilityPublic, rec(AccessBlocked), false, false},
		{VisibilityPublic, rec(AccessRejected), false, false},
		{VisibilityRequireApproval, nil, false, true},
		{VisibilityRequireApproval, rec(AccessPending), false, true},
		{VisibilityRequireApproval, rec(AccessApproved), true, true},
		{VisibilityRequireApproval, rec(AccessRejected), false, false},
		{VisibilityPrivate, nil, false, false},
		{VisibilityPrivate, rec(AccessPending), false, false},
		{VisibilityPrivate, rec(AccessApproved), true, true},
	}
	for _, c := range cases {
		o := &Offer{Visibility: c.visibility}
		if runs, sees := MayRun(o, c.rec), Sees(o, c.rec); runs != c.runs || sees != c.sees {
			t.Errorf("%q with %+v: runs %v sees %v, want %v %v", c.visibility, c.rec, runs, sees, c.runs, c.sees)
		}
	}
}

func TestBlockedSubs(t *testing.T) {
	b, err := ParseBlockedSubs(json.RawMessage(`{"sub1":["site-42","app-7","site-42"],"sub3":["x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	sub := func(s1, s3 string) *[5][]byte { return &[5][]byte{[]byte(s1), nil, []byte(s3)} }
	if !b.Blocks(sub("site-42", "")) || !b.Blocks(sub("", "x")) || b.Blocks(sub("site-43", "y")) || b.Blocks(sub("x", "")) {
		t.Errorf("Blocks wrong for %+v", b)
	}
	out, _ := json.Marshal(b)
	if string(out) != `{"sub1":["app-7","site-42"],"sub2":[],"sub3":["x"],"sub4":[],"sub5":[]}` {
		t.Errorf("JSON %s", out)
	}
	for _, bad := range []string{`["x"]`, `{"sub6":["x"]}`, `{"sub1":[""]}`} {
		if _, err := ParseBlockedSubs(json.RawMessage(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
