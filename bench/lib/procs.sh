# bench/lib/procs.sh: process supervision for the tour (sourced by tour.sh).
#
# Every background process the tour starts goes through track(), and
# cleanup() stops whatever is still running on exit, on Ctrl-C and on
# failure: SIGTERM, then SIGKILL after 5 s, newest first (load generators
# before the servers they talk to). Every wait is bounded.
#
# It also accounts for the machine's CPU: cpu_begin/cpu_end around a
# measurement record how much CPU time the whole machine used (/proc/stat)
# and how much the tour's own processes used (the tour shell's own and its
# waited-for children's, /proc/$$/stat), so that report.py can tell a quiet
# machine from a busy one.

PIDS=() # every background process started and not yet waited for

track() { PIDS+=("$1"); }

untrack() {
	local keep=() p
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]+"${keep[@]}"}")
}

# Stops one process: SIGTERM, then SIGKILL after 5 s; waits for it.
stop_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "tour: pid $pid ignored SIGTERM for 5 s: SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# stop_tracked PID: stop_pid, and forget it.
stop_tracked() {
	[ -n "$1" ] || return 0
	stop_pid "$1"
	untrack "$1"
}

# Stops every process the tour started, newest first.
stop_all() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
	PIDS=()
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "${#PIDS[@]}" -gt 0 ]; then
		echo "tour: stopping ${#PIDS[@]} process(es) started by the tour" >&2
		stop_all
	fi
	exit "$rc"
}

die() {
	echo "tour: $*" >&2
	exit 1
}

progress() { printf '[tour %4ds] %s\n' "$((SECONDS - T0))" "$*"; }

# Runs a command in the background with a time limit and waits for it, so
# that Ctrl-C reaches the trap at once (bash runs traps only between
# foreground commands, and timeout(1) leaves the terminal's process group).
# Returns the command's status; 124 on timeout.
bounded() {
	local secs=$1 pid rc=0
	shift
	timeout "$secs" "$@" &
	pid=$!
	track "$pid"
	wait "$pid" || rc=$?
	untrack "$pid"
	return "$rc"
}

# ==== CPU accounting ==========================================================

# The machine's busy CPU time so far, in clock ticks: every field of the
# "cpu" line of /proc/stat but idle and iowait (guest time is already
# counted in user).
machine_busy_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }

# The tour's own CPU time so far, in clock ticks: the shell's and that of
# every child it has waited for (which includes their own waited-for
# children). Measurements stop their servers and generators before
# cpu_end, so everything they started is counted.
tour_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13 + $14 + $15}' "/proc/$$/stat"; }

CPU_T0="" CPU_BUSY0="" CPU_OWN0=""
cpu_begin() {
	CPU_T0=$(date +%s.%N)
	CPU_BUSY0=$(machine_busy_ticks)
	CPU_OWN0=$(tour_ticks)
}

# cpu_end MEASUREMENT: appends the measurement's line to cpu_share.csv:
# wall seconds, CPUs, the machine's busy ticks, the tour's, and the share
# of the machine's CPU capacity that other processes used.
cpu_end() {
	local t1 busy1 own1
	t1=$(date +%s.%N)
	busy1=$(machine_busy_ticks)
	own1=$(tour_ticks)
	[ -s "$OUT/cpu_share.csv" ] ||
		echo "measurement,seconds,cpus,tick_hz,machine_busy_ticks,tour_ticks,others_share" >"$OUT/cpu_share.csv"
	awk -v m="$1" -v t0="$CPU_T0" -v t1="$t1" -v n="$NCPU" -v hz="$TICK_HZ" \
		-v b=$((busy1 - CPU_BUSY0)) -v o=$((own1 - CPU_OWN0)) 'BEGIN {
		s = t1 - t0; other = b - o; if (other < 0) other = 0
		printf "%s,%.1f,%d,%d,%d,%d,%.4f\n", m, s, n, hz, b, o, (s > 0 ? other / (s * n * hz) : 0) }' \
		>>"$OUT/cpu_share.csv"
}
