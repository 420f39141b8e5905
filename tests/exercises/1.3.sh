# title: shrink the thread stacks (stage 1)
# shellcheck shell=bash
#
# What the exercise changes is the address space each connection's thread
# reserves for its stack, so that is what this measures: VmSize of stage 1
# per idle connection (/proc/PID/status), as the growth between N and 2N idle
# connections. N is past glibc's arena limit (8 malloc arenas per CPU), so
# that every arena, 64 MiB of address space each, already exists before the
# first figure and none is counted as a connection's. RSS is shown, not
# judged: it hardly moves, because untouched stack pages were never resident.

build() {
	ex_make stage1
}

# connections: the server's connected clients, the asking one left out.
connections() {
	local n
	n=$(ex_info connected_clients)
	echo $((${n:-1} - 1))
}

# hold COUNT: COUNT more idle connections (redis-benchmark -I), and wait
# until the server has them all.
hold() {
	local want=$(($(connections) + $1))
	redis-benchmark -p "$EX_PORT" -c "$1" -I >/dev/null 2>&1 &
	EX_PIDS+=("$!")
	ex_wait_until 20 test_connections "$want" ||
		ex_not_yet "the server did not take $want idle connections (it has $(connections))"
	sleep 0.5 # every thread has reached its first read()
}
test_connections() { [ "$(connections)" -ge "$1" ]; }

check() {
	local n vm1 vm2 rss1 rss2 per_vm per_rss big
	# The default stack size is the soft RLIMIT_STACK: pin the usual 8 MiB,
	# so that the unchanged tree means the same everywhere.
	ulimit -S -s 8192 2>/dev/null || true
	n=$((8 * $(ex_ncpu) + 16))
	ex_start "$(ex_bin stage1)"

	hold "$n"
	vm1=$(ex_vmsize_kib)
	rss1=$(ex_rss_kib)
	hold "$n"
	vm2=$(ex_vmsize_kib)
	rss2=$(ex_rss_kib)
	per_vm=$(((vm2 - vm1) / n))
	per_rss=$(((rss2 - rss1) * 1024 / n))

	# The smaller stacks must still serve every command.
	head -c 1048576 /dev/zero | tr '\0' x >"$EX_TMP/big"
	big="$(ex_cli -x SET big <"$EX_TMP/big") $(ex_cli GET big | wc -c) $(ex_cli DIGEST big 100 | wc -c)"
	big="$big $(ex_cli INCR visits) $(ex_cli INFO threads | grep -c thread_count)"

	ex_expect "address space (VmSize) per idle connection, from $n to $((2 * n)) connections" \
		"at most 1024 KiB (stage 1 unchanged: about 8196 KiB, an 8 MiB stack and its guard page)" \
		"$per_vm KiB"
	ex_expect "resident memory (RSS) per idle connection (shown, not judged)" \
		"about the same as before the change (unchanged: 13 to 15 KB)" "$per_rss bytes"
	ex_expect "SET of 1 MiB, then GET (bytes), DIGEST (bytes), INCR, INFO (thread_count lines)" \
		"OK 1048577 17 1 1" "$big"

	if ! kill -0 "$EX_PID" 2>/dev/null; then
		sed 's/^/  | /' "$EX_TMP/server.$EX_PID.err" | tail -n 20
		ex_not_yet "the server died: a stack too small for what its threads run?"
	fi
	[ "$big" = "OK 1048577 17 1 1" ] || ex_not_yet "the server did not answer every command"
	[ "$per_vm" -le 1024 ] || ex_not_yet "each thread still reserves ${per_vm} KiB"
	ex_stop || ex_not_yet "the server did not exit 0 on SIGTERM"
	ex_pass "each connection's thread now reserves ${per_vm} KiB of address space"
}
