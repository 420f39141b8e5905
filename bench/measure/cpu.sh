# bench/measure/cpu.sh: 5. CPU-bound work (sourced by tour.sh).
#
# DIGEST hashes a value many times over: pure CPU, no I/O. From 1, 2 and 4
# concurrent clients (redis-benchmark, closed loop: each client sends its
# next DIGEST when the last is answered). Never pinned: the claim is about
# a server using every core. Redis has no DIGEST and runs a Lua loop of
# about the same length instead; only its speed-up is comparable.

cpu_one() { # cpu_one SERVER ROUND
	local s=$1 round=$2 raw=$OUT/raw/cpu port f c work value line=""
	local rps avg min p50 p95 p99 max
	value=$(head -c "$DIGEST_VALUE_BYTES" /dev/zero | tr '\0' x)
	start_server "$s"
	port=${PORT[$s]}
	cli "$port" SET tour:digest "$value" >/dev/null || die "SET failed on $s"
	for c in $CPU_CLIENTS; do
		f=$raw/$s-c$c-round$round.csv
		if [ "$s" = redis ]; then
			work="lua x$LUA_ROUNDS"
			bench "$port" "$f" -c "$c" -n "$CPU_REQS" EVAL "$LUA_BURN" 1 tour:digest "$LUA_ROUNDS" || true
		else
			work="DIGEST x$DIGEST_ROUNDS"
			bench "$port" "$f" -c "$c" -n "$CPU_REQS" DIGEST tour:digest "$DIGEST_ROUNDS" || true
		fi
		if read -r rps avg min p50 p95 p99 max < <(bench_fields "$f" ""); then
			echo "$s,$round,$work,$c,$CPU_REQS,$rps,$avg,$min,$p50,$p95,$p99,$max" >>"$OUT/cpu.csv"
			line="$line  $c: $(printf '%.0f/s' "$rps")"
		else
			echo "$s,$round,$work,$c,$CPU_REQS,,,,,,," >>"$OUT/cpu.csv"
			line="$line  $c: FAILED"
		fi
	done
	stop_server "$s"
	progress "cpu round $round  $s ($work) by clients:$line"
}

measure_cpu() {
	local round s
	mkdir -p "$OUT/raw/cpu"
	echo "server,round,work,clients,requests,rps,avg_ms,min_ms,p50_ms,p95_ms,p99_ms,max_ms" >"$OUT/cpu.csv"
	for round in $(seq 1 "$REPS_CLAIM"); do
		for s in $(shuffled "${SERVER_LIST[@]}"); do
			in_round "$round" "$CPU_CLAIM_SERVERS" "$s" || continue
			cpu_one "$s" "$round"
		done
	done
}
