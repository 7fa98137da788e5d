# Helpers the scripts share. Sourced; a script using stop_pid defines say
# first.

# apt_install package...: installs Debian packages quietly, with sudo unless
# root.
apt_install() {
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	$sudo apt-get update -q >/dev/null &&
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

# retry tries command...: runs command (its output dropped) every 0.2 s
# until it succeeds, at most tries times.
retry() {
	local tries=$1
	shift
	for _ in $(seq 1 "$tries"); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.2
	done
	return 1
}

# stop_pid name pidfile: SIGTERM the process pidfile names, wait up to 10 s
# for it to exit, and remove pidfile.
stop_pid() {
	[ -f "$2" ] || return 0
	local pid
	pid=$(cat "$2")
	if kill "$pid" 2>/dev/null; then
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		say "$1 stopped"
	fi
	rm -f "$2"
}

# end_process pid seconds: SIGTERM pid (one a script or its runner
# started), wait up to seconds for a graceful stop, then SIGKILL. Nothing
# when pid is empty or not running.
end_process() {
	local pid=$1 seconds=$2
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq $((seconds * 10))); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	echo "pid $pid did not stop within $seconds s; killing it" >&2
	kill -KILL "$pid" 2>/dev/null || true
}
