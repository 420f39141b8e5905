# bench/measure/reconnect.sh: 4. bursty, reconnecting clients (sourced by
# tour.sh).
#
# bench/loadgen's sessions mode: sessions arrive open-loop (Poisson, at
# RECONNECT_RATE a second); each connects, sends RECONNECT_REQUESTS
# requests one after the other and closes. A session's first latency
# includes its connect, and for stage 1 the thread it creates. One fresh
# server per run, pinned away from the generator.

reconnect_one() { # reconnect_one KEY ROUND
	local key=$1 round=$2 f=$OUT/raw/reconnect/$1-round$2 rc=0
	start_server "$key" "$SERVER_CPUS"
	lg_run "$f.out" "$f.err" --port "${PORT[$key]}" --sessions-rate "$RECONNECT_RATE" \
		--requests-per-session "$RECONNECT_REQUESTS" --duration "$RECONNECT_SECONDS" --command "$BURST_COMMAND" || rc=$?
	stop_server "$key"
	echo "$key,$RECONNECT_RATE,$RECONNECT_REQUESTS,$RECONNECT_SECONDS,$round,$(lg_csv "$f.out" "$rc"),${SERVER_CPUS:-none},${LG_CPUS:-none}" >>"$OUT/reconnect.csv"
	progress "reconnect round $round  $key: $(lg_line "$f.out" | cut -c1-120) (exit $rc)"
}

measure_reconnect() {
	local round s
	mkdir -p "$OUT/raw/reconnect"
	echo "server,sessions_per_s,requests_per_session,seconds,round,$LG_HEADER,server_cpus,loadgen_cpus" >"$OUT/reconnect.csv"
	for round in $(seq 1 "$REPS_CLAIM"); do
		for s in $(shuffled "${RECONNECT_SERVERS[@]}"); do
			in_round "$round" "$RECONNECT_CLAIM_SERVERS" "$s" || continue
			reconnect_one "$s" "$round"
		done
	done
}
