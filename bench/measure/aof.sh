# bench/measure/aof.sh: 8. the append-only file (sourced by tour.sh).
#
# Every server logs every write with appendfsync AOF_FSYNC (always: a
# write's reply only after its bytes are on disk), to a fresh directory
# under OUT/aof/, on the disk the results are on. Each round starts with
# this machine's fsync time, from a well-kept tool: dd writing
# AOF_DD_WRITES blocks of 4 KiB with oflag=dsync (each write returns once
# it is on disk, as an append followed by fdatasync). Then, per server in
# a fresh random order:
#
#   closed loop (redis-benchmark -t set, not pinned, a fresh server):
#     1 client; AOF_CLIENTS clients; AOF_CLIENTS clients at -P AOF_PIPELINE.
#     Each test's request count is sized to take about AOF_BENCH_MS ms on
#     this server, from its requests/s in its previous round (a server
#     that syncs once per SET is a hundred times slower than one that
#     syncs in groups, so no one count suits all).
#   open loop (bench/loadgen, pinned as the latency runs are, a fresh
#     server): SETs at AOF_RATE a second (Poisson, over AOF_LOAD_CONNS
#     connections) for AOF_LOAD_MS ms, and meanwhile a bystander client
#     that only PINGs, AOF_BYSTANDER_RATE a second on AOF_BYSTANDER_CONNS
#     connection(s), its latencies from their scheduled times. AOF_RATE is
#     the same for every server of a run: AOF_RATE_SHARE over the first
#     round's dd time per write (the median of three dd runs; a loop that
#     syncs every SET is busy that share of the time), at most AOF_RATE_MAX.
#
# A stage whose --help has no --appendonly, that does not start with it,
# or whose INFO does not say aof_enabled:1 once started with it, is left
# out (run.env's aof_unsupported), and the tour goes on.

declare -A AOF_RPS AOF_SKIP
AOF_FSYNC_US="" AOF_RATE=""
AOF_HEADER="server,round,test,clients,pipeline,requests,rate,seconds,rps,p50_ms,p99_ms,server_cpu_us_per_req,aof_fsyncs,writes_per_fsync,aof_fsync_max_us,$LG_HEADER,loop_longest_cmd,loop_longest_cmd_us,loop_lag_max_ms,server_cpus,loadgen_cpus"
AOF_NO_LG=$(echo "$LG_HEADER" | tr -cd ,) # the generator's fields, empty (one comma fewer than fields)

# aof_row FIELD...: one row of aof.csv, "-" (INFO had no such line) as empty.
aof_row() {
	local IFS=,
	echo "$*" | sed -e 's/^-,/,/' -e 's/,-,/,,/g' -e 's/,-,/,,/g' -e 's/,-$/,/' >>"$OUT/aof.csv"
}

# aof_delta BEFORE AFTER: AFTER - BEFORE, or nothing when either is "-".
aof_delta() { awk -v a="$1" -v b="$2" 'BEGIN {if (a != "-" && b != "-") print b - a}'; }

# aof_per N FSYNCS: writes per fdatasync, or nothing.
aof_per() { awk -v n="$1" -v d="$2" 'BEGIN {if (d != "" && d > 0 && n != "") printf "%.2f", n / d}'; }

aof_dir() { echo "$OUT/aof/$1"; }

# aof_supported KEY: whether the server's binary has --appendonly.
aof_supported() {
	[ "$1" = redis ] && return 0
	"$(server_argv "$1" | cut -d' ' -f1)" --help 2>&1 | grep -q -- '--appendonly'
}

# aof_dd ROUND: dd's time per synced 4 KiB write, in us, on the results'
# disk; one row of fsync.csv.
aof_dd() {
	local round=$1 f=$OUT/aof/dd.test out secs us
	rm -f "$f"
	out=$(LC_ALL=C bounded 120 dd if=/dev/zero of="$f" bs=4k count="$AOF_DD_WRITES" oflag=dsync 2>&1) || true
	rm -f "$f"
	echo "$out" >"$OUT/raw/aof/dd-round$round.txt"
	secs=$(echo "$out" | awk '/copied/ {for (i = 1; i <= NF; i++) if ($i ~ /^s,?$/) {print $(i - 1); exit}}')
	us=$(awk -v s="${secs:-}" -v n="$AOF_DD_WRITES" 'BEGIN {if (s != "") printf "%.1f", s * 1e6 / n}')
	echo "$round,$AOF_DD_WRITES,4096,${secs:-},${us:-},$AOF_FS" >>"$OUT/fsync.csv"
	echo "${us:-}"
}

# aof_n SERVER TEST PREV-RPS NMIN: the request count for about AOF_BENCH_MS
# ms of TEST: at the server's rate in its last round, or (first round)
# twice the rate of the test before it, or one SET per fsync.
aof_n() {
	local est=${AOF_RPS[$1/$2]:-}
	[ -n "$est" ] || { [ -n "$3" ] && est=$(awk -v r="$3" 'BEGIN {print r * 2}'); }
	[ -n "$est" ] || est=$(awk -v u="${AOF_FSYNC_US:-1000}" 'BEGIN {print 1e6 / (u > 1 ? u : 1)}')
	awk -v r="$est" -v ms="$AOF_BENCH_MS" -v lo="$4" -v hi="$AOF_N_MAX" 'BEGIN {
		n = int(r * ms / 1000); if (n < lo) n = lo; if (n > hi) n = hi; print n }'
}

# aof_info PORT: "fsyncs fsync_max_us longest_cmd longest_cmd_us lag_max_ms"
# from INFO ("-" where the server has no such line).
aof_info() {
	bounded 3 redis-cli -h 127.0.0.1 -p "$1" INFO 2>/dev/null | tr -d '\r' | awk -F: '
		{v[$1] = $2}
		END {
			n = split("aof_fsyncs aof_fsync_max_us loop_longest_cmd loop_longest_cmd_us loop_lag_max_ms", k, " ")
			for (i = 1; i <= n; i++) printf "%s%s", (k[i] in v ? v[k[i]] : "-"), (i < n ? " " : "\n")
		}' || echo "- - - - -"
}

# aof_start KEY CPUS DIR: start_server with an append-only file in DIR,
# and whether it logs its writes; a server that does not start so, or
# whose INFO does not say aof_enabled:1, is stopped and left out of the
# rest of the measurement.
aof_start() {
	local on
	if ! start_server "$1" "$2" "$3"; then
		AOF_SKIP[$1]="it did not start with --appendonly (see logs/$1.log)"
		progress "aof  $1: ${AOF_SKIP[$1]}: left out"
		return 1
	fi
	on=$(info_field "${PORT[$1]}" aof_enabled)
	[ "$on" = 1 ] && return 0
	stop_server "$1"
	AOF_SKIP[$1]="started with --appendonly, its INFO says aof_enabled:${on:-(none)}"
	progress "aof  $1: ${AOF_SKIP[$1]}: left out"
	return 1
}

aof_closed() { # aof_closed KEY ROUND
	local s=$1 round=$2 dir port pid test c p n f t0 t1 i0 i1 d fmax cpu_us per rc prev="" line=""
	local rps p50 p99
	dir=$(aof_dir "$s-round$round-closed")
	aof_start "$s" "" "$dir" || return 1
	port=${PORT[$s]} pid=${PID[$s]}
	for test in set-c1 set-c$AOF_CLIENTS set-c$AOF_CLIENTS-P$AOF_PIPELINE; do
		case "$test" in
		set-c1) c=1 p=1 n=$(aof_n "$s" "$test" "" "$AOF_N_MIN_1") ;;
		*-P*) c=$AOF_CLIENTS p=$AOF_PIPELINE n=$(aof_n "$s" "$test" "$prev" "$AOF_N_MIN_PIPE") ;;
		*) c=$AOF_CLIENTS p=1 n=$(aof_n "$s" "$test" "$prev" "$AOF_N_MIN") ;;
		esac
		f=$OUT/raw/aof/$s-$test-round$round.csv
		read -r i0 _ < <(aof_info "$port")
		t0=$(cpu_ticks "$pid")
		rc=0
		BENCH_TIMEOUT=$AOF_BENCH_TIMEOUT bench "$port" "$f" -c "$c" -n "$n" -P "$p" -t set || rc=$?
		if [ "$rc" = 0 ] && read -r rps _ _ p50 _ p99 _ < <(bench_fields "$f" ""); then
			t1=$(cpu_ticks "$pid")
			read -r i1 fmax _ < <(aof_info "$port")
			cpu_us=$(awk -v d=$((t1 - t0)) -v hz="$TICK_HZ" -v n="$n" 'BEGIN { printf "%.3f", d * 1e6 / hz / n }')
			d=$(aof_delta "$i0" "$i1")
			per=$(aof_per "$n" "$d")
			aof_row "$s" "$round" "$test" "$c" "$p" "$n" "" "" "$rps" "$p50" "$p99" "$cpu_us" "$d" "$per" "$fmax" \
				"$AOF_NO_LG" "" "" "" none none
			AOF_RPS[$s/$test]=$rps prev=$rps
			line="$line  $(printf '%s %.0f/s' "$test" "$rps")${per:+ ($per per fsync)}"
		else
			aof_row "$s" "$round" "$test" "$c" "$p" "$n" "" "" "" "" "" "" "" "" "" "$AOF_NO_LG" "" "" "" none none
			line="$line  $test FAILED (exit $rc)"
			if [ "$rc" = 124 ]; then
				# a server that stops answering would cost every later round the limit
				AOF_SKIP[$s]="$n SETs ($test) took over ${AOF_BENCH_TIMEOUT} s in round $round"
				break
			fi
		fi
	done
	stop_server "$s"
	rm -rf "$dir"
	progress "aof round $round  $s:$line"
	[ -z "${AOF_SKIP[$s]:-}" ]
}

aof_open() { # aof_open KEY ROUND
	local s=$1 round=$2 dir port f=$OUT/raw/aof/$1-round$2 secs rc_set=0 rc_ping=0 pid_set pid_ping
	local i0 i1 d fmax cmd cmd_us lag per
	dir=$(aof_dir "$s-round$round-open")
	aof_start "$s" "$SERVER_CPUS" "$dir" || return 1
	port=${PORT[$s]}
	secs=$(awk -v ms="$AOF_LOAD_MS" 'BEGIN {print ms / 1000}')
	read -r i0 _ < <(aof_info "$port")
	lg_start "$f-set.out" "$f-set.err" --port "$port" --connections "$AOF_LOAD_CONNS" --rate "$AOF_RATE" \
		--duration "$secs" --command "SET tour:aof $AOF_VALUE"
	pid_set=$LG_PID
	lg_start "$f-ping.out" "$f-ping.err" --port "$port" --connections "$AOF_BYSTANDER_CONNS" \
		--rate "$AOF_BYSTANDER_RATE" --duration "$secs" --command PING
	pid_ping=$LG_PID
	wait "$pid_ping" || rc_ping=$?
	untrack "$pid_ping"
	wait "$pid_set" || rc_set=$?
	untrack "$pid_set"
	LG_PID=""
	read -r i1 fmax cmd cmd_us lag < <(aof_info "$port")
	stop_server "$s"
	rm -rf "$dir"
	d=$(aof_delta "$i0" "$i1")
	per=$(aof_per "$(lg_line "$f-set.out" | tr ' ' '\n' | awk -F= '$1 == "completed" {print $2}')" "$d")
	[ "$cmd" = - ] && cmd_us=-
	aof_row "$s" "$round" open-set "$AOF_LOAD_CONNS" 1 "" "$AOF_RATE" "$secs" "" "" "" "" "$d" "$per" "$fmax" \
		"$(lg_csv "$f-set.out" "$rc_set")" "$cmd" "$cmd_us" "$lag" "${SERVER_CPUS:-none}" "${LG_CPUS:-none}"
	aof_row "$s" "$round" open-ping "$AOF_BYSTANDER_CONNS" 1 "" "$AOF_BYSTANDER_RATE" "$secs" "" "" "" "" "" "" "" \
		"$(lg_csv "$f-ping.out" "$rc_ping")" "" "" "" "${SERVER_CPUS:-none}" "${LG_CPUS:-none}"
	progress "aof round $round  $s: $AOF_RATE SET/s open loop: SET p99 $(lg_p99 "$f-set.out"), bystander PING p99 $(lg_p99 "$f-ping.out")$([ "$cmd" = - ] || echo "; longest on the loop: $cmd $cmd_us us")"
}

measure_aof() {
	local round s us skipped=""
	mkdir -p "$OUT/raw/aof" "$OUT/aof"
	AOF_FS=$(df -P -T "$OUT" 2>/dev/null | awk 'NR == 2 {print $2}')
	[ -n "$AOF_FS" ] || AOF_FS=$(stat -f -c %T "$OUT" 2>/dev/null || echo unknown)
	echo "round,writes,bytes_per_write,seconds,us_per_write,fs_type" >"$OUT/fsync.csv"
	echo "$AOF_HEADER" >"$OUT/aof.csv"
	for s in "${SERVER_LIST[@]}"; do
		aof_supported "$s" || AOF_SKIP[$s]="its --help has no --appendonly"
	done
	for round in $(seq 1 "$REPS_CLAIM"); do
		us=$(aof_dd "$round")
		if [ -z "$AOF_RATE" ]; then
			# the rate rests on the median of three: one dd that another
			# writer slowed down would set it far too low
			us=$(printf '%s\n' "$us" "$(aof_dd "$round")" "$(aof_dd "$round")" | sort -g | sed -n 2p)
			AOF_FSYNC_US=$us
			AOF_RATE=$(awk -v u="$us" -v share="$AOF_RATE_SHARE" -v hi="$AOF_RATE_MAX" -v lo="$AOF_RATE_MIN" 'BEGIN {
				r = (u > 0 ? share * 1e6 / u : hi); if (r > hi) r = hi; if (r < lo) r = lo; print int(r) }')
			progress "aof: dd: ${us:-?} us per synced 4 KiB write on $AOF_FS ($OUT, the median of three); the open-loop SET rate: $AOF_RATE/s"
		fi
		for s in $(shuffled "${SERVER_LIST[@]}"); do
			[ -z "${AOF_SKIP[$s]:-}" ] || continue
			in_round "$round" "$AOF_CLAIM_SERVERS" "$s" || continue
			aof_closed "$s" "$round" || continue
			aof_open "$s" "$round" || true
		done
	done
	rm -rf "$OUT/aof"
	for s in "${SERVER_LIST[@]}"; do
		[ -n "${AOF_SKIP[$s]:-}" ] || continue
		skipped="$skipped${skipped:+; }$s: ${AOF_SKIP[$s]}"
		progress "aof  $s not measured: ${AOF_SKIP[$s]}"
	done
	{
		echo "aof_fs=$AOF_FS"
		echo "aof_rate=$AOF_RATE"
		echo "aof_unsupported=$skipped"
	} >>"$OUT/run.env"
}
