# The look shared by the tour's charts; each chart script loads it first.
#
# From report.py, through gnuplot -e: term (pngcairo or png), gp (this
# folder), dir (the chart data), out (the PNG file), ncol and nrows (the
# data file's columns, the first being the row label, and data rows),
# pipe (the pipelined runs' depth), s2threads (stage 2's pool in the load
# runs), s2wide (stage 2's pool in the bursty runs), conns and every (the
# bursty runs' connections and burst period), sleep_s (the starvation
# run's sleep).
#
# Charts are grouped bars drawn as boxes at computed positions rather than
# with gnuplot's histogram style, so that each bar's value label can be
# placed exactly above it: row r is centred on x = r, its ncol - 1 bars side
# by side with one bar's width of gap between rows.
if (term eq 'pngcairo') {
    set terminal pngcairo size 1200,650 font 'DejaVu Sans,11' noenhanced
} else {
    set terminal png size 1200,650 noenhanced
}
set output out
set datafile missing '-'
set style fill solid 0.85 border -1
set grid ytics mytics lc rgb '#d8d8d8'
set key outside right top vertical Left reverse noenhanced samplen 2 autotitle columnhead
set border 3
set xtics nomirror noenhanced scale 0
set ytics nomirror
set xrange [-0.6 : nrows - 0.4]
set offsets 0, 0, graph 0.1, 0 # room above the tallest bar for its label
set style textbox opaque noborder margins 0.5, 0.5

array colour[6] = ['#4c72b0', '#dd8452', '#55a868', '#c44e52', '#8172b3', '#937860']
nbars = ncol - 1
barw = 1.0 / (nbars + 1)
barx(r, i) = r + (i - 2 - (nbars - 1) / 2.0) * barw

# The footnote of every chart of a load run: stage 2's pool was enlarged.
star = sprintf('* stage2-pool with --threads %s: its default 16 workers cannot serve 50 keep-alive clients at once', s2threads)
