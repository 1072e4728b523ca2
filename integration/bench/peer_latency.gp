# First-touch latency CDFs of the side-by-side run (peer_bench): every row
# (the limit, faultline's modes, CRIU's lazy pages) on the same axes, log x.
# Top: every touch (a page already pushed or prefetched is a fast hit);
# bottom: only the touches that waited for their page. tools/bench writes
# the data (peer_bench --cdf_dir) and calls:
#   gnuplot -e "data_dir='DIR'; out='FILE'; subtitle='TEXT'" peer_latency.gp
set terminal pngcairo size 1600,1100 font ",10" noenhanced
set output out
rows = system("cat ".data_dir."/rows")
set multiplot layout 2,2 title "faultline vs CRIU 3.17 lazy pages, first-touch latency per page (one thread, ".subtitle.")"
set logscale x
set xrange [0.5:*]
set yrange [0:1]
set grid xtics ytics mxtics
set xlabel "latency, us (log)"
set ylabel "fraction of touches"
set key bottom right font ",9"
# The limit and CRIU drawn thick, faultline's modes thin.
peer(label) = label eq "local" || label[1:5] eq "criu/"
width(label) = peer(label) ? 3.5 : 1.5
do for [kind in "all waited"] {
  do for [order in "sequential random"] {
    prefix = kind eq "all" ? "/cdf_" : "/cdf_waited_"
    set title order." order: ".(kind eq "all" ? "every touch" : "touches that waited for their page")
    plot for [i=1:words(rows)] data_dir.prefix.order."_".i.".dat" using 1:2 \
         with lines lw width(word(rows, i)) title word(rows, i)
  }
}
unset multiplot
