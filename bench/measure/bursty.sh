# bench/measure/bursty.sh: 3. bursts on persistent connections, the seed's
# own scenario (sourced by tour.sh).
#
# bench/loadgen opens BURST_CONNS persistent connections that stay idle,
# and every BURST_EVERY_MS milliseconds sends one request on each of B of
# them chosen at random, all at once, for BURST_SECONDS: open loop, each
# latency counted from the request's scheduled time. One fresh server per
# run; server and generator pinned to different CPUs (LG_CPUS, SERVER_CPUS).
#
# Besides the latency, the mechanism: how long the server's threads waited
# in the scheduler's run queue, and how often they were switched out
# involuntarily, per burst (/proc/PID/task/*/schedstat and status, read
# once every connection is up and again just before the schedule ends).
#
# Stage 2 runs as stage2-pool-wide (a worker per connection) for every B,
# and with its default pool (stage2-pool-default) at BURST_FAIL_B, where
# most connections are never served: that row is a failure, not a latency.

bursty_one() { # bursty_one KEY B ROUND
	local key=$1 b=$2 round=$3 raw=$OUT/raw/bursty pid port base held rc=0 s s0 s1 t0 f
	# Most of the default pool's connections are never answered: the
	# generator is not kept waiting for them long after the schedule.
	local LG_GRACE=$LG_GRACE
	[ "$key" = stage2-pool-default ] && LG_GRACE=$BURST_FAIL_GRACE
	start_server "$key" "$SERVER_CPUS"
	pid=${PID[$key]} port=${PORT[$key]}
	base=$(fd_count "$pid")
	f=$raw/$key-b$b-round$round
	lg_start "$f.out" "$f.err" --port "$port" --connections "$BURST_CONNS" \
		--burst "$b" --every "$BURST_EVERY_MS" --duration "$BURST_SECONDS" --command "$BURST_COMMAND"
	# The mechanism counters start once every connection is up (or the
	# server stops taking more: stage 2's default pool refuses the rest).
	held=$(wait_held "$pid" "$base" "$BURST_CONNS" 10)
	s0=$(sched_snapshot "$pid")
	t0=${s0%% *}
	# ...and end with the schedule, before the generator closes its
	# connections (stage 1's threads exit with them, and their counters
	# with the threads): sampled every 0.25 s, the last sample kept that
	# still has every thread of the first.
	s1=$s0
	while kill -0 "$LG_PID" 2>/dev/null &&
		awk -v a="$t0" -v b="$(date +%s.%N)" -v d="$BURST_SECONDS" 'BEGIN { exit !(b - a < d - 0.35) }'; do
		sleep 0.2
		s=$(sched_snapshot "$pid")
		[ "${s##* }" -ge "${s0##* }" ] || break
		s1=$s
	done
	lg_wait || rc=$?
	stop_server "$key"
	echo "$key,$b,$BURST_EVERY_MS,$BURST_CONNS,$BURST_SECONDS,$round,$held,$s0,$s1,$(lg_csv "$f.out" "$rc"),${SERVER_CPUS:-none},${LG_CPUS:-none}" |
		tr ' ' ',' >>"$OUT/bursty.csv"
	progress "bursty round $round  $key  B=$b: $(lg_line "$f.out" | cut -c1-120) (exit $rc)"
}

measure_bursty() {
	local round s b
	mkdir -p "$OUT/raw/bursty"
	echo "server,burst,every_ms,connections,seconds,round,held,t0,runq_wait_ns0,nvcsw0,threads0,t1,runq_wait_ns1,nvcsw1,threads1,$LG_HEADER,server_cpus,loadgen_cpus" >"$OUT/bursty.csv"
	for round in $(seq 1 "$REPS_CLAIM"); do
		for s in $(shuffled "${BURSTY_SERVERS[@]}"); do
			in_round "$round" "$BURSTY_CLAIM_SERVERS" "$s" || continue
			for b in $BURST_SIZES; do
				[ "$s" = stage2-pool-default ] && [ "$b" != "$BURST_FAIL_B" ] && continue
				# The claims rest on the largest burst (and the default
				# pool's one): smaller ones run REPS_OTHER rounds.
				if [ "$round" -gt "$REPS_OTHER" ] && [ "$b" != "$BURST_CLAIM_B" ] &&
					[ "$s" != stage2-pool-default ]; then
					continue
				fi
				bursty_one "$s" "$b" "$round"
			done
		done
	done
}
