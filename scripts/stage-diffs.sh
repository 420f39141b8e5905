#!/usr/bin/env bash
# stage-diffs.sh: the diffs between consecutive stages, and the checks that
# keep each port focused.
#
#   scripts/stage-diffs.sh write        write docs/diffs/N-M.diff for 1-2, 2-3, 3-4
#   scripts/stage-diffs.sh check        fail when a committed diff is stale, a port
#                                       is over its budget, a change is whitespace
#                                       only, a carried file differs, or a ```diff
#                                       block in TUTORIAL.md is not from the diffs
#   scripts/stage-diffs.sh hunk N-M TEXT
#                                       print the hunk of N-M.diff that contains
#                                       TEXT, for quoting in TUTORIAL.md
#
# The diffs come from `git diff --no-index --histogram`, whose headers carry
# no timestamps: the same trees always give the same bytes. Histogram keeps
# a moved or rewritten function in one piece where the default algorithm
# interleaves it with unrelated lines that happen to match ("}", blanks).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=docs/diffs
PAIRS="1-2 2-3 3-4"

# Files that are expected to change in a port. Any other file present in
# both stages is carried over and must be byte-identical.
# Every stage splits its server by role the same way (HACKING.md), and
# each has its own append.[ch], when the append-only file is written; a
# stage's own module (pool.c, offload.c, the locks) is new in the diff and
# not counted.
PORTED_FILES="server.h server.c conn.h conn.c exec.h exec.c append.h append.c"

# Budget: lines changed (added + removed) in the ported files of each pair.
#   1-2: the pool replaces pthread_create and joins at shutdown; the request
#        path (exec.c) is byte-identical. About 110 lines; 150 leaves room
#        for comments.
#   2-3: the port to the loop rewrites reading, writing, accepting,
#        connection lifetime and shutdown as callbacks: most of conn.c and
#        server.c. What must stay is the request path's shape (exec.c), the
#        options, the start-up and the dump. The loop also catches signals
#        with sigaction + uv_async (a blocked loop must still hear SIGTERM),
#        bounds each callback's work and serves the rest from a ready list,
#        and times out clients whose output is stuck: 1100 lines keeps the
#        rest from churning. The append-only file (append.[ch]) moves from a
#        syncer thread and atomics to a timer and plain fields: about 160
#        more, 1250 in all.
#   3-4: the offload itself is a new file (offload.c, with the locks in
#        qlock.c and wlock.c), so the loop's files change only where they
#        call it: the store lock around commands, a connection that waits
#        for its job, shutdown with jobs in flight, INFO. About 280 lines.
#        Then the append-only file's port, the calling tree under SET:
#        append.c becomes group commit on the pool (about 280 lines of
#        append.[ch]), and the reply of a write is held rather than the loop
#        (conn.c, exec.c, shutdown): 650 at most.
budget_for() {
	case "$1" in
	1-2) echo 150 ;;
	2-3) echo 1250 ;;
	3-4) echo 650 ;;
	esac
}

stage_dir() {
	local d
	d=$(ls -d "stage$1"-* 2>/dev/null | head -n 1)
	[ -n "$d" ] || {
		echo "stage-diffs: no folder stage$1-*" >&2
		exit 2
	}
	echo "$d"
}

# The diff of pair N-M, on stdout.
diff_of() {
	local a b
	a=$(stage_dir "${1%-*}")
	b=$(stage_dir "${1#*-}")
	git --no-pager diff --no-index --histogram --no-color "$a" "$b" || true
}

write() {
	mkdir -p "$OUT"
	for pair in $PAIRS; do
		diff_of "$pair" >"$OUT/$pair.diff"
		echo "wrote $OUT/$pair.diff ($(wc -l <"$OUT/$pair.diff") lines)"
	done
}

fail=0
problem() {
	echo "stage-diffs: $*" >&2
	fail=1
}

check_fresh() {
	local pair=$1
	if ! diff_of "$pair" | cmp -s - "$OUT/$pair.diff"; then
		problem "$OUT/$pair.diff is stale: run 'make diffs' and commit the result"
	fi
}

# Lines changed (added + removed) between two files.
changed_lines() {
	{ git --no-pager diff --no-index --histogram --numstat "$1" "$2" || true; } |
		awk '{ n += $1 + $2 } END { print n + 0 }'
}

# Prints the changes between two files that only move blanks around: within
# one run of removed and added lines (no context line between them), a
# removed line and an added line that are equal once blanks are dropped.
# Short lines (under 20 characters: "}", "return 0;", the tail of a call
# wrapped over two lines) are left out: they recur everywhere and
# move with the code around them. Exits 1 when there are any.
whitespace_churn() {
	{ git --no-pager diff --no-index --histogram "$1" "$2" || true; } | awk '
		function norm(s) { gsub(/[ \t]+/, "", s); return s }
		function flush(   k) {
			for (k in rem)
				if ((k in add) && length(k) >= 20 && rem[k] != add[k]) {
					print "    -" rem[k]; print "    +" add[k]; n++
				}
			delete rem; delete add
		}
		/^(diff|index|---|\+\+\+|@@)/ { flush(); next }
		/^-/ { l = substr($0, 2); rem[norm(l)] = l; next }
		/^\+/ { l = substr($0, 2); add[norm(l)] = l; next }
		{ flush() }
		END { flush(); exit n > 0 }'
}

check_focus() {
	local pair=$1 a b f total=0
	a=$(stage_dir "${pair%-*}")
	b=$(stage_dir "${pair#*-}")
	for f in $(cd "$a" && ls); do
		[ -f "$b/$f" ] || continue
		case " $PORTED_FILES " in
		*" $f "*)
			total=$((total + $(changed_lines "$a/$f" "$b/$f")))
			local churn
			if ! churn=$(whitespace_churn "$a/$f" "$b/$f"); then
				problem "$pair: $f has changes that only move whitespace:"
				echo "$churn" >&2
			fi
			;;
		*)
			cmp -s "$a/$f" "$b/$f" || problem "$pair: $f is carried from $a to $b but is not identical"
			;;
		esac
	done
	local budget
	budget=$(budget_for "$pair")
	if [ "$total" -gt "$budget" ]; then
		problem "$pair: $total lines changed in ported files, over the budget of $budget (see this script)"
	else
		echo "$pair: $total lines changed in ported files (budget $budget)"
	fi
}

# Every ```diff block of TUTORIAL.md must appear, line for line and in one
# piece, in one of the committed diffs.
check_quotes() {
	local tmp block=0
	tmp=$(mktemp -d)
	awk -v dir="$tmp" '
		/^```diff[ \t]*$/ { n++; file = dir "/" n; inblock = 1; next }
		inblock && /^```/ { inblock = 0; close(file); next }
		inblock { print > file }
	' TUTORIAL.md
	for q in "$tmp"/*; do
		[ -e "$q" ] || break
		block=$((block + 1))
		local found=0
		for d in "$OUT"/*.diff; do
			if awk -v qf="$q" '
				BEGIN { while ((getline l < qf) > 0) q[nq++] = l }
				{ d[nd++] = $0 }
				END {
					for (i = 0; i + nq <= nd; i++) {
						for (j = 0; j < nq && d[i + j] == q[j]; j++) ;
						if (j == nq) exit 0
					}
					exit 1
				}' "$d"; then
				found=1
				break
			fi
		done
		[ "$found" = 1 ] || problem "TUTORIAL.md: diff block $block ($(head -n 1 "$q")) is not part of any $OUT/*.diff: quote it with 'scripts/stage-diffs.sh hunk'"
	done
	rm -rf "$tmp"
	echo "TUTORIAL.md: $block quoted diff block(s) checked"
}

hunk() {
	local pair=$1 text=$2
	awk -v text="$text" '
		/^diff --git / { flush(); header = 1 }
		/^@@ / { flush(); header = 0 }
		{ if (!header) h = h $0 "\n" }
		function flush() { if (index(h, text)) { printf "%s", h; found = 1 } h = "" }
		END { flush(); exit !found }
	' "$OUT/$pair.diff"
}

case "${1:-}" in
write) write ;;
check)
	for pair in $PAIRS; do
		check_fresh "$pair"
		check_focus "$pair"
	done
	check_quotes
	exit $fail
	;;
hunk)
	[ $# -eq 3 ] || {
		echo "usage: $0 hunk N-M TEXT" >&2
		exit 2
	}
	hunk "$2" "$3"
	;;
*)
	echo "usage: $0 write | check | hunk N-M TEXT" >&2
	exit 2
	;;
esac
