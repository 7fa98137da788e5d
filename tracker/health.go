package tracker

import (
	"errors"
	"strings"
)

// ErrRedisFull says Redis refuses writes for want of memory (maxmemory with
// noeviction): clicks still redirect, and wait in the retry list.
var ErrRedisFull = errors.New("redis is out of memory (maxmemory reached): clicks wait in the retry list")

// ErrRetryListFilling says more than half the retry list is taken: past it,
// clicks answered with a 302 are lost.
var ErrRetryListFilling = errors.New("the click retry list is more than half full")

// isOutOfMemory reports whether err is Redis's answer to a write past
// maxmemory under the noeviction policy ("OOM command not allowed when used
// memory > 'maxmemory'"), however wrapped.
func isOutOfMemory(err error) bool {
	return err != nil && strings.Contains(err.Error(), "OOM command not allowed")
}

// noteRedis keeps clickrelay_redis_full in step with the last answer to a
// click write: 1 after an out-of-memory refusal, 0 after a success. Other
// errors (Redis down, frozen) leave it as it was.
func (r *recorder) noteRedis(err error) {
	switch {
	case err == nil:
		r.metrics.redisFull.Set(0)
	case isOutOfMemory(err):
		r.metrics.redisFull.Set(1)
	}
}

// Ready reports what stops this tracker from keeping its promise that a
// click answered with a 302 reaches Redis: Redis out of memory, or a retry
// list more than half full. Either way clicks still redirect.
func (t *Tracker) Ready() error {
	r := t.recorder
	if r.metrics.redisFull.v.Load() == 1 {
		return ErrRedisFull
	}
	r.retryMu.Lock()
	waiting := r.retryClicks
	r.retryMu.Unlock()
	if waiting > r.config.RetryQueueSize/2 {
		return ErrRetryListFilling
	}
	return nil
}
