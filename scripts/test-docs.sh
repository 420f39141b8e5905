#!/usr/bin/env bash
# test-docs.sh: run every command README.md and TUTORIAL.md ask the reader to
# type, in order, and compare the output with the text where the text shows
# output. `make test-docs` runs it; .ci/run runs that.
#
# TUTORIAL.md's console blocks are written in cram's format (Debian's
# python3-cram, `cram3`): an indented "$ command" is run in one bash session,
# top to bottom, and the indented lines under it are the output it must
# print; "(glob)" at the end of a line lets "*" stand for values that vary
# (ports, timings, counts). Cram is a well-kept tool that does exactly this,
# so the only code of our own is the awk below that hands it the blocks.
#
# README.md shows its two commands (`make tour`, `make test`) in a plain sh
# block, as a README should, without output; cram cannot run those, so this
# script runs each line of README.md's sh blocks itself and requires exit
# status 0. `make tour` runs its quick set here (QUICK=1): the full set takes
# half an hour and measures the same things. It writes to build/docs/tour
# (TOUR_OUT), never over a reader's bench/results/.
#
# The claims: TUTORIAL.md (and bench/README.md) mark each claim where they
# make it, [claim ID: VERDICT]. bench/report.py --check requires every id
# marked to be in bench/reference/summary.md's claims table with that
# verdict, every claim of the table to be marked, the table to have its
# columns and only the verdicts holds / contradicted / inconclusive, and
# its ids to be report.py's own; and the quick run's table the same shape.
# That check compares no numbers. Chapter 6's console blocks show the
# reference run's figures, and cram compares those with bench/reference/ as
# committed: `bench/report.py --refresh-tutorial TUTORIAL.md` rewrites them
# after a new reference run.
set -euo pipefail
cd "$(dirname "$0")/.."

export QUICK=1
export TOUR_OUT=build/docs/tour
mkdir -p build/docs

echo "==== claims: TUTORIAL.md and bench/README.md against bench/reference/summary.md"
python3 bench/report.py --self-test
python3 bench/report.py --check bench/reference/summary.md --markers TUTORIAL.md bench/README.md
# Run the commands as a reader would, from a shell, not as a make sub-process
# (which would make every `make` print "Entering directory").
unset MAKELEVEL MAKEFLAGS MFLAGS

echo "==== README.md"
awk '/^```sh[ \t]*$/ { inblock = 1; next } /^```/ { inblock = 0 } inblock' README.md |
	sed -e 's/[ \t]*#.*$//' -e '/^[ \t]*$/d' >build/readme-commands.sh
while IFS= read -r command; do
	echo "---- \$ $command"
	if ! bash -c "$command" </dev/null >build/readme-command.log 2>&1; then
		cat build/readme-command.log # all of it: CI shows nothing else of the run
		echo "test-docs: README.md: '$command' failed" >&2
		exit 1
	fi
	tail -n 3 build/readme-command.log
done <build/readme-commands.sh
python3 bench/report.py --check "$TOUR_OUT/summary.md"

echo "==== TUTORIAL.md"
# Only the console blocks (and the hidden set-up in HTML comments) are the
# session; the prose around them must not be mistaken for expected output,
# so they are copied, in order, into a cram test of their own. Its line
# numbers in a failure report point into build/docs/TUTORIAL.t.
{
	echo "The console blocks of TUTORIAL.md, in order (made by scripts/test-docs.sh)."
	echo "  \$ cd '$PWD'"
	awk '
		/^```console[ \t]*$/ { inblock = 1; print ""; next }
		inblock && /^```/ { inblock = 0; next }
		inblock { print; next }
		/^<!--/ { incomment = 1; next }
		incomment && /-->/ { incomment = 0; next }
		incomment && /^  / { print }
	' TUTORIAL.md
} >build/docs/TUTORIAL.t
rm -f build/docs/TUTORIAL.t.err
if ! cram3 --shell=/bin/bash --indent=2 build/docs/TUTORIAL.t; then
	echo "test-docs: TUTORIAL.md: a command's output differs from the text (diff above," >&2
	echo "  lines of build/docs/TUTORIAL.t; the full actual output is in build/docs/TUTORIAL.t.err)" >&2
	exit 1
fi
echo "==== test-docs: README.md and TUTORIAL.md ran as written"
