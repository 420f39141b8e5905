#!/usr/bin/env bash
# bench/report.sh: turns a tour's CSVs into summary.md, the performance-goal
# checks and the PNG charts, and prints the tables on the terminal.
#
# usage: bench/report.sh [RESULTS-DIR]     (default bench/results)
#
# tour.sh calls it at the end of every run; run it alone to redraw the
# summary and the charts from the CSVs already there. It reads only what
# the run left (run.env, idle.csv, throughput.csv, bursty.csv,
# starvation.csv, cpu.csv): a measurement that was not run is left out.
# Exits 0 whether goals were met or missed; the misses are printed loudly.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/results}
[ -f "$OUT/run.env" ] || { echo "report: $OUT/run.env not found: run bench/tour.sh first" >&2; exit 1; }
OUT=$(cd "$OUT" && pwd)
PLOT=$OUT/plot
mkdir -p "$PLOT"

env_get() { sed -n "s/^$1=//p" "$OUT/run.env" | head -n 1; }

SERVERS=$(env_get servers)
SUMMARY=$OUT/summary.md
GOALS=$PLOT/goals.tsv
: >"$GOALS"

# Load runs give stage 2 a bigger pool than its default: say so in every label.
S2_THREADS=$(env_get stage2_load_threads)
load_label() {
	case "$1" in
	stage2-pool) echo "stage2-pool (--threads $S2_THREADS)" ;;
	stage2-pool-default) echo "stage2-pool (default pool)" ;;
	redis) echo "redis $(env_get redis_server)" ;;
	*) echo "$1" ;;
	esac
}
# The same in a chart, where a long label would collide with its neighbour:
# the chart's title explains the star.
plot_label() {
	case "$1" in
	stage2-pool) echo "stage2-pool*" ;;
	stage2-pool-default) echo "stage2-pool" ;;
	*) load_label "$1" ;;
	esac
}
idle_label() {
	case "$1" in
	stage2-pool) echo "stage2-pool (default pool)" ;;
	redis) echo "redis $(env_get redis_server)" ;;
	*) echo "$1" ;;
	esac
}

# Tab-separated rows in (header first), an aligned Markdown table out.
md_table() {
	awk -F'\t' '
	{ for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
	  if (NF > nf) nf = NF; n = NR }
	END {
		for (r = 1; r <= n; r++) {
			line = "|"
			for (i = 1; i <= nf; i++) line = line " " sprintf("%-" w[i] "s", c[r, i]) " |"
			print line
			if (r == 1) {
				line = "|"
				for (i = 1; i <= nf; i++) { d = ""; for (k = 0; k < w[i] + 2; k++) d = d "-"; line = line d "|" }
				print line
			}
		}
	}'
}

# cell VALUE EMPTY [FORMAT [SCALE]]: one figure of a table: EMPTY when there
# is none, else VALUE as it is, or VALUE times SCALE (1) through awk's printf
# FORMAT when FORMAT is given.
cell() {
	if [ -z "$1" ] || [ -z "${3:-}" ]; then
		printf '%s' "${1:-$2}"
	else
		awk -v v="$1" -v fmt="$3" -v scale="${4:-1}" 'BEGIN { printf fmt, v * scale }'
	fi
}

# goal KIND TEXT MEASURED RESULT: one line of the checks table.
goal() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$GOALS"; }

have() { [ -s "$OUT/$1" ] && [ "$(wc -l <"$OUT/$1")" -gt 1 ]; }

{
	echo "# The tour: results"
	echo
	echo "The $(env_get set) set, run $(env_get date), took $(env_get elapsed) s."
	echo "Servers: $SERVERS. Measurements: $(env_get measurements | tr ',' ' ')."
	note=$(env_get redis_note)
	[ -n "$note" ] && echo && echo "**$note.**"
	if [ "$(env_get set)" = quick ]; then
		echo
		echo "**The quick set is a smoke run: too few requests to judge the goals by. \`make tour\` gives the verdict.**"
	fi
	echo
	echo "Every process runs on this machine, load generators included, so other work on it"
	echo "(see the load average under Machine) shows up in the figures."
	echo
	echo "## Machine"
	echo
	{
		printf 'what\tvalue\n'
		printf 'CPUs\t%s x %s\n' "$(env_get cpu_count)" "$(env_get cpu_model)"
		printf 'kernel\t%s\n' "$(env_get kernel)"
		printf 'OS\t%s\n' "$(env_get os)"
		printf 'libuv\t%s\n' "$(env_get libuv)"
		printf 'redis-server\t%s\n' "$(env_get redis_server)"
		printf 'redis-benchmark\t%s\n' "$(env_get redis_benchmark)"
		printf 'fd limit (soft = hard)\t%s\n' "$(env_get fd_limit)"
		printf 'gnuplot\t%s\n' "$(env_get gnuplot)"
		printf 'load average (1, 5, 15 min) at start\t%s\n' "$(env_get load_start)"
		printf 'load average at the end\t%s\n' "$(env_get load_end)"
	} | md_table
} >"$SUMMARY.body"

# ==== 1. Idle memory ========================================================

if have idle.csv; then
	N_MAX=$(awk -F, 'NR > 1 && $2 > m {m = $2} END {print m + 0}' "$OUT/idle.csv")
	{
		echo
		echo "## 1. Idle memory"
		echo
		echo "Server RSS, virtual size and threads with N idle connections held open by"
		echo "\`redis-benchmark -I\`; resident bytes per connection = (RSS - RSS at N=0) / held."
		echo "\"held\" counts the server's open sockets beyond its baseline. \"active\" says whether"
		echo "one more client's PING was answered within 3 s while they were held."
		echo
		{
			printf 'server\tN\theld\tRSS (MiB)\tVmSize (MiB)\tthreads\tB/conn\tactive client served\n'
			for s in $SERVERS; do
				awk -F, -v s="$s" -v label="$(idle_label "$s")" 'NR > 1 && $1 == s {
					reply = $10; if (reply == "PONG") reply = "yes"; else reply = "NO: " reply
					printf "%s\t%d\t%d\t%.1f\t%.0f\t%d\t%s\t%s\n", label, $2, $3, $4 / 1024, $5 / 1024, $6,
						($7 == "" ? "-" : $7), reply
				}' "$OUT/idle.csv"
			done
		} | md_table
		awk -F, 'NR > 1 && $12 != "" {
			if (!shown++) print ""
			printf "- %s, N=%d: %s.\n", $1, $2, $12 }' "$OUT/idle.csv"
		echo
		echo "Resident bytes per idle connection:"
		echo
		{
			printf 'server'
			awk -F, 'NR > 1 && $2 > 0 && !seen[$2]++ {printf "\tN=%d", $2}' "$OUT/idle.csv"
			printf '\n'
			for s in $SERVERS; do
				printf '%s' "$(idle_label "$s")"
				awk -F, -v s="$s" 'NR > 1 && $1 == s && $2 > 0 {printf "\t%s", ($7 == "" ? "-" : $7 " B")}' "$OUT/idle.csv"
				printf '\n'
			done
		} | md_table
	} >>"$SUMMARY.body"

	# chart data: one row per N; one column per server with bytes per
	# connection, then one per server with the bar's label (which says so
	# when the server held fewer connections than asked)
	{
		printf 'N'
		for s in $SERVERS; do printf ' "%s"' "$(idle_label "$s")"; done
		for s in $SERVERS; do printf ' "label %s"' "$s"; done
		printf '\n'
		for n in $(awk -F, 'NR > 1 && $2 > 0 && !seen[$2]++ {print $2}' "$OUT/idle.csv"); do
			printf '%s' "$n"
			for s in $SERVERS; do
				awk -F, -v s="$s" -v n="$n" 'NR > 1 && $1 == s && $2 == n { v = $7 }
					END { if (v == "") v = "-"; else if (v <= 0) v = 1; printf " %s", v }' "$OUT/idle.csv"
				# (a log axis cannot show 0: floor at 1 B)
			done
			for s in $SERVERS; do
				awk -F, -v s="$s" -v n="$n" 'NR > 1 && $1 == s && $2 == n { v = $7; h = $3 }
					END { if (v == "") l = ""; else if (h < n) l = v " (" h " held)"; else l = v
					      printf " \"%s\"", l }' "$OUT/idle.csv"
			done
			printf '\n'
		done
	} >"$PLOT/memory.dat"

	per() { awk -F, -v s="$1" -v n="$N_MAX" 'NR > 1 && $1 == s && $2 == n {print $7}' "$OUT/idle.csv"; }
	redis_per=$(per redis)
	for s in stage3-eventloop stage4-offload; do
		v=$(per "$s")
		if [ -z "$v" ]; then
			goal goal "$s: < 1 KiB resident per idle connection at N=$N_MAX" "not measured" SKIP
			continue
		fi
		r=MISS
		[ "$v" -lt 1024 ] && r=PASS
		goal goal "$s: < 1 KiB resident per idle connection at N=$N_MAX" "$v B" "$r"
		if [ -n "$redis_per" ]; then
			r=MISS
			[ "$v" -lt "$redis_per" ] && r=PASS
			goal goal "$s: below Redis per idle connection at N=$N_MAX" "$v B vs $redis_per B" "$r"
		else
			goal goal "$s: below Redis per idle connection at N=$N_MAX" "no Redis figure" SKIP
		fi
	done
	v1=$(per stage1-threads)
	v3=$(per stage3-eventloop)
	if [ -n "$v1" ] && [ -n "$v3" ]; then
		x=$(awk -v a="$v1" -v b="$v3" 'BEGIN { printf "%.0f", (b > 0 ? a / b : a) }')
		r=MISS
		[ "$x" -ge 5 ] && r=PASS
		goal expectation "stage1-threads: many times stage 3's bytes per idle connection" "$v1 B = ${x}x" "$r"
	fi
	a2=$(awk -F, 'NR > 1 && $1 == "stage2-pool" && $2 >= 100 && $9 == "yes" {print "yes"; exit}' "$OUT/idle.csv")
	if grep -q '^stage2-pool,' "$OUT/idle.csv"; then
		r=PASS
		[ -n "$a2" ] && r=MISS
		goal expectation "stage2-pool (default pool): an active client is not served with >= 100 idle" \
			"$(awk -F, 'NR > 1 && $1 == "stage2-pool" && $2 >= 100 {printf "N=%d: %s; ", $2, ($9 == "yes" ? "served" : $10)}' "$OUT/idle.csv" | sed 's/; $//')" "$r"
	fi
fi

# ==== 2. Throughput =========================================================

if have throughput.csv; then
	# For every server, pipeline and test: the median run by requests/s (its
	# latencies come with it), then the number of runs, the median server CPU
	# time per request over the runs, and the spread of requests/s over the
	# runs, (max - min) / median: how much the machine moved the figure.
	tail -n +2 "$OUT/throughput.csv" | awk -F, '$5 != ""' | sort -t, -k1,1 -k2,2n -k4,4 -k5,5g |
		awk -F, '
		function median_of(arr, m,    a, b, t) {
			for (a = 2; a <= m; a++) for (b = a; b > 1 && arr[b - 1] > arr[b]; b--) { t = arr[b]; arr[b] = arr[b - 1]; arr[b - 1] = t }
			return arr[int((m + 1) / 2)]
		}
		{ key = $1 "," $2 "," $4; n[key]++; row[key, n[key]] = $0; cpu[key, n[key]] = $12; rps[key, n[key]] = $5
		  if (!(key in seen)) { seen[key] = 1; order[++k] = key } }
		END {
			for (i = 1; i <= k; i++) {
				key = order[i]; m = n[key]
				for (a = 1; a <= m; a++) c[a] = cpu[key, a] + 0
				mid = int((m + 1) / 2)
				spread = (rps[key, m] - rps[key, 1]) / rps[key, mid]
				printf "%s,%d,%.2f,%.2f\n", row[key, mid], m, median_of(c, m), spread
			}
		}' >"$PLOT/throughput_median.csv"
	# columns: 1 server, 2 pipeline, 4 test, 5 rps, 10 p99, 13 runs,
	# 14 median CPU us/request, 15 spread of requests/s
	tp() { awk -F, -v s="$1" -v p="$2" -v t="$3" -v c="${4:-5}" '$1 == s && $2 == p && $4 == t {print $c}' "$PLOT/throughput_median.csv"; }
	pipe=$(env_get tp_pipeline)
	reps=$(env_get tp_reps)
	clients=$(env_get tp_clients)
	# tp_table COLUMN EMPTY [FORMAT [SCALE]]: the Markdown table of one
	# column of throughput_median.csv, a row per server, a column per
	# pipeline and test; each figure through cell (above).
	tp_table() {
		local s p t
		{
			printf 'server\tPING_INLINE\tSET\tGET\tPING_INLINE -P %s\tSET -P %s\tGET -P %s\n' "$pipe" "$pipe" "$pipe"
			for s in $SERVERS; do
				printf '%s' "$(load_label "$s")"
				for p in 1 "$pipe"; do
					for t in PING_INLINE SET GET; do
						printf '\t%s' "$(cell "$(tp "$s" "$p" "$t" "$1")" "$2" "${3:-}" "${4:-}")"
					done
				done
				printf '\n'
			done
		} | md_table
	}
	{
		echo
		echo "## 2. Throughput"
		echo
		echo "Requests per second with $clients clients, unpipelined and \`-P $pipe\`: the median of $reps"
		echo "run(s) (every run is in throughput.csv)."
		echo
		tp_table 5 failed '%.0f'
		echo
		echo "p99 latency (ms) in the same runs:"
		echo
		tp_table 10 -
		echo
		echo "Server CPU time per request (microseconds, user + system, all threads; median over"
		echo "the runs): what a request costs the server, whoever else was using the machine."
		echo
		tp_table 14 -
		echo
		echo "Spread of requests/s over the runs, (max - min) / median: how much the rest of the"
		echo "machine moved the figures. Differences smaller than this are noise."
		echo
		tp_table 15 - '%.0f%%' 100
	} >>"$SUMMARY.body"

	for p in 1 "$pipe"; do
		{
			printf 'test'
			for s in $SERVERS; do printf ' "%s"' "$(plot_label "$s")"; done
			printf '\n'
			for t in PING_INLINE SET GET; do
				printf '%s' "$t"
				for s in $SERVERS; do v=$(tp "$s" "$p" "$t"); printf ' %s' "${v:--}"; done
				printf '\n'
			done
		} >"$PLOT/throughput_$([ "$p" = 1 ] && echo unpipelined || echo pipelined).dat"
	done

	for p in 1 "$pipe"; do
		for t in PING_INLINE SET GET; do
			a=$(tp stage3-eventloop "$p" "$t")
			b=$(tp redis "$p" "$t")
			what="stage3-eventloop: $t -P $p at least Redis's requests/s"
			if [ -z "$a" ] || [ -z "$b" ]; then
				goal goal "$what" "${a:-no stage 3 figure} vs ${b:-no Redis figure}" SKIP
				continue
			fi
			res=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%s %.2f", (a >= b ? "PASS" : "MISS"), a / b }')
			# A miss smaller than half the runs' spread is flagged as such.
			noise=$(awk -v a="$a" -v b="$b" -v sa="$(tp stage3-eventloop "$p" "$t" 15)" -v sb="$(tp redis "$p" "$t" 15)" 'BEGIN {
				s = (sa > sb ? sa : sb); if (a < b && (b - a) / b < s / 2) printf "; within noise: the runs spread %.0f%%", s * 100 }')
			goal goal "$what" "$(printf '%.0f vs %.0f = %sx (CPU per request: %s vs %s us)%s' "$a" "$b" "${res#* }" \
				"$(tp stage3-eventloop "$p" "$t" 14)" "$(tp redis "$p" "$t" 14)" "$noise")" "${res%% *}"
		done
	done
fi

# ==== 3. Bursty connections =================================================

if have bursty.csv; then
	clients=$(awk -F, 'NR == 2 {print $2}' "$OUT/bursty.csv")
	reqs=$(awk -F, 'NR == 2 {print $3}' "$OUT/bursty.csv")
	reps=$(env_get burst_reps)
	# Stage 2 ran twice: with its default pool, and with the load runs' pool.
	bursty_servers=$(for s in $SERVERS; do
		[ "$s" = stage2-pool ] && grep -q '^stage2-pool-default,' "$OUT/bursty.csv" && echo stage2-pool-default
		echo "$s"
	done)
	# bm SERVER COLUMN: the median of one column over the server's runs
	bm() {
		awk -F, -v s="$1" -v c="$2" 'NR > 1 && $1 == s && $c != "" {print $c}' "$OUT/bursty.csv" |
			sort -g | awk '{v[NR] = $1} END { if (NR) print v[int((NR + 1) / 2)] }'
	}
	{
		echo
		echo "## 3. Bursty connections"
		echo
		echo "GET, reconnecting for every request (\`-k 0\`), $clients clients, $reqs requests;"
		echo "each figure is the median of its ${reps:-1} run(s) (every run is in bursty.csv)."
		echo
		{
			printf 'server\treq/s\tp50 (ms)\tp95 (ms)\tp99 (ms)\tmax (ms)\n'
			for s in $bursty_servers; do
				rps=$(bm "$s" 5)
				if [ -z "$rps" ]; then
					printf '%s\tfailed\t-\t-\t-\t-\n' "$(load_label "$s")"
					continue
				fi
				printf '%s\t%.0f\t%s\t%s\t%s\t%s\n' "$(load_label "$s")" "$rps" "$(bm "$s" 8)" "$(bm "$s" 9)" "$(bm "$s" 10)" "$(bm "$s" 11)"
			done
		} | md_table
	} >>"$SUMMARY.body"
	{
		printf 'server p50 p95 p99 max\n'
		for s in $bursty_servers; do
			printf '"%s"' "$(plot_label "$s")"
			for c in 8 9 10 11; do v=$(bm "$s" "$c"); printf ' %s' "${v:--}"; done
			printf '\n'
		done
	} >"$PLOT/bursty.dat"
fi

# ==== 4. Starvation =========================================================

if have starvation.csv; then
	sleep_s=$(env_get starve_sleep)
	reps=$(env_get starve_reps)
	# st SERVER PHASE COLUMN: from the server's run of that phase with the
	# lowest p99 (column 10). Columns: 4 PINGs, 8 p50, 10 p99, 11 max.
	st() {
		awk -F, -v s="$1" -v ph="$2" -v col="$3" 'NR > 1 && $1 == s && $3 == ph && $10 != "" {
			if (found == "" || $10 + 0 < p99 + 0) { found = 1; p99 = $10; v = $col } }
			END { if (found != "") print v }' "$OUT/starvation.csv"
	}
	# The loop lag: the maximum before the first sleeper run, after the last.
	lag_before() { awk -F, -v s="$1" 'NR > 1 && $1 == s && $3 == "sleeping" {print $12; exit}' "$OUT/starvation.csv"; }
	lag_after() { awk -F, -v s="$1" 'NR > 1 && $1 == s && $3 == "sleeping" {v = $13} END {print v}' "$OUT/starvation.csv"; }
	{
		echo
		echo "## 4. Starvation"
		echo
		echo "One client runs \`DEBUG SLEEP $sleep_s\` in a loop while another sends PINGs one at a"
		echo "time; the same number of PINGs again with no sleeper is the baseline. Both were run"
		echo "${reps:-1} time(s), in turn; each shows its run with the lower p99, so that a moment of"
		echo "noise on the machine does not decide. Latency in ms. The loop lag is the largest delay"
		echo "the event loop's own timer saw during the runs (stages 3 and 4; \"<= X\": no delay above"
		echo "the X ms it had seen before them)."
		echo
		{
			printf 'server\tPINGs\tbaseline p50\tbaseline p99\tbaseline max\tsleeping p50\tsleeping p99\tsleeping max\tp99 ratio\tloop lag max\n'
			for s in $SERVERS; do
				b50=$(st "$s" baseline 8) b99=$(st "$s" baseline 10) bmax=$(st "$s" baseline 11)
				s50=$(st "$s" sleeping 8) s99=$(st "$s" sleeping 10) smax=$(st "$s" sleeping 11)
				ratio=$(awk -v a="$s99" -v b="$b99" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.1fx", a / b }')
				lag=$(awk -v a="$(lag_before "$s")" -v b="$(lag_after "$s")" 'BEGIN {
					if (b == "") print "-"; else if (a == "" || b + 0 > a + 0) print b; else print "<= " a }')
				printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(load_label "$s")" "$(st "$s" sleeping 4)" \
					"${b50:--}" "${b99:--}" "${bmax:--}" "${s50:--}" "${s99:--}" "${smax:--}" "$ratio" "${lag:--}"
			done
		} | md_table
	} >>"$SUMMARY.body"
	{
		printf 'server "p99 without the sleeper" "p50 with the sleeper" "p99 with the sleeper" "max with the sleeper"\n'
		for s in $SERVERS; do
			b99=$(st "$s" baseline 10) s50=$(st "$s" sleeping 8) s99=$(st "$s" sleeping 10) smax=$(st "$s" sleeping 11)
			printf '"%s" %s %s %s %s\n' "$(plot_label "$s")" "${b99:--}" "${s50:--}" "${s99:--}" "${smax:--}"
		done
	} >"$PLOT/starvation.dat"

	b99=$(st stage4-offload baseline 10) s99=$(st stage4-offload sleeping 10)
	if [ -n "$b99" ] && [ -n "$s99" ]; then
		res=$(awk -v a="$s99" -v b="$b99" 'BEGIN { printf "%s %.1f", (a <= 3 * b ? "PASS" : "MISS"), a / b }')
		goal goal "stage4-offload: PING p99 with the sleeper within 3x its p99 without" "$s99 ms vs $b99 ms = ${res#* }x" "${res%% *}"
	else
		goal goal "stage4-offload: PING p99 with the sleeper within 3x its p99 without" "not measured" SKIP
	fi
	for s in stage3-eventloop redis; do
		s99=$(st "$s" sleeping 10)
		[ -n "$s99" ] || continue
		r=$(awk -v a="$s99" -v t="$sleep_s" 'BEGIN { print (a >= t * 1000 / 2 ? "PASS" : "MISS") }')
		goal expectation "$s: PING p99 with the sleeper of the order of the sleep (>= half of $sleep_s s)" "$s99 ms" "$r"
	done
fi

# ==== 5. CPU-bound ==========================================================

if have cpu.csv; then
	ncpu=$(env_get cpu_count)
	# cpu_med SERVER CLIENTS: the median requests/s over the runs
	cpu_med() {
		awk -F, -v s="$1" -v c="$2" 'NR > 1 && $1 == s && $3 == c && $6 != "" {print $6}' "$OUT/cpu.csv" |
			sort -g | awk '{v[NR] = $1} END { if (NR) print v[int((NR + 1) / 2)] }'
	}
	clist=$(awk -F, 'NR > 1 && !seen[$3]++ {print $3}' "$OUT/cpu.csv" | sort -n | tr '\n' ' ')
	c1=$(echo "$clist" | awk '{print $1}')
	# cpu_speedup FORMAT SERVER CLIENTS: the median requests/s with CLIENTS
	# over that with the fewest, through awk's printf FORMAT ("-" when either
	# is missing)
	cpu_speedup() {
		awk -v a="$(cpu_med "$2" "$3")" -v b="$(cpu_med "$2" "$c1")" -v fmt="$1" \
			'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf fmt, a / b }'
	}
	# cpu_rps SERVER CLIENTS: the median requests/s for the chart ("-" when
	# none). Redis's figure is for other work: left out of the chart.
	cpu_rps() {
		local v
		v=$(cpu_med "$1" "$2")
		[ "$1" = redis ] && v=""
		cell "$v" -
	}
	# cpu_chart_data CMD [ARGS...]: a chart's data, a row per client count,
	# a column per server with what `CMD ARGS... SERVER CLIENTS` prints.
	cpu_chart_data() {
		local s c
		printf 'clients'
		for s in $SERVERS; do printf ' "%s"' "$(plot_label "$s")"; done
		printf '\n'
		for c in $clist; do
			printf '%s' "$c"
			for s in $SERVERS; do printf ' %s' "$("$@" "$s" "$c")"; done
			printf '\n'
		done
	}
	rounds=$(env_get digest_rounds)
	bytes=$(env_get digest_value_bytes)
	{
		echo
		echo "## 5. CPU-bound"
		echo
		echo "\`DIGEST key $rounds\` over a $bytes-byte value (about $((rounds * bytes / 1000000)) MB hashed per request)"
		echo "from 1, 2 and 4 concurrent clients, on $ncpu CPU(s); the median of $(env_get cpu_reps) run(s). Redis has"
		echo "no DIGEST: it runs a Lua loop of similar length (EVAL), so compare its speed-up, not"
		echo "its requests/s."
		echo
		{
			printf 'server\twork'
			for c in $clist; do printf '\t%s client(s) req/s' "$c"; done
			for c in $clist; do [ "$c" = "$c1" ] || printf '\tspeed-up at %s' "$c"; done
			printf '\n'
			for s in $SERVERS; do
				printf '%s\t%s' "$(load_label "$s")" "$(awk -F, -v s="$s" 'NR > 1 && $1 == s {print $2; exit}' "$OUT/cpu.csv")"
				for c in $clist; do printf '\t%s' "$(cell "$(cpu_med "$s" "$c")" failed '%.0f')"; done
				for c in $clist; do
					[ "$c" = "$c1" ] && continue
					printf '\t%s' "$(cpu_speedup '%.2fx' "$s" "$c")"
				done
				printf '\n'
			done
		} | md_table
	} >>"$SUMMARY.body"
	cpu_chart_data cpu_rps >"$PLOT/cpu.dat"
	cpu_chart_data cpu_speedup '%.3f' >"$PLOT/cpu_speedup.dat"

	d3=""
	for c in $clist; do [ "$c" -ge 2 ] && d3="$d3 $c"; done
	for c in $d3; do
		v3=$(cpu_med stage3-eventloop "$c")
		[ -n "$v3" ] || continue
		for s in stage1-threads stage2-pool stage4-offload; do
			v=$(cpu_med "$s" "$c")
			[ -n "$v" ] || continue
			if [ "${ncpu:-1}" -lt 2 ]; then
				goal expectation "$s beats stage3-eventloop at DIGEST with $c clients" "one CPU: not expected" SKIP
				continue
			fi
			res=$(awk -v a="$v" -v b="$v3" 'BEGIN { printf "%s %.2f", (a > b ? "PASS" : "MISS"), a / b }')
			goal expectation "$s beats stage3-eventloop at DIGEST with $c clients" \
				"$(printf '%.0f vs %.0f = %sx' "$v" "$v3" "${res#* }")" "${res%% *}"
		done
	done
fi

# ==== Goals, summary, charts ================================================

npass=$(awk -F'\t' '$1 == "goal" && $4 == "PASS"' "$GOALS" | wc -l)
nmiss=$(awk -F'\t' '$1 == "goal" && $4 == "MISS"' "$GOALS" | wc -l)
emiss=$(awk -F'\t' '$1 == "expectation" && $4 == "MISS"' "$GOALS" | wc -l)

{
	echo "## Performance goals"
	echo
	echo "Checked on this run's own numbers. A goal is what the issue asks of the code; an"
	echo "expectation is what the tutorial says should happen, checked so that a surprise shows."
	echo
	if [ -s "$GOALS" ]; then
		{ printf 'kind\tcheck\tmeasured\tresult\n'; cat "$GOALS"; } | md_table
	else
		echo "(none of the measurements the goals need were run)"
	fi
	echo
	echo "Goals: $npass PASS, $nmiss MISS. Expectations missed: $emiss."
} >"$PLOT/goals.md"

charts=""
if command -v gnuplot >/dev/null 2>&1; then
	term=png
	if gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1; then term=pngcairo; fi
	draw() { # draw NAME DATA-FILE: bench/plot/NAME.gp into NAME.png
		local ncol
		[ -s "$PLOT/$2" ] || return 0
		ncol=$(head -n 1 "$PLOT/$2" | sed 's/"[^"]*"/x/g' | awk '{print NF}')
		if gnuplot -e "term='$term'; gp='$HERE/plot'; dir='$PLOT'; out='$OUT/$1.png'; ncol=$ncol; nrows=$(tail -n +2 "$PLOT/$2" | wc -l); pipe='$(env_get tp_pipeline)'; s2threads='$S2_THREADS'; sleep_s=$(env_get starve_sleep)" "$HERE/plot/$1.gp" \
			2>>"$PLOT/gnuplot.log"; then
			charts="$charts $1"
		else
			echo "report: gnuplot failed on $1 (see $PLOT/gnuplot.log)" >&2
		fi
	}
	draw memory memory.dat
	draw throughput throughput_unpipelined.dat
	draw bursty bursty.dat
	draw starvation starvation.dat
	draw cpu cpu.dat
else
	echo "report: gnuplot is not installed: no charts (scripts/deps.sh tour installs it)" >&2
fi

{
	sed -n '1,/^## Machine/{/^## Machine/!p}' "$SUMMARY.body"
	cat "$PLOT/goals.md"
	echo
	sed -n '/^## Machine/,$p' "$SUMMARY.body"
	if [ -n "$charts" ]; then
		echo
		echo "## Charts"
		echo
		for c in $charts; do echo "![$c]($c.png)"; echo; done
	fi
} >"$SUMMARY"
rm -f "$SUMMARY.body"

# On the terminal: the summary without the chart links, then the verdict.
sed '/^## Charts/,$d' "$SUMMARY"
echo
if [ "$nmiss" -gt 0 ]; then
	echo "!!!! $nmiss PERFORMANCE GOAL(S) MISSED:"
	awk -F'\t' '$1 == "goal" && $4 == "MISS" {print "!!!!   " $2 ": " $3}' "$GOALS"
	echo "!!!! (bench/README.md says what is known about each; the numbers are in $SUMMARY)"
	if [ "$(env_get set)" = quick ]; then
		echo "!!!! (the quick set is too short to judge the goals by: make tour gives the verdict)"
	fi
else
	echo "==== all $npass performance goals met"
fi
if [ "$emiss" -gt 0 ]; then
	echo "!!!! $emiss expectation(s) not met:"
	awk -F'\t' '$1 == "expectation" && $4 == "MISS" {print "!!!!   " $2 ": " $3}' "$GOALS"
fi
echo "charts:$(for c in $charts; do printf ' %s' "$OUT/$c.png"; done)"
