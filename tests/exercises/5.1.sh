# title: sync under the store lock (stage 1: the fsync serialises every writer)
# shellcheck shell=bash
#
# Runs the release build of stage 1 with --appendfsync always and a slow
# disk (--appendfsync-delay-ms DELAY_MS), and times SETS writes from
# CLIENTS concurrent clients (redis-benchmark). With the fsync outside the
# store lock, the clients' fsyncs overlap: about SETS / CLIENTS rounds of
# one fsync each. Inside the lock they run one after another: at least
# SETS fsyncs end to end.

CLIENTS=8
SETS=24
DELAY_MS=200
BOUND_MS=$((SETS * DELAY_MS / 2)) # half the serialised time: 4 times the concurrent one

build() {
	ex_make stage1
}

check() {
	local t0 t1 elapsed fsyncs
	ex_start "$(ex_bin stage1)" --appendonly "$EX_TMP/s1.aof" --appendfsync always \
		--appendfsync-delay-ms "$DELAY_MS"
	t0=$(ex_now_ms)
	timeout 40 redis-benchmark -p "$EX_PORT" -c "$CLIENTS" -n "$SETS" -t set -q >"$EX_TMP/bench.out" 2>&1 ||
		ex_not_yet "redis-benchmark failed: $(tr '\r' '\n' <"$EX_TMP/bench.out" | tail -n 2)"
	t1=$(ex_now_ms)
	elapsed=$((t1 - t0))
	fsyncs=$(ex_info aof_fsyncs)
	ex_expect "$SETS SETs from $CLIENTS clients, each fsync $DELAY_MS ms slower" \
		"at least $BOUND_MS ms (serialised: $SETS x $DELAY_MS = $((SETS * DELAY_MS)) ms; overlapping: about $((SETS / CLIENTS * DELAY_MS)) ms)" \
		"$elapsed ms, $fsyncs fsyncs"
	if [ "$elapsed" -ge "$BOUND_MS" ]; then
		ex_pass "the writers waited for each other's disk: the store lock now covers the fsync"
	fi
	ex_not_yet "the fsyncs overlapped: each writer still waits only for its own"
}
