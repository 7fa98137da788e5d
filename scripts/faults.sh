#!/usr/bin/env bash
# The fault suite: clickrelay under steady load on Redis and ClickHouse
# processes of its own (ports 16395 and 19015, below the ephemeral range,
# data under .data/faults),
# which it kills, freezes and stops one scenario at a time, accounting for
# every 302 and every acknowledged conversion. Bounded: a few minutes a
# scenario, loopback traffic only. Writes faults/results/latest.{md,json};
# extra arguments go to the runner (go run ./faults -h), for example
#   scripts/faults.sh -scenarios redis-kill,sigterm
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

export CLICKRELAY_DATA_DIR=$root/.data/faults
export REDIS_PORT=${FAULTS_REDIS_PORT:-16395} CLICKHOUSE_PORT=${FAULTS_CLICKHOUSE_PORT:-19015} CLICKHOUSE_HTTP_PORT=${FAULTS_CLICKHOUSE_HTTP_PORT:-18135}

runner=""
cleanup() {
	# The runner kills what it started; this covers a runner killed itself.
	[ -n "$runner" ] && kill "$runner" 2>/dev/null && wait "$runner" 2>/dev/null
	if [ -f "$CLICKRELAY_DATA_DIR/redis/redis.pid" ]; then
		kill -CONT "$(cat "$CLICKRELAY_DATA_DIR/redis/redis.pid")" 2>/dev/null || true
	fi
	"$root/scripts/services.sh" stop || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$CLICKRELAY_DATA_DIR"
"$root/scripts/services.sh" start
go build -tags release -o "$CLICKRELAY_DATA_DIR/clickrelay" ./cmd/clickrelay
go build -o "$CLICKRELAY_DATA_DIR/faults" ./faults
"$CLICKRELAY_DATA_DIR/faults" -clickrelay "$CLICKRELAY_DATA_DIR/clickrelay" -root "$root" -data "$CLICKRELAY_DATA_DIR" \
	-redis-port "$REDIS_PORT" -clickhouse-port "$CLICKHOUSE_PORT" -out "$root/faults/results" "$@" &
runner=$!
wait "$runner"
