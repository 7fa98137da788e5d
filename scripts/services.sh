#!/usr/bin/env bash
# Runs the Redis and ClickHouse servers clickrelay needs on this machine,
# under a data folder of the project's own, installing them from Debian's
# packages when they are missing.
#
#   scripts/services.sh start | stop | status
#
# Settings (environment): CLICKRELAY_DATA_DIR (default ./.data),
# REDIS_PORT (6379), CLICKHOUSE_PORT (9000), CLICKHOUSE_HTTP_PORT (8123),
# SERVICES_NICE (Redis's, 10), CLICKHOUSE_NICE (0),
# CLICKHOUSE_MERGE_THREADS (the number of cores, at least 2),
# CLICKHOUSE_MALLOC_CONF (muzzy_decay_ms:-1; empty for jemalloc's own
# defaults).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
data=${CLICKRELAY_DATA_DIR:-$root/.data}
redis_port=${REDIS_PORT:-6379}
ch_port=${CLICKHOUSE_PORT:-9000}
ch_http_port=${CLICKHOUSE_HTTP_PORT:-8123}
# On one machine Redis runs at a lower CPU priority than clickrelay:
# clickrelay writes to it behind each redirect, so when there is not CPU
# enough for both, the redirect path should get it first. ClickHouse runs
# at clickrelay's own priority: a conversion on a click past the hot window
# waits on a ClickHouse query, which at nice 10 waited for a core behind
# clickrelay and its clients (the README's Performance section has the
# figures), while the clicks' tail was no better for it. ClickHouse's
# background merges get as many threads as there are cores (18.16's default
# of 16 is for large servers).
redis_niceness=${SERVICES_NICE:-10}
ch_niceness=${CLICKHOUSE_NICE:-0}
merge_threads=${CLICKHOUSE_MERGE_THREADS:-$(($(nproc) > 2 ? $(nproc) : 2))}
# ClickHouse's jemalloc gives the pages it frees to the kernel lazily
# (MADV_FREE) and never unmaps them outright: the kernel takes them back
# only when it needs memory, and an insert that reuses them does not fault
# them in again: a tenth of ClickHouse's CPU on 10 million clicks' inserts,
# a fifth on short runs (README, "Performance").
ch_malloc_conf=${CLICKHOUSE_MALLOC_CONF-muzzy_decay_ms:-1}
export PATH="$PATH:/usr/sbin:/sbin"

say() { printf 'services: %s\n' "$*" >&2; }
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

install_missing() {
	local need=()
	command -v redis-server >/dev/null || need+=(redis-server)
	command -v clickhouse-server >/dev/null || need+=(clickhouse-server)
	command -v clickhouse-client >/dev/null || need+=(clickhouse-client)
	[ ${#need[@]} -eq 0 ] && return
	say "installing ${need[*]} with apt-get"
	apt_install "${need[@]}"
}

wait_for() { # what, command...
	local what=$1
	shift
	retry 100 "$@" && return 0
	say "$what did not come up; its log is under $data"
	return 1
}

start_redis() {
	mkdir -p "$data/redis"
	if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
		say "redis already answers on port $redis_port"
		return
	fi
	# Append-only file, fsync every second: clicks answered with a 302
	# survive a restart of Redis. The file is rewritten (compacted) when it
	# has doubled and reached 1 GB: each rewrite forks and re-serializes the
	# whole dataset, and with the default 64 MB floor a store filling from
	# empty at full load would do that every few seconds.
	nice -n "$redis_niceness" redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$data/redis" \
		--appendonly yes --appendfsync everysec --save "" --auto-aof-rewrite-min-size 1gb \
		--daemonize yes --pidfile "$data/redis/redis.pid" --logfile "$data/redis/redis.log"
	wait_for redis redis-cli -p "$redis_port" ping
	say "redis on 127.0.0.1:$redis_port"
}

start_clickhouse() {
	local dir=$data/clickhouse
	mkdir -p "$dir/data" "$dir/tmp" "$dir/log"
	if clickhouse-client --port "$ch_port" -q "SELECT 1" >/dev/null 2>&1; then
		say "clickhouse already answers on port $ch_port"
		return
	fi
	cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/log/server.log</log><errorlog>$dir/log/error.log</errorlog><size>100M</size><count>3</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>$ch_port</tcp_port>
  <http_port>$ch_http_port</http_port>
  <max_connections>1024</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/data/user_files/</user_files_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
</yandex>
XML
	cat >"$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage><background_pool_size>$merge_threads</background_pool_size></default></profiles>
  <users><default><password></password><networks><ip>::1</ip><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
	MALLOC_CONF=$ch_malloc_conf nohup nice -n "$ch_niceness" clickhouse-server --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 &
	echo $! >"$dir/clickhouse.pid"
	wait_for clickhouse clickhouse-client --port "$ch_port" -q "SELECT 1"
	say "clickhouse $(clickhouse-client --port "$ch_port" -q 'SELECT version()') on 127.0.0.1:$ch_port"
}

case ${1:-} in
start)
	install_missing
	start_redis
	start_clickhouse
	;;
stop)
	stop_pid redis "$data/redis/redis.pid"
	stop_pid clickhouse "$data/clickhouse/clickhouse.pid"
	;;
status)
	redis-cli -p "$redis_port" ping || true
	clickhouse-client --port "$ch_port" -q "SELECT 'clickhouse ' || version()" || true
	;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
