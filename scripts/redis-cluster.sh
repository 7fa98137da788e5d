#!/usr/bin/env bash
# Runs a local Redis Cluster of three masters (no replicas) from Debian's
# redis-server, for running clickrelay and its tests on a cluster.
#
#   scripts/redis-cluster.sh start | stop | status
#
# Settings (environment): REDIS_CLUSTER_PORTS (default "37001 37002
# 37003"), CLICKRELAY_DATA_DIR (default ./.data; the nodes live under
# $CLICKRELAY_DATA_DIR/redis-cluster), SERVICES_NICE (10).
#
# Started, it prints the CLICKRELAY_REDIS_URL that names the cluster:
#   redis+cluster://127.0.0.1:37001,127.0.0.1:37002,127.0.0.1:37003
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
data=${CLICKRELAY_DATA_DIR:-$root/.data}/redis-cluster
read -r -a ports <<<"${REDIS_CLUSTER_PORTS:-37001 37002 37003}"
niceness=${SERVICES_NICE:-10}
export PATH="$PATH:/usr/sbin:/sbin"

say() { printf 'redis-cluster: %s\n' "$*" >&2; }
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

url() {
	local hosts=() p
	for p in "${ports[@]}"; do hosts+=("127.0.0.1:$p"); done
	local IFS=,
	echo "redis+cluster://${hosts[*]}"
}

cluster_ok() { redis-cli -p "${ports[0]}" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }

wait_until() { # what, tries (0.2 s each), command...
	local what=$1 tries=$2
	shift 2
	retry "$tries" "$@" && return 0
	say "$what: timed out; the nodes' logs are under $data"
	return 1
}

start() {
	command -v redis-server >/dev/null || {
		say "redis-server is missing: apt-get install redis-server (scripts/services.sh installs it)"
		exit 1
	}
	if cluster_ok; then
		say "a cluster already answers on port ${ports[0]}"
		url
		return
	fi
	local p addrs=()
	for p in "${ports[@]}"; do
		if redis-cli -p "$p" ping >/dev/null 2>&1; then
			say "port $p is taken by a Redis that is not a ready cluster node; stop it or set REDIS_CLUSTER_PORTS"
			exit 1
		fi
		# A fresh node each time: nodes.conf of an earlier cluster would
		# make it rejoin that one. Append-only as scripts/services.sh does.
		rm -rf "${data:?}/$p"
		mkdir -p "$data/$p"
		nice -n "$niceness" redis-server --port "$p" --bind 127.0.0.1 --dir "$data/$p" \
			--cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
			--appendonly yes --appendfsync everysec --save "" \
			--daemonize yes --pidfile "$data/$p/redis.pid" --logfile "$data/$p/redis.log"
		addrs+=("127.0.0.1:$p")
	done
	for p in "${ports[@]}"; do
		wait_until "node $p" 100 redis-cli -p "$p" ping
	done
	redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$data/create.log" 2>&1 || {
		cat "$data/create.log" >&2
		exit 1
	}
	wait_until "cluster_state:ok" 150 cluster_ok
	say "cluster of ${#ports[@]} masters on ${addrs[*]}"
	url
}

stop() {
	local p
	for p in "${ports[@]}"; do
		stop_pid "node $p" "$data/$p/redis.pid"
	done
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) cluster_ok && { say "ok"; url; } || { say "not running"; exit 1; } ;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
