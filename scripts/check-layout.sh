#!/usr/bin/env bash
# check-layout.sh: three rules of the repository's layout that a compiler does
# not check, run by `make lint`.
#
#   1. common/ is colourless: nothing under it includes a thread, loop or
#      socket header. Stages own those; the core never learns which model
#      calls it (HACKING.md).
#   2. Files a reader can hold in their head: no C source or header in
#      common/ or in a stage folder is longer than MAX_LINES lines.
#   3. An idle connection of stage 4 costs what stage 3's does, plus 16
#      bytes at most: what the offload needs lives in the job (issue 12).
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_LINES=500
# The folders rule 2 covers.
LINE_RULE_DIRS=${LINE_RULE_DIRS:-common stage*}
CONN_GROWTH_MAX=16

status=0

banned='^[[:space:]]*#[[:space:]]*include[[:space:]]*<(pthread\.h|threads\.h|uv\.h|uv/[^>]*|sys/socket\.h|netinet/[^>]*|sys/epoll\.h|poll\.h)>'
if hits=$(grep -nE "$banned" common/*.c common/*.h); then
	echo "check-layout: common/ must stay colourless; these includes belong in a stage:" >&2
	echo "$hits" | sed 's/^/  /' >&2
	status=1
fi

for dir in $LINE_RULE_DIRS; do
	for f in "$dir"/*.c "$dir"/*.h; do
		[ -e "$f" ] || continue
		n=$(wc -l <"$f")
		if [ "$n" -gt "$MAX_LINES" ]; then
			echo "check-layout: $f has $n lines (at most $MAX_LINES): split it by role" >&2
			status=1
		fi
	done
done

# sizeof(conn_t) of a stage, from its own headers.
conn_size() {
	local probe
	probe=$(mktemp -d)
	printf '#include "conn.h"\n#include <stdio.h>\nint main(void) { printf("%%zu\\n", sizeof(conn_t)); return 0; }\n' >"$probe/size.c"
	"${CC:-cc}" -std=c11 -D_GNU_SOURCE -I"$1" -Icommon "$probe/size.c" -o "$probe/size" && "$probe/size"
	rm -rf "$probe"
}
s3=$(conn_size stage3-eventloop)
s4=$(conn_size stage4-offload)
if [ "$s4" -gt $((s3 + CONN_GROWTH_MAX)) ]; then
	echo "check-layout: stage 4's conn_t is $s4 bytes, stage 3's $s3: at most $CONN_GROWTH_MAX more;" \
		"move what an idle connection does not need into the job (offload.c)" >&2
	status=1
fi

[ "$status" = 0 ] && echo "check-layout: common/ colourless; files in $LINE_RULE_DIRS within $MAX_LINES lines;" \
	"conn_t $s3 B in stage 3, $s4 B in stage 4"
exit "$status"
