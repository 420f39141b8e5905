# The append-only file under appendfsync always: SETs per second from
# redis-benchmark (closed loop), and the open-loop run's p99 latencies (the
# SETs', and the bystander's PINGs'), by server.
load gp.'/common.gp'
set multiplot layout 1, 2 title sprintf("The append-only file, appendfsync %s (median of the runs)\n%s", aof_fsync, star)
set key inside left top vertical Left reverse noenhanced autotitle columnhead
set offsets 0, 0, graph 0.3, 0 # room for the key above the bars
set logscale y
set format y '%g'
f = dir.'/aof_set.dat'
set title 'redis-benchmark -t set: thousand SETs per second (higher is better)'
set xlabel 'clients'
set ylabel 'thousand SETs per second (log scale)'
plot for [i = 2:ncol] f using (barx($0, i)):(column(i) / 1000):(barw * 0.9) with boxes lc rgb colour[i - 1] title columnhead(i), \
     f using 0:(NaN):xtic(1) notitle, \
     for [i = 2:ncol] f using (barx($0, i)):(column(i) / 1000):(sprintf('%.3g', column(i) / 1000)) with labels boxed offset 0, 0.6 font ',8' notitle
f = dir.'/aof_open.dat'
set xrange [-0.6 : 1.6]
set title sprintf('%s SETs/s open loop, and a client that only PINGs: p99 (lower is better)', aof_rate)
set xlabel 'whose latency'
set ylabel 'p99 latency (milliseconds, log scale)'
plot for [i = 2:ncol] f using (barx($0, i)):(column(i)):(barw * 0.9) with boxes lc rgb colour[i - 1] title columnhead(i), \
     f using 0:(NaN):xtic(1) notitle, \
     for [i = 2:ncol] f using (barx($0, i)):(column(i)):(sprintf('%.3g', column(i))) with labels boxed offset 0, 0.6 font ',8' notitle
unset multiplot
