# title: let the worker touch the connection (stage 4: a data race under TSan)
# shellcheck shell=bash
#
# Runs stage 4 under ThreadSanitizer and sends, in one write, a PING and a
# DEBUG SLEEP: the PING's reply is in the connection's output buffer when
# the sleep goes to the thread pool, and the loop thread sends it (and
# empties the buffer) while the job runs. A worker that reads the
# connection meanwhile races with the loop thread; TSan reports it, naming
# work_cb() on one side.

CLIENTS=4

build() {
	ex_make SANITIZE=thread stage4
}

check() {
	local err report
	export TSAN_OPTIONS="halt_on_error=1:exitcode=86:atexit_sleep_ms=0:suppressions=$EX_ROOT/tests/tsan.supp"
	ex_start "$(ex_bin stage4 thread)"
	err="$EX_TMP/server.$EX_PID.err"
	python3 - "$EX_PORT" "$CLIENTS" <<'PY' || true
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
pipeline = b"PING\r\nDEBUG SLEEP 0.2\r\nPING\r\n"
socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]
for s in socks:
    s.sendall(pipeline)
for s in socks:
    got = b""
    try:
        while got.count(b"\r\n") < 3:
            more = s.recv(64)
            if not more:
                break
            got += more
    except OSError:
        pass
PY
	sleep 0.5
	ex_stop || true
	report=$(grep -m 1 'WARNING: ThreadSanitizer: [a-z -]*' "$err" || true)
	ex_expect "ThreadSanitizer's report in the server's stderr" \
		"a data race whose stacks include work_cb (the worker) and the loop thread" "${report:-nothing}"
	if [ -n "$report" ] && grep -q 'data race' <<<"$report" && grep -q 'work_cb' "$err"; then
		grep -E -A 1 '^  (Read|Write|Previous (read|write)) of size' "$err" | grep -v '^--' |
			head -n 4 | sed 's/^/  | /'
		ex_pass "the worker read the connection while the loop thread changed it: a job touches only the job"
	fi
	if [ -n "$report" ]; then
		sed -n '/ThreadSanitizer/,+8p' "$err" | head -n 10 | sed 's/^/  | /'
		ex_not_yet "TSan reported something, but not a race of work_cb's"
	fi
	ex_not_yet "TSan saw no race: the worker still touches only its job"
}
