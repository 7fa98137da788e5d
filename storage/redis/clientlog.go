package redis

import (
	"context"
	"fmt"
	"sync"

	goredis "github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/internal/hotlog"
)

// clientLog carries go-redis's own messages (a pool that cannot dial, a
// connection dropped) into the structured log at debug level, sampled: its
// default is plain text on stderr, several lines a second during an outage,
// each repeating an error the component that met it logs itself.
type clientLog struct{ log zerolog.Logger }

func (l clientLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Debug().Msg(fmt.Sprintf(format, v...))
}

var setClientLog sync.Once

// useClientLog routes go-redis's messages to log. go-redis has one logger
// per process: the first component's is kept.
func useClientLog(log zerolog.Logger) {
	setClientLog.Do(func() {
		goredis.SetLogger(clientLog{hotlog.Sampled(log.With().Str("client", "go-redis").Logger())})
	})
}
