package redis

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/testkit"
)

func TestAdvanceStatus(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	seed := StatusVersion{Version: 1, Status: "pending", UpdatedTime: 1000}
	at := time.UnixMilli(5000)
	const lease = 10 * time.Second

	steps := []struct {
		name     string
		seed     StatusVersion
		status   string
		owner    string
		end      func(ctx context.Context, id, owner string) (bool, error) // nil: the lease stays open
		outcome  StatusOutcome
		want     StatusVersion // the state answered
		wantHeld bool          // what end reports
	}{
		{"seeded from ClickHouse, then advanced", seed, "approved", "a", c.CommitStatus, StatusAdvanced,
			StatusVersion{Version: 1, Status: "pending", UpdatedTime: 1000}, true},
		{"same status is a no-op", seed, "approved", "b", nil, StatusUnchanged,
			StatusVersion{Version: 2, Status: "approved", PrevStatus: "pending", UpdatedTime: 5000}, false},
		{"a stale seed does not go back", seed, "rejected", "c", nil, StatusAdvanced,
			StatusVersion{Version: 2, Status: "approved", PrevStatus: "pending", UpdatedTime: 5000}, false},
		{"busy while c publishes", seed, "reversed", "d", nil, StatusBusy,
			StatusVersion{Version: 3, Status: "rejected", PrevStatus: "approved", UpdatedTime: 5000}, false},
		{"even for the status in flight", seed, "rejected", "e", nil, StatusBusy,
			StatusVersion{Version: 3, Status: "rejected", PrevStatus: "approved", UpdatedTime: 5000}, false},
	}
	id := "conv_steps"
	for _, s := range steps {
		outcome, got, err := c.AdvanceStatus(ctx, id, s.seed, s.status, s.owner, lease, at)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if outcome != s.outcome || got != s.want {
			t.Fatalf("%s: %v %+v, want %v %+v", s.name, outcome, got, s.outcome, s.want)
		}
		if s.end != nil {
			if held, err := s.end(ctx, id, s.owner); err != nil || held != s.wantHeld {
				t.Fatalf("%s: ending the lease: %v %v", s.name, held, err)
			}
		}
	}
	// Only c's own rollback restores the state c's change replaced.
	if held, err := c.RollbackStatus(ctx, id, "d"); err != nil || held {
		t.Fatalf("a stranger rolled c back: %v %v", held, err)
	}
	if held, err := c.RollbackStatus(ctx, id, "c"); err != nil || !held {
		t.Fatalf("c's rollback: %v %v", held, err)
	}
	outcome, got, err := c.AdvanceStatus(ctx, id, seed, "rejected", "f", lease, at)
	if want := (StatusVersion{Version: 2, Status: "approved", PrevStatus: "pending", UpdatedTime: 5000}); err != nil || outcome != StatusAdvanced || got != want {
		t.Fatalf("after the rollback: %v %+v %v, want version 3 taken again over %+v", outcome, got, err, want)
	}
	if held, _ := c.CommitStatus(ctx, id, "c"); held {
		t.Fatal("c committed f's lease")
	}

	// A newer seed (Redis lost or behind) wins over the state held.
	outcome, got, err = c.AdvanceStatus(ctx, "conv_other", StatusVersion{Version: 7, Status: "rejected", PrevStatus: "approved", UpdatedTime: 9}, "rejected", "g", lease, at)
	if err != nil || outcome != StatusUnchanged || got.Version != 7 || got.Status != "rejected" {
		t.Fatalf("seeded no-op: %v %+v %v", outcome, got, err)
	}
}

func TestAdvanceStatusLeaseRunsOut(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	seed := StatusVersion{Version: 1, Status: "pending", UpdatedTime: 1}
	if outcome, _, err := c.AdvanceStatus(ctx, "conv_lease", seed, "approved", "dead", time.Millisecond, time.UnixMilli(2)); err != nil || outcome != StatusAdvanced {
		t.Fatalf("first: %v %v", outcome, err)
	}
	// The owner died: once its lease has run out, its version counts as
	// taken and the next change numbers past it.
	var got StatusVersion
	testkit.Poll(t, "the next change advancing past a lapsed 1 ms lease", 5*time.Second, func() (bool, string) {
		outcome, replaced, err := c.AdvanceStatus(ctx, "conv_lease", seed, "rejected", "next", time.Second, time.UnixMilli(3))
		if err != nil {
			t.Fatal(err)
		}
		got = replaced
		return outcome == StatusAdvanced, fmt.Sprint(outcome)
	})
	if got.Version != 2 || got.Status != "approved" {
		t.Fatalf("after a lapsed lease: %+v, want to replace version 2 approved", got)
	}
}

func TestAdvanceStatusConcurrently(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	seed := StatusVersion{Version: 1, Status: "pending", UpdatedTime: 1}
	const callers = 20
	outcomes := make([]StatusOutcome, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcome, _, err := c.AdvanceStatus(ctx, "conv_race", seed, "approved", fmt.Sprint("owner-", i), time.Minute, time.UnixMilli(2))
			if err != nil {
				t.Error(err)
			}
			outcomes[i] = outcome
		}()
	}
	wg.Wait()
	advanced := 0
	for _, o := range outcomes {
		switch o {
		case StatusAdvanced:
			advanced++
		case StatusBusy:
		default:
			t.Errorf("outcome %v while a change is in flight", o)
		}
	}
	if advanced != 1 {
		t.Fatalf("%d callers took version 2, want exactly 1", advanced)
	}
}
