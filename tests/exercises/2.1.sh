# title: wait instead of refusing (stage 2)
# shellcheck shell=bash
#
# Stage 2 with --threads 3: the checker's own connection keeps one worker
# (it asks INFO there, since a server whose workers are all held answers
# nobody else), two idle clients hold the other two, and QUEUE_CAPACITY (256)
# more fill the queue. One more client then sends PING. Unchanged, it is
# refused at once with -ERR server busy; with the exercise done it waits,
# unanswered, and gets +PONG once the idle clients have gone.

QUEUE_CAPACITY=256 # stage2-pool/server.h

build() {
	ex_make stage2
}

# field NAME: one field of INFO stage, asked on the checker's connection.
field() {
	ex_request "$ctl" 'INFO stage\r\n' 5 | sed -n "s/^$1://p"
}
field_is() { [ "$(field "$1")" = "$2" ]; }

check() {
	local ctl fd idle=() i reply rc
	ex_start "$(ex_bin stage2)" --threads 3
	ex_connect ctl || ex_not_yet "cannot connect"
	field_is pool_workers_busy 1 || ex_not_yet "INFO stage did not answer on a fresh server"

	for i in 1 2; do
		ex_connect fd || ex_not_yet "cannot connect idle client $i"
		idle+=("$fd")
	done
	ex_wait_until 10 field_is pool_workers_busy 3 || ex_not_yet "two idle clients did not take two workers"
	for ((i = 0; i < QUEUE_CAPACITY; i++)); do
		ex_connect fd || ex_not_yet "cannot connect queued client $i"
		idle+=("$fd")
	done
	ex_wait_until 10 field_is pool_queued_clients "$QUEUE_CAPACITY" ||
		ex_not_yet "the queue did not fill: $(field pool_queued_clients) of $QUEUE_CAPACITY queued"

	# One client too many: answered at once means refused.
	ex_connect fd || ex_not_yet "the extra client could not even connect"
	reply=$(ex_request "$fd" 'PING\r\n' 1.5) || rc=$?
	ex_expect "the client after 2 busy workers and $QUEUE_CAPACITY queued, within 1.5 s" \
		"no reply yet (it waits for room in the queue)" \
		"$(case "${rc:-0}" in 0) echo "$reply" ;; 1) echo "connection closed" ;; *) echo "no reply yet" ;; esac)"
	[ "${rc:-0}" = 2 ] || ex_not_yet "the extra client was not left waiting"

	ex_close "${idle[@]}"
	rc=0
	reply=$(ex_read_line "$fd" 10) || rc=$?
	ex_expect "the same client, once the idle clients have gone, within 10 s" "+PONG" \
		"$(case "$rc" in 0) echo "$reply" ;; 1) echo "connection closed" ;; *) echo "no reply yet" ;; esac)"
	[ "$rc" = 0 ] && [ "$reply" = "+PONG" ] ||
		ex_not_yet "the waiting client was never served: who wakes the acceptor when a worker makes room?"
	ex_close "$fd" "$ctl"
	ex_stop || ex_not_yet "the server did not exit 0 on SIGTERM"
	ex_pass "a client beyond the queue now waits for room instead of being refused"
}
