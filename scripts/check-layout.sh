#!/usr/bin/env bash
# check-layout.sh: two rules of the repository's layout that a compiler does
# not check, run by `make lint`.
#
#   1. common/ is colourless: nothing under it includes a thread, loop or
#      socket header. Stages own those; the core never learns which model
#      calls it (HACKING.md).
#   2. Files a reader can hold in their head: no C source or header in
#      common/ or in a stage folder is longer than MAX_LINES lines.
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_LINES=500
# The folders rule 2 covers. The stages join once their split by role has
# landed (issue 12); until then their server.c files are over the limit.
LINE_RULE_DIRS=${LINE_RULE_DIRS:-common}

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

[ "$status" = 0 ] && echo "check-layout: common/ colourless; files in $LINE_RULE_DIRS within $MAX_LINES lines"
exit "$status"
