# title: keep the read buffer (stage 3: what release_read_buffer() saves)
# shellcheck shell=bash
#
# Holds CLIENTS connections to the release build of stage 3, each of which
# has sent one PING and read its PONG, and measures the server's resident
# memory per connection. With release_read_buffer() in place the read
# buffer is freed after each batch and an idle connection costs its struct
# and libuv's share; without it each keeps its 16 KiB READ_CHUNK, of which
# the read touched about one page (4 KiB).

CLIENTS=1000
BOUND_B=2500 # bytes per connection: well above the struct, well below a page

build() {
	ex_make stage3
}

check() {
	local before after per ready="$EX_TMP/ready" clients
	ex_start "$(ex_bin stage3)" --max-clients 5000
	before=$(ex_rss_kib)
	python3 - "$EX_PORT" "$CLIENTS" "$ready" <<'PY' &
import socket, sys, time
port, n, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
for s in socks:
    s.sendall(b"PING\r\n")
for s in socks:
    got = b""
    while not got.endswith(b"\r\n"):
        got += s.recv(16)
open(ready, "w").close()
time.sleep(50)
PY
	EX_PIDS+=($!)
	for _ in $(seq 200); do
		[ -e "$ready" ] && break
		sleep 0.1
	done
	[ -e "$ready" ] || ex_not_yet "the $CLIENTS clients did not all get their PONG within 20 s"
	sleep 0.5
	clients=$(ex_info connected_clients)
	after=$(ex_rss_kib)
	per=$(((after - before) * 1024 / CLIENTS))
	ex_expect "connected clients (ours, and the one asking INFO)" "$((CLIENTS + 1))" "$clients"
	ex_expect "resident memory per connection (VmRSS, $before -> $after KiB)" \
		"at least $BOUND_B B (each keeps a read buffer, one touched page of it: about 4 KiB)" "$per B"
	[ "$clients" = "$((CLIENTS + 1))" ] || ex_not_yet "not every client is connected: the measure means nothing"
	if [ "$per" -ge "$BOUND_B" ]; then
		ex_pass "every idle connection now keeps its read buffer: that is the memory release_read_buffer() gives back"
	fi
	ex_not_yet "the connections gave their read buffers back: release_read_buffer() still frees them"
}
