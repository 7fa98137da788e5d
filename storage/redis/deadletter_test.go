package redis

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestDeadLetterKeepsCapsAndCountsFailures(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	limits := DeadLetterLimits{Max: 3, TTL: time.Hour}
	t0 := time.UnixMilli(1_800_000_000_000).UTC()

	for i, id := range []string{"conv_1:conversion", "conv_2:conversion", "conv_3:conversion", "conv_4:conversion"} {
		res, err := c.AddDeadLetter(ctx, "pb_1", id, []byte(`{"job":"`+id+`"}`), t0.Add(time.Duration(i)*time.Minute), limits, true)
		if err != nil {
			t.Fatal(err)
		}
		if res.Failures != int64(i+1) || !res.FirstFailure.Equal(t0) {
			t.Fatalf("add %d: %+v; want failure %d since %v", i, res, i+1, t0)
		}
		if wantEvicted := int64(max(i-2, 0)); res.Evicted != wantEvicted {
			t.Fatalf("add %d evicted %d, want %d (cap 3)", i, res.Evicted, wantEvicted)
		}
	}
	list, total, err := c.DeadLetters(ctx, "pb_1", t0, t0.Add(time.Hour), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if total != 3 || len(list) != 3 || list[0].ID != "conv_4:conversion" || list[2].ID != "conv_2:conversion" ||
		string(list[0].Job) != `{"job":"conv_4:conversion"}` || !list[0].Died.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("dead letter: total %d %+v; want conv_4..conv_2 newest first, conv_1 evicted by the cap", total, list)
	}

	// An entry older than the TTL goes at the next add; a delivery kept
	// without counting leaves the failure run as it is.
	res, err := c.AddDeadLetter(ctx, "pb_1", "conv_5:approved", []byte(`{}`), t0.Add(time.Hour+time.Minute+time.Millisecond), limits, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Evicted != 1 || res.Failures != 0 {
		t.Fatalf("add past the TTL: %+v; want conv_2 evicted, nothing counted", res)
	}
	if n, _ := c.DeadLetterSize(ctx, "pb_1"); n != 3 {
		t.Fatalf("size %d, want 3", n)
	}

	// A landed delivery ends the run of failures.
	if err := c.RecordDelivered(ctx, "conv_9", "pb_1", "conversion"); err != nil {
		t.Fatal(err)
	}
	res, err = c.AddDeadLetter(ctx, "pb_1", "conv_6:conversion", []byte(`{}`), t0.Add(2*time.Hour), limits, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failures != 1 || !res.FirstFailure.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("after a delivery: %+v; want a new run of 1", res)
	}
}

func TestRedriveQueuesEachDeadDeliveryOnce(t *testing.T) {
	ctx := context.Background()
	c := NewForTest(t)
	limits := DeadLetterLimits{Max: 100, TTL: time.Hour}
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	add := func(id string, at time.Time) {
		t.Helper()
		if _, err := c.AddDeadLetter(ctx, "pb_7", id, []byte(`{"id":"`+id+`"}`), at, limits, true); err != nil {
			t.Fatal(err)
		}
	}
	queued := func() int64 {
		t.Helper()
		n, err := c.PendingRetries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	add("conv_a:conversion", t0)
	// Re-driven twice at once: queued once.
	var wg sync.WaitGroup
	results := make([]Redrive, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.RedriveDeliveries(ctx, "pb_7", []string{"conv_a:conversion"}, t0)
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		}()
	}
	wg.Wait()
	var total int64
	for _, r := range results {
		total += r.Queued
	}
	if total != 1 || queued() != 1 {
		t.Fatalf("8 concurrent re-drives queued %d (queue holds %d); want 1", total, queued())
	}
	jobs, err := c.TakeDueRetries(ctx, t0.Add(time.Second), time.Minute, 10)
	if err != nil || len(jobs) != 1 || jobs[0] != `{"id":"conv_a:conversion"}` {
		t.Fatalf("queued job: %q %v", jobs, err)
	}

	// One that landed meanwhile is dropped, not queued.
	add("conv_b:approved", t0)
	if err := c.MarkDelivered(ctx, "conv_b", "pb_7", "approved"); err != nil {
		t.Fatal(err)
	}
	r, err := c.RedriveDeliveries(ctx, "pb_7", []string{"conv_b:approved", "conv_unknown:conversion"}, t0)
	if err != nil || r.Queued != 0 || r.AlreadyDelivered != 1 {
		t.Fatalf("re-drive of a delivered one: %+v %v; want dropped as delivered", r, err)
	}

	// A range takes what died in [from, to), up to the limit, oldest first.
	for i, id := range []string{"conv_c:conversion", "conv_d:conversion", "conv_e:conversion", "conv_f:conversion"} {
		add(id, t0.Add(time.Duration(i)*time.Minute))
	}
	r, err = c.RedriveRange(ctx, "pb_7", t0, t0.Add(3*time.Minute), 2, t0)
	if err != nil || r.Queued != 2 || r.Left != 1 {
		t.Fatalf("range re-drive: %+v %v; want 2 queued, 1 left in range", r, err)
	}
	left, _, err := c.DeadLetters(ctx, "pb_7", t0, t0.Add(time.Hour), 0, 10)
	if err != nil || len(left) != 2 || left[0].ID != "conv_f:conversion" || left[1].ID != "conv_e:conversion" {
		t.Fatalf("left after the range: %+v %v; want conv_f, conv_e", left, err)
	}
}
