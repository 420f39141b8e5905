# Requests per second, unpipelined and pipelined, by server and test.
load gp.'/common.gp'
set multiplot layout 1, 2 title "Throughput: thousands of requests per second from 50 clients (median of the runs; higher is better)\n".star
set key inside left top vertical Left reverse noenhanced autotitle columnhead
set offsets 0, 0, graph 0.3, 0 # room for the key above the bars
set ylabel 'thousand requests per second'
set yrange [0:*]
do for [which in 'unpipelined pipelined'] {
    f = dir.'/throughput_'.which.'.dat'
    if (which eq 'unpipelined') {
        set title 'one request at a time per client'
        set xlabel 'test'
    } else {
        set title sprintf('pipelined: %s requests in flight per client', pipe)
        set xlabel sprintf('test (-P %s)', pipe)
    }
    plot for [i = 2:ncol] f using (barx($0, i)):(column(i) / 1000):(barw * 0.9) with boxes lc rgb colour[i - 1] title columnhead(i), \
         f using 0:(NaN):xtic(1) notitle, \
         for [i = 2:ncol] f using (barx($0, i)):(column(i) / 1000):(sprintf('%.0f', column(i) / 1000)) with labels boxed offset 0, 0.6 font ',8' notitle
}
unset multiplot
