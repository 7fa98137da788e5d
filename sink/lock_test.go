package sink

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/clickrelay/clickrelay/internal/testkit"
	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/kafka"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// gatedPending is a batch whose store waits for the test to let it go, and
// tells the test when it starts and ends.
type gatedPending struct {
	entered chan string
	release chan struct{}
	name    string
	events  *[]string
	mu      *sync.Mutex
}

func (p *gatedPending) add(*kafkago.Message) error { return nil }
func (p *gatedPending) len() int                   { return 0 }
func (p *gatedPending) reset()                     {}
func (p *gatedPending) store(ctx context.Context) error {
	p.record(p.name + " in")
	p.entered <- p.name
	select {
	case <-p.release:
	case <-ctx.Done(): // the test ended without letting it go
		return ctx.Err()
	}
	p.record(p.name + " out")
	return nil
}

func (p *gatedPending) record(e string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	*p.events = append(*p.events, e)
}

// TestInsertsOfAPartitionAreSerialised: two workers storing batches of the
// same partition (after a rebalance, the old owner may still be inserting
// what the new one was handed again) never check-and-insert at once, so
// the second sees the first's rows and skips them.
func TestInsertsOfAPartitionAreSerialised(t *testing.T) {
	ctx := t.Context()
	rd := redis.NewForTest(t)
	k := kafka.NewForTest(t)
	var events []string
	var mu sync.Mutex
	worker := func(name string) (*stream, *gatedPending) {
		s, err := New(Dependencies{Logger: zerolog.Nop(), Kafka: k, Warehouse: noWarehouse{}, Locks: rd}, DefaultConfiguration())
		if err != nil {
			t.Fatal(err)
		}
		p := &gatedPending{entered: make(chan string, 1), release: make(chan struct{}), name: name, events: &events, mu: &mu}
		return &stream{sink: s, topic: "clicks", pending: p, hotLog: zerolog.Nop()}, p
	}
	a, pa := worker("a")
	b, pb := worker("b")
	batch := []kafkago.Message{{Partition: 1, Offset: 10}, {Partition: 3, Offset: 7}}

	done := make(chan error, 2)
	go func() { done <- a.storeLocked(ctx, batch) }()
	waitEntered(t, pa)
	// While a stores, partition 3's lock is a's: b cannot have it.
	if ok, err := rd.Lock(ctx, "sink:clicks:3", "someone else", time.Minute); ok || err != nil {
		t.Fatalf("the lock of a partition being stored was free: %v %v", ok, err)
	}
	go func() { done <- b.storeLocked(ctx, batch[1:]) }()
	close(pa.release)
	waitEntered(t, pb)
	close(pb.release)
	for range 2 {
		if err := testkit.Receive(t, "a store's end", 10*time.Second, done); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"a in", "a out", "b in", "b out"}; !slices.Equal(events, want) {
		t.Fatalf("stores ran %v, want %v", events, want)
	}
	// Both let go: the locks are free again.
	for _, p := range []string{"sink:clicks:1", "sink:clicks:3"} {
		if ok, err := rd.Lock(ctx, p, "test", time.Second); !ok || err != nil {
			t.Fatalf("%s still held after the stores: %v %v", p, ok, err)
		}
	}
}

func waitEntered(t *testing.T, p *gatedPending) {
	t.Helper()
	testkit.Receive(t, p.name+" starting to store", 10*time.Second, p.entered)
}

// noWarehouse stores nothing: the gated batches never reach it.
type noWarehouse struct{}

func (noWarehouse) InsertClicksAt(context.Context, []model.Click, []model.Offset) error { return nil }
func (noWarehouse) InsertConversionsAt(context.Context, []model.Conversion, []model.Offset) error {
	return nil
}
func (noWarehouse) InsertAttemptsAt(context.Context, []model.Attempt, []model.Offset) error {
	return nil
}
func (noWarehouse) InsertEventsAt(context.Context, []model.Event, []model.Offset) error { return nil }
