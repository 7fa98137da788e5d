package main

import (
	"bytes"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

func envOf(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	cases := map[string]string{
		"CLICKRELAY_ATTRIBUTION_WINDOW":        "30 days",
		"CLICKRELAY_KAFKA_PARTITIONS":          "zero",
		"CLICKRELAY_KAFKA_CLICK_COMPRESSION":   "brotli",
		"CLICKRELAY_POSTBACK_ALLOW_PRIVATE":    "maybe",
		"CLICKRELAY_LOG_LEVEL":                 "loud",
		"CLICKRELAY_TRUSTED_PROXIES":           "10.0.0.0/33",
		"CLICKRELAY_CLICK_SECRET":              "short",
		"CLICKRELAY_PUBLIC_URL":                "trk.example.com/path",
		"CLICKRELAY_POSTBACK_DISABLE_AFTER":    "-1",
		"CLICKRELAY_POSTBACK_DISABLE_MIN_AGE":  "-1h",
		"CLICKRELAY_POSTBACK_DEAD_LETTER_MAX":  "0",
		"CLICKRELAY_POSTBACK_DEAD_LETTER_TTL":  "0s",
		"CLICKRELAY_POSTBACK_HOST_CONCURRENCY": "0",
		"CLICKRELAY_POSTBACK_HOST_BACKOFF_MAX": "10ms", // below the 1 s backoff
		"CLICKRELAY_POSTBACK_HOST_BUSY_WAIT":   "1m",   // past the 5 s cap
		"CLICKRELAY_CLICK_HOT_WINDOW":          "0s",
	}
	for name, value := range cases {
		_, err := loadConfig(envOf(map[string]string{name: value}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: error %v does not name the setting", name, value, err)
		}
	}
	// Every bad setting is reported at once.
	_, err := loadConfig(envOf(cases))
	for name := range cases {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("combined error misses %s: %v", name, err)
		}
	}
}

func TestConfigReadsSettings(t *testing.T) {
	c, err := loadConfig(envOf(map[string]string{
		"CLICKRELAY_KAFKA_BROKERS":             " k1:9092, k2:9092 ",
		"CLICKRELAY_ATTRIBUTION_WINDOW":        "168h",
		"CLICKRELAY_POSTBACK_ALLOW_PRIVATE":    "1",
		"CLICKRELAY_TRUSTED_PROXIES":           "10.0.0.0/8,192.168.0.0/16",
		"CLICKRELAY_PUBLIC_URL":                "https://trk.example.com/",
		"CLICKRELAY_POSTBACK_HOST_CONCURRENCY": "8",
		"CLICKRELAY_POSTBACK_HOST_FAILURES":    "3",
		"CLICKRELAY_POSTBACK_HOST_BACKOFF":     "2s",
		"CLICKRELAY_POSTBACK_HOST_BACKOFF_MAX": "5m",
		"CLICKRELAY_POSTBACK_HOST_BUSY_WAIT":   "0",
		"CLICKRELAY_CLICK_HOT_WINDOW":          "12h",
		"CLICKRELAY_KAFKA_CLICK_COMPRESSION":   "LZ4",
		"CLICKRELAY_TIMEZONE":                  "America/New_York",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Kafka.Brokers, "|") != "k1:9092|k2:9092" || c.Redis.AttributionWindow != 168*time.Hour ||
		c.Ingest.AttributionWindow != 168*time.Hour || c.ClickHouse.AttributionWindow != 168*time.Hour || c.Redis.HotWindow != 12*time.Hour || !c.Postback.AllowPrivate || len(c.Tracker.TrustedProxies) != 2 {
		t.Fatalf("config %+v", c)
	}
	if p := c.Postback; p.HostConcurrency != 8 || p.HostFailures != 3 || p.HostBackoff != 2*time.Second || p.HostBackoffMax != 5*time.Minute || p.HostBusyWait != 0 {
		t.Fatalf("postback host settings %+v", p)
	}
	if c.API.PublicURL != "https://trk.example.com" {
		t.Fatalf("public URL %q: want the trailing slash trimmed", c.API.PublicURL)
	}
	if c.Kafka.ClickCompression != kafkago.Lz4 {
		t.Fatalf("click compression %v, want lz4", c.Kafka.ClickCompression)
	}
	if d, _ := loadConfig(envOf(nil)); d.Kafka.ClickCompression != kafkago.Snappy {
		t.Fatalf("default click compression %v, want snappy", d.Kafka.ClickCompression)
	}
	// The network's zone: caps' periods, reports, and targeting's schedules.
	if c.Caps.Location.String() != "America/New_York" || c.API.Location != c.Caps.Location || c.Tracker.Location != c.Caps.Location {
		t.Fatalf("time zones: caps %v, api %v, tracker %v", c.Caps.Location, c.API.Location, c.Tracker.Location)
	}
	if c.API.Addr != ":8080" {
		t.Fatalf("default address %q", c.API.Addr)
	}
}

func TestPostbackDisableSettings(t *testing.T) {
	c, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Postback; p.DisableAfter != 100 || p.DisableMinAge != 24*time.Hour || p.DeadLetterMax != 10_000 || p.DeadLetterTTL != 720*time.Hour || p.HostBusyWait != 100*time.Millisecond {
		t.Fatalf("defaults %+v", p)
	}
	// 0 is meaningful for both: never disable, and disable as soon as the
	// count is reached.
	c, err = loadConfig(envOf(map[string]string{"CLICKRELAY_POSTBACK_DISABLE_AFTER": "0", "CLICKRELAY_POSTBACK_DISABLE_MIN_AGE": "0"}))
	if err != nil || c.Postback.DisableAfter != 0 || c.Postback.DisableMinAge != 0 {
		t.Fatalf("zeros: %+v %v", c.Postback, err)
	}
}

func TestMissingEnginesNameTheSetting(t *testing.T) {
	for _, want := range []string{"CLICKRELAY_CLICKHOUSE_DSN", "CLICKRELAY_REDIS_URL", "CLICKRELAY_KAFKA_BROKERS"} {
		env := map[string]string{
			"CLICKRELAY_CLICKHOUSE_DSN": "clickhouse://127.0.0.1:1/clickrelay?dial_timeout=1s",
			"CLICKRELAY_REDIS_URL":      "redis://127.0.0.1:1/0",
			"CLICKRELAY_KAFKA_BROKERS":  "127.0.0.1:1",
			"CLICKRELAY_ADMIN_KEY":      "0123456789abcdef0123",
			"CLICKRELAY_STARTUP_WAIT":   "0s", // unreachable at once: no waiting
		}
		delete(env, want)
		var stderr bytes.Buffer
		if code := run([]string{"all"}, envOf(env), &stderr); code == 0 || !strings.Contains(stderr.String(), want) {
			t.Errorf("without %s: exit %d, log %s", want, code, stderr.String())
		}
	}
	// Present but unreachable: the setting is named too.
	var stderr bytes.Buffer
	code := run([]string{"serve"}, envOf(map[string]string{
		"CLICKRELAY_CLICKHOUSE_DSN": "clickhouse://127.0.0.1:1/clickrelay?dial_timeout=1s",
		"CLICKRELAY_REDIS_URL":      "redis://127.0.0.1:1/0",
		"CLICKRELAY_KAFKA_BROKERS":  "127.0.0.1:1",
		"CLICKRELAY_STARTUP_WAIT":   "0s",
	}), &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "CLICKRELAY_REDIS_URL") {
		t.Errorf("unreachable Redis: exit %d, log %s", code, stderr.String())
	}
}

func TestUsage(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(nil, envOf(nil), &stderr); code != 2 || !strings.Contains(stderr.String(), "usage: clickrelay") {
		t.Errorf("no role: exit %d, %s", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"fly"}, envOf(nil), &stderr); code != 2 || !strings.Contains(stderr.String(), `unknown role "fly"`) {
		t.Errorf("unknown role: exit %d, %s", code, stderr.String())
	}
}

// TestReadmeDocumentsEverySetting keeps the README's configuration table
// and the code in step: every CLICKRELAY_* variable read is documented, and
// nothing documented is left unread.
func TestReadmeDocumentsEverySetting(t *testing.T) {
	code, err := os.ReadFile("config.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	for _, m := range regexp.MustCompile(`"(CLICKRELAY_[A-Z_]+)"`).FindAllSubmatch(code, -1) {
		read[string(m[1])] = true
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(CLICKRELAY_[A-Z_]+)`").FindAllSubmatch(readme, -1) {
		documented[string(m[1])] = true
	}
	var missing, stale []string
	for v := range read {
		if !documented[v] {
			missing = append(missing, v)
		}
	}
	for v := range documented {
		if !read[v] {
			stale = append(stale, v)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 || len(stale) > 0 {
		t.Fatalf("README configuration table: undocumented %v, documented but not read %v", missing, stale)
	}
}
