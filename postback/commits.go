package postback

import (
	"sync"

	kafkago "github.com/segmentio/kafka-go"
)

// commitTracker lets messages finish out of order while committing in
// order: a partition's offset moves past a message only when it and every
// message before it are done, so a crash never skips unfinished work.
type commitTracker struct {
	mu         sync.Mutex
	partitions map[int][]*inflight // in fetch order
	ready      map[int]kafkago.Message
}

type inflight struct {
	msg  kafkago.Message
	done bool
}

func newCommitTracker() *commitTracker {
	return &commitTracker{partitions: map[int][]*inflight{}, ready: map[int]kafkago.Message{}}
}

// add registers a fetched message; call done on what it returns.
func (t *commitTracker) add(m kafkago.Message) *inflight {
	f := &inflight{msg: m}
	t.mu.Lock()
	t.partitions[m.Partition] = append(t.partitions[m.Partition], f)
	t.mu.Unlock()
	return f
}

func (t *commitTracker) done(f *inflight) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f.done = true
	queue := t.partitions[f.msg.Partition]
	i := 0
	for i < len(queue) && queue[i].done {
		t.ready[f.msg.Partition] = queue[i].msg
		i++
	}
	t.partitions[f.msg.Partition] = queue[i:]
}

// take returns the messages whose offsets may be committed now, one per
// partition, and forgets them.
func (t *commitTracker) take() []kafkago.Message {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.ready) == 0 {
		return nil
	}
	out := make([]kafkago.Message, 0, len(t.ready))
	for p, m := range t.ready {
		out = append(out, m)
		delete(t.ready, p)
	}
	return out
}

// idle reports whether no message is in flight.
func (t *commitTracker) idle() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, q := range t.partitions {
		if len(q) > 0 {
			return false
		}
	}
	return true
}
