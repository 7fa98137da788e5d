package redis

import (
	"context"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
)

func TestRateWindowsAreSharedAndReset(t *testing.T) {
	ctx := context.Background()
	a := NewForTest(t)
	b, err := New(Dependencies{Logger: a.log}, a.config) // another process
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer b.Stop(context.Background())
	windows := []Window{{Name: "burst", Limit: 3, Period: time.Minute}, {Name: "hour", Limit: 5, Period: time.Hour}}
	now := time.Date(2026, 5, 1, 10, 0, 30, 0, time.UTC)
	var last []WindowCount
	for i, c := range []*Component{a, b, a, b} {
		if last, err = c.CountRequest(ctx, "aff:1", now, windows); err != nil {
			t.Fatal(err)
		}
		if got := last[0].Count; got != int64(i+1) {
			t.Fatalf("request %d counted %d in the burst window", i+1, got)
		}
	}
	if !last[0].Exceeded() || last[1].Exceeded() || last[0].Remaining() != 0 || last[1].Remaining() != 1 {
		t.Fatalf("after 4 requests: %+v", last)
	}
	if want := time.Date(2026, 5, 1, 10, 1, 0, 0, time.UTC); !last[0].Reset.Equal(want) {
		t.Fatalf("burst resets at %v, want %v", last[0].Reset, want)
	}
	// The next minute starts a new burst window; the hour goes on counting.
	next, err := a.CountRequest(ctx, "aff:1", now.Add(time.Minute), windows)
	if err != nil {
		t.Fatal(err)
	}
	if next[0].Count != 1 || next[1].Count != 5 || next[1].Exceeded() {
		t.Fatalf("next minute: %+v", next)
	}
	if other, _ := a.CountRequest(ctx, "aff:2", now, windows); other[0].Count != 1 {
		t.Fatalf("another subject shares the count: %+v", other)
	}
}

func TestReplaceAPIKeysRevokesTheOldKeyEverywhere(t *testing.T) {
	ctx := context.Background()
	a := NewForTest(t)
	b, err := New(Dependencies{Logger: a.log}, a.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer b.Stop(context.Background())
	p := model.Principal{Kind: model.KindAffiliate, ID: "9"}
	other := model.Principal{Kind: model.KindAffiliate, ID: "10"}
	if err := a.SaveAPIKey(ctx, "old-key-0123456789", p); err != nil {
		t.Fatal(err)
	}
	if err := a.SaveAPIKey(ctx, "others-key-0123456789", other); err != nil {
		t.Fatal(err)
	}
	// On a Redis Cluster two invalidations may arrive out of order (each
	// PUBLISH goes through a node of its own): wait for both keys.
	testkit.Wait(t, "the other process knows both keys", 5*time.Second, func() bool {
		_, oldOK := b.Catalog().Principal("old-key-0123456789")
		_, otherOK := b.Catalog().Principal("others-key-0123456789")
		return oldOK && otherOK
	})
	if err := a.ReplaceAPIKeys(ctx, "new-key-0123456789", p); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Catalog().Principal("old-key-0123456789"); ok {
		t.Fatal("the old key still works in the process that rotated it")
	}
	if got, ok := a.Catalog().Principal("new-key-0123456789"); !ok || got != p {
		t.Fatalf("new key: %+v %v", got, ok)
	}
	testkit.Wait(t, "the other process knows the new key only", 5*time.Second, func() bool {
		_, oldOK := b.Catalog().Principal("old-key-0123456789")
		_, newOK := b.Catalog().Principal("new-key-0123456789")
		return !oldOK && newOK
	})
	if got, ok := b.Catalog().Principal("others-key-0123456789"); !ok || got != other {
		t.Fatal("rotating one account's key revoked another's")
	}
}

// A full reload reads Redis without the catalog's lock. One that read the
// keys just before a rotation, and swaps them in after it, must not bring
// the revoked key back nor drop the new one (as a late subscription's
// reload once did on a Redis Cluster).
func TestAReloadReadBeforeARotationKeepsIt(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	p := model.Principal{Kind: model.KindAdvertiser, ID: "4"}
	if err := c.SaveAPIKey(ctx, "adv-old-0123456789", p); err != nil {
		t.Fatal(err)
	}
	cat := c.Catalog()
	mark := cat.writeMark()
	stale, err := cat.read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ReplaceAPIKeys(ctx, "adv-new-0123456789", p); err != nil {
		t.Fatal(err)
	}
	cat.install(stale, mark)
	if _, ok := cat.Principal("adv-old-0123456789"); ok {
		t.Error("the rotated key works again after a reload that read Redis before the rotation")
	}
	if got, ok := cat.Principal("adv-new-0123456789"); !ok || got != p {
		t.Errorf("the new key after that reload: %+v %v", got, ok)
	}
	// A reload that read after the rotation applies as it is.
	if err := cat.reloadAll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := cat.Principal("adv-old-0123456789"); ok {
		t.Error("the rotated key works after a fresh reload")
	}
	if _, ok := cat.Principal("adv-new-0123456789"); !ok {
		t.Error("the new key is gone after a fresh reload")
	}
}
