# bench/lib/servers.sh: starting and stopping the servers (sourced by tour.sh).
#
# A server is named by a key: a stage's folder name, "redis", or one of the
# stage 2 variants below. Every run starts its own server and stops it
# after (start_server / stop_server), so that nothing one run leaves (keys,
# threads, allocator state) carries over into the next.
#
#   stage2-pool          --threads STAGE2_LOAD_THREADS: as many workers as
#                        the load runs have clients (64 >= 50)
#   stage2-pool-default  its default pool (16 workers, a queue of 256)
#   stage2-pool-wide     --threads BURST_S2_THREADS: a worker for each of
#                        the bursty run's persistent connections

declare -A PORT PID

fd_count() { ls -U "/proc/$1/fd" 2>/dev/null | wc -l; }

# Prints "VmRSS VmSize Threads" (kB kB count) of a process.
proc_status() {
	awk '/^VmRSS:/ {r = $2} /^VmSize:/ {v = $2} /^Threads:/ {t = $2}
	     END {print r + 0, v + 0, t + 0}' "/proc/$1/status"
}

cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

# CPU time a process has used so far, threads that ended included: utime +
# stime from /proc/PID/stat, in clock ticks.
cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }

# The scheduler's view of a process's threads, summed over
# /proc/PID/task/*: "TIME RUNQ_WAIT_NS NONVOLUNTARY_SWITCHES THREADS". The
# wait is the time its threads were runnable but waiting for a CPU
# (schedstat's second field); a nonvoluntary switch is a thread taken off a
# CPU while it still had work. One awk over every file (a thousand threads
# take a tenth of a second to read), TIME the middle of the read; tried
# again if a thread ended while it read.
sched_snapshot() {
	local t0 t1 v try
	for try in 1 2 3; do
		t0=$(date +%s.%N)
		if v=$(awk '/^nonvoluntary_ctxt_switches/ {n += $2; next}
			FILENAME ~ /schedstat$/ {w += $2; t++}
			END {printf "%.0f %d %d", w, n, t}' /proc/"$1"/task/*/schedstat /proc/"$1"/task/*/status 2>/dev/null); then
			t1=$(date +%s.%N)
			echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f", (a + b) / 2}') $v"
			return 0
		fi
	done
	echo "$(date +%s.%N) 0 0 0"
}

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

# info_field PORT FIELD: one field of the server's INFO, or nothing (also
# when it does not answer within 3 s: stage 2 with every worker pinned).
info_field() {
	bounded 3 redis-cli -h 127.0.0.1 -p "$1" INFO 2>/dev/null | tr -d '\r' |
		awk -F: -v f="$2" '$1 == f {print $2; exit}' || true
}

redis_pid() { info_field "$1" process_id; }

# The command line a server key runs as (the binary and its own options).
server_argv() {
	case "$1" in
	stage2-pool) echo "$BIN_DIR/stage2-pool --threads $STAGE2_LOAD_THREADS" ;;
	stage2-pool-default) echo "$BIN_DIR/stage2-pool" ;;
	stage2-pool-wide) echo "$BIN_DIR/stage2-pool --threads $BURST_S2_THREADS" ;;
	*) echo "$BIN_DIR/$1" ;;
	esac
}

# pinned CPUS CMD...: runs CMD on the given CPUs (taskset), or as it is
# when CPUS is empty.
pinned() {
	local cpus=$1
	shift
	if [ -n "$cpus" ]; then exec taskset -c "$cpus" "$@"; else exec "$@"; fi
}

# start_server KEY [CPUS] [AOF-DIR]: starts the server on an ephemeral port
# (pinned to CPUS when given) and waits until it answers; sets PID[KEY] and
# PORT[KEY]. With AOF-DIR (the AOF measurement), the server logs every
# write there with appendfsync AOF_FSYNC: a stage to AOF-DIR/appendonly.aof,
# Redis to its own file (Redis 7: a manifest and its parts in
# AOF-DIR/appendonlydir/), never rewriting it, as the stages do not; a
# stage that does not start so returns 1 instead of ending the tour.
start_server() {
	local key=$1 cpus=${2:-} aof=${3:-} pid port="" line log=$LOGS/$1.log try i
	local aof_args=() redis_aof=(--appendonly no --dir "$LOGS")
	if [ -n "$aof" ]; then
		mkdir -p "$aof"
		aof_args=(--appendonly "$aof/appendonly.aof" --appendfsync "$AOF_FSYNC")
		redis_aof=(--appendonly yes --appendfsync "$AOF_FSYNC" --auto-aof-rewrite-percentage 0 --dir "$aof")
	fi
	if [ "$key" != redis ]; then
	# shellcheck disable=SC2046 # server_argv is words on purpose
		(pinned "$cpus" $(server_argv "$key") --port 0 --max-clients "$MAX_CLIENTS" "${aof_args[@]+"${aof_args[@]}"}") \
			>"$LOGS/$key.out" 2>>"$log" &
		pid=$!
		track "$pid"
		if line=$("$ROOT/scripts/wait-listening" "$LOGS/$key.out" "$pid" 10 2>/dev/null); then
			port=${line##*:}
		fi
		if [ -z "$port" ] && [ -n "$aof" ]; then
			# a stage that refuses --appendonly: the AOF measurement leaves it out
			stop_tracked "$pid"
			return 1
		fi
		[ -n "$port" ] || die "$key did not start (see $log): $(tail -n 3 "$log")"
		PID[$key]=$pid
		PORT[$key]=$port
		return 0
	fi
	for try in 1 2 3 4 5; do
		port=$(free_port) || die "no free port found for redis-server"
		(pinned "$cpus" redis-server --port "$port" --bind 127.0.0.1 --save '' "${redis_aof[@]}" \
			--enable-debug-command yes --daemonize no --maxclients "$MAX_CLIENTS" \
			--logfile '') >>"$log" 2>&1 &
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
		stop_tracked "$pid"
	done
	die "redis-server did not start (see $log): $(tail -n 3 "$log")"
}

stop_server() {
	stop_tracked "${PID[$1]:-}"
	PID[$1]=""
	PORT[$1]=""
}

# The servers of one round, in a fresh random order: shuffled so that a
# slow moment of the machine, or a trend across the run, does not always
# land on the same server.
shuffled() { printf '%s\n' "$@" | shuf; }

# in_round ROUND CLAIM-SERVERS SERVER: whether SERVER runs in this round. A
# server a claim rests on runs REPS_CLAIM rounds, the others REPS_OTHER.
in_round() {
	case " $2 " in
	*" $3 "*) [ "$1" -le "$REPS_CLAIM" ] ;;
	*) [ "$1" -le "$REPS_OTHER" ] ;;
	esac
}

# ==== redis-benchmark =========================================================

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

# ==== The load generator ======================================================

# lg_start RAW ERR ARGS...: starts bench/loadgen (pinned to LG_CPUS for the
# latency runs) in the background, its output to RAW and ERR; sets LG_PID.
# After the schedule it waits LG_DRAIN seconds for the last replies; the
# run's time limit is its --duration plus LG_GRACE seconds.
LG_PID=""
lg_start() {
	local raw=$1 err=$2 dur=1 a prev=""
	shift 2
	for a in "$@"; do
		[ "$prev" = --duration ] && dur=$a
		prev=$a
	done
	(pinned "$LG_CPUS" timeout "$(awk -v d="$dur" -v g="$LG_GRACE" 'BEGIN {print int(d + g + 0.999)}')" \
		"$LOADGEN_BIN" --seed "$((RANDOM * 32768 + RANDOM))" --drain "$LG_DRAIN" "$@") >"$raw" 2>"$err" &
	LG_PID=$!
	track "$LG_PID"
}

# lg_wait: waits for the generator started last; returns its status.
lg_wait() {
	local rc=0
	wait "$LG_PID" || rc=$?
	untrack "$LG_PID"
	LG_PID=""
	return "$rc"
}

# lg_run RAW ERR ARGS...: lg_start and lg_wait.
lg_run() {
	lg_start "$@"
	lg_wait
}

LG_FIELDS="sent completed errors p50_us p90_us p99_us p999_us max_us late max_late_us"
LG_HEADER="sent,completed,errors,p50_us,p90_us,p99_us,p999_us,max_us,late,max_late_us,lg_status"

# lg_line RAW: the generator's result line ("sent=N completed=N ..."): the
# last such line of its output RAW, or of its errors (RAW's .err).
lg_line() { cat "$1" "${1%.out}.err" 2>/dev/null | grep -E '(^| )sent=[0-9]' | tail -n 1 || true; }

# lg_csv RAW STATUS: the generator's result line as CSV fields, in
# LG_HEADER's order (empty where a field is missing), then its exit status.
lg_csv() {
	lg_line "$1" | awk -v want="$LG_FIELDS" -v rc="$2" '{
		for (i = 1; i <= NF; i++) { k = $i; sub(/=.*/, "", k); v = $i; sub(/^[^=]*=/, "", v); f[k] = v }
	} END {
		n = split(want, w, " "); line = ""
		for (i = 1; i <= n; i++) line = line (w[i] in f ? f[w[i]] : "") ","
		print line rc
	}'
}
