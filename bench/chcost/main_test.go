package main

import (
	"slices"
	"testing"
)

func TestConfigurations(t *testing.T) {
	views := []string{"a_clicks", "b_clicks"}
	for _, tc := range []struct {
		spec  string
		names []string
		err   bool
	}{
		{spec: "all,none,each", names: []string{"every view", "no view (clicks and click_lookup)", "a_clicks alone", "b_clicks alone"}},
		{spec: " b_clicks ", names: []string{"b_clicks alone"}},
		{spec: "all,c_clicks", err: true},
		{spec: "", err: true},
	} {
		got, err := configurations(tc.spec, views)
		if (err != nil) != tc.err {
			t.Errorf("%q: error %v, want one: %v", tc.spec, err, tc.err)
			continue
		}
		var names []string
		for _, c := range got {
			names = append(names, c.name)
		}
		if !tc.err && !slices.Equal(names, tc.names) {
			t.Errorf("%q: %v, want %v", tc.spec, names, tc.names)
		}
	}
	if got, _ := configurations("all,none", views); !slices.Equal(got[0].views, views) || got[1].views != nil {
		t.Errorf("all should attach every view and none no view: %+v", got)
	}
}
