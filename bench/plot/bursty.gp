# p99 latency under bursts on persistent connections, by server and burst size.
load gp.'/common.gp'
f = dir.'/bursty.dat'
set title sprintf("Bursts on %s persistent connections: B requests at once every %s ms (bench/loadgen, open loop)\np99 latency from the scheduled send time, median of the runs; lower is better\n** stage2-pool with --threads %s: a worker per connection (its default pool fails here)", conns, every, s2wide)
set xlabel 'server'
set ylabel 'p99 latency (milliseconds, log scale)'
set logscale y
set format y '%g'
plot for [i = 2:ncol] f using (barx($0, i)):(column(i)):(barw * 0.9) with boxes lc rgb colour[i - 1] title columnhead(i), \
     f using 0:(NaN):xtic(1) notitle, \
     for [i = 2:ncol] f using (barx($0, i)):(column(i)):(sprintf('%.3g', column(i))) with labels boxed offset 0, 0.6 font ',9' notitle
