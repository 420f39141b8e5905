#!/bin/sh
# Tests scripts/wait-listening (run by make test): it reports the line of
# the process it is given, never a line an earlier server left in the same
# file, and gives up when that process exits or the time is up. Fake
# servers (sh) stand in for the stages: no port is used. Every call is
# bounded by timeout(1), so a broken script cannot hang the run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/wait-listening.XXXXXX")
trap 'rm -rf "$dir"' EXIT
failed=0

fail() {
	echo "test-wait-listening: FAILED: $*" >&2
	failed=1
}

# A stale line from an earlier run, and a server whose shell has not yet
# redirected its stdout (so not yet truncated the file) when wait-listening
# starts: the new server's own line must be the one printed.
printf 'listening on 127.0.0.1:1\n' >"$dir/server.out"
sh -c 'sleep 0.3; exec >"$1"; echo "listening on 127.0.0.1:4242"; exec sleep 5' sh \
	"$dir/server.out" &
pid=$!
got=$(timeout 20 "$here/wait-listening" "$dir/server.out" "$pid" 5 2>&1)
[ "$got" = "listening on 127.0.0.1:4242" ] ||
	fail "stale line: expected 'listening on 127.0.0.1:4242', got '$got'"
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null

# A server that exits without listening: exit 1 at once, not at the limit.
sh -c 'exec >"$1"; echo "cannot listen"; exit 1' sh "$dir/dead.out" &
pid=$!
start=$(date +%s)
if timeout 20 "$here/wait-listening" "$dir/dead.out" "$pid" 10 2>/dev/null; then
	fail "a server that exited: wait-listening succeeded"
fi
[ $(($(date +%s) - start)) -lt 5 ] || fail "a server that exited: wait-listening waited for the limit"
wait "$pid" 2>/dev/null

# A server that never listens: exit 1 after the limit.
sh -c 'exec >"$1"; exec sleep 5' sh "$dir/silent.out" &
pid=$!
if timeout 20 "$here/wait-listening" "$dir/silent.out" "$pid" 1 2>/dev/null; then
	fail "a server that never listens: wait-listening succeeded"
fi
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null

[ "$failed" -eq 0 ] && echo "test-wait-listening: all passed"
exit "$failed"
