#!/usr/bin/env bash
# verify.sh [N.M...]: prove that every exercise checker can fail and can pass
# (`make verify-exercises`, run by .ci/run). For each exercise:
#
#   - on the tree as it is, its checker must say NOT YET;
#   - with its reference solution applied (tests/exercises/N.M.patch, applied
#     with `git apply` at the repository root of a scratch copy), PASS;
#   - with its decoy applied, where there is one (N.M.decoy.patch: a
#     plausible wrong answer), NOT YET.
#
# A scratch copy holds the repository's files and a copy of build/, so that
# only what a patch touches is compiled again. Exits 1 if any verdict is not
# the one required.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
root=$PWD

ids=("$@")
if [ ${#ids[@]} -eq 0 ]; then
	mapfile -t ids < <(cd tests/exercises && ls [0-9]*.[0-9]*.sh | sed 's/\.sh$//' | sort -V)
fi

scratch_base=$(mktemp -d "${TMPDIR:-/tmp}/verify-exercises.XXXXXX")
trap 'rm -rf "$scratch_base"' EXIT
failures=()

# run_in DIR ID WANT: run the checker of ID in DIR, require verdict WANT
# (0 PASS, 1 NOT YET).
run_in() {
	local dir=$1 id=$2 want=$3 label=$4 rc
	(cd "$dir" && tests/exercises/check.sh "$id") >"$scratch_base/out" 2>&1
	rc=$?
	sed 's/^/    /' "$scratch_base/out"
	if [ "$rc" != "$want" ]; then
		failures+=("$id $label: wanted $([ "$want" = 0 ] && echo PASS || echo 'NOT YET'), got status $rc")
	fi
}

# scratch_with PATCH: a copy of the repository with PATCH applied; prints its path.
scratch_with() {
	local dir
	dir=$(mktemp -d "$scratch_base/tree.XXXXXX")
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp -p --parents -t "$dir" 2>/dev/null
	[ -d build ] && cp -a build "$dir/"
	if ! (cd "$dir" && git apply "$root/$1"); then
		echo "verify.sh: $1 does not apply" >&2
		return 1
	fi
	echo "$dir"
}

for id in "${ids[@]}"; do
	echo "==== verify exercise $id"
	echo "  the tree as it is (must be NOT YET):"
	run_in "$root" "$id" 1 "unchanged tree"
	for kind in patch decoy.patch; do
		patch=tests/exercises/$id.$kind
		if [ ! -f "$patch" ]; then
			[ "$kind" = patch ] && failures+=("$id: no reference solution $patch")
			continue
		fi
		want=0
		[ "$kind" = decoy.patch ] && want=1
		echo "  with $patch (must be $([ "$want" = 0 ] && echo PASS || echo 'NOT YET')):"
		if dir=$(scratch_with "$patch"); then
			run_in "$dir" "$id" "$want" "$kind"
			rm -rf "$dir"
		else
			failures+=("$id: $patch does not apply")
		fi
	done
done

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "verify.sh: ${#failures[@]} verdict(s) wrong:"
	printf '  %s\n' "${failures[@]}"
	exit 1
fi
echo "verify.sh: every checker says NOT YET on the tree, PASS with its solution, NOT YET with its decoy (${#ids[@]} exercises)"
