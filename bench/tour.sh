#!/usr/bin/env bash
# bench/tour.sh: the tour. Runs every stage, and redis-server when it is
# installed, side by side through five measurements, then writes
# bench/results/ (raw CSVs, summary.md, PNG charts) through bench/report.sh.
#
# usage: bench/tour.sh [--quick] [--only LIST] [--servers LIST] [--out DIR]
#                      [--bin-dir DIR] [--hold-bin PATH]
#
#   --quick          the reduced set (about a minute): what .ci/run runs
#   --only LIST      comma-separated measurements: idle,throughput,bursty,starvation,cpu
#   --servers LIST   comma-separated: stage1-threads,stage2-pool,stage3-eventloop,
#                    stage4-offload,redis (or stage1..stage4)
#   --out DIR        where results go (default bench/results; emptied first)
#   --bin-dir DIR    where the stage binaries are (default build/release/bin)
#   --hold-bin PATH  bench/idle_hold, used where redis-benchmark -I gives up
#                    (default build/release/bench/idle_hold)
#
# Load comes from redis-benchmark (Debian redis-tools). The one client of our
# own, bench/idle_hold, holds idle connections where `redis-benchmark -I`
# gives up: against a server that refuses some (bench/README.md says why).
# Every process this script starts is recorded and stopped on exit, on
# Ctrl-C and on failure. The script exits non-zero only when it could not
# run (a tool missing, a server that does not start); a missed performance
# goal is reported, loudly, by report.sh.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIN_DIR=$ROOT/build/release/bin
HOLD_BIN=$ROOT/build/release/bench/idle_hold
OUT=$HERE/results
QUICK=0
ONLY=idle,throughput,bursty,starvation,cpu
SERVERS=stage1-threads,stage2-pool,stage3-eventloop,stage4-offload,redis

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
	exit "${1:-0}"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--only) ONLY=${2:?--only needs a list}; shift ;;
	--only=*) ONLY=${1#*=} ;;
	--servers) SERVERS=${2:?--servers needs a list}; shift ;;
	--servers=*) SERVERS=${1#*=} ;;
	--out) OUT=${2:?--out needs a directory}; shift ;;
	--out=*) OUT=${1#*=} ;;
	--bin-dir) BIN_DIR=${2:?--bin-dir needs a directory}; shift ;;
	--bin-dir=*) BIN_DIR=${1#*=} ;;
	--hold-bin) HOLD_BIN=${2:?--hold-bin needs a path}; shift ;;
	--hold-bin=*) HOLD_BIN=${1#*=} ;;
	-h | --help) usage 0 ;;
	*) echo "tour: unknown argument '$1'" >&2; usage 2 >&2 ;;
	esac
	shift
done

# ==== Parameters ============================================================
# Full set: under ten minutes on a 2-core machine. Quick set: about a minute.

if [ "$QUICK" = 1 ]; then
	SET_NAME=quick
	IDLE_NS="0 100 1000"
	TP_REQS=20000 TP_PIPE_REQS=200000 TP_REPS=1
	BURST_REQS=5000 BURST_REPS=1
	STARVE_SECONDS=2 STARVE_MIN_PINGS=10 STARVE_MAX_PINGS=5000 STARVE_REPS=2
	CPU_REQS=150 CPU_REPS=1
else
	SET_NAME=full
	IDLE_NS="0 100 1000 10000"
	TP_REQS=150000 TP_PIPE_REQS=600000 TP_REPS=5
	BURST_REQS=20000 BURST_REPS=3
	STARVE_SECONDS=6 STARVE_MIN_PINGS=20 STARVE_MAX_PINGS=20000 STARVE_REPS=2
	CPU_REQS=600 CPU_REPS=3
fi
TP_CLIENTS=50            # throughput: clients, as in the issue
TP_PIPELINE=16           # throughput: the pipelined variant's depth
TP_TESTS=ping_inline,set,get
BURST_CLIENTS=200        # bursty: clients, each reconnecting per request
STARVE_SLEEP=0.2         # starvation: DEBUG SLEEP seconds, in a loop
CPU_CLIENTS="1 2 4"      # CPU-bound: concurrent DIGEST clients
DIGEST_VALUE_BYTES=1024  # CPU-bound: the value DIGEST hashes
DIGEST_ROUNDS=2000       #   ~2.7 ms per DIGEST on a 2020s x86 core
# Redis has no DIGEST; it runs this Lua loop instead, sized to take about as
# long as one DIGEST. Its requests/s are not comparable with the stages';
# its speed-up from 1 to 4 clients is.
LUA_ROUNDS=30
LUA_BURN='local v = redis.call("GET", KEYS[1]) local n = tonumber(ARGV[1]) local h = 0 local r = 0 while r < n do local i = 1 while i <= #v do h = (h * 31 + string.byte(v, i)) % 4294967296 i = i + 1 end r = r + 1 end return h'
STAGE2_LOAD_THREADS=64   # stage 2's pool for the load runs (>= TP_CLIENTS)
BENCH_TIMEOUT=120        # no single redis-benchmark run may take longer

# ==== Processes: everything started is stopped ==============================

PIDS=()          # every background process started, in start order
T0=$SECONDS

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

# Stops every process the tour started, newest first: load generators
# before the servers they talk to.
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
trap cleanup EXIT
trap 'echo; echo "tour: interrupted" >&2; exit 130' INT
trap 'echo "tour: terminated" >&2; exit 143' TERM

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

# ==== Checks ================================================================

for tool in redis-benchmark redis-cli timeout awk; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (run: scripts/deps.sh tour)"
done
[ -r /proc/self/status ] || die "needs Linux /proc to read a server's memory"

# Servers named on the command line, in a fixed order; stageN is short for its folder.
want_servers=()
for s in $(echo "$SERVERS" | tr ',' ' '); do
	case "$s" in
	stage1 | stage1-threads) s=stage1-threads ;;
	stage2 | stage2-pool) s=stage2-pool ;;
	stage3 | stage3-eventloop) s=stage3-eventloop ;;
	stage4 | stage4-offload) s=stage4-offload ;;
	redis | redis-server) s=redis ;;
	*) die "unknown server '$s' (stage1-threads stage2-pool stage3-eventloop stage4-offload redis)" ;;
	esac
	want_servers+=("$s")
done
REDIS_NOTE=""
SERVER_LIST=()
for s in stage1-threads stage2-pool stage3-eventloop stage4-offload redis; do
	case " ${want_servers[*]} " in *" $s "*) ;; *) continue ;; esac
	if [ "$s" = redis ]; then
		if ! command -v redis-server >/dev/null 2>&1; then
			REDIS_NOTE="redis-server is not installed: no Redis column (scripts/deps.sh tour installs it)"
			echo "tour: $REDIS_NOTE" >&2
			continue
		fi
	elif [ ! -x "$BIN_DIR/$s" ]; then
		die "$BIN_DIR/$s is missing: run make first"
	fi
	SERVER_LIST+=("$s")
done
[ "${#SERVER_LIST[@]}" -gt 0 ] || die "no server to run"

want() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
for m in $(echo "$ONLY" | tr ',' ' '); do
	case "$m" in idle | throughput | bursty | starvation | cpu) ;; *) die "unknown measurement '$m'" ;; esac
done

# Both sides of every connection are on this machine: raise the soft fd
# limit to the hard one, and cap N so that the N idle connections plus some
# spare fit in one process (the server's and redis-benchmark's are separate).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)
[ "$FD_LIMIT" = unlimited ] && FD_LIMIT=1048576
N_CAP=$((FD_LIMIT - 128))
# redis-benchmark's event loop holds at most 10240 fds.
[ "$N_CAP" -gt 10100 ] && N_CAP=10100
idle_ns=()
capped=""
for n in $IDLE_NS; do
	if [ "$n" -le "$N_CAP" ]; then idle_ns+=("$n"); else capped=$n; fi
done
if [ -n "$capped" ]; then
	idle_ns+=("$N_CAP")
	echo "tour: the fd limit ($FD_LIMIT) caps idle connections at $N_CAP instead of $capped" >&2
fi
N_MAX=${idle_ns[${#idle_ns[@]} - 1]}
MAX_CLIENTS=$((N_MAX + 64))

# ==== Results directory =====================================================

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -rf "${OUT:?}/raw" "$OUT/logs" "$OUT/plot"
rm -f "$OUT"/*.csv "$OUT"/*.png "$OUT"/summary.md "$OUT"/run.env
mkdir -p "$OUT/raw" "$OUT/logs"
LOGS=$OUT/logs

# ==== Servers ===============================================================

declare -A PORT PID

fd_count() { ls -U "/proc/$1/fd" 2>/dev/null | wc -l; }

# Prints "VmRSS VmSize Threads" (kB kB count) of a process.
proc_status() {
	awk '/^VmRSS:/ {r = $2} /^VmSize:/ {v = $2} /^Threads:/ {t = $2}
	     END {print r + 0, v + 0, t + 0}' "/proc/$1/status"
}

cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

# A port nobody listens on, for redis-server, which cannot choose one itself.
free_port() {
	local p i
	for i in $(seq 1 50); do
		p=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# start_stage KEY BINARY-NAME [ARGS...]: starts a stage on an ephemeral port
# and waits for its "listening on" line.
start_stage() {
	local key=$1 name=$2 pid port="" line
	shift 2
	"$BIN_DIR/$name" --port 0 --max-clients "$MAX_CLIENTS" "$@" \
		>"$LOGS/$key.out" 2>"$LOGS/$key.log" &
	pid=$!
	track "$pid"
	if line=$("$HERE/../scripts/wait-listening" "$LOGS/$key.out" "$pid" 10 2>/dev/null); then
		port=${line##*:}
	fi
	[ -n "$port" ] || die "$name did not start (see $LOGS/$key.log): $(tail -n 3 "$LOGS/$key.log")"
	PID[$key]=$pid
	PORT[$key]=$port
}

# info_field PORT FIELD: one field of the server's INFO, or nothing (also
# when it does not answer within 3 s: stage 2 with every worker pinned).
info_field() {
	bounded 3 redis-cli -h 127.0.0.1 -p "$1" INFO 2>/dev/null | tr -d '\r' |
		awk -F: -v f="$2" '$1 == f {print $2; exit}' || true
}

redis_pid() { info_field "$1" process_id; }

start_redis() {
	local pid port try i
	for try in 1 2 3 4 5; do
		port=$(free_port) || die "no free port found for redis-server"
		redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
			--enable-debug-command yes --daemonize no --maxclients "$MAX_CLIENTS" \
			--dir "$LOGS" --logfile '' >"$LOGS/redis.log" 2>&1 &
		pid=$!
		track "$pid"
		# Ours answers, with our pid: not some other server that had the port.
		for i in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			[ "$(redis_pid "$port")" = "$pid" ] && break
			sleep 0.1
		done
		if [ "$(redis_pid "$port")" = "$pid" ]; then
			PID[redis]=$pid
			PORT[redis]=$port
			return 0
		fi
		stop_pid "$pid"
		untrack "$pid"
	done
	die "redis-server did not start (see $LOGS/redis.log): $(tail -n 3 "$LOGS/redis.log")"
}

# Servers for the idle measurement: every stage with its defaults. Stage 2's
# default pool (16 workers, a queue of 256) is the point of that measurement,
# and of one row of the bursty one: the fixed pool size is what the seed's
# "steadier tail latency" claim is about.
# Servers for the load measurements: the same, except stage 2 gets a pool as
# large as the busiest run's client count; with 16 workers, 50 keep-alive
# clients never finish (34 wait in the queue for a worker that never frees).
start_all() {
	local s
	for s in "${SERVER_LIST[@]}"; do
		case "$s" in
		redis) start_redis ;;
		stage2-pool)
			if want idle || want bursty; then start_stage stage2-pool stage2-pool; fi
			if want throughput || want bursty || want starvation || want cpu; then
				start_stage stage2-pool-load stage2-pool --threads "$STAGE2_LOAD_THREADS"
			fi
			;;
		*) start_stage "$s" "$s" ;;
		esac
		progress "started $s"
	done
}

# The server key for a load measurement.
load_key() { if [ "$1" = stage2-pool ]; then echo stage2-pool-load; else echo "$1"; fi; }

# ==== redis-benchmark =======================================================

# bench PORT RAWFILE ARGS...: one redis-benchmark run with --csv; its output
# goes to RAWFILE. Returns 0, or non-zero when it failed or timed out.
bench() {
	local port=$1 raw=$2 rc=0
	shift 2
	bounded "$BENCH_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "$port" --csv "$@" \
		>"$raw" 2>>"$LOGS/redis-benchmark.log" || rc=$?
	return "$rc"
}

# Reads redis-benchmark CSV rows (after the header) as
# "rps avg min p50 p95 p99 max" for the test named $2 (any test when empty).
# Fields are taken from the right: a test name may contain commas.
bench_fields() {
	tr -d '"' <"$1" | awk -F, -v want="$2" 'NR > 1 && NF >= 8 {
		name = $1; for (i = 2; i <= NF - 7; i++) name = name "," $i
		if (want == "" || name == want)
			print $(NF-6), $(NF-5), $(NF-4), $(NF-3), $(NF-2), $(NF-1), $NF
	}'
}

# ==== 1. Idle memory ========================================================

# Waits until the server holds `target` more fds than `base`, or stops
# gaining for 2 s (a server that refuses), or `limit` seconds pass. Prints
# how many it holds.
wait_held() {
	local pid=$1 base=$2 target=$3 limit=$4 held last=-1 still=0 t0=$SECONDS
	while :; do
		held=$(($(fd_count "$pid") - base))
		[ "$held" -ge "$target" ] && break
		if [ "$held" -eq "$last" ]; then still=$((still + 1)); else still=0; fi
		last=$held
		[ "$still" -ge 10 ] && break
		[ $((SECONDS - t0)) -ge "$limit" ] && break
		sleep 0.2
	done
	echo "$held"
}

# Is an active client still served? One PING, 3 s to answer.
active_check() {
	local port=$1 reply rc=0
	reply=$(bounded 3 redis-cli -h 127.0.0.1 -p "$port" PING 2>&1) || rc=$?
	reply=$(echo "$reply" | head -n 1 | tr -d '\r,' | cut -c1-60)
	if [ "$reply" = PONG ]; then
		echo "yes,PONG"
	elif [ "$rc" = 124 ]; then
		echo "no,no reply within 3 s"
	else
		echo "no,${reply:-connection closed}"
	fi
}

# Stops an idle holder and waits until the server is back to its baseline
# count of open files (20 s at most) before the next N.
stop_idle() {
	local hpid=$1 pid=$2 base=$3 t=$SECONDS
	stop_pid "$hpid"
	untrack "$hpid"
	while [ "$(fd_count "$pid")" -gt "$base" ] && [ $((SECONDS - t)) -lt 20 ]; do sleep 0.2; done
}

measure_idle() {
	local csv=$OUT/idle.csv s pid port base rss0 n held info rss vsz thr per hpid check step=0 total
	local tool note log
	echo "server,n,held,rss_kb,vmsize_kb,threads,rss_per_conn_bytes,info_connected_clients,active_served,active_reply,tool,note" >"$csv"
	total=$((${#SERVER_LIST[@]} * ${#idle_ns[@]}))
	for s in "${SERVER_LIST[@]}"; do
		pid=${PID[$s]} port=${PORT[$s]}
		cli "$port" PING >/dev/null 2>&1 || true
		sleep 0.5
		base=$(fd_count "$pid")
		read -r rss0 _ _ < <(proc_status "$pid")
		for n in "${idle_ns[@]}"; do
			step=$((step + 1))
			hpid="" tool="" note="" held=0
			if [ "$n" -gt 0 ]; then
				tool="redis-benchmark -I"
				log=$LOGS/idle-$s-$n.log
				redis-benchmark -h 127.0.0.1 -p "$port" -c "$n" -I >"$log" 2>&1 &
				hpid=$!
				track "$hpid"
				held=$(wait_held "$pid" "$base" "$n" $((n / 200 + 20)))
				sleep 1 # let threads and allocations settle
				if ! kill -0 "$hpid" 2>/dev/null; then
					# redis-benchmark -I exits at the first error reply (a
					# server refusing clients), dropping every connection.
					note="redis-benchmark -I quit: $(tr '\r' '\n' <"$log" | grep -v -e '^Creating' -e '^clients:' -e '^$' | head -n 1 | tr -d ',' | cut -c1-80)"
					stop_idle "$hpid" "$pid" "$base"
					hpid=""
					if [ -x "$HOLD_BIN" ]; then
						tool="idle_hold"
						log=$LOGS/idle-$s-$n-hold.log
						"$HOLD_BIN" -h 127.0.0.1 -p "$port" -c "$n" >"$log" 2>&1 &
						hpid=$!
						track "$hpid"
						held=$(wait_held "$pid" "$base" "$n" $((n / 200 + 20)))
						sleep 1
						note="$note; held by bench/idle_hold instead: $(tail -n 1 "$log" | tr -d ',')"
					else
						note="$note; bench/idle_hold not built: nothing held"
						held=$(($(fd_count "$pid") - base))
					fi
				fi
			fi
			read -r rss vsz thr < <(proc_status "$pid")
			check=$(active_check "$port")
			info=""
			if [ "${check%%,*}" = yes ]; then
				info=$(info_field "$port" connected_clients)
			fi
			per=""
			[ "$held" -gt 0 ] && per=$(((rss - rss0) * 1024 / held))
			echo "$s,$n,$held,$rss,$vsz,$thr,$per,$info,$check,$tool,$note" >>"$csv"
			progress "idle $step/$total  $s  N=$n: holds $held, RSS $((rss / 1024)) MiB, $thr thread(s), ${per:--} B/conn, active client served: ${check%%,*}"
			if [ -n "$note" ]; then progress "idle $step/$total  $s  N=$n: $note"; fi
			if [ -n "$hpid" ]; then stop_idle "$hpid" "$pid" "$base"; fi
		done
	done
}

# ==== 2. Throughput =========================================================

# CPU time a process has used so far, threads that ended included: utime +
# stime from /proc/PID/stat, in clock ticks.
cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
TICK_HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)

# Each test runs alone, so that the server's CPU time can be charged to it;
# the repetitions go round every server in turn, so that a noisy moment on
# the machine is shared rather than landing on one server.
measure_throughput() {
	local csv=$OUT/throughput.csv raw=$OUT/raw/throughput s key port pid rep pipe reqs f step=0 total
	local test t0 t1 cpu_us rps avg min p50 p95 p99 max line
	mkdir -p "$raw"
	echo "server,pipeline,rep,test,rps,avg_ms,min_ms,p50_ms,p95_ms,p99_ms,max_ms,server_cpu_us_per_req" >"$csv"
	total=$((${#SERVER_LIST[@]} * 2 * TP_REPS))
	for rep in $(seq 1 "$TP_REPS"); do
		for pipe in 1 "$TP_PIPELINE"; do
			reqs=$TP_REQS
			[ "$pipe" -gt 1 ] && reqs=$TP_PIPE_REQS
			for s in "${SERVER_LIST[@]}"; do
				step=$((step + 1))
				key=$(load_key "$s")
				port=${PORT[$key]} pid=${PID[$key]}
				line=""
				for test in $(echo "$TP_TESTS" | tr ',' ' '); do
					f=$raw/$s-P$pipe-$test-rep$rep.csv
					t0=$(cpu_ticks "$pid")
					if bench "$port" "$f" -c "$TP_CLIENTS" -n "$reqs" -P "$pipe" -t "$test" &&
						read -r rps avg min p50 p95 p99 max < <(bench_fields "$f" ""); then
						t1=$(cpu_ticks "$pid")
						cpu_us=$(awk -v d=$((t1 - t0)) -v hz="$TICK_HZ" -v n="$reqs" 'BEGIN { printf "%.2f", d * 1e6 / hz / n }')
						echo "$s,$pipe,$rep,$(tr -d '"' <"$f" | awk -F, 'NR == 2 {print $1}'),$rps,$avg,$min,$p50,$p95,$p99,$max,$cpu_us" >>"$csv"
						line="$line  $(printf '%s %.0f/s' "$test" "$rps")"
					else
						echo "$s,$pipe,$rep,$(echo "$test" | tr '[:lower:]' '[:upper:]'),,,,,,,," >>"$csv"
						line="$line  $test FAILED (see logs/redis-benchmark.log)"
					fi
				done
				progress "throughput $step/$total  $s  -P $pipe rep $rep:$line"
			done
		done
	done
}

# ==== 3. Bursty connections =================================================

# Bursty runs stage 2 twice: with its default pool ("stage2-pool-default",
# the idle run's instance) and with the load runs' larger pool.
bursty_servers() {
	local s
	for s in "${SERVER_LIST[@]}"; do
		[ "$s" = stage2-pool ] && echo stage2-pool-default
		echo "$s"
	done
}
bursty_key() { if [ "$1" = stage2-pool-default ]; then echo stage2-pool; else load_key "$1"; fi; }

measure_bursty() {
	local csv=$OUT/bursty.csv raw=$OUT/raw/bursty s port f rep step=0 total rps avg min p50 p95 p99 max
	mkdir -p "$raw"
	echo "server,clients,requests,rep,rps,avg_ms,min_ms,p50_ms,p95_ms,p99_ms,max_ms" >"$csv"
	total=$(($(bursty_servers | wc -l) * BURST_REPS))
	for rep in $(seq 1 "$BURST_REPS"); do
		for s in $(bursty_servers); do
			step=$((step + 1))
			port=${PORT[$(bursty_key "$s")]}
			f=$raw/$s-rep$rep.csv
			if bench "$port" "$f" -c "$BURST_CLIENTS" -n "$BURST_REQS" -k 0 -t get &&
				read -r rps avg min p50 p95 p99 max < <(bench_fields "$f" GET); then
				echo "$s,$BURST_CLIENTS,$BURST_REQS,$rep,$rps,$avg,$min,$p50,$p95,$p99,$max" >>"$csv"
				progress "bursty $step/$total  $s rep $rep: $rps req/s, p50 $p50 ms, p99 $p99 ms, max $max ms"
			else
				echo "$s,$BURST_CLIENTS,$BURST_REQS,$rep,,,,,,," >>"$csv"
				progress "bursty $step/$total  $s rep $rep: FAILED or timed out (see logs/redis-benchmark.log)"
			fi
		done
	done
}

# ==== 4. Starvation =========================================================


# One client runs DEBUG SLEEP in a loop; another sends PINGs one at a time
# and redis-benchmark reports their latency. As many PINGs as fit in about
# STARVE_SECONDS (measured by a five-PING probe first), so that a server
# whose PINGs wait 200 ms each is not measured for minutes; the baseline
# sends the same number with no sleeper.
measure_starvation() {
	local csv=$OUT/starvation.csv raw=$OUT/raw/starvation s port f spid probe avg pings row step=0 total
	local rep lag0 lag1
	local rps avg_ms min p50 p95 p99 max
	mkdir -p "$raw"
	echo "server,rep,phase,pings,rps,avg_ms,min_ms,p50_ms,p95_ms,p99_ms,max_ms,loop_lag_max_before_ms,loop_lag_max_after_ms" >"$csv"
	total=$((${#SERVER_LIST[@]} * STARVE_REPS))
	for s in "${SERVER_LIST[@]}"; do
		port=${PORT[$(load_key "$s")]}
		pings=""
		for rep in $(seq 1 "$STARVE_REPS"); do
			step=$((step + 1))
			# INFO loop_lag_max_ms (stages 3 and 4) is a maximum since start:
			# read it before and after, to tell the run's own stall apart.
			lag0=$(info_field "$port" loop_lag_max_ms)
			redis-benchmark -h 127.0.0.1 -p "$port" -c 1 -n 1000000 DEBUG SLEEP "$STARVE_SLEEP" \
				>"$LOGS/sleeper-$s-rep$rep.log" 2>&1 &
			spid=$!
			track "$spid"
			sleep 0.5
			if [ -z "$pings" ]; then
				probe=$raw/$s-probe.csv
				pings=$STARVE_MIN_PINGS
				if bench "$port" "$probe" -c 1 -n 5 PING && read -r _ avg _ < <(bench_fields "$probe" PING); then
					pings=$(awk -v a="$avg" -v t="$STARVE_SECONDS" -v lo="$STARVE_MIN_PINGS" -v hi="$STARVE_MAX_PINGS" \
						'BEGIN { if (a < 0.001) a = 0.001; n = int(t * 1000 / a); if (n < lo) n = lo; if (n > hi) n = hi; print n }')
				fi
			fi
			progress "starvation $step/$total  $s rep $rep: DEBUG SLEEP $STARVE_SLEEP in a loop; $pings PINGs"
			f=$raw/$s-sleeping-rep$rep.csv
			if bench "$port" "$f" -c 1 -n "$pings" PING &&
				read -r rps avg_ms min p50 p95 p99 max < <(bench_fields "$f" PING); then
				row="$s,$rep,sleeping,$pings,$rps,$avg_ms,$min,$p50,$p95,$p99,$max"
				progress "starvation $step/$total  $s rep $rep  with the sleeper: PING p50 $p50 ms, p99 $p99 ms, max $max ms"
			else
				row="$s,$rep,sleeping,$pings,,,,,,,"
				progress "starvation $step/$total  $s rep $rep  with the sleeper: FAILED or timed out"
			fi
			stop_pid "$spid"
			untrack "$spid"
			sleep 0.5 # the last DEBUG SLEEP may still be running
			lag1=$(info_field "$port" loop_lag_max_ms)
			echo "$row,$lag0,$lag1" >>"$csv"
			f=$raw/$s-baseline-rep$rep.csv
			if bench "$port" "$f" -c 1 -n "$pings" PING &&
				read -r rps avg_ms min p50 p95 p99 max < <(bench_fields "$f" PING); then
				echo "$s,$rep,baseline,$pings,$rps,$avg_ms,$min,$p50,$p95,$p99,$max,," >>"$csv"
				progress "starvation $step/$total  $s rep $rep  without it:      PING p50 $p50 ms, p99 $p99 ms, max $max ms"
			else
				echo "$s,$rep,baseline,$pings,,,,,,,,," >>"$csv"
				progress "starvation $step/$total  $s rep $rep  without it: FAILED or timed out"
			fi
		done
	done
}

# ==== 5. CPU-bound ==========================================================

measure_cpu() {
	local csv=$OUT/cpu.csv raw=$OUT/raw/cpu s port f c rep value step=0 total work
	local rps avg min p50 p95 p99 max
	mkdir -p "$raw"
	echo "server,work,clients,requests,rep,rps,avg_ms,min_ms,p50_ms,p95_ms,p99_ms,max_ms" >"$csv"
	value=$(head -c "$DIGEST_VALUE_BYTES" /dev/zero | tr '\0' x)
	for s in "${SERVER_LIST[@]}"; do
		cli "${PORT[$(load_key "$s")]}" SET tour:digest "$value" >/dev/null || die "SET failed on $s"
	done
	total=$((${#SERVER_LIST[@]} * $(echo "$CPU_CLIENTS" | wc -w) * CPU_REPS))
	# Round-robin over the servers, as for throughput.
	for rep in $(seq 1 "$CPU_REPS"); do
		for c in $CPU_CLIENTS; do
			for s in "${SERVER_LIST[@]}"; do
				step=$((step + 1))
				port=${PORT[$(load_key "$s")]}
				f=$raw/$s-c$c-rep$rep.csv
				if [ "$s" = redis ]; then
					work="lua x$LUA_ROUNDS"
					bench "$port" "$f" -c "$c" -n "$CPU_REQS" EVAL "$LUA_BURN" 1 tour:digest "$LUA_ROUNDS" || true
				else
					work="DIGEST x$DIGEST_ROUNDS"
					bench "$port" "$f" -c "$c" -n "$CPU_REQS" DIGEST tour:digest "$DIGEST_ROUNDS" || true
				fi
				if read -r rps avg min p50 p95 p99 max < <(bench_fields "$f" ""); then
					echo "$s,$work,$c,$CPU_REQS,$rep,$rps,$avg,$min,$p50,$p95,$p99,$max" >>"$csv"
					progress "cpu $step/$total  $s  $c client(s) rep $rep: $rps req/s ($work over $DIGEST_VALUE_BYTES bytes)"
				else
					echo "$s,$work,$c,$CPU_REQS,$rep,,,,,,," >>"$csv"
					progress "cpu $step/$total  $s  $c client(s) rep $rep: FAILED or timed out"
				fi
			done
		done
	done
}

# ==== Main ==================================================================

{
	echo "set=$SET_NAME"
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "servers=${SERVER_LIST[*]}"
	echo "measurements=$ONLY"
	echo "redis_note=$REDIS_NOTE"
	echo "fd_limit=$FD_LIMIT"
	echo "idle_ns=${idle_ns[*]}"
	for v in TP_CLIENTS TP_PIPELINE TP_REQS TP_PIPE_REQS TP_REPS BURST_CLIENTS BURST_REQS BURST_REPS \
		STARVE_SLEEP STARVE_SECONDS STARVE_MIN_PINGS STARVE_MAX_PINGS STARVE_REPS CPU_CLIENTS CPU_REQS CPU_REPS DIGEST_ROUNDS \
		DIGEST_VALUE_BYTES LUA_ROUNDS; do
		echo "$(echo "$v" | tr "[:upper:]" "[:lower:]")=${!v}"
	done
	echo "stage2_load_threads=$STAGE2_LOAD_THREADS"
	echo "cpu_count=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?')"
	echo "cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)"
	echo "kernel=$(uname -sr)"
	echo "os=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}")"
	echo "libuv=$(pkg-config --modversion libuv 2>/dev/null || echo '?')"
	echo "redis_server=$(redis-server --version 2>/dev/null | awk '{print $3}' | sed 's/^v=//' | grep . || echo 'not installed')"
	echo "redis_benchmark=$(redis-benchmark --version 2>/dev/null | awk '{print $2}')"
	echo "gnuplot=$(gnuplot --version 2>/dev/null || echo 'not installed')"
	echo "load_start=$(cut -d" " -f1-3 /proc/loadavg)"
} >"$OUT/run.env"

# Everything shares this machine's CPUs: say so when something else is busy.
load1=$(cut -d" " -f1 /proc/loadavg)
ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
if awk -v l="$load1" -v n="$ncpu" 'BEGIN { exit !(l > n / 2) }'; then
	echo "tour: warning: load average $load1 on $ncpu CPU(s): other work on this machine will disturb the figures" >&2
fi
progress "the $SET_NAME set: ${ONLY//,/, } on ${SERVER_LIST[*]}; results in $OUT"
start_all
want idle && measure_idle
want throughput && measure_throughput
want bursty && measure_bursty
want starvation && measure_starvation
want cpu && measure_cpu

progress "stopping the servers"
stop_all
{
	echo "elapsed=$((SECONDS - T0))"
	echo "load_end=$(cut -d" " -f1-3 /proc/loadavg)"
} >>"$OUT/run.env"

bash "$HERE/report.sh" "$OUT"
progress "done in $((SECONDS - T0)) s: $OUT/summary.md"
