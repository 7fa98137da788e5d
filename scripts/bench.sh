#!/usr/bin/env bash
# The benchmark: clickrelay's whole stack (Redis, ClickHouse and the embedded
# broker, as scripts/run.sh brings it up) measured against nginx's
# `return 302` in the same run, on this machine. Installs nginx-light and wrk
# with apt-get when missing. Writes bench/results/latest.{md,json} and a
# dated copy; extra arguments go to the runner (go run ./bench -h).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$PATH:/usr/sbin:/sbin"

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	echo "bench: installing ${need[*]} with apt-get" >&2
	$sudo apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian starts nginx on port 80 when installing it; the bench runs its own.

export CLICKRELAY_DATA_DIR=$root/.data/bench
export REDIS_PORT=26379 CLICKHOUSE_PORT=29000 CLICKHOUSE_HTTP_PORT=28123
rm -rf "$CLICKRELAY_DATA_DIR"
"$root/scripts/services.sh" start
trap '"$root/scripts/services.sh" stop' EXIT

go build -o "$CLICKRELAY_DATA_DIR/clickrelay" ./cmd/clickrelay
go run ./bench -clickrelay "$CLICKRELAY_DATA_DIR/clickrelay" -data "$CLICKRELAY_DATA_DIR" \
	-redis-port "$REDIS_PORT" -clickhouse-port "$CLICKHOUSE_PORT" -out "$root/bench/results" "$@"
