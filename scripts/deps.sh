#!/bin/sh
# deps.sh: make sure the Debian packages a target needs are installed.
#
# usage: scripts/deps.sh GROUP...   (GROUP: build test lint fuzz tour valgrind debug docs)
#
# Checks each package with dpkg-query. Installs the missing ones with apt-get
# when running as root, or through sudo when sudo works without a password;
# otherwise prints the exact command to run and exits 1. The Makefile calls it
# once per group and records success in a stamp file, so a fresh Debian
# machine needs nothing but `make test`.
set -eu

packages_for() {
	case "$1" in
	build) echo "gcc make pkg-config libuv1-dev libcunit1-dev libhiredis-dev" ;;
	test) echo "redis-tools" ;;
	lint) echo "clang-format cppcheck" ;;
	fuzz) echo "clang libclang-rt-dev" ;;
	tour) echo "redis-tools redis-server gnuplot-nox procps" ;;
	valgrind) echo "valgrind" ;;
	debug) echo "gdb elfutils" ;;
	docs) echo "python3-cram redis-tools procps gdb" ;;
	*)
		echo "deps.sh: unknown group '$1' (build test lint fuzz tour valgrind debug docs)" >&2
		exit 2
		;;
	esac
}

if [ $# -eq 0 ]; then
	echo "usage: scripts/deps.sh GROUP... (build test lint fuzz tour valgrind debug docs)" >&2
	exit 2
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps.sh: this is not a Debian-like system; please install the equivalents of:" >&2
	for g in "$@"; do packages_for "$g"; done | tr ' ' '\n' | sort -u | tr '\n' ' ' >&2
	echo >&2
	exit 1
fi

missing=""
for group in "$@"; do
	for pkg in $(packages_for "$group"); do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
		if [ "$status" != "installed" ]; then
			case " $missing " in
			*" $pkg "*) ;;
			*) missing="$missing $pkg" ;;
			esac
		fi
	done
done

[ -z "$missing" ] && exit 0

echo "deps.sh: installing missing packages:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo="sudo -n"
else
	echo "deps.sh: cannot install as $(id -un). Run this, then try again:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086 # word splitting of $sudo and $missing is intended
if ! { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends $missing; } >&2; then
	echo "deps.sh: apt-get failed. Install by hand, then try again:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi
