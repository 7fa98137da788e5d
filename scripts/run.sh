#!/usr/bin/env bash
# The quick start: on this machine, Redis and ClickHouse (installed with
# apt-get when missing) and `clickrelay all` on the embedded Kafka broker,
# listening on :8080. Ctrl-C stops everything, flushing every buffer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

export CLICKRELAY_DATA_DIR=${CLICKRELAY_DATA_DIR:-$root/.data}
"$root/scripts/services.sh" start
trap '"$root/scripts/services.sh" stop' EXIT

go build -tags release -o "$root/bin/clickrelay" ./cmd/clickrelay

export CLICKRELAY_REDIS_URL=${CLICKRELAY_REDIS_URL:-redis://127.0.0.1:${REDIS_PORT:-6379}/0}
export CLICKRELAY_CLICKHOUSE_DSN=${CLICKRELAY_CLICKHOUSE_DSN:-clickhouse://127.0.0.1:${CLICKHOUSE_PORT:-9000}/clickrelay}
export CLICKRELAY_KAFKA_BROKERS=${CLICKRELAY_KAFKA_BROKERS:-embedded}
export CLICKRELAY_KAFKA_EMBEDDED_DIR=${CLICKRELAY_KAFKA_EMBEDDED_DIR:-$CLICKRELAY_DATA_DIR/kafka}
export CLICKRELAY_LOG_FORMAT=${CLICKRELAY_LOG_FORMAT:-console}

"$root/bin/clickrelay" all &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' INT TERM
status=0
wait $pid || status=$?
# A trapped signal interrupts the first wait; the second waits for the
# graceful shutdown to finish.
wait $pid 2>/dev/null || true
exit $status
