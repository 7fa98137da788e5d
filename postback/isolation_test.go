package postback

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/kafka"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// A host at its bound has its jobs put back in the retry queue, over and
// over while it stays busy, as the same entries: the queue does not grow,
// no attempt is used up, and once the host answers each job is delivered
// once, as its first attempt.
func TestBusyHostsJobsWaitInTheRetryQueue(t *testing.T) {
	h := &harness{k: kafka.NewForTest(t), rd: redis.NewForTest(t), attempts: &memoryAttempts{}}
	config := DefaultConfiguration()
	config.AllowPrivate = true
	config.Timeout = 30 * time.Second // held requests stay held
	config.RetryPoll = 20 * time.Millisecond
	config.HostConcurrency = 1
	config.HostBusyDelay = 20 * time.Millisecond
	w, err := New(Dependencies{Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
		Kafka: h.k, Catalog: h.rd.Catalog(), State: h.rd, Attempts: h.attempts, Drain: true}, config)
	if err != nil {
		t.Fatal(err)
	}
	w.Start()

	release := make(chan struct{})
	var mu sync.Mutex
	got := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		mu.Lock()
		got[req.URL.Query().Get("conv")]++
		mu.Unlock()
		select {
		case <-release:
		case <-req.Context().Done():
		}
	}))
	// Cleanups run last first: release the held request, stop the worker,
	// then close the server.
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = w.Stop(ctx)
	})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)

	h.postback(t, "pb_1", "", model.EventConversion, srv.URL+"/pb?conv={conversion_id}")
	h.convert(t, conversion("conv_1"), conversion("conv_2"), conversion("conv_3"))

	// One request held; the two others deferred again and again.
	waitFor(t, "jobs deferred as host_busy several times", func() bool { return w.deferredBusy.Get() >= 6 })
	if n, err := h.rd.PendingRetries(context.Background()); err != nil || n != 2 {
		t.Fatalf("retry queue holds %d jobs (%v), want the 2 deferred, each once", n, err)
	}

	unblock()
	waitFor(t, "three deliveries", func() bool { return w.delivered.Get() == 3 })
	for _, a := range h.attempts.list() {
		if a.Number != 1 || !a.Success {
			t.Errorf("attempt %+v: want the first, successful (deferrals use up no attempt)", a)
		}
	}
	mu.Lock()
	for _, conv := range []string{"conv_1", "conv_2", "conv_3"} {
		if got[conv] != 1 {
			t.Errorf("%s received %d times, want once", conv, got[conv])
		}
	}
	mu.Unlock()
	waitFor(t, "the retry queue emptied", func() bool {
		n, err := h.rd.PendingRetries(context.Background())
		return err == nil && n == 0
	})
}
