# bench/measure/idle.sh: 1. idle memory (sourced by tour.sh).
#
# For each round, each server in a fresh random order, freshly started:
# its RSS with no connection, then with N idle connections held open by
# `redis-benchmark -I` (bench/idle_hold where that gives up), for each N of
# IDLE_NS. Memory is not a latency: nothing is pinned.

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
	stop_tracked "$hpid"
	while [ "$(fd_count "$pid")" -gt "$base" ] && [ $((SECONDS - t)) -lt 20 ]; do sleep 0.2; done
}

idle_label_key() { if [ "$1" = stage2-pool ]; then echo stage2-pool-default; else echo "$1"; fi; }

idle_claim_cell() { # idle_claim_cell KEY N
	if [ "$1" = stage2-pool-default ]; then
		[ "$2" = "${idle_ns[0]}" ]
	else
		[ "$2" = "${idle_ns[${#idle_ns[@]} - 1]}" ]
	fi
}

idle_one() { # idle_one SERVER ROUND: one server's run, every N
	local s=$1 round=$2 key pid port base rss0 n held rss vsz thr per hpid check tool note log
	key=$(idle_label_key "$s")
	start_server "$key"
	pid=${PID[$key]} port=${PORT[$key]}
	cli "$port" PING >/dev/null 2>&1 || true
	sleep 0.5
	base=$(fd_count "$pid")
	read -r rss0 _ _ < <(proc_status "$pid")
	for n in "${idle_ns[@]}"; do
		# The claims rest on stage 2's smallest N and everybody else's
		# largest: the other cells run REPS_OTHER rounds only.
		if [ "$round" -gt "$REPS_OTHER" ] && ! idle_claim_cell "$key" "$n"; then
			continue
		fi
		hpid="" tool="redis-benchmark -I" note=""
		log=$LOGS/idle-$key-$n.log
		redis-benchmark -h 127.0.0.1 -p "$port" -c "$n" -I >"$log" 2>&1 &
		hpid=$!
		track "$hpid"
		held=$(wait_held "$pid" "$base" "$n" $((n / 200 + 20)))
		sleep 0.5 # let threads and allocations settle
		if ! kill -0 "$hpid" 2>/dev/null; then
			# redis-benchmark -I exits at the first error reply (a server
			# refusing clients), dropping every connection.
			note="redis-benchmark -I quit: $(tr '\r' '\n' <"$log" | grep -v -e '^Creating' -e '^clients:' -e '^$' | head -n 1 | tr -d ',' | cut -c1-80)"
			stop_idle "$hpid" "$pid" "$base"
			hpid=""
			if [ -x "$HOLD_BIN" ]; then
				tool="idle_hold"
				log=$LOGS/idle-$key-$n-hold.log
				"$HOLD_BIN" -h 127.0.0.1 -p "$port" -c "$n" >"$log" 2>&1 &
				hpid=$!
				track "$hpid"
				held=$(wait_held "$pid" "$base" "$n" $((n / 200 + 20)))
				sleep 0.5
				note="$note; held by bench/idle_hold instead: $(tail -n 1 "$log" | tr -d ',')"
			else
				note="$note; bench/idle_hold not built: nothing held"
				held=$(($(fd_count "$pid") - base))
			fi
		fi
		read -r rss vsz thr < <(proc_status "$pid")
		check=$(active_check "$port")
		per=""
		[ "$held" -gt 0 ] && per=$(((rss - rss0) * 1024 / held))
		echo "$key,$round,$n,$held,$rss0,$rss,$vsz,$thr,$per,$check,$tool,$note" >>"$OUT/idle.csv"
		progress "idle round $round  $key  N=$n: holds $held, RSS $((rss / 1024)) MiB, $thr thread(s), ${per:--} B/conn, active client served: ${check%%,*}"
		# (after the last N the server is stopped anyway: no need to wait
		# for it to close every connection first)
		if [ -n "$hpid" ] && [ "$n" = "${idle_ns[${#idle_ns[@]} - 1]}" ]; then
			stop_tracked "$hpid"
		elif [ -n "$hpid" ]; then
			stop_idle "$hpid" "$pid" "$base"
		fi
	done
	stop_server "$key"
}

measure_idle() {
	local round s
	echo "server,round,n,held,rss0_kb,rss_kb,vmsize_kb,threads,rss_per_conn_bytes,active_served,active_reply,tool,note" >"$OUT/idle.csv"
	for round in $(seq 1 "$REPS_CLAIM"); do
		for s in $(shuffled "${SERVER_LIST[@]}"); do
			in_round "$round" "$IDLE_CLAIM_SERVERS" "$s" || continue
			idle_one "$s" "$round"
		done
	done
}
