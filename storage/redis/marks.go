package redis

import (
	"hash/maphash"
	"sync"
	"time"
)

// markMemoryLimit bounds the unique-visitor marks a process remembers
// (markMemory): 27 MB when full (52 bytes a mark in a Go map). A full memory
// starts again empty; what it forgot is asked of Redis again.
const markMemoryLimit = 1 << 19

// markMemory remembers the unique-visitor marks this process set in Redis
// and until when Redis keeps each, so that a visitor's next click on the
// same offer within that time is known not to be unique without asking
// Redis again: one command a click fewer for a visitor who comes back.
//
// It only ever answers "not unique" (or "unique" for the very click that
// set the mark, stored again), and only before the mark can have expired:
// a mark set by SET NX EX lives from that command on, so a mark this
// process set with a command sent at t lives at least until t plus the
// window, and is remembered a hundredth of the window less (markLife).
// Marks other processes set, or set before this process started, are not
// remembered (their age is not known) and are asked of Redis as before.
// Redis losing a mark (a restart without the append-only file, an
// eviction, a failover) would answer "unique" again where the memory
// still says not, and so would other processes: the visitor did click
// within the window.
// markLife is how long a mark set now is remembered: the window less a
// hundredth of it, so that Redis's clock running fast (it expires keys by
// its own) never has the memory outlive the key.
func markLife(window time.Duration) time.Duration { return window - window/100 }

type markMemory struct {
	seed  maphash.Seed
	epoch time.Time // times are milliseconds since, on the monotonic clock
	mu    sync.Mutex
	marks map[uint64]rememberedMark
}

// rememberedMark is one mark: until when Redis keeps it at least (now's
// milliseconds) and the hash of the click that set it.
type rememberedMark struct {
	until int64
	first uint64
}

func newMarkMemory() *markMemory {
	return &markMemory{seed: maphash.MakeSeed(), epoch: time.Now(), marks: map[uint64]rememberedMark{}}
}

// now is the time in the memory's milliseconds: a wall clock stepped back
// must not make a mark seem younger than Redis's TTL counts it.
func (m *markMemory) now() int64 { return time.Since(m.epoch).Milliseconds() }

// key names the mark of visitor on offer. Two marks sharing a key (a
// chance of about one in 2^64 a pair) would make the second visitor's
// clicks not unique for a window.
func (m *markMemory) key(offer string, visitor uint64) uint64 {
	return maphash.String(m.seed, offer) ^ visitor*0x9e3779b97f4a7c15
}

// clickHash identifies a click among its visitor's on an offer.
func (m *markMemory) clickHash(id []byte) uint64 { return maphash.Bytes(m.seed, id) }

// answer says whether the click id of the visitor named by key is unique,
// known without Redis (known false: ask Redis).
func (m *markMemory) answer(key uint64, id []byte, nowMs int64) (unique, known bool) {
	m.mu.Lock()
	mark, ok := m.marks[key]
	if ok && mark.until <= nowMs {
		delete(m.marks, key)
		ok = false
	}
	m.mu.Unlock()
	if !ok {
		return false, false
	}
	return mark.first == m.clickHash(id), true
}

// remember records that click id set the mark named by key, which Redis
// keeps at least until untilMs.
func (m *markMemory) remember(key uint64, id []byte, untilMs int64) {
	first := m.clickHash(id)
	m.mu.Lock()
	if len(m.marks) >= markMemoryLimit {
		clear(m.marks)
	}
	m.marks[key] = rememberedMark{until: untilMs, first: first}
	m.mu.Unlock()
}
