package postback

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// refusingState is the real Redis state whose retry queue refuses writes
// while refuse is set (Redis full, or failing over).
type refusingState struct {
	*redis.Component
	refuse  atomic.Bool
	refused atomic.Int32
}

func (s *refusingState) ScheduleRetry(ctx context.Context, due time.Time, job []byte) error {
	if s.refuse.Load() {
		s.refused.Add(1)
		return errors.New("OOM command not allowed when used memory > 'maxmemory'")
	}
	return s.Component.ScheduleRetry(ctx, due, job)
}

func (h *harness) newWorker(t *testing.T, state state) *Worker {
	t.Helper()
	config := DefaultConfiguration()
	config.AllowPrivate = true
	config.RetryBase = 50 * time.Millisecond
	config.RetryPoll = 20 * time.Millisecond
	config.MaxAttempts = 3
	config.Timeout = 2 * time.Second
	w, err := New(Dependencies{Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.Disabled),
		Kafka: h.k, Catalog: h.rd.Catalog(), State: state, Attempts: h.attempts}, config)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Start(t, w)
	return w
}

// TestUnscheduledRetryKeepsItsConversion pins issue 8's lost postback: a
// retry Redis would not queue kept its conversion's offset committed, so
// the postback was gone. Now the scheduling is retried until the stop's
// deadline, the stop still ends on time, and the conversion is not
// committed: the next worker delivers it.
func TestUnscheduledRetryKeepsItsConversion(t *testing.T) {
	h := &harness{attempts: &memoryAttempts{}}
	base := newHarness(t, true) // for its broker and Redis; its own worker stays idle on another group member
	h.k, h.rd = base.k, base.rd
	// The base worker would take the conversion too: stop it first.
	stopCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := base.worker.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, 503) // then 200
	h.postback(t, "pb_1", "12", model.EventConversion, rcv.URL+"/pb?c={click_id}")

	st := &refusingState{Component: h.rd}
	st.refuse.Store(true)
	first := h.newWorker(t, st)
	h.convert(t, conversion("conv_1"))
	testkit.Poll(t, "a refused scheduling", waitLimit, func() (bool, string) {
		n := st.refused.Load()
		return n >= 2, fmt.Sprintf("%d refused", n)
	})

	stopCtx, cancelStop := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancelStop()
	if err := first.Stop(stopCtx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stop with a retry unscheduled = %v, want its deadline", err)
	}

	second := h.newWorker(t, h.rd)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = second.Stop(ctx)
	})
	testkit.Wait(t, "the redelivered conversion's postback", waitLimit, func() bool {
		for _, a := range h.attempts.list() {
			if a.Success {
				return true
			}
		}
		return false
	})
}
