# title: an idle timeout that frees a pinned worker (stage 2)
# shellcheck shell=bash
#
# Stage 2 with --threads 2 and two clients that connect and send nothing:
# they hold both workers. Unchanged, a third client's PING is never
# answered. With an idle timeout of a few seconds the server closes the
# silent clients, their workers are free, and the PING is answered; a client
# that sends a request every half second must still keep its connection.

build() {
	ex_make stage2
}

# verdict STATUS REPLY: what a read ended with, in words.
verdict() {
	case "$1" in
	0) echo "$2" ;;
	1) echo "connection closed by the server" ;;
	*) echo "nothing" ;;
	esac
}

check() {
	local a b fd reply rc=0 t0 waited i kept=0 closed
	ex_start "$(ex_bin stage2)" --threads 2
	ex_connect a && ex_connect b || ex_not_yet "cannot connect"
	sleep 0.3 # both are taken by a worker before the third connects
	ex_connect fd || ex_not_yet "cannot connect"
	t0=$(ex_now_ms)
	reply=$(ex_request "$fd" 'PING\r\n' 10) || rc=$?
	waited=$(($(ex_now_ms) - t0))
	ex_expect "a PING while two silent clients hold both workers, within 10 s" \
		"+PONG (once the server has closed the silent ones)" \
		"$(verdict "$rc" "$reply") after $waited ms"
	[ "$rc" = 0 ] && [ "$reply" = "+PONG" ] ||
		ex_not_yet "the silent clients still hold both workers"

	rc=0
	ex_read_line "$a" 1 >/dev/null || rc=$?
	closed=$(verdict "$rc" "a reply")
	ex_expect "one of the silent clients" "connection closed by the server" "$closed"
	[ "$rc" = 1 ] || ex_not_yet "the silent client was not closed, yet a worker was freed?"

	# An active client is not idle: 8 PINGs, one every 0.5 s, on one connection.
	for ((i = 0; i < 8; i++)); do
		sleep 0.5
		reply=$(ex_request "$fd" 'PING\r\n' 5) && [ "$reply" = "+PONG" ] || break
		kept=$((kept + 1))
	done
	ex_expect "a client sending a PING every 0.5 s for 4 s" "8 of 8 answered on one connection" \
		"$kept of 8 answered"
	[ "$kept" = 8 ] || ex_not_yet "an active client was cut off: the timeout is too short, or not about idleness"
	ex_close "$a" "$b" "$fd"
	ex_stop || ex_not_yet "the server did not exit 0 on SIGTERM"
	ex_pass "silent clients give their workers back: the PING waited ${waited} ms, not forever"
}
