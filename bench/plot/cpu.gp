# CPU-bound work: DIGEST requests per second and speed-up with more clients.
load gp.'/common.gp'
set multiplot layout 1, 2 title "CPU-bound: DIGEST (iterated FNV-1a over 1 KiB) from concurrent clients (median of the runs)\n".star
set key inside left top vertical Left reverse noenhanced autotitle columnhead
set offsets 0, 0, graph 0.3, 0 # room for the key above the bars
set xlabel 'concurrent clients'
f = dir.'/cpu.dat'
set title 'DIGEST requests per second (higher is better)'
set ylabel 'requests per second'
set yrange [0:*]
plot for [i = 2:ncol] f using (barx($0, i)):(column(i)):(barw * 0.9) with boxes lc rgb colour[i - 1] title columnhead(i), \
     f using 0:(NaN):xtic(sprintf('%d', column(1))) notitle, \
     for [i = 2:ncol] f using (barx($0, i)):(column(i)):(sprintf('%.0f', column(i))) with labels boxed offset 0, 0.6 font ',8' notitle
f = dir.'/cpu_speedup.dat'
set title "speed-up over one client (Redis: a Lua loop of similar\nlength, as it has no DIGEST; higher is better)"
set ylabel 'requests per second relative to 1 client'
plot for [i = 2:ncol] f using (barx($0, i)):(column(i)):(barw * 0.9) with boxes lc rgb colour[i - 1] title columnhead(i), \
     f using 0:(NaN):xtic(sprintf('%d', column(1))) notitle, \
     1 with lines dt 2 lc rgb '#444444' notitle, \
     for [i = 2:ncol] f using (barx($0, i)):(column(i)):(column(1) == 1 ? '' : sprintf('%.2fx', column(i))) with labels boxed offset 0, 0.6 font ',8' notitle
unset multiplot
