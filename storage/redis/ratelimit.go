package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Window is one fixed-window rate limit: at most Limit requests per Period,
// the window starting at a multiple of Period since the Unix epoch (so every
// process agrees on it, and a reset time can be announced).
type Window struct {
	Name   string
	Limit  int64
	Period time.Duration
}

// WindowCount is what one window has counted, this request included.
type WindowCount struct {
	Window
	Count int64
	Reset time.Time // when the window ends
}

// Remaining is how many more requests the window takes.
func (w WindowCount) Remaining() int64 { return max(w.Limit-w.Count, 0) }

// Exceeded reports whether this request went over the limit.
func (w WindowCount) Exceeded() bool { return w.Count > w.Limit }

// rateScript counts one request in each window key, setting a key's expiry
// when it is created; it answers the counts. One call, one round trip.
var rateScript = goredis.NewScript(`
local out = {}
for i, k in ipairs(KEYS) do
  local n = redis.call('INCR', k)
  if n == 1 then redis.call('PEXPIRE', k, ARGV[i]) end
  out[i] = n
end
return out`)

// CountRequest counts one request of subject (e.g. "aff:7") against each
// window, shared by every process on this Redis.
func (c *Component) CountRequest(ctx context.Context, subject string, now time.Time, windows []Window) ([]WindowCount, error) {
	keys := make([]string, len(windows))
	args := make([]any, len(windows))
	out := make([]WindowCount, len(windows))
	for i, w := range windows {
		n := now.UnixMilli() / w.Period.Milliseconds()
		keys[i] = c.keys.rate(subject, w.Name, strconv.FormatInt(n, 10))
		// The key outlives its window a little, so a clock skew between
		// processes does not restart a count.
		args[i] = w.Period.Milliseconds() + 5000
		out[i] = WindowCount{Window: w, Reset: time.UnixMilli((n + 1) * w.Period.Milliseconds())}
	}
	counts, err := rateScript.Run(ctx, c.client, keys, args...).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("counting a request against rate limits: %w", err)
	}
	for i := range out {
		out[i].Count = counts[i]
	}
	return out, nil
}
