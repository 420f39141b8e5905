# title: Redis-strict (stage 4: hold a reader's reply until the disk has what it saw)
# shellcheck shell=bash
#
# Runs the release build of stage 4 with --appendfsync always and a slow
# disk (--appendfsync-delay-ms DELAY_MS). One client SETs a key; 100 ms
# later, while that write's fsync runs, another client GETs it. Stage 4 as
# it is answers the reader at once, with a value not yet on disk; under
# Redis's rule (no reply leaves while a write it may show is unsynced) the
# GET waits for the sync: the rest of DELAY_MS.

DELAY_MS=500
BOUND_MS=250 # the GET must wait at least this long: about 400 ms is left of the fsync

build() {
	ex_make stage4
}

check() {
	local writer t0 t1 reply ms set_reply="$EX_TMP/set.reply"
	ex_start "$(ex_bin stage4)" --appendonly "$EX_TMP/s4.aof" --appendfsync always \
		--appendfsync-delay-ms "$DELAY_MS"
	(timeout 5 redis-cli -p "$EX_PORT" SET k v >"$set_reply" 2>&1) &
	writer=$!
	sleep 0.1
	t0=$(ex_now_ms)
	reply=$(timeout 5 redis-cli -p "$EX_PORT" GET k 2>&1)
	t1=$(ex_now_ms)
	wait "$writer"
	ms=$((t1 - t0))
	ex_expect "the writer's SET k v" "OK" "$(cat "$set_reply")"
	ex_expect "a bystander's GET k, 100 ms into the SET's $DELAY_MS ms fsync" \
		"\"v\" after at least $BOUND_MS ms (held until the sync returns)" "${reply:-no reply} after $ms ms"
	[ "$(cat "$set_reply")" = OK ] || ex_not_yet "the writer did not get its OK"
	[ "$reply" = v ] || ex_not_yet "the GET did not return the value the SET wrote"
	if [ "$ms" -ge "$BOUND_MS" ]; then
		ex_pass "the reader waited for the disk too: no client saw the write before it was synced"
	fi
	ex_not_yet "the reader saw the write before its sync returned: stage 4's own rule, not Redis's"
}
