# bench/measure/throughput.sh: 2. peak throughput (sourced by tour.sh).
#
# redis-benchmark, a closed loop: the right tool for the most requests a
# server can answer (it sends the next request as soon as a reply is in).
# Each round, each server in a fresh random order is started afresh and
# runs every test, unpipelined and pipelined; the server's CPU time per
# request is read from /proc around each test. Not pinned: the throughput
# of the threaded stages is about using every core.

throughput_one() { # throughput_one SERVER ROUND
	local s=$1 round=$2 raw=$OUT/raw/throughput port pid pipe reqs test f t0 t1 cpu_us line=""
	local rps avg min p50 p95 p99 max
	start_server "$s"
	port=${PORT[$s]} pid=${PID[$s]}
	for pipe in 1 "$TP_PIPELINE"; do
		reqs=$TP_REQS
		[ "$pipe" -gt 1 ] && reqs=$TP_PIPE_REQS
		for test in $(echo "$TP_TESTS" | tr ',' ' '); do
			f=$raw/$s-P$pipe-$test-round$round.csv
			t0=$(cpu_ticks "$pid")
			if bench "$port" "$f" -c "$TP_CLIENTS" -n "$reqs" -P "$pipe" -t "$test" &&
				read -r rps avg min p50 p95 p99 max < <(bench_fields "$f" ""); then
				t1=$(cpu_ticks "$pid")
				cpu_us=$(awk -v d=$((t1 - t0)) -v hz="$TICK_HZ" -v n="$reqs" 'BEGIN { printf "%.3f", d * 1e6 / hz / n }')
				echo "$s,$round,$pipe,$(echo "$test" | tr '[:lower:]' '[:upper:]'),$rps,$avg,$min,$p50,$p95,$p99,$max,$cpu_us" >>"$OUT/throughput.csv"
				line="$line  $(printf '%s%s %.0f/s' "$test" "$([ "$pipe" = 1 ] || echo " -P$pipe")" "$rps")"
			else
				echo "$s,$round,$pipe,$(echo "$test" | tr '[:lower:]' '[:upper:]'),,,,,,,," >>"$OUT/throughput.csv"
				line="$line  $test FAILED"
			fi
		done
	done
	stop_server "$s"
	progress "throughput round $round  $s:$line"
}

measure_throughput() {
	local round s
	mkdir -p "$OUT/raw/throughput"
	echo "server,round,pipeline,test,rps,avg_ms,min_ms,p50_ms,p95_ms,p99_ms,max_ms,server_cpu_us_per_req" >"$OUT/throughput.csv"
	for round in $(seq 1 "$REPS_CLAIM"); do
		for s in $(shuffled "${SERVER_LIST[@]}"); do
			in_round "$round" "$TP_CLAIM_SERVERS" "$s" || continue
			throughput_one "$s" "$round"
		done
	done
}
