# bench/measure/starvation.sh: 6. one slow command against everybody else
# (sourced by tour.sh).
#
# One client runs `DEBUG SLEEP STARVE_SLEEP` in a loop (redis-benchmark);
# meanwhile bench/loadgen sends PINGs open-loop at STARVE_RATE a second
# over STARVE_CONNS connections, each latency from its scheduled time, so
# a PING due during a sleep counts all of its wait. The same PINGs with no
# sleeper, on the same fresh server just before, are the baseline. Server
# pinned away from the generator and the sleeper.

starvation_one() { # starvation_one KEY ROUND
	local key=$1 round=$2 f=$OUT/raw/starvation/$1-round$2 port spid rc lag0 lag1
	start_server "$key" "$SERVER_CPUS"
	port=${PORT[$key]}
	rc=0
	lg_run "$f-baseline.out" "$f-baseline.err" --port "$port" --connections "$STARVE_CONNS" \
		--rate "$STARVE_RATE" --duration "$STARVE_SECONDS" || rc=$?
	echo "$key,$round,baseline,$STARVE_RATE,$STARVE_SECONDS,$(lg_csv "$f-baseline.out" "$rc"),,,${SERVER_CPUS:-none},${LG_CPUS:-none}" >>"$OUT/starvation.csv"
	# INFO loop_lag_max_ms (stages 3 and 4) is a maximum since start: read
	# it before and after, to tell the run's own stall apart.
	lag0=$(info_field "$port" loop_lag_max_ms)
	(pinned "$LG_CPUS" redis-benchmark -h 127.0.0.1 -p "$port" -c 1 -n 1000000 DEBUG SLEEP "$STARVE_SLEEP") \
		>"$LOGS/sleeper-$key-round$round.log" 2>&1 &
	spid=$!
	track "$spid"
	sleep 0.3
	rc=0
	lg_run "$f-sleeping.out" "$f-sleeping.err" --port "$port" --connections "$STARVE_CONNS" \
		--rate "$STARVE_RATE" --duration "$STARVE_SECONDS" || rc=$?
	stop_tracked "$spid"
	lag1=$(info_field "$port" loop_lag_max_ms)
	stop_server "$key"
	echo "$key,$round,sleeping,$STARVE_RATE,$STARVE_SECONDS,$(lg_csv "$f-sleeping.out" "$rc"),$lag0,$lag1,${SERVER_CPUS:-none},${LG_CPUS:-none}" >>"$OUT/starvation.csv"
	progress "starvation round $round  $key: without $(lg_p99 "$f-baseline.out"), with the sleeper $(lg_p99 "$f-sleeping.out") (p99)"
}

lg_p99() { lg_line "$1" | tr ' ' '\n' | awk -F= '$1 == "p99_us" {printf "%.3f ms", $2 / 1000; f = 1} END {if (!f) printf "-"}'; }

measure_starvation() {
	local round s
	mkdir -p "$OUT/raw/starvation"
	echo "server,round,phase,rate,seconds,$LG_HEADER,loop_lag_max_before_ms,loop_lag_max_after_ms,server_cpus,loadgen_cpus" >"$OUT/starvation.csv"
	for round in $(seq 1 "$REPS_CLAIM"); do
		for s in $(shuffled "${SERVER_LIST[@]}"); do
			in_round "$round" "$STARVE_CLAIM_SERVERS" "$s" || continue
			starvation_one "$s" "$round"
		done
	done
}
