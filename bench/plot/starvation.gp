# PING latency while another client runs DEBUG SLEEP in a loop, by server.
load gp.'/common.gp'
f = dir.'/starvation.dat'
set title sprintf("Starvation: PING latency while another client runs DEBUG SLEEP %g in a loop\n(bench/loadgen, open loop, latency from the scheduled time; median of the runs; lower is better)\n%s", sleep_s, star)
set xlabel 'server'
set ylabel 'PING latency (milliseconds, log scale)'
set logscale y
set format y '%g'
plot for [i = 2:ncol] f using (barx($0, i)):(column(i)):(barw * 0.9) with boxes lc rgb colour[i - 1] title columnhead(i), \
     f using 0:(NaN):xtic(1) notitle, \
     sleep_s * 1000 with lines dt 2 lw 1.5 lc rgb '#444444' title sprintf('the sleep: %g ms', sleep_s * 1000), \
     for [i = 2:ncol] f using (barx($0, i)):(column(i)):(sprintf('%.3g', column(i))) with labels boxed offset 0, 0.6 font ',9' notitle
