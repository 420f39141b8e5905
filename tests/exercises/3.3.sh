# title: break an ownership rule (stage 3: write data lives until write_cb)
# shellcheck shell=bash
#
# Runs stage 3 under ASan and GETs a value far larger than the socket
# takes at once: uv_try_write() sends what fits, and the rest goes through
# uv_write(), which writes it from the loop later, as the client reads. If
# that data was freed before write_cb(), ASan sees libuv's write read freed
# memory: a heap-use-after-free. (A small reply never reaches uv_write():
# uv_try_write() sends it whole.)

VALUE_BYTES=$((8 * 1024 * 1024)) # RESP_BULK_MAX, the largest value a client may send

build() {
	ex_make SANITIZE=address stage3
}

check() {
	local value="$EX_TMP/value" got err
	# The checker's own sanitizer options: stop at the first report, keep
	# freed memory poisoned (the default quarantine is larger than the value).
	export ASAN_OPTIONS=halt_on_error=1:detect_leaks=0:exitcode=86
	ex_start "$(ex_bin stage3 address)"
	err="$EX_TMP/server.$EX_PID.err"
	head -c "$VALUE_BYTES" /dev/zero | tr '\0' x >"$value"
	[ "$(ex_cli -x SET big <"$value")" = OK ] || ex_not_yet "SET of the $VALUE_BYTES-byte value failed"
	got=$(timeout 20 redis-cli -p "$EX_PORT" GET big 2>/dev/null | wc -c)
	sleep 0.5
	ex_expect "ASan's report in the server's stderr" "heap-use-after-free (libuv writing data already freed)" \
		"$(grep -o 'ERROR: AddressSanitizer: [a-z-]*' "$err" | head -n 1 || true)"
	ex_expect "bytes of the GET reply the client received (not judged)" \
		"any: ASan checks a write's buffer once the write has sent it, and freed memory keeps its bytes" "$got"
	if grep -q 'AddressSanitizer: heap-use-after-free' "$err"; then
		grep -E -A 3 '^(READ of size|freed by thread)' "$err" | sed 's/^/  | /' | head -n 8
		ex_pass "the data uv_write() was still sending had been freed: that is why it lives until write_cb()"
	fi
	if grep -q 'AddressSanitizer' "$err"; then
		sed -n '/AddressSanitizer/,+6p' "$err" | sed 's/^/  | /' | head -n 8
		ex_not_yet "ASan reported something else"
	fi
	ex_not_yet "the reply was sent whole and ASan saw nothing: the data still lives until write_cb()"
}
