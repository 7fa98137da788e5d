#!/usr/bin/env bash
# The benchmark: clickrelay's whole stack (Redis, ClickHouse and the embedded
# broker, as scripts/run.sh brings it up) measured against nginx's
# `return 302` in the same run, on this machine. Installs nginx-light and wrk
# with apt-get when missing. Writes bench/results/latest.{md,json} and a
# dated copy; extra arguments go to the runner (go run ./bench -h), e.g.
# `scripts/bench.sh -repeat 5` for each figure's median and spread.
#
# It runs Redis and ClickHouse of its own, on ports no one else should use
# (BENCH_REDIS_PORT 16390, BENCH_CLICKHOUSE_PORT 19010,
# BENCH_CLICKHOUSE_HTTP_PORT 18130, below Linux's ephemeral range so that no
# outgoing connection holds one; data under .data/bench), and refuses to
# start when something already answers there: with -repeat the runner
# empties them between runs.
#
# With CONSOLE_DAY=1 it then runs scripts/console-bench.sh (the console's
# reads on a 10-million-click day, bench/results/console-day.md).
#
# Interrupted (Ctrl-C, SIGTERM), it stops everything it started: the runner
# (which stops wrk, clickrelay and nginx), then, should the runner not have,
# wrk, clickrelay and nginx by their pid files, then the services.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$PATH:/usr/sbin:/sbin"
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
	echo "bench: installing ${need[*]} with apt-get" >&2
	apt_install "${need[@]}"
fi
# Debian starts nginx on port 80 when installing it; the bench runs its own.

export CLICKRELAY_DATA_DIR=$root/.data/bench
export REDIS_PORT=${BENCH_REDIS_PORT:-16390} CLICKHOUSE_PORT=${BENCH_CLICKHOUSE_PORT:-19010}
export CLICKHOUSE_HTTP_PORT=${BENCH_CLICKHOUSE_HTTP_PORT:-18130}
for port in "$REDIS_PORT" "$CLICKHOUSE_PORT" "$CLICKHOUSE_HTTP_PORT"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "bench: port $port is taken; the bench runs engines of its own (set BENCH_REDIS_PORT, BENCH_CLICKHOUSE_PORT, BENCH_CLICKHOUSE_HTTP_PORT)" >&2
		exit 1
	fi
done
rm -rf "$CLICKRELAY_DATA_DIR"

runner=""
cleanup() {
	trap - INT TERM
	if [ -n "$runner" ]; then
		end_process "$runner" 40
		wait "$runner" 2>/dev/null || true
	fi
	for pidfile in "$CLICKRELAY_DATA_DIR/wrk.pid" "$CLICKRELAY_DATA_DIR/clickrelay.pid" "$CLICKRELAY_DATA_DIR/nginx/nginx.pid"; do
		[ -f "$pidfile" ] && end_process "$(tr -dc 0-9 <"$pidfile")" 40
	done
	"$root/scripts/services.sh" stop
}
trap cleanup EXIT
trap 'echo "bench: interrupted; cleaning up" >&2; exit 130' INT
trap 'echo "bench: terminated; cleaning up" >&2; exit 143' TERM
"$root/scripts/services.sh" start

go build -tags release -o "$CLICKRELAY_DATA_DIR/clickrelay" ./cmd/clickrelay
go build -o "$CLICKRELAY_DATA_DIR/bench-runner" ./bench
# In the background, so that the traps run while it does (bash runs a trap
# only between commands, and `wait` is one it interrupts).
"$CLICKRELAY_DATA_DIR/bench-runner" -clickrelay "$CLICKRELAY_DATA_DIR/clickrelay" -data "$CLICKRELAY_DATA_DIR" \
	-redis-port "$REDIS_PORT" -clickhouse-port "$CLICKHOUSE_PORT" -out "$root/bench/results" "$@" &
runner=$!
status=0
wait "$runner" || status=$?
runner=""
# Optional phase: the console's reads on a 10-million-click day, on
# engines of its own (scripts/console-bench.sh), once these are stopped.
if [ "$status" -eq 0 ] && [ "${CONSOLE_DAY:-0}" = 1 ]; then
	"$root/scripts/services.sh" stop
	env -u REDIS_PORT -u CLICKHOUSE_PORT -u CLICKHOUSE_HTTP_PORT -u CLICKRELAY_DATA_DIR "$root/scripts/console-bench.sh" || status=$?
fi
exit "$status"
