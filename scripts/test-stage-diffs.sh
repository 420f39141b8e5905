#!/usr/bin/env bash
# Tests the "every hunk explained" part of scripts/stage-diffs.sh (run by
# make test): it passes on TUTORIAL.md as committed, and fails, naming the
# diff, the hunk's @@ line and the name, on copies of it with one mention
# taken away, moved into a fenced block, into an Exercises section or into
# the wrong chapter. A name of append.[ch] may live in chapter 5 instead.
# Nothing is built and no port is used: the check reads text only.
set -u
here=$(cd "$(dirname "$0")" && pwd)
check="$here/stage-diffs.sh"
dir=$(mktemp -d "${TMPDIR:-/tmp}/test-stage-diffs.XXXXXX")
trap 'rm -rf "$dir"' EXIT
failed=0

fail() {
	echo "test-stage-diffs: FAILED: $*" >&2
	failed=1
}

# Runs the check on tutorial $1; expects it to fail with a message that
# contains every further argument.
expect_failure() {
	local tutorial=$1 what=$2 out
	shift 2
	if out=$(timeout 60 "$check" explained "$tutorial" 2>&1); then
		fail "$what: the check passed"
		return
	fi
	for needle in "$@"; do
		case "$out" in
		*"$needle"*) ;;
		*) fail "$what: the message does not say '$needle': $out" ;;
		esac
	done
}

tutorial="$here/../TUTORIAL.md"
out=$(timeout 60 "$check" explained "$tutorial" 2>&1) ||
	fail "TUTORIAL.md as committed: the check failed: $out"

# The name to take away, a function of stage 3's server.c that the 2-3
# walkthrough explains, and its hunk's @@ line, as `names` reports it.
name='grace_timer_cb()'
names=$(timeout 60 "$check" names 2-3 "$tutorial")
hunk=$(awk -F '\t' -v name="$name" '$3 == name { print $2; exit }' <<<"$names")
[ -n "$hunk" ] || fail "names 2-3: no hunk changes $name: pick another name for this test"
grep -q "\`$name\`" "$tutorial" || fail "TUTORIAL.md no longer mentions \`$name\`: pick another name for this test"

# 1. Taken away: every code span of it becomes plain text.
sed "s/\`$name\`/grace-timer callback/g" "$tutorial" >"$dir/removed.md"
expect_failure "$dir/removed.md" "a mention removed" "docs/diffs/2-3.diff" "$hunk" "\`$name\`" "chapter 3"

# 2. In a fenced block only: a quote of code is not an explanation.
{
	sed "s/\`$name\`/grace-timer callback/g" "$tutorial" |
		awk -v name="$name" '
			{ print }
			/^## Chapter 3:/ { print ""; print "```text"; print "`" name "`"; print "```" }'
} >"$dir/fenced.md"
expect_failure "$dir/fenced.md" "a mention only in a fenced block" "$hunk" "\`$name\`"

# 3. In an Exercises section only.
{
	sed "s/\`$name\`/grace-timer callback/g" "$tutorial" |
		awk -v name="$name" '
			{ print }
			/^## Chapter 3:/ { print ""; print "### Exercises"; print ""; print "Change `" name "`." }'
} >"$dir/exercise.md"
expect_failure "$dir/exercise.md" "a mention only in an Exercises section" "$hunk" "\`$name\`"

# 4. In the wrong chapter: chapter 2 explains 1-2, not 2-3.
{
	sed "s/\`$name\`/grace-timer callback/g" "$tutorial" |
		awk -v name="$name" '
			{ print }
			/^## Chapter 2:/ { print ""; print "`" name "` cuts off what has not drained." }'
} >"$dir/wrong-chapter.md"
expect_failure "$dir/wrong-chapter.md" "a mention in the wrong chapter" "$hunk" "\`$name\`"

# 5. A name of append.c may be explained in chapter 5 instead of 3: take
# `everysec_cb()` out of chapter 3 and keep it in chapter 5 (pass), then
# out of both (fail).
aof_name='everysec_cb()'
awk -v span="\`$aof_name\`" '
	/^## / { ch3 = ($0 ~ /^## Chapter 3:/) }
	ch3 { while ((i = index($0, span)) > 0) $0 = substr($0, 1, i - 1) "the everysec timer" substr($0, i + length(span)) }
	{ print }' "$tutorial" >"$dir/ch5-only.md"
awk -v name="$aof_name" '
	/^## / { ch5 = ($0 ~ /^## Chapter 5:/) }
	ch5 && index($0, "`" name "`") { found = 1 }
	END { exit !found }' "$dir/ch5-only.md" || {
	# Chapter 5 does not name it today: add a sentence that does.
	awk -v name="$aof_name" '{ print } /^## Chapter 5:/ { print ""; print "`" name "` syncs once a second." }' \
		"$dir/ch5-only.md" >"$dir/ch5-only.tmp" && mv "$dir/ch5-only.tmp" "$dir/ch5-only.md"
}
out=$(timeout 60 "$check" explained "$dir/ch5-only.md" 2>&1) ||
	fail "an append.c name only in chapter 5: the check failed: $out"
sed "s/\`$aof_name\`/the everysec timer/g" "$tutorial" >"$dir/aof-removed.md"
expect_failure "$dir/aof-removed.md" "an append.c name in no chapter" "docs/diffs/2-3.diff" \
	"stage3-eventloop/append.c" "\`$aof_name\`" "chapter 3 (or 5)"

# 6. A code span must start with the name: `srv->grace_timer_cb` is not it.
sed "s/\`$name\`/\`srv->grace_timer_cb\`/g" "$tutorial" >"$dir/not-start.md"
expect_failure "$dir/not-start.md" "a name inside another span" "$hunk" "\`$name\`"

# The names of a hunk: listen_on(), which the port rewrote, is a name of a
# hunk of stage 3's server.c; the new lag.c is one hunk, named by its file.
grep -q $'^stage3-eventloop/server.c\t@@ [^\t]*\tlisten_on()\tok$' <<<"$names" ||
	fail "names 2-3: listen_on() is not a name of a hunk of server.c"
grep -q $'^stage3-eventloop/lag.c\t@@ -0,0 [^\t]*\tlag.c\tok$' <<<"$names" ||
	fail "names 2-3: the new lag.c is not named by its file"

[ "$failed" -eq 0 ] && echo "test-stage-diffs: all passed"
exit "$failed"
