#!/usr/bin/env bash
# The console's reads on a 10-million-click day: starts a Redis and a
# ClickHouse of its own (ports 16395, 19015 and 18135 unless REDIS_PORT,
# CLICKHOUSE_PORT, CLICKHOUSE_HTTP_PORT say otherwise; data under
# .data/console-bench, deleted after), runs bench/consoleday (which starts
# clickrelay, creates the network, loads the day and times every read) and
# stops everything it started. Writes bench/results/console-day.{md,json};
# extra arguments go to the program (go run ./bench/consoleday -h).
#
# scripts/bench.sh runs it after its own phases when CONSOLE_DAY=1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

export CLICKRELAY_DATA_DIR=${CONSOLE_BENCH_DATA_DIR:-$root/.data/console-bench}
export REDIS_PORT=${REDIS_PORT:-16395} CLICKHOUSE_PORT=${CLICKHOUSE_PORT:-19015} CLICKHOUSE_HTTP_PORT=${CLICKHOUSE_HTTP_PORT:-18135}
# Refuse to load a day into servers this script did not start: the day is
# written into them and their data deleted after.
for port in "$REDIS_PORT" "$CLICKHOUSE_PORT"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "console-bench: something already listens on 127.0.0.1:$port; choose free REDIS_PORT / CLICKHOUSE_PORT" >&2
		exit 1
	fi
done
rm -rf "$CLICKRELAY_DATA_DIR"
mkdir -p "$CLICKRELAY_DATA_DIR"

runner=""
cleanup() {
	trap - INT TERM
	if [ -n "$runner" ]; then
		end_process "$runner" 40
		wait "$runner" 2>/dev/null || true
	fi
	[ -f "$CLICKRELAY_DATA_DIR/clickrelay.pid" ] && end_process "$(tr -dc 0-9 <"$CLICKRELAY_DATA_DIR/clickrelay.pid")" 40
	"$root/scripts/services.sh" stop
	rm -rf "$CLICKRELAY_DATA_DIR"
}
trap cleanup EXIT
trap 'echo "console-bench: interrupted; cleaning up" >&2; exit 130' INT
trap 'echo "console-bench: terminated; cleaning up" >&2; exit 143' TERM
"$root/scripts/services.sh" start

go build -tags release -o "$CLICKRELAY_DATA_DIR/clickrelay" ./cmd/clickrelay
go build -o "$CLICKRELAY_DATA_DIR/consoleday" ./bench/consoleday
"$CLICKRELAY_DATA_DIR/consoleday" -clickrelay "$CLICKRELAY_DATA_DIR/clickrelay" -data "$CLICKRELAY_DATA_DIR" \
	-redis-port "$REDIS_PORT" -clickhouse-port "$CLICKHOUSE_PORT" -out "$root/bench/results" "$@" &
runner=$!
status=0
wait "$runner" || status=$?
runner=""
exit "$status"
