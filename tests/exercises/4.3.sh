# title: move fix 1's copy off the loop (stage 4: SAVE copies on the worker)
# shellcheck shell=bash
#
# Fills the release build of stage 4 (--lock-strategy copy, the default)
# with KEYS small keys, starts a SAVE and times a PING sent while it runs.
# Where start_job() copies the store on the loop thread, the PING waits for
# the copy (about 0.9 us per key on a 2-core machine: most of a second);
# where a worker makes the copy under store_mu, the PING, which needs no
# lock, is answered at once, and the SAVE ends well after it.

KEYS=1000000
BOUND_MS=200

build() {
	ex_make stage4
}

check() {
	local fill saver t_start t0 t_ping t_save ping_ms save_end="$EX_TMP/save.end" pong
	ex_start "$(ex_bin stage4)" --dbfile "$EX_TMP/dump.resp"
	fill=$(seq "$KEYS" | awk '{ print "SET key:" $1 " " $1 }' |
		timeout 30 redis-cli -p "$EX_PORT" --pipe | tail -n 1)
	[ "$fill" = "errors: 0, replies: $KEYS" ] || ex_not_yet "filling the store failed: $fill"
	t_start=$(ex_now_ms)
	(ex_cli SAVE >/dev/null && ex_now_ms >"$save_end") &
	saver=$!
	sleep 0.05
	t0=$(ex_now_ms)
	pong=$(ex_cli PING)
	t_ping=$(ex_now_ms)
	wait "$saver"
	t_save=$(cat "$save_end" 2>/dev/null || echo 0)
	ping_ms=$((t_ping - t0))
	ex_expect "PING sent 50 ms into a SAVE of $KEYS keys" "answered in less than $BOUND_MS ms" \
		"$pong after $ping_ms ms"
	ex_expect "the SAVE" "still running when the PING is answered, and lasting 4 times the PING at least" \
		"took $((t_save - t_start)) ms, ended $((t_save - t_ping)) ms after the PING's reply"
	ex_expect "INFO stage, for the record" "(the copy on the loop thread, if any)" \
		"$(ex_info last_save_copy_usec | sed 's/^/last_save_copy_usec:/')"
	[ "$pong" = PONG ] || ex_not_yet "no PONG"
	[ "$t_save" -gt 0 ] || ex_not_yet "the SAVE did not complete"
	# Relative as well as absolute: where the loop makes the copy, the PING
	# waits for most of the SAVE however fast the machine copies.
	if [ "$ping_ms" -lt "$BOUND_MS" ] && [ "$t_save" -gt "$t_ping" ] &&
		[ $((ping_ms * 4)) -lt $((t_save - t_start)) ]; then
		ex_pass "the loop served the PING during the SAVE: the copy no longer runs on the loop thread"
	fi
	if [ "$ping_ms" -lt "$BOUND_MS" ] && [ "$t_save" -le "$t_ping" ]; then
		ex_not_yet "the PING was quick, but the SAVE had already ended: nothing was measured"
	fi
	ex_not_yet "the PING waited for the copy: start_job() still copies the store on the loop thread"
}
