#!/usr/bin/env bash
# stage-diffs.sh: the diffs between consecutive stages, and the checks that
# keep each port focused.
#
#   scripts/stage-diffs.sh write        write docs/diffs/N-M.diff for 1-2, 2-3, 3-4
#   scripts/stage-diffs.sh check        fail when a committed diff is stale, a port
#                                       is over its budget, a change is whitespace
#                                       only, a carried file differs, a ```diff
#                                       block in TUTORIAL.md is not from the diffs,
#                                       or a hunk's chapter does not mention it
#   scripts/stage-diffs.sh hunk N-M TEXT
#                                       print the hunk of N-M.diff that contains
#                                       TEXT, for quoting in TUTORIAL.md
#   scripts/stage-diffs.sh names N-M [TUTORIAL]
#                                       list every hunk of N-M.diff with each name
#                                       its chapter must mention, and "ok" or
#                                       "MISSING"
#   scripts/stage-diffs.sh explained [TUTORIAL]
#                                       only the last check, on TUTORIAL.md or the
#                                       file given (scripts/test-stage-diffs.sh
#                                       gives it doctored copies)
#
# Every hunk is explained. Each hunk of docs/diffs/N-M.diff must be named
# in the chapter for that pair (1-2: chapter 2, 2-3: chapter 3, 3-4:
# chapter 4), in a sentence that says what changed and why. The hunks of
# append.c, append.h, lag.c and lag.h may be explained in chapter 5
# instead, which follows the append-only file, and the loop time its
# writes cost, through every stage. A hunk's names are the top-level
# definitions that its changed lines (blank ones aside) belong to, read
# from the stage's file on the side of the line:
#   - a function, or a prototype: `name()`
#   - a struct, enum or union: `struct tag`, `enum tag`, or `name_t` when
#     it is a typedef (typedef struct tag { ... } name_t;)
#   - a macro: `NAME`; a variable, or a typedef of another type: `name`
#   - a comment right above a definition (no blank line between) is part
#     of it; a line outside every definition (the file's header comment, an
#     #include, a section banner) names the file: `server.c`
#   - a file the port adds or removes whole is one hunk, named by the file
#     (`pool.c`): the chapter walks through a new module as a whole.
# A chapter mentions a name when its prose (not a fenced block, not an
# "Exercises" section) has a code span that starts with it, after an
# optional path: `listen_on()`, `listen_on(srv)`, `stage3-eventloop/lag.c`;
# `srv->listener` is not a mention of `listener`. One mention serves every
# hunk of that pair with the name. The rule is a floor: a machine cannot
# tell a sentence that says why from a list of names, so write the
# sentence. The failure names the diff, the file, the hunk's @@ line and
# the name to mention.
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

# ==== Every hunk explained ==================================================

# The chapter that explains pair N-M is the one that builds stage M.
chapter_of() {
	echo "${1#*-}"
}

# Files whose hunks chapter 5 may explain instead (see the top).
CHAPTER5_FILES="append.c append.h lag.c lag.h"

# For every hunk of diff file $1: "FILE<TAB>@@ LINE<TAB>NAME", once for each
# name it changes (the rule is at the top). The names are read from the
# stages' files, of which check_fresh proves the diff is.
hunk_names() {
	awk '
		function base(p) { sub(/^.*\//, "", p); return p }
		# The name of a function from its first line: the identifier before
		# the first "(", or inside "(*name)" for a function pointer type.
		function ident_before_paren(s,   i, t) {
			if (match(s, /\(\*[A-Za-z_][A-Za-z0-9_]*\)/))
				return substr(s, RSTART + 2, RLENGTH - 3)
			t = substr(s, 1, index(s, "(") - 1)
			sub(/[ \t*]+$/, "", t)
			match(t, /[A-Za-z_][A-Za-z0-9_]*$/)
			return substr(t, RSTART, RLENGTH)
		}
		# The name a definition starting with line s goes by (the rule).
		function def_name(s,   t, p, e) {
			if (s ~ /^#[ \t]*define[ \t]/) {
				t = s; sub(/^#[ \t]*define[ \t]+/, "", t)
				match(t, /^[A-Za-z_][A-Za-z0-9_]*/)
				return substr(t, 1, RLENGTH)
			}
			if (s ~ /^(typedef[ \t]+)?(struct|enum|union)[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]*\{/ ||
			    s ~ /^(struct|enum|union)[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]*;/) {
				t = s; sub(/^typedef[ \t]+/, "", t)
				match(t, /^(struct|enum|union)[ \t]+[A-Za-z_][A-Za-z0-9_]*/)
				t = substr(t, 1, RLENGTH); gsub(/[ \t]+/, " ", t)
				return t
			}
			p = index(s, "("); e = index(s, "=")
			if (p && (!e || p < e))
				return ident_before_paren(s) "()"
			t = s; sub(/[ \t]*[=;[{].*$/, "", t)
			match(t, /[A-Za-z_][A-Za-z0-9_]*$/)
			return substr(t, RSTART, RLENGTH)
		}
		# Gives every line of the C file at path an owner in owner[side, line]:
		# the id of the top-level definition it belongs to (0: the file itself),
		# whose name is dname[id]. It relies on the layout clang-format gives:
		# a definition starts at column 0, a body or initializer ends at a
		# "}" in column 0. States (st): 0 between definitions, 1 in a
		# declaration that has not yet reached its "{" or ";", 2 in a body,
		# 3 in a macro continued with "\", 4 in a comment at the top, whose
		# lines (pend) go to the definition right below it, if any.
		function scan(path, side,   s, ln, st, cur, i, np, td, nm) {
			ln = 0; st = 0; cur = 0; np = 0
			while ((getline s < path) > 0) {
				ln++
				owner[side, ln] = 0
				if (st == 4) { pend[++np] = ln; if (index(s, "*/")) st = 0; continue }
				if (st == 3) { owner[side, ln] = cur; if (s !~ /\\$/) st = 0; continue }
				if (st == 2) {
					owner[side, ln] = cur
					if (s ~ /^}/) {
						st = 0
						if (td && match(s, /[A-Za-z_][A-Za-z0-9_]*[ \t]*;/)) {
							nm = substr(s, RSTART, RLENGTH); sub(/[ \t]*;$/, "", nm)
							dname[cur] = nm
						}
					}
					continue
				}
				if (st == 1) {
					owner[side, ln] = cur
					if (s ~ /^\{/ || s ~ /\{[ \t]*$/) st = 2
					else if (s ~ /;[ \t]*(\/\*.*\*\/[ \t]*)?$/) st = 0
					continue
				}
				if (s ~ /^[ \t]*$/) { np = 0; continue }
				if (s ~ /^\/\*/) {
					pend[++np] = ln
					if (!index(substr(s, 3), "*/")) st = 4
					continue
				}
				if (s ~ /^#[ \t]*define[ \t]/ || s ~ /^[A-Za-z_]/) {
					cur = ++ndef; dname[cur] = def_name(s); td = (s ~ /^typedef[ \t]/)
					owner[side, ln] = cur
					for (i = 1; i <= np; i++) owner[side, pend[i]] = cur
					np = 0
					if (s ~ /^#/) st = (s ~ /\\$/) ? 3 : 0
					else if (s ~ /\{[ \t]*$/) st = 2
					else if (s ~ /;[ \t]*(\/\*.*\*\/[ \t]*)?$/) st = 0
					else st = 1
					continue
				}
				np = 0 # any other line at the top: #include, #if, a guard
			}
			close(path)
		}
		# The name a changed line of side a (old) or b (new) counts for.
		function name_of(side, ln,   id) {
			id = owner[side, ln]
			return id ? dname[id] : (side == "a" ? base(fa) : base(fb))
		}
		function add(n) { if (!(n in seen)) { seen[n] = 1; names[++nn] = n } }
		function flush(   i) {
			if (hunk != "")
				for (i = 1; i <= nn; i++) printf "%s\t%s\t%s\n", file, hunk, names[i]
			hunk = ""; nn = 0; delete seen
		}
		/^diff --git / {
			flush(); inhunk = 0
			fa = $3; fb = $4; sub(/^a\//, "", fa); sub(/^b\//, "", fb)
			file = fb; whole = 0; scanned = 0
			next
		}
		/^new file mode/ && !inhunk { whole = 1; file = fb; next }
		/^deleted file mode/ && !inhunk { whole = 1; file = fa; next }
		/^@@ / {
			flush(); inhunk = 1; hunk = $0
			if (!scanned && !whole) { delete owner; scan(fa, "a"); scan(fb, "b"); scanned = 1 }
			split($2, o, ","); split($3, n, ",")
			ol = substr(o[1], 2) + 0; nl = substr(n[1], 2) + 0
			if (whole) add(base(file))
			next
		}
		!inhunk { next }
		/^-/ { if (!whole && $0 !~ /^-[ \t]*$/) add(name_of("a", ol)); ol++; next }
		/^\+/ { if (!whole && $0 !~ /^\+[ \t]*$/) add(name_of("b", nl)); nl++; next }
		/^ / { ol++; nl++; next }
		END { flush() }
	' "$1"
}

# Reads hunk_names lines on stdin and the tutorial $2; prints each line
# with a fourth field, "ok" or "MISSING", for pair $1.
mentioned() {
	awk -F '\t' -v ch="$(chapter_of "$1")" -v ch5files="$CHAPTER5_FILES" -v tutorial="$2" '
		# The prose of chapter n: no fenced block, no Exercises section.
		function load(n,   l, inch, skip, fence, t) {
			t = ""
			while ((getline l < tutorial) > 0) {
				if (l ~ /^## /) { inch = (index(l, "## Chapter " n ":") == 1); skip = 0 }
				if (l ~ /^### /) skip = (l ~ /^### Exercises/)
				if (l ~ /^```/) { fence = !fence; continue }
				if (inch && !skip && !fence) t = t l "\n"
			}
			close(tutorial)
			return t
		}
		# Does text t have a code span that starts with name (after an
		# optional path: `stage3-eventloop/lag.c`)?
		function has(t, name,   p, i, before, after, rest) {
			sub(/\(\)$/, "", name)
			rest = t
			while ((p = index(rest, name)) > 0) {
				after = substr(rest, p + length(name), 1)
				i = p - 1
				if (substr(rest, i, 1) == "/")
					while (i > 1 && substr(rest, i, 1) !~ /[` \n]/) i--
				before = substr(rest, i, 1)
				if (before == "`" && after !~ /[A-Za-z0-9_.]/) return 1
				rest = substr(rest, p + length(name))
			}
			return 0
		}
		BEGIN {
			text = load(ch); text5 = load(5)
			n = split(ch5files, f, " ")
			for (i = 1; i <= n; i++) in5[f[i]] = 1
		}
		{
			file = $1; sub(/^.*\//, "", file)
			ok = has(text, $3) || ((file in in5) && has(text5, $3))
			print $0 "\t" (ok ? "ok" : "MISSING")
		}'
}

# Fails for every hunk whose chapter does not mention one of its names.
check_explained() {
	local tutorial=$1 pair line file h name state missing=0 total=0
	for pair in $PAIRS; do
		while IFS=$'\t' read -r file h name state; do
			total=$((total + 1))
			[ "$state" = ok ] && continue
			missing=$((missing + 1))
			line="chapter $(chapter_of "$pair")"
			case " $CHAPTER5_FILES " in *" ${file##*/} "*) line="$line (or 5)" ;; esac
			problem "$OUT/$pair.diff: $file, hunk '$h': $line of $tutorial must mention \`$name\` (in a sentence that says what changed and why)"
		done < <(hunk_names "$OUT/$pair.diff" | mentioned "$pair" "$tutorial")
	done
	echo "$tutorial: $((total - missing)) of $total hunk names mentioned in their chapters"
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
	check_explained TUTORIAL.md
	exit $fail
	;;
explained)
	check_explained "${2:-TUTORIAL.md}"
	exit $fail
	;;
names)
	[ $# -ge 2 ] || {
		echo "usage: $0 names N-M [TUTORIAL]" >&2
		exit 2
	}
	[ -n "$(chapter_of "$2")" ] || {
		echo "stage-diffs: no pair $2 (one of: $PAIRS)" >&2
		exit 2
	}
	hunk_names "$OUT/$2.diff" | mentioned "$2" "${3:-TUTORIAL.md}"
	;;
hunk)
	[ $# -eq 3 ] || {
		echo "usage: $0 hunk N-M TEXT" >&2
		exit 2
	}
	hunk "$2" "$3"
	;;
*)
	echo "usage: $0 write | check | hunk N-M TEXT | names N-M [TUTORIAL] | explained [TUTORIAL]" >&2
	exit 2
	;;
esac
