# title: answer before the sync (stage 4: release the held reply early)
# shellcheck shell=bash
#
# Runs the release build of stage 4 with --appendfsync always and a slow
# disk (--appendfsync-delay-ms DELAY_MS), times one SET, and reads INFO's
# offsets from another client as soon as the OK is back. Holding the reply
# until its sync, the OK takes at least DELAY_MS and the synced offset has
# reached the appended one by then; answering early, the OK is back at once
# and the disk does not have the write yet: a client has been told "done"
# about a write that a crash would lose.

DELAY_MS=500
BOUND_MS=250

build() {
	ex_make stage4
}

check() {
	local t0 t1 reply ms appended synced
	ex_start "$(ex_bin stage4)" --appendonly "$EX_TMP/s4.aof" --appendfsync always \
		--appendfsync-delay-ms "$DELAY_MS"
	t0=$(ex_now_ms)
	reply=$(timeout 3 redis-cli -p "$EX_PORT" SET k v 2>&1)
	t1=$(ex_now_ms)
	ms=$((t1 - t0))
	appended=$(ex_info aof_appended_offset)
	synced=$(ex_info aof_synced_offset)
	ex_expect "SET k v, each fsync $DELAY_MS ms slower" "OK in less than $BOUND_MS ms" \
		"${reply:-no reply} after $ms ms"
	ex_expect "INFO right after the OK" "aof_synced_offset below aof_appended_offset (the sync still runs)" \
		"aof_synced_offset:$synced aof_appended_offset:$appended"
	[ "$reply" = OK ] || ex_not_yet "the SET was not answered OK within 3 s"
	if [ "$ms" -lt "$BOUND_MS" ] && [ "${synced:-0}" -lt "${appended:-0}" ]; then
		ex_pass "the writer got its OK before the disk had its write: that is what the hold prevents"
	fi
	ex_not_yet "the reply still waited for the sync that covers it"
}
