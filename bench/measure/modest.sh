# bench/measure/modest.sh: 5. modest concurrency (sourced by tour.sh).
#
# The seed's "simple request/response service with a few dozen clients":
# MODEST_CONNS persistent connections (each count a run of its own),
# requests arriving open-loop at MODEST_RATE a second in total (Poisson),
# well under any server's capacity. One fresh server per run, pinned away
# from the generator.

modest_one() { # modest_one KEY CONNECTIONS ROUND
	local key=$1 c=$2 round=$3 f=$OUT/raw/modest/$1-c$2-round$3 rc=0
	start_server "$key" "$SERVER_CPUS"
	lg_run "$f.out" "$f.err" --port "${PORT[$key]}" --connections "$c" --rate "$MODEST_RATE" \
		--duration "$MODEST_SECONDS" --command "$BURST_COMMAND" || rc=$?
	stop_server "$key"
	echo "$key,$c,$MODEST_RATE,$MODEST_SECONDS,$round,$(lg_csv "$f.out" "$rc"),${SERVER_CPUS:-none},${LG_CPUS:-none}" >>"$OUT/modest.csv"
	progress "modest round $round  $key  C=$c: $(lg_line "$f.out" | cut -c1-120) (exit $rc)"
}

measure_modest() {
	local round s c
	mkdir -p "$OUT/raw/modest"
	echo "server,connections,rate,seconds,round,$LG_HEADER,server_cpus,loadgen_cpus" >"$OUT/modest.csv"
	for round in $(seq 1 "$REPS_CLAIM"); do
		for s in $(shuffled "${SERVER_LIST[@]}"); do
			in_round "$round" "$MODEST_CLAIM_SERVERS" "$s" || continue
			for c in $MODEST_CONNS; do modest_one "$s" "$c" "$round"; done
		done
	done
}
