package main

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/clickrelay/clickrelay/api"
	"github.com/clickrelay/clickrelay/caps"
	"github.com/clickrelay/clickrelay/ingest"
	"github.com/clickrelay/clickrelay/postback"
	"github.com/clickrelay/clickrelay/sink"
	"github.com/clickrelay/clickrelay/smartlink"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
	"github.com/clickrelay/clickrelay/storage/kafka"
	"github.com/clickrelay/clickrelay/storage/redis"
	"github.com/clickrelay/clickrelay/tracker"
)

// Config is every component's configuration, read from the environment.
// The README's configuration table lists each variable; a test keeps the
// two in step.
type Config struct {
	AdminKey        string
	ClickSecret     string
	LogLevel        zerolog.Level
	LogFormat       string
	ShutdownTimeout time.Duration
	// StartupWait is how long a start waits for Redis, ClickHouse and
	// Kafka to answer: engines started together, or a Redis loading its
	// append-only file after a restart (startup.go).
	StartupWait time.Duration
	// PprofAddr serves net/http/pprof when set; keep it on loopback.
	PprofAddr string
	// MetricsAddr serves /metrics alone when set: the only way to scrape
	// a `work` process, which has no HTTP port of its own.
	MetricsAddr string

	API        api.Configuration
	Redis      redis.Configuration
	Kafka      kafka.Configuration
	ClickHouse clickhouse.Configuration
	Tracker    tracker.Configuration
	Ingest     ingest.Configuration
	Sink       sink.Configuration
	Postback   postback.Configuration
	Caps       caps.Configuration
	SmartLinks smartlink.Configuration
}

// loadConfig reads the configuration from env; every error names the
// variable at fault.
func loadConfig(env func(string) (string, bool)) (Config, error) {
	c := Config{
		LogLevel:        zerolog.InfoLevel,
		LogFormat:       "json",
		ShutdownTimeout: 30 * time.Second,
		StartupWait:     60 * time.Second,
		API:             api.DefaultConfiguration(),
		Redis:           redis.DefaultConfiguration(),
		Kafka:           kafka.DefaultConfiguration(),
		ClickHouse:      clickhouse.DefaultConfiguration(),
		Tracker:         tracker.DefaultConfiguration(),
		Ingest:          ingest.DefaultConfiguration(),
		Sink:            sink.DefaultConfiguration(),
		Postback:        postback.DefaultConfiguration(),
		Caps:            caps.DefaultConfiguration(),
		SmartLinks:      smartlink.DefaultConfiguration(),
	}
	l := &envLoader{env: env}
	l.str("CLICKRELAY_ADDR", &c.API.Addr)
	l.str("CLICKRELAY_ADMIN_KEY", &c.AdminKey)
	l.str("CLICKRELAY_REDIS_URL", &c.Redis.URL)
	l.str("CLICKRELAY_REDIS_PREFIX", &c.Redis.KeyPrefix)
	if v, ok := l.get("CLICKRELAY_KAFKA_BROKERS"); ok {
		for _, b := range strings.Split(v, ",") {
			if b = strings.TrimSpace(b); b != "" {
				c.Kafka.Brokers = append(c.Kafka.Brokers, b)
			}
		}
	}
	l.str("CLICKRELAY_CLICKHOUSE_DSN", &c.ClickHouse.DSN)
	l.boolean("CLICKRELAY_POSTBACK_ALLOW_PRIVATE", &c.Postback.AllowPrivate)

	if v, ok := l.get("CLICKRELAY_LOG_LEVEL"); ok {
		level, err := zerolog.ParseLevel(strings.ToLower(v))
		if err != nil || v == "" {
			l.fail("CLICKRELAY_LOG_LEVEL", v, "debug, info, warn or error")
		}
		c.LogLevel = level
	}
	if v, ok := l.get("CLICKRELAY_LOG_FORMAT"); ok {
		if v != "json" && v != "console" {
			l.fail("CLICKRELAY_LOG_FORMAT", v, "json or console")
		}
		c.LogFormat = v
	}
	l.duration("CLICKRELAY_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	l.durationOrZero("CLICKRELAY_STARTUP_WAIT", &c.StartupWait)
	l.str("CLICKRELAY_PPROF_ADDR", &c.PprofAddr)
	l.str("CLICKRELAY_METRICS_ADDR", &c.MetricsAddr)
	if v, ok := l.get("CLICKRELAY_TIMEZONE"); ok && v != "" {
		loc, err := time.LoadLocation(v)
		if err != nil || v == "Local" {
			l.fail("CLICKRELAY_TIMEZONE", v, "an IANA time zone name such as UTC or America/New_York")
		} else {
			c.Caps.Location, c.API.Location, c.Tracker.Location = loc, loc, loc
		}
	}
	l.str("CLICKRELAY_CLICK_SECRET", &c.ClickSecret)
	if c.ClickSecret != "" && len(c.ClickSecret) < 16 {
		l.fail("CLICKRELAY_CLICK_SECRET", "(hidden)", "at least 16 characters")
	}

	l.duration("CLICKRELAY_ATTRIBUTION_WINDOW", &c.Redis.AttributionWindow)
	c.Ingest.AttributionWindow = c.Redis.AttributionWindow
	c.ClickHouse.AttributionWindow = c.Redis.AttributionWindow
	l.duration("CLICKRELAY_CLICK_HOT_WINDOW", &c.Redis.HotWindow)
	l.duration("CLICKRELAY_PENDING_CLICK_WINDOW", &c.Ingest.PendingClickWindow)
	l.duration("CLICKRELAY_DEDUPE_WINDOW", &c.Redis.DedupeWindow)
	l.duration("CLICKRELAY_UNIQUE_WINDOW", &c.Redis.UniqueWindow)
	l.duration("CLICKRELAY_SMART_LINK_EPC_REFRESH", &c.SmartLinks.Refresh)

	l.str("CLICKRELAY_KAFKA_TOPIC_PREFIX", &c.Kafka.TopicPrefix)
	l.integer("CLICKRELAY_KAFKA_PARTITIONS", &c.Kafka.Partitions, 1)
	l.integer("CLICKRELAY_KAFKA_REPLICATION", &c.Kafka.ReplicationFactor, 1)
	l.integer("CLICKRELAY_KAFKA_EMBEDDED_PORT", &c.Kafka.EmbeddedPort, 0)
	l.str("CLICKRELAY_KAFKA_EMBEDDED_DIR", &c.Kafka.EmbeddedDir)
	l.duration("CLICKRELAY_KAFKA_BATCH_TIMEOUT", &c.Kafka.BatchTimeout)
	if v, ok := l.get("CLICKRELAY_KAFKA_CLICK_COMPRESSION"); ok {
		codec, known := kafka.CompressionNamed(v)
		if !known {
			l.fail("CLICKRELAY_KAFKA_CLICK_COMPRESSION", v, "none, snappy, lz4, zstd or gzip")
		}
		c.Kafka.ClickCompression = codec
	}

	l.integer("CLICKRELAY_SINK_BATCH_SIZE", &c.Sink.BatchSize, 1)
	l.duration("CLICKRELAY_SINK_FLUSH_INTERVAL", &c.Sink.FlushInterval)
	l.duration("CLICKRELAY_SINK_CLICK_FLUSH_INTERVAL", &c.Sink.ClickFlushInterval)

	l.duration("CLICKRELAY_POSTBACK_TIMEOUT", &c.Postback.Timeout)
	l.integer("CLICKRELAY_POSTBACK_MAX_ATTEMPTS", &c.Postback.MaxAttempts, 1)
	l.duration("CLICKRELAY_POSTBACK_RETRY_BASE", &c.Postback.RetryBase)
	l.duration("CLICKRELAY_POSTBACK_RETRY_MAX", &c.Postback.RetryMax)
	l.integer("CLICKRELAY_POSTBACK_CONCURRENCY", &c.Postback.Concurrency, 1)
	l.integer("CLICKRELAY_POSTBACK_DISABLE_AFTER", &c.Postback.DisableAfter, 0)
	l.durationOrZero("CLICKRELAY_POSTBACK_DISABLE_MIN_AGE", &c.Postback.DisableMinAge)
	l.integer("CLICKRELAY_POSTBACK_DEAD_LETTER_MAX", &c.Postback.DeadLetterMax, 1)
	l.duration("CLICKRELAY_POSTBACK_DEAD_LETTER_TTL", &c.Postback.DeadLetterTTL)
	l.integer("CLICKRELAY_POSTBACK_HOST_CONCURRENCY", &c.Postback.HostConcurrency, 1)
	l.integer("CLICKRELAY_POSTBACK_HOST_FAILURES", &c.Postback.HostFailures, 1)
	l.durationOrZero("CLICKRELAY_POSTBACK_HOST_BUSY_WAIT", &c.Postback.HostBusyWait)
	if c.Postback.HostBusyWait > maxHostBusyWait {
		l.fail("CLICKRELAY_POSTBACK_HOST_BUSY_WAIT", c.Postback.HostBusyWait.String(), "a duration from 0 to "+maxHostBusyWait.String())
	}
	l.duration("CLICKRELAY_POSTBACK_HOST_BACKOFF", &c.Postback.HostBackoff)
	l.duration("CLICKRELAY_POSTBACK_HOST_BACKOFF_MAX", &c.Postback.HostBackoffMax)
	if c.Postback.HostBackoffMax < c.Postback.HostBackoff {
		l.fail("CLICKRELAY_POSTBACK_HOST_BACKOFF_MAX", c.Postback.HostBackoffMax.String(),
			"a duration at least CLICKRELAY_POSTBACK_HOST_BACKOFF ("+c.Postback.HostBackoff.String()+")")
	}

	l.integer("CLICKRELAY_MAX_BODY_BYTES", &c.API.MaxBodyBytes, 1024)
	l.duration("CLICKRELAY_READ_TIMEOUT", &c.API.ReadTimeout)
	l.duration("CLICKRELAY_WRITE_TIMEOUT", &c.API.WriteTimeout)
	l.duration("CLICKRELAY_IDLE_TIMEOUT", &c.API.IdleTimeout)
	l.integer("CLICKRELAY_MAX_CONNS_PER_IP", &c.API.MaxConnsPerIP, 0)
	if v, ok := l.get("CLICKRELAY_RATE_LIMITS"); ok {
		limits, err := api.ParseRateLimits(v)
		if err != nil {
			l.errs = append(l.errs, fmt.Errorf("CLICKRELAY_RATE_LIMITS: %w", err))
		}
		c.API.RateLimits = limits
	}
	if v, ok := l.get("CLICKRELAY_PUBLIC_URL"); ok && v != "" {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			l.fail("CLICKRELAY_PUBLIC_URL", v, "an http or https URL of a scheme and host only, such as https://trk.example.com")
		} else {
			c.API.PublicURL = u.Scheme + "://" + u.Host
		}
	}
	if v, ok := l.get("CLICKRELAY_TRUSTED_PROXIES"); ok && strings.TrimSpace(v) != "" {
		for _, s := range strings.Split(v, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				l.fail("CLICKRELAY_TRUSTED_PROXIES", s, "a comma list of CIDR prefixes such as 10.0.0.0/8")
				continue
			}
			c.Tracker.TrustedProxies = append(c.Tracker.TrustedProxies, p)
		}
	}
	return c, errors.Join(l.errs...)
}

// envLoader reads typed variables and collects every error, so one start
// reports all that is wrong.
type envLoader struct {
	env  func(string) (string, bool)
	errs []error
}

// maxHostBusyWait bounds CLICKRELAY_POSTBACK_HOST_BUSY_WAIT: a job waiting
// for its host holds its conversion's Kafka commit back meanwhile.
const maxHostBusyWait = 5 * time.Second

func (l *envLoader) get(name string) (string, bool) {
	v, ok := l.env(name)
	return strings.TrimSpace(v), ok
}

func (l *envLoader) fail(name, value, want string) {
	l.errs = append(l.errs, fmt.Errorf("%s=%q: want %s", name, value, want))
}

func (l *envLoader) str(name string, dst *string) {
	if v, ok := l.get(name); ok {
		*dst = v
	}
}

func (l *envLoader) duration(name string, dst *time.Duration) {
	if v, ok := l.get(name); ok {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			l.fail(name, v, "a positive duration such as 500ms, 30s or 720h")
			return
		}
		*dst = d
	}
}

// durationOrZero is duration where 0 is meaningful too.
func (l *envLoader) durationOrZero(name string, dst *time.Duration) {
	if v, ok := l.get(name); ok {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			l.fail(name, v, "a duration of 0 or more such as 0s, 30m or 24h")
			return
		}
		*dst = d
	}
}

func (l *envLoader) integer(name string, dst *int, min int) {
	if v, ok := l.get(name); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			l.fail(name, v, fmt.Sprintf("a whole number of at least %d", min))
			return
		}
		*dst = n
	}
}

func (l *envLoader) boolean(name string, dst *bool) {
	if v, ok := l.get(name); ok {
		switch strings.ToLower(v) {
		case "1", "true", "yes", "on":
			*dst = true
		case "0", "false", "no", "off", "":
			*dst = false
		default:
			l.fail(name, v, "1 or 0")
		}
	}
}

// osEnv looks variables up in the process environment.
func osEnv(name string) (string, bool) { return os.LookupEnv(name) }
