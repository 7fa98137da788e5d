// Package testenv tells integration tests where the real services are.
//
// Integration tests talk to a real Redis and ClickHouse (the Kafka broker
// is embedded, so it is always there). scripts/test.sh starts both services
// and sets CLICKRELAY_TEST_REDIS_URL, CLICKRELAY_TEST_CLICKHOUSE_DSN and
// CLICKRELAY_TEST_REQUIRE_SERVICES=1; with the last one set, a missing
// service fails the test instead of skipping it, so CI cannot pass by
// skipping.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RedisURL returns the Redis to test against.
func RedisURL(t testing.TB) string { return need(t, "CLICKRELAY_TEST_REDIS_URL") }

// ClickHouseDSN returns the ClickHouse server to test against; tests create
// their own database in it.
func ClickHouseDSN(t testing.TB) string { return need(t, "CLICKRELAY_TEST_CLICKHOUSE_DSN") }

func need(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if os.Getenv("CLICKRELAY_TEST_REQUIRE_SERVICES") == "1" {
		t.Fatalf("%s is not set, and CLICKRELAY_TEST_REQUIRE_SERVICES=1 requires it", name)
	}
	t.Skipf("%s is not set: run scripts/test.sh to start the services", name)
	return ""
}

// Promtool returns the path of Prometheus' promtool (Debian's prometheus
// package; .ci/run installs it), which checks the /metrics exposition.
func Promtool(t testing.TB) string { return Tool(t, "promtool", "prometheus") }

// Tool returns the path of a command the tests need, from Debian's package
// pkg (scripts/test.sh installs it). Missing, it skips the test, or fails it
// under CLICKRELAY_TEST_REQUIRE_SERVICES=1.
func Tool(t testing.TB, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CLICKRELAY_TEST_REQUIRE_SERVICES") == "1" {
		t.Fatalf("%s is not installed (apt-get install %s), and CLICKRELAY_TEST_REQUIRE_SERVICES=1 requires it", name, pkg)
	}
	t.Skipf("%s is not installed: apt-get install %s", name, pkg)
	return ""
}

// NodeTool returns the path of a command from the npm packages
// scripts/openapi-lint.sh installs into .tools/npm at the module's root
// (scripts/test.sh runs it first), such as the OpenAPI linters. Missing, or
// without node on PATH to run it, it skips the test, or fails it under
// CLICKRELAY_TEST_REQUIRE_SERVICES=1.
func NodeTool(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join(ModuleRoot(t), ".tools", "npm", "node_modules", ".bin", name)
	_, err := os.Stat(path)
	if err == nil {
		_, err = exec.LookPath("node")
	}
	if err == nil {
		return path
	}
	if os.Getenv("CLICKRELAY_TEST_REQUIRE_SERVICES") == "1" {
		t.Fatalf("%s cannot run (%v): scripts/openapi-lint.sh install puts it in .tools/npm, and CLICKRELAY_TEST_REQUIRE_SERVICES=1 requires it", name, err)
	}
	t.Skipf("%s cannot run (%v): scripts/openapi-lint.sh install puts it in .tools/npm", name, err)
	return ""
}

// ModuleRoot returns the directory of the module's go.mod: a test runs in
// its package's directory, somewhere below it.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Token returns a random hex string, for names tests must not share.
func Token(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
