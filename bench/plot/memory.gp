# Resident bytes per idle connection, by server and number of idle connections.
# memory.dat has, after N, one column of bytes per server, then one column
# of bar labels per server.
load gp.'/common.gp'
nbars = (ncol - 1) / 2
barw = 1.0 / (nbars + 1)
f = dir.'/memory.dat'
set title "Memory per idle connection: resident bytes each connection adds to the server\n(RSS with N idle connections minus RSS with none, divided by the connections held)"
set xlabel 'idle connections held open (N)'
set ylabel 'resident memory per connection (bytes, log scale)'
set logscale y
set yrange [8:250000]
set ytics ('10 B' 10, '100 B' 100, '1 KiB' 1024, '10 KiB' 10240, '100 KiB' 102400)
set mytics 10
plot for [i = 2:nbars + 1] f using (barx($0, i)):(column(i)):(barw * 0.9) with boxes lc rgb colour[i - 1] title columnhead(i), \
     f using 0:(NaN):xtic(sprintf('N = %d', column(1))) notitle, \
     1024 with lines dt 2 lw 1.5 lc rgb '#444444' title 'goal for stages 3 and 4: < 1 KiB', \
     for [i = 2:nbars + 1] f using (barx($0, i)):(column(i)):(stringcolumn(i + nbars)) with labels boxed offset 0, 0.6 font ',9' notitle
