package redis

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
)

// The traffic controls and an offer's targeting reach another process
// compiled (its catalog decodes them from Redis), and come back from the
// journal after Redis lost them.
func TestTrafficControlsAndTargetingReachEveryProcessCompiled(t *testing.T) {
	ctx := context.Background()
	j := newMemJournal()
	a := withJournal(t, NewForTest(t), j)
	b := withJournal(t, a, j)

	saved, err := a.UpsertEntity(ctx, model.KindTrafficControls, model.TrafficControlsID, func(e model.Entity) (model.Entity, error) {
		if e != nil {
			t.Errorf("traffic controls before any were set: %+v", e)
		}
		c := &model.TrafficControls{UpdatedAt: "2026-01-01T00:00:00Z"}
		c.SetIPs([]string{"203.0.113.0/24"})
		c.SetUserAgents([]string{"BadBot"})
		return c, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The same lists, not necessarily the same value: on a Redis Cluster a
	// full reload (its late subscription) may have decoded them afresh.
	want := saved.(*model.TrafficControls)
	if got := a.Catalog().TrafficControls(); got == nil || !slices.Equal(got.IPs, want.IPs) ||
		!slices.Equal(got.UserAgents, want.UserAgents) || !got.BlocksIP(netip.MustParseAddr("203.0.113.9")) {
		t.Fatalf("the writer's catalog: %+v", got)
	}
	targeting, ferr := model.ParseTargeting([]byte(`{"countries":{"exclude":["FR"]}}`))
	if ferr != nil {
		t.Fatal(ferr)
	}
	offer := &model.Offer{ID: "1", Slug: "ofr_t_1", Name: "T", TrackingURL: "https://x.example/", Status: model.StatusActive, Targeting: targeting}
	if err := a.SaveEntity(ctx, offer); err != nil {
		t.Fatal(err)
	}
	fr := &model.Visit{Country: "FR"}
	testkit.Poll(t, "the other process sees both, compiled", 5*time.Second, func() (bool, string) {
		c, o := b.Catalog().TrafficControls(), b.Catalog().Offer("1")
		ok := c.BlocksIP(netip.MustParseAddr("203.0.113.9")) && c.BlocksUserAgent([]byte("x badbot y")) && o != nil &&
			o.Targeting != nil && !o.Targeting.Admits(fr) && o.Targeting.Admits(&model.Visit{Country: "US"})
		return ok, fmt.Sprintf("%+v, %+v", c, o)
	})

	wipe(t, a)
	d := withJournal(t, a, j) // a process starting on the emptied Redis restores it
	c := d.Catalog().TrafficControls()
	if !c.BlocksIP(netip.MustParseAddr("203.0.113.9")) || c.AgentsVersion() != want.AgentsVersion() {
		t.Errorf("the traffic controls after the restore: %+v", c)
	}
	if o := d.Catalog().Offer("1"); o == nil || o.Targeting.Admits(fr) {
		t.Errorf("the offer's targeting after the restore: %+v", o)
	}
}
