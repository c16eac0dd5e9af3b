# The bar chart of `make bench`: rsg/sg per workload (the median ratio, with
# the lowest and highest per-round ratio as the error bar) over the noise
# band (the lowest to highest per-round sg2/sg ratio of that workload, and 1).
# gnuplot -e "dat='build/bench/ratios.dat'; out='build/bench/ratios.png'" ratios.gp
set terminal pngcairo size 1400,650 font ",10"
set output out
set title "rsg / sg per workload (grey: sg / sg noise band; green: target met, red: missed,\nblue: no target (io_uring); mem-*: lower is better)" noenhanced
set ylabel "rsg / sg"
set yrange [0:*]
set xrange [0.3:*]
set grid ytics
set xtics rotate by -45 left nomirror
set key off
set style fill solid 0.8 border -1
set boxwidth 0.6
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb "black" front
set bmargin 8
set rmargin 8
plot dat using 1:3:($8 > 1.5 ? 0x4682b4 : $8 > 0.5 ? 0x2e8b57 : 0xcd3333):xtic(2) with boxes lc rgb variable, \
     dat using 1:(($6 + $7) / 2):(0.4):(($7 - $6) / 2 > 0.005 ? ($7 - $6) / 2 : 0.005) \
	with boxxyerror fs transparent solid 0.35 noborder lc rgb "#555555", \
     dat using 1:3:4:5 with yerrorbars pt 7 ps 0.3 lc rgb "black"
