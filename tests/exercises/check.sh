#!/usr/bin/env bash
# check.sh N.M...: run the checkers of the tutorial's graded exercises
# (tests/exercises/N.M.sh, see lib.sh) against the tree as it is, and print
# PASS or NOT YET for each. `make check-exercise N.M` and `make
# check-exercises` call it.
#
# Exit status: 0 when every exercise passed, 1 when one is not done yet,
# 2 when a checker itself failed (a bug to report, not a verdict).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

EX_CHECK_SECONDS=${EX_CHECK_SECONDS:-60}
EX_BUILD_SECONDS=${EX_BUILD_SECONDS:-600}
status=0

for id in "$@"; do
	checker=tests/exercises/$id.sh
	if [ ! -f "$checker" ]; then
		echo "check.sh: no exercise $id (tests/exercises/*.sh has:" \
			"$(cd tests/exercises && ls [0-9]*.sh | sed 's/\.sh$//' | tr '\n' ' '))" >&2
		exit 2
	fi
	title=$(sed -n 's/^# title: //p' "$checker")
	echo "==== exercise $id: $title"
	# The build is untimed: on a fresh clone it may compile a whole variant.
	# A checker's run is bounded; one that overruns has not passed.
	timeout "$EX_BUILD_SECONDS" bash -c 'source tests/exercises/lib.sh; source "$1"; build' _ "$checker"
	rc=$?
	[ "$rc" = 124 ] && echo "  the build ran for more than ${EX_BUILD_SECONDS} s" && rc=2
	if [ "$rc" = 0 ]; then
		timeout -k 5 "$EX_CHECK_SECONDS" bash -c 'source tests/exercises/lib.sh; source "$1"; check' _ "$checker"
		rc=$?
	fi
	case "$rc" in
	0) verdict=PASS ;;
	1) verdict="NOT YET" ;;
	124 | 137) verdict="NOT YET (it ran for more than ${EX_CHECK_SECONDS} s)" rc=1 ;;
	*) verdict="ERROR: the checker failed with status $rc" rc=2 ;;
	esac
	echo "exercise $id: $verdict"
	[ "$rc" -gt "$status" ] && status=$rc
done
exit "$status"
