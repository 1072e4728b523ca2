# Fault latency percentiles per mode, one panel per touch order, one toucher
# thread, log scale. tools/bench writes the data files (label p50 p99 p99.9)
# and calls: gnuplot -e "data_dir='DIR'; out='FILE'" latency.gp
set terminal pngcairo size 1400,900 font ",10" noenhanced
set output out
set multiplot layout 3,1 title "faultline: first-touch latency per page (1 thread), microseconds, log scale"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set yrange [1:*]
set grid ytics
set ylabel "us"
set key top left
set xtics nomirror
do for [order in "sequential strided random"] {
  set title order." touch order"
  plot data_dir."/latency_".order.".dat" using 2:xtic(1) title "p50", \
       '' using 3 title "p99", \
       '' using 4 title "p99.9"
}
unset multiplot
