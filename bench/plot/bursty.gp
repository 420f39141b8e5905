# Latency percentiles under reconnect-per-request load, by server.
load gp.'/common.gp'
f = dir.'/bursty.dat'
set title "Bursty connections: GET latency when every request opens a new connection\n(redis-benchmark -k 0, 200 clients; median of the runs; lower is better)\n".star
set xlabel 'server'
set ylabel 'latency (milliseconds, log scale)'
set logscale y
set format y '%g'
plot for [i = 2:ncol] f using (barx($0, i)):(column(i)):(barw * 0.9) with boxes lc rgb colour[i - 1] title columnhead(i), \
     f using 0:(NaN):xtic(1) notitle, \
     for [i = 2:ncol] f using (barx($0, i)):(column(i)):(sprintf('%.3g', column(i))) with labels boxed offset 0, 0.6 font ',9' notitle
