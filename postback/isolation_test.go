package postback

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/kafka"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// onceEach checks that every conversion was received exactly once.
func onceEach(t *testing.T, rcv *testkit.Receiver, convs ...string) {
	t.Helper()
	for _, conv := range convs {
		if n := rcv.CountQuery("conv", conv); n != 1 {
			t.Errorf("%s received %d times, want once", conv, n)
		}
	}
}

// startBoundedWorker starts a worker whose one postback goes to rcv, with
// config's host bounds and quick retry polls. Cleanups run last first:
// rcv releases its held requests, then the worker stops.
func startBoundedWorker(t *testing.T, h *harness, config Configuration, rcv *testkit.Receiver) *Worker {
	config.AllowPrivate = true
	config.Timeout = 30 * time.Second // held requests stay held
	config.RetryPoll = 20 * time.Millisecond
	config.HostBusyDelay = 20 * time.Millisecond
	w, err := New(Dependencies{Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
		Kafka: h.k, Catalog: h.rd.Catalog(), State: h.rd, Attempts: h.attempts, Drain: true}, config)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Start(t, w)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = w.Stop(ctx)
	})
	t.Cleanup(rcv.Release)
	h.postback(t, "pb_1", "", model.EventConversion, rcv.URL+"/pb?conv={conversion_id}")
	return w
}

// firstAttemptsOnly checks that every attempt made was a first and
// succeeded: waiting for a host uses up no attempt.
func firstAttemptsOnly(t *testing.T, h *harness) {
	t.Helper()
	for _, a := range h.attempts.list() {
		if a.Number != 1 || !a.Success {
			t.Errorf("attempt %+v: want the first, successful (waiting for a host uses up no attempt)", a)
		}
	}
}

func retryQueueEmpties(t *testing.T, h *harness, w *Worker) {
	t.Helper()
	testkit.Poll(t, "no job waiting and the retry queue empty", waitLimit, func() (bool, string) {
		n, err := h.rd.PendingRetries(context.Background())
		return err == nil && n == 0 && len(w.waiting) == 0, fmt.Sprintf("%d queued (%v), %d waiting", n, err, len(w.waiting))
	})
}

// A host at its bound has its jobs put back in the retry queue, over and
// over while it stays busy, as the same entries: the queue does not grow,
// no attempt is used up, and once the host answers each job is delivered
// once, as its first attempt. (No wait in the worker here: HostBusyWait 0.)
func TestBusyHostsJobsWaitInTheRetryQueue(t *testing.T) {
	h := &harness{k: kafka.NewForTest(t), rd: redis.NewForTest(t), attempts: &memoryAttempts{}}
	config := DefaultConfiguration()
	config.HostConcurrency = 1
	config.HostBusyWait = 0
	rcv := testkit.NewReceiver(t, testkit.Held())
	w := startBoundedWorker(t, h, config, rcv)
	h.convert(t, conversion("conv_1"), conversion("conv_2"), conversion("conv_3"))

	// One request held; the two others deferred again and again.
	testkit.Poll(t, "jobs deferred as host_busy several times", waitLimit, counted(w.deferredBusy, 6))
	if n, err := h.rd.PendingRetries(context.Background()); err != nil || n != 2 {
		t.Fatalf("retry queue holds %d jobs (%v), want the 2 deferred, each once", n, err)
	}

	rcv.Release()
	testkit.Poll(t, "three deliveries", waitLimit, counted(w.delivered, 3))
	firstAttemptsOnly(t, h)
	onceEach(t, rcv, "conv_1", "conv_2", "conv_3")
	retryQueueEmpties(t, h, w)
}

// A host at its bound for a moment is waited for in the worker: its jobs,
// as many as its bound, wait for room instead of a trip through the retry
// queue (at least HostBusyDelay plus a poll), and go the moment a request
// ends. Jobs past that many are put back as before.
func TestABrieflyBusyHostIsWaitedFor(t *testing.T) {
	h := &harness{k: kafka.NewForTest(t), rd: redis.NewForTest(t), attempts: &memoryAttempts{}}
	config := DefaultConfiguration()
	config.HostConcurrency = 2
	config.HostBusyWait = time.Minute // the waits end by the release, never by this
	rcv := testkit.NewReceiver(t, testkit.Held())
	w := startBoundedWorker(t, h, config, rcv)

	h.convert(t, conversion("conv_1"), conversion("conv_2"), conversion("conv_3"), conversion("conv_4"))
	testkit.Poll(t, "2 requests held and the 2 other jobs waiting or put back", waitLimit, func() (bool, string) {
		held, waiting, deferred := rcv.Count(), len(w.waiting), w.deferredBusy.Get()
		return held == 2 && (waiting == 2 || deferred > 0), fmt.Sprintf("%d held, %d waiting, %d put back", held, waiting, deferred)
	})
	if n, waiting := w.deferredBusy.Get(), len(w.waiting); n != 0 || waiting != 2 {
		t.Fatalf("%d jobs put back in the retry queue and %d waiting, want the 2 past the bound waiting in the worker", n, waiting)
	}
	// Two more: the host's waiting places are taken, so these go back to
	// the retry queue (again and again while the host stays full).
	h.convert(t, conversion("conv_5"), conversion("conv_6"))
	testkit.Poll(t, "jobs past the waiting places put back", waitLimit, counted(w.deferredBusy, 2))

	rcv.Release()
	testkit.Poll(t, "six deliveries", waitLimit, counted(w.delivered, 6))
	firstAttemptsOnly(t, h)
	onceEach(t, rcv, "conv_1", "conv_2", "conv_3", "conv_4", "conv_5", "conv_6")
	retryQueueEmpties(t, h, w)
}
