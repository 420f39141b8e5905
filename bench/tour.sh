#!/usr/bin/env bash
# bench/tour.sh: the tour. Runs every stage, and redis-server when it is
# installed, side by side through eight measurements, repeated, and writes
# bench/results/ (raw CSVs, summary.md with the claims table, PNG charts)
# through bench/report.py.
#
# usage: bench/tour.sh [--quick] [--only LIST] [--servers LIST] [--out DIR]
#                      [--bin-dir DIR] [--hold-bin PATH] [--loadgen-bin PATH]
#                      [--reps N] [--no-pin]
#
#   --quick            the reduced set (about 4 minutes): what make test-docs runs
#   --only LIST        comma-separated measurements: idle,throughput,bursty,
#                      reconnect,modest,starvation,cpu,aof (aof alone: about
#                      4 minutes, 30 s with --quick)
#   --servers LIST     comma-separated: stage1-threads,stage2-pool,stage3-eventloop,
#                      stage4-offload,redis (or stage1..stage4)
#   --out DIR          where results go (default bench/results; emptied first)
#   --bin-dir DIR      where the stage binaries are (default build/release/bin)
#   --hold-bin PATH    bench/idle_hold (default build/release/bench/idle_hold)
#   --loadgen-bin PATH bench/loadgen (default build/release/bin/loadgen)
#   --reps N           every cell N runs (for trying things out: the claims
#                      need the set's own 10)
#   --no-pin           do not pin servers and generator to separate CPUs
#   --estimate         print the expected duration and the runs, and exit
#
# Load comes from bench/loadgen (open loop: bursty, reconnect, modest,
# starvation, aof) and redis-benchmark (closed loop: peak throughput,
# CPU-bound, aof; holding idle connections). Every process this script starts is recorded
# and stopped on exit, on Ctrl-C and on failure. The script exits non-zero
# only when it could not run (a tool missing, a server that does not
# start); the claims' verdicts are report.py's.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIN_DIR=$ROOT/build/release/bin
HOLD_BIN=$ROOT/build/release/bench/idle_hold
LOADGEN_BIN=$ROOT/build/release/bin/loadgen
OUT=$HERE/results
QUICK=0
REPS=""
PIN=1
ESTIMATE_ONLY=0
ALL_MEASUREMENTS=idle,throughput,bursty,reconnect,modest,starvation,cpu,aof
ONLY=$ALL_MEASUREMENTS
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
	--loadgen-bin) LOADGEN_BIN=${2:?--loadgen-bin needs a path}; shift ;;
	--loadgen-bin=*) LOADGEN_BIN=${1#*=} ;;
	--reps) REPS=${2:?--reps needs a number}; shift ;;
	--reps=*) REPS=${1#*=} ;;
	--no-pin) PIN=0 ;;
	--estimate) ESTIMATE_ONLY=1 ;;
	-h | --help) usage 0 ;;
	*) echo "tour: unknown argument '$1'" >&2; usage 2 >&2 ;;
	esac
	shift
done

# shellcheck source=bench/lib/procs.sh
. "$HERE/lib/procs.sh"
# shellcheck source=bench/lib/servers.sh
. "$HERE/lib/servers.sh"
for m in idle throughput bursty reconnect modest starvation cpu aof; do
	# shellcheck disable=SC1090
	. "$HERE/measure/$m.sh"
done

T0=$SECONDS
trap cleanup EXIT
trap 'echo; echo "tour: interrupted" >&2; exit 130' INT
trap 'echo "tour: terminated" >&2; exit 143' TERM

# ==== Parameters ============================================================
# Every cell a claim rests on runs REPS_CLAIM times, the others REPS_OTHER.
# The full set stays under 30 minutes on a 2-core machine, the quick set
# under 4 (tour_estimate below prints the expected time before starting).

if [ "$QUICK" = 1 ]; then
	SET_NAME=quick
	REPS_CLAIM=3 REPS_OTHER=2
	IDLE_NS="100"
	TP_REQS=10000 TP_PIPE_REQS=50000
	BURST_SIZES="200" BURST_SECONDS=1
	RECONNECT_SECONDS=1
	MODEST_CONNS="16" MODEST_SECONDS=1
	STARVE_SECONDS=1
	CPU_REQS=60
	AOF_BENCH_MS=250 AOF_LOAD_MS=500 AOF_DD_WRITES=100
else
	SET_NAME=full
	REPS_CLAIM=10 REPS_OTHER=5
	IDLE_NS="100 1000 10000"
	TP_REQS=60000 TP_PIPE_REQS=300000
	BURST_SIZES="50 200 500" BURST_SECONDS=2
	RECONNECT_SECONDS=2
	MODEST_CONNS="8 32" MODEST_SECONDS=1
	STARVE_SECONDS=1
	CPU_REQS=240
	AOF_BENCH_MS=1000 AOF_LOAD_MS=2000 AOF_DD_WRITES=250
fi
if [ -n "$REPS" ]; then
	case "$REPS" in '' | *[!0-9]* | 0) die "--reps needs a positive number" ;; esac
	REPS_CLAIM=$REPS REPS_OTHER=$REPS
fi
TP_CLIENTS=50            # throughput: clients
TP_PIPELINE=16           # throughput: the pipelined variant's depth
TP_TESTS=ping_inline,set,get
BURST_CONNS=1000         # bursty: persistent, mostly idle connections (capped by the fd limit)
BURST_EVERY_MS=100       # bursty: a burst every 100 ms
BURST_FAIL_B=200         # bursty: the burst size stage 2's default pool runs at
BURST_COMMAND=PING
RECONNECT_RATE=500       # reconnect: sessions a second (Poisson)
RECONNECT_REQUESTS=4     # reconnect: requests per session
MODEST_RATE=2000         # modest: requests a second in total (Poisson)
STARVE_SLEEP=0.2         # starvation: DEBUG SLEEP seconds, in a loop
STARVE_RATE=200          # starvation: PINGs a second (Poisson)
STARVE_CONNS=20          #   over this many connections
CPU_CLIENTS="1 2 4"      # CPU-bound: concurrent DIGEST clients
DIGEST_VALUE_BYTES=1024  # CPU-bound: the value DIGEST hashes
DIGEST_ROUNDS=2000       #   ~2.7 ms per DIGEST on a 2020s x86 core
# Redis has no DIGEST; it runs this Lua loop instead, sized to take about as
# long as one DIGEST. Its requests/s are not comparable with the stages';
# its speed-up from 1 to 4 clients is.
LUA_ROUNDS=30
LUA_BURN='local v = redis.call("GET", KEYS[1]) local n = tonumber(ARGV[1]) local h = 0 local r = 0 while r < n do local i = 1 while i <= #v do h = (h * 31 + string.byte(v, i)) % 4294967296 i = i + 1 end r = r + 1 end return h'
AOF_FSYNC=always         # aof: every server's appendfsync
AOF_CLIENTS=50           # aof: redis-benchmark -t set clients (and 1 client, and -P AOF_PIPELINE)
AOF_PIPELINE=16
AOF_N_MIN_1=200          # aof: the fewest SETs a closed-loop test sends: 1 client,
AOF_N_MIN=1000           #   AOF_CLIENTS clients,
AOF_N_MIN_PIPE=3200      #   pipelined
AOF_N_MAX=2000000        #   and the most (each is sized to take about AOF_BENCH_MS)
AOF_BENCH_TIMEOUT=30     # aof: no closed-loop test may take longer (then the server is left out)
AOF_RATE_SHARE=0.3       # aof: the open-loop SET rate is this share of 1 / dd's time per
AOF_RATE_MAX=2000        #   synced write, within these bounds
AOF_RATE_MIN=50
AOF_LOAD_CONNS=20        # aof: the open-loop SETs' connections
AOF_VALUE=0123456789abcdef
AOF_BYSTANDER_RATE=500   # aof: the bystander's PINGs a second (Poisson)
AOF_BYSTANDER_CONNS=1    #   on one connection: one client
STAGE2_LOAD_THREADS=64   # stage 2's pool for the load runs (>= TP_CLIENTS, >= MODEST_CONNS)
BENCH_TIMEOUT=120        # no single redis-benchmark run may take longer
LG_DRAIN=2               # loadgen waits this long for the last replies after its schedule
LG_GRACE=20              # no loadgen run may take longer than its --duration plus this
BURST_FAIL_GRACE=5       #   nor, against stage 2's default pool in the bursty run, this
# The cells each claim rests on (bench/report.py's CLAIMS): REPS_CLAIM runs.
IDLE_CLAIM_SERVERS="stage1-threads stage2-pool stage3-eventloop stage4-offload redis"
TP_CLAIM_SERVERS="stage1-threads stage3-eventloop redis"
BURSTY_CLAIM_SERVERS="stage1-threads stage2-pool-wide stage2-pool-default stage3-eventloop"
RECONNECT_CLAIM_SERVERS="stage1-threads stage3-eventloop"
MODEST_CLAIM_SERVERS="stage1-threads stage3-eventloop"
STARVE_CLAIM_SERVERS="stage3-eventloop stage4-offload"
CPU_CLAIM_SERVERS="stage1-threads stage2-pool stage3-eventloop stage4-offload"
AOF_CLAIM_SERVERS="stage3-eventloop stage4-offload redis"

# ==== Checks ================================================================

want() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
for m in $(echo "$ONLY" | tr ',' ' '); do
	case ",$ALL_MEASUREMENTS," in *",$m,"*) ;; *) die "unknown measurement '$m' (${ALL_MEASUREMENTS//,/ })" ;; esac
done
for tool in redis-benchmark redis-cli timeout awk shuf python3 dd df; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (run: scripts/deps.sh tour)"
done
[ -r /proc/self/status ] || die "needs Linux /proc to read a server's memory"
if want bursty || want reconnect || want modest || want starvation || want aof; then
	[ -x "$LOADGEN_BIN" ] || die "$LOADGEN_BIN is missing: run make tour-bins (or pass --loadgen-bin)"
fi

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
# The bursty run has stage 2 twice (a worker per connection, and its
# default pool); the reconnecting one runs its default pool.
BURSTY_SERVERS=() RECONNECT_SERVERS=()
for s in "${SERVER_LIST[@]}"; do
	if [ "$s" = stage2-pool ]; then
		BURSTY_SERVERS+=(stage2-pool-wide stage2-pool-default)
		RECONNECT_SERVERS+=(stage2-pool-default)
	else
		BURSTY_SERVERS+=("$s")
		RECONNECT_SERVERS+=("$s")
	fi
done

NCPU=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
TICK_HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)
# Latency runs: the server on one CPU, the load generator on another, so
# that they do not take turns on one core. Never the CPU-bound or
# throughput runs, whose point is using every core.
SERVER_CPUS="" LG_CPUS=""
if [ "$PIN" = 1 ] && [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
	SERVER_CPUS=1 LG_CPUS=0
fi

# Both sides of every connection are on this machine: raise the soft fd
# limit to the hard one, and cap the connection counts so that they plus
# some spare fit in one process (server and generator are separate).
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
if [ "$BURST_CONNS" -gt "$N_CAP" ]; then
	echo "tour: the fd limit ($FD_LIMIT) caps the bursty run's connections at $N_CAP instead of $BURST_CONNS" >&2
	BURST_CONNS=$N_CAP
fi
# The bursty claims rest on the largest burst.
BURST_CLAIM_B=$(echo "$BURST_SIZES" | tr ' ' '\n' | sort -n | tail -n 1)
# Stage 2 takes at most 1,024 workers (common/opts.h): a worker for every
# bursty connection, and a few for the tour's own INFO and PING.
BURST_S2_THREADS=$((BURST_CONNS + 8))
[ "$BURST_S2_THREADS" -gt 1024 ] && BURST_S2_THREADS=1024
N_MAX=${idle_ns[${#idle_ns[@]} - 1]}
[ "$BURST_CONNS" -gt "$N_MAX" ] && N_MAX=$BURST_CONNS
MAX_CLIENTS=$((N_MAX + 64))

# ==== Expected duration =======================================================
# Runs counted as the measurements will make them, times an estimate of the
# seconds each takes on a quiet 2-core machine (its own duration, plus
# starting and stopping its server and generator). Printed before starting.
# In tenths of a second, in bash's own arithmetic: this runs before anything.

tour_estimate() {
	local r s n b c t=0 tp cpu aof
	tp=$((10 + 3 * (TP_REQS / 6000 + TP_PIPE_REQS / 60000 + 2)))
	cpu=$((10 + CPU_REQS / 20))
	# three closed-loop tests and the open-loop run, two server starts
	aof=$((3 * AOF_BENCH_MS / 100 + AOF_LOAD_MS / 100 + 12))
	for r in $(seq 1 "$REPS_CLAIM"); do
		for s in "${SERVER_LIST[@]}"; do
			if want idle && in_round "$r" "$IDLE_CLAIM_SERVERS" "$s"; then
				t=$((t + 10))
				for n in "${idle_ns[@]}"; do
					if [ "$r" -le "$REPS_OTHER" ] || idle_claim_cell "$(idle_label_key "$s")" "$n"; then
						t=$((t + 15 + n / 300))
					fi
				done
			fi
			want throughput && in_round "$r" "$TP_CLAIM_SERVERS" "$s" && t=$((t + tp))
			if want modest && in_round "$r" "$MODEST_CLAIM_SERVERS" "$s"; then
				for c in $MODEST_CONNS; do t=$((t + 10 * MODEST_SECONDS + 10)); done
			fi
			want starvation && in_round "$r" "$STARVE_CLAIM_SERVERS" "$s" && t=$((t + 20 * STARVE_SECONDS + 20))
			want cpu && in_round "$r" "$CPU_CLAIM_SERVERS" "$s" && t=$((t + cpu))
			want aof && in_round "$r" "$AOF_CLAIM_SERVERS" "$s" && t=$((t + aof))
		done
		want aof && t=$((t + 2))
		if want bursty; then
			for s in "${BURSTY_SERVERS[@]}"; do
				in_round "$r" "$BURSTY_CLAIM_SERVERS" "$s" || continue
				for b in $BURST_SIZES; do
					if [ "$s" = stage2-pool-default ]; then
						[ "$b" = "$BURST_FAIL_B" ] && t=$((t + 10 * BURST_SECONDS + 30))
					elif [ "$r" -le "$REPS_OTHER" ] || [ "$b" = "$BURST_CLAIM_B" ]; then
						t=$((t + 10 * BURST_SECONDS + 15))
					fi
				done
			done
		fi
		if want reconnect; then
			for s in "${RECONNECT_SERVERS[@]}"; do
				in_round "$r" "$RECONNECT_CLAIM_SERVERS" "$s" && t=$((t + 10 * RECONNECT_SECONDS + 10))
			done
		fi
	done
	echo $(((t + 5) / 10))
}

if [ "$ESTIMATE_ONLY" = 1 ]; then
	e=$(tour_estimate)
	echo "the $SET_NAME set: ${ONLY//,/, } on ${SERVER_LIST[*]}: each claim's cell $REPS_CLAIM runs, the others $REPS_OTHER"
	echo "expected duration: about $e s ($(((e + 59) / 60)) min) on a quiet 2-core machine"
	exit 0
fi

# ==== Results directory =====================================================

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -rf "${OUT:?}/raw" "$OUT/logs" "$OUT/plot" "$OUT/aof"
rm -f "$OUT"/*.csv "$OUT"/*.png "$OUT"/summary.md "$OUT"/run.env
mkdir -p "$OUT/raw" "$OUT/logs"
LOGS=$OUT/logs

# ==== Main ==================================================================

ESTIMATE=$(tour_estimate)
{
	echo "set=$SET_NAME"
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "servers=${SERVER_LIST[*]}"
	echo "measurements=$ONLY"
	echo "redis_note=$REDIS_NOTE"
	echo "fd_limit=$FD_LIMIT"
	echo "idle_ns=${idle_ns[*]}"
	for v in REPS_CLAIM REPS_OTHER TP_CLIENTS TP_PIPELINE TP_REQS TP_PIPE_REQS \
		BURST_CONNS BURST_SIZES BURST_EVERY_MS BURST_SECONDS BURST_FAIL_B BURST_S2_THREADS BURST_COMMAND \
		RECONNECT_RATE RECONNECT_REQUESTS RECONNECT_SECONDS MODEST_CONNS MODEST_RATE MODEST_SECONDS \
		STARVE_SLEEP STARVE_RATE STARVE_CONNS STARVE_SECONDS CPU_CLIENTS CPU_REQS DIGEST_ROUNDS \
		DIGEST_VALUE_BYTES LUA_ROUNDS AOF_FSYNC AOF_CLIENTS AOF_PIPELINE AOF_BENCH_MS AOF_LOAD_MS \
		AOF_DD_WRITES AOF_RATE_SHARE AOF_RATE_MAX AOF_LOAD_CONNS AOF_BYSTANDER_RATE AOF_BYSTANDER_CONNS AOF_BENCH_TIMEOUT \
		STAGE2_LOAD_THREADS LG_DRAIN LG_GRACE BURST_FAIL_GRACE; do
		echo "$(echo "$v" | tr "[:upper:]" "[:lower:]")=${!v}"
	done
	echo "server_cpus=${SERVER_CPUS:-not pinned}"
	echo "loadgen_cpus=${LG_CPUS:-not pinned}"
	echo "cpu_count=$NCPU"
	echo "cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)"
	echo "kernel=$(uname -sr)"
	echo "os=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}")"
	echo "libuv=$(pkg-config --modversion libuv 2>/dev/null || echo '?')"
	echo "redis_server=$(redis-server --version 2>/dev/null | awk '{print $3}' | sed 's/^v=//' | grep . || echo 'not installed')"
	echo "redis_benchmark=$(redis-benchmark --version 2>/dev/null | awk '{print $2}')"
	echo "gnuplot=$(gnuplot --version 2>/dev/null || echo 'not installed')"
	echo "load_start=$(cut -d" " -f1-3 /proc/loadavg)"
	echo "expected_seconds=$ESTIMATE"
} >"$OUT/run.env"

progress "the $SET_NAME set: ${ONLY//,/, } on ${SERVER_LIST[*]}; results in $OUT"
progress "each claim's cell $REPS_CLAIM runs, the others $REPS_OTHER; pinned: server to CPU ${SERVER_CPUS:-none}, load generator to CPU ${LG_CPUS:-none}"
progress "expected duration: about $(((ESTIMATE + 59) / 60)) min (on a quiet 2-core machine)"
for m in idle throughput bursty reconnect modest starvation cpu aof; do
	want "$m" || continue
	cpu_begin
	"measure_$m"
	cpu_end "$m"
done

stop_all
{
	echo "elapsed=$((SECONDS - T0))"
	echo "load_end=$(cut -d" " -f1-3 /proc/loadavg)"
} >>"$OUT/run.env"

python3 "$HERE/report.py" "$OUT"
progress "done in $((SECONDS - T0)) s (expected about $ESTIMATE s): $OUT/summary.md"
