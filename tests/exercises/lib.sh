# tests/exercises/lib.sh: what every exercise checker shares.
# shellcheck shell=bash
#
# check.sh sources this file, then the checker tests/exercises/N.M.sh, which
# defines two functions:
#
#   build   make what the exercise changed (ex_make ...); untimed, so that a
#           first run on a fresh clone may compile everything
#   check   run it and judge: print what was expected next to what was seen
#           (ex_expect), then end with ex_pass or ex_not_yet; at most
#           EX_CHECK_SECONDS (60) seconds
#
# A checker tests behaviour (it runs the server, measures, runs a test), never
# the text of the change. Exit status: 0 PASS, 1 NOT YET, anything else means
# the checker itself failed (check.sh reports it as an error, never as PASS).
# Everything runs from the repository root, on loopback, with --port 0.

EX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EX_TMP=$(mktemp -d "${TMPDIR:-/tmp}/exercise.XXXXXX")
EX_PIDS=()

ex_cleanup() {
	local pid
	# Reaped here, quietly: bash would otherwise report each as "Killed".
	for pid in "${EX_PIDS[@]}"; do
		{
			kill -KILL "$pid" && wait "$pid"
		} 2>/dev/null || true
	done
	rm -rf "$EX_TMP"
}
trap ex_cleanup EXIT

# ex_make [SANITIZE=address|thread] TARGET...: make quietly. On failure,
# prints the compiler's last lines and ends the check with NOT YET: a change
# that does not build is not done.
ex_make() {
	if ! make -C "$EX_ROOT" --no-print-directory "$@" >"$EX_TMP/make.log" 2>&1; then
		tail -n 25 "$EX_TMP/make.log" | sed 's/^/  | /'
		ex_not_yet "make $* failed (the change does not build)"
	fi
}

# ex_bin STAGE [VARIANT]: the path of a stage's server, e.g. ex_bin stage1
# thread -> build/tsan/bin/stage1-threads.
ex_bin() {
	local dir variant=${2:-release}
	case "$variant" in
	address) variant=asan ;;
	thread) variant=tsan ;;
	esac
	dir=$(cd "$EX_ROOT" && echo "$1"-*/)
	echo "$EX_ROOT/build/$variant/bin/${dir%/}"
}

# ex_suite VARIANT SUITE BIN [-t TEST]: run one CUnit suite binary (built by
# ex_make) against a server binary; its output goes to $EX_TMP/SUITE.log.
# Returns the suite's status (non-zero on any failure or sanitizer report).
ex_suite() {
	local variant=$1 suite=$2 bin=$3
	shift 3
	case "$variant" in
	address) variant=asan ;;
	thread) variant=tsan ;;
	"") variant=release ;;
	esac
	(cd "$EX_ROOT" && "build/$variant/tests/suite_$suite" "$bin" "$@") >"$EX_TMP/$suite.log" 2>&1
}

# ex_start BIN ARGS...: start a server on an ephemeral port. Sets EX_PID and
# EX_PORT; its stdout is $EX_TMP/server.$EX_PID.out, stderr .err.
ex_start() {
	local out="$EX_TMP/server.out" err="$EX_TMP/server.err" line
	"$@" --port 0 >"$out" 2>"$err" &
	EX_PID=$!
	EX_PIDS+=("$EX_PID")
	if ! line=$("$EX_ROOT/scripts/wait-listening" "$out" "$EX_PID" 10); then
		sed 's/^/  | /' "$err"
		ex_not_yet "the server did not start"
	fi
	EX_PORT=${line##*:}
	mv "$out" "$EX_TMP/server.$EX_PID.out"
	mv "$err" "$EX_TMP/server.$EX_PID.err"
}

# ex_stop [PID]: SIGTERM, then SIGKILL after 5 s. Returns the exit status.
ex_stop() {
	local pid=${1:-$EX_PID} tries=50 status=0
	kill -TERM "$pid" 2>/dev/null || return 0
	while kill -0 "$pid" 2>/dev/null && [ "$tries" -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || status=$?
	return "$status"
}

# ex_cli ARGS...: redis-cli against the server ex_start started, bounded.
ex_cli() {
	timeout 10 redis-cli -p "$EX_PORT" "$@"
}

# ex_info FIELD: one field of INFO (every section), e.g. ex_info aof_fsyncs.
ex_info() {
	ex_cli INFO everything | tr -d '\r' | sed -n "s/^$1://p"
}

# ex_rss_kib [PID] / ex_vmsize_kib [PID]: the process's resident set and
# virtual size, from /proc/PID/status.
ex_rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/${1:-$EX_PID}/status"; }
ex_vmsize_kib() { sed -n 's/^VmSize:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/${1:-$EX_PID}/status"; }

# ex_now_ms: a timestamp in milliseconds, for timing a request.
ex_now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ex_expect WHAT EXPECTED SEEN: one line of the verdict.
ex_expect() {
	printf '  %s\n    expected: %s\n    seen:     %s\n' "$1" "$2" "$3"
}

ex_pass() {
	echo "  ${1:-}"
	exit 0
}

ex_not_yet() {
	echo "  ${1:-}"
	exit 1
}

# ==== Raw connections and waiting (added for chapters 1 and 2) ===========
#
# A checker that needs clients it controls byte by byte (idle ones that
# never send, one whose reply must not come yet) opens them from bash itself
# on /dev/tcp: no helper process, nothing sent that the checker did not write.

# ex_connect VAR: opens a connection to the server ex_start started; stores
# its file descriptor in VAR. Fails (status 1) when the connection is refused.
ex_connect() {
	local ex_fd_ # a name the caller's VAR (often "fd") cannot shadow
	exec {ex_fd_}<>"/dev/tcp/127.0.0.1/$EX_PORT" || return 1
	printf -v "$1" '%s' "$ex_fd_"
}

# ex_close FD...: closes connections opened by ex_connect.
ex_close() {
	local fd
	for fd in "$@"; do
		exec {fd}>&-
	done
}

# ex_send FD TEXT: writes TEXT (printf escapes allowed, e.g. 'PING\r\n').
ex_send() {
	# shellcheck disable=SC2059 # the escapes in TEXT are the point
	printf "$2" >&"$1"
}

# ex_read_line FD SECONDS: prints the next line the server sent, without its
# CRLF. Status 0; 1 when the server closed the connection (EOF) first; 2
# when nothing came within SECONDS (fractions allowed).
ex_read_line() {
	local line rc=0
	IFS= read -r -t "$2" -u "$1" line || rc=$?
	if [ "$rc" = 0 ]; then
		printf '%s\n' "${line%$'\r'}"
		return 0
	fi
	[ "$rc" -gt 128 ] && return 2
	return 1
}

# ex_request FD TEXT SECONDS: sends TEXT and prints the reply: the line of
# a simple string, error or integer, the body of a bulk string (INFO).
# Statuses as ex_read_line's.
ex_request() {
	local line body rc=0
	ex_send "$1" "$2" || return 1
	line=$(ex_read_line "$1" "$3") || return $?
	case "$line" in
	\$-1) echo "(nil)" ;;
	\$*)
		IFS= read -r -N "$((${line#\$} + 2))" -t "$3" -u "$1" body || rc=$?
		[ "$rc" -gt 128 ] && return 2
		[ "$rc" != 0 ] && return 1
		printf '%s\n' "${body%$'\r\n'}" | tr -d '\r'
		;;
	*) printf '%s\n' "$line" ;;
	esac
}

# ex_wait_until SECONDS COMMAND...: runs COMMAND every 0.1 s until it
# succeeds (status 0) or SECONDS have passed (status 1).
ex_wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

# ex_ncpu: the CPUs this process may run on, or the online ones if more:
# glibc sizes its malloc arena limit (8 per CPU on 64-bit) from them.
ex_ncpu() {
	local a b
	a=$(nproc 2>/dev/null || echo 1)
	b=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
	echo $((a > b ? a : b))
}
