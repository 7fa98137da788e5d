#!/usr/bin/env bash
# Runs every test: vet, staticcheck, and go test against a real Redis and a
# real ClickHouse, started here on ports of their own (so a running dev
# stack is left alone) and stopped after. The Kafka broker is embedded.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

# promtool (Debian's prometheus package) lints /metrics in the tests. Only
# the tool is wanted: the package's daemon is kept from starting (a
# policy-rc.d for the install), and disabled and stopped should it start.
install_promtool() {
	command -v promtool >/dev/null && return
	local sudo="" policy=/usr/sbin/policy-rc.d made="" status=0
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	echo "== installing promtool (apt-get install prometheus)" >&2
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
		$sudo chmod +x "$policy"
		made=1
	fi
	apt_install prometheus || status=$?
	[ -n "$made" ] && $sudo rm -f "$policy"
	if [ -d /run/systemd/system ]; then
		$sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
	elif service prometheus status >/dev/null 2>&1; then
		$sudo service prometheus stop >/dev/null 2>&1 || true
	fi
	return $status
}
install_promtool

# chromium (Debian's package) runs the console's browser tests, headless.
install_chromium() {
	command -v chromium >/dev/null && return
	echo "== installing chromium (apt-get install chromium)" >&2
	apt_install chromium
}
install_chromium

# ss (Debian's iproute2) kills a running server's listening socket in the
# test of a listener that fails.
command -v ss >/dev/null || apt_install iproute2

# Redocly CLI and Spectral lint api/openapi.json in api's TestOpenAPILint:
# npm installs them, at the versions scripts/openapi-lint/package-lock.json
# pins, into .tools/npm (once; again when the lock file changes). They need
# Node.js 20.19+ with npm on PATH.
"$root/scripts/openapi-lint.sh" install

export CLICKRELAY_DATA_DIR=$root/.data/test
export REDIS_PORT=16379 CLICKHOUSE_PORT=19000 CLICKHOUSE_HTTP_PORT=18123
rm -rf "$CLICKRELAY_DATA_DIR"
# A three-master Redis Cluster on ports of its own, for the second run.
export REDIS_CLUSTER_PORTS="17001 17002 17003"
stop_services() {
	"$root/scripts/redis-cluster.sh" stop || true
	"$root/scripts/services.sh" stop
}
trap stop_services EXIT
"$root/scripts/services.sh" start

export CLICKRELAY_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
export CLICKRELAY_TEST_CLICKHOUSE_DSN=clickhouse://127.0.0.1:$CLICKHOUSE_PORT/default
export CLICKRELAY_TEST_REQUIRE_SERVICES=1 # a missing service fails, never skips

echo "== go vet" >&2
go vet ./...
echo "== release build" >&2
# The packages' test helpers (tests.go) sit behind the !release tag, so the
# binary built for production links no test code: not even package testing.
if go list -tags release -deps ./cmd/clickrelay | grep -qx testing; then
	echo "the release build of clickrelay links package testing: a test helper lacks the !release tag" >&2
	exit 1
fi
go build -tags release -o /dev/null ./cmd/clickrelay
echo "== staticcheck" >&2
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
echo "== go test" >&2
go test -race -count=1 "$@" ./...

# Once more on a Redis Cluster: every package whose tests reach Redis
# (storage/redis's own, and those running the stack, the API, the intake,
# postbacks and the sink on it). Keys a script or MULTI needs together carry
# a hash tag; a missing one fails here with CROSSSLOT. Without -race: the
# Go code is the one the first run raced; what differs is Redis.
echo "== go test on a Redis Cluster" >&2
cluster_url=$("$root/scripts/redis-cluster.sh" start)
CLICKRELAY_TEST_REDIS_URL=$cluster_url go test -count=1 "$@" \
	./storage/redis/... ./cmd/clickrelay/... ./api/... ./ingest/... ./postback/... ./sink/...
