# Lifecycle throughput against producer count, engine and baselines.
# Usage: gnuplot -e "data='lifecycle.dat'; output='performance.png'; \
#                    subtitle='...'" bench/plot.gp
# The data file is written by bench/summarize.py --plot-data: columns x,
# label, engine full, engine no_sync, raw LMDB full, raw LMDB MDB_NOSYNC,
# SQLite WAL FULL (jobs/s, NaN where there is no such configuration).
if (!exists("data")) data = 'lifecycle.dat'
if (!exists("output")) output = 'performance.png'
if (!exists("subtitle")) subtitle = ''

set terminal pngcairo size 1000,620 font "sans,10" noenhanced
set output output
set datafile missing "NaN"
set title "jobstate lifecycle throughput (create, start, progress, succeed)\n".subtitle
set xlabel "producer threads (blocking API); last point: 64 lifecycles in flight (async API; raw LMDB: 64 writes per transaction)"
set ylabel "jobs per second (log scale)"
set logscale y
set grid ytics mytics xtics
set key outside right top vertical
set xrange [-0.4:5.4]
set style line 1 lc rgb "#1f77b4" lw 2 pt 7 ps 1.2
set style line 2 lc rgb "#1f77b4" lw 2 pt 5 ps 1.2 dt 2
set style line 3 lc rgb "#d62728" lw 2 pt 9 ps 1.2
set style line 4 lc rgb "#d62728" lw 2 pt 11 ps 1.2 dt 2
set style line 5 lc rgb "#2ca02c" lw 2 pt 13 ps 1.2
plot data using 1:3:xtic(2) with linespoints ls 1 title "engine, durability full", \
     ''   using 1:4 with linespoints ls 2 title "engine, no_sync", \
     ''   using 1:5 with linespoints ls 3 title "raw LMDB, sync (floor)", \
     ''   using 1:6 with linespoints ls 4 title "raw LMDB, MDB_NOSYNC", \
     ''   using 1:7 with linespoints ls 5 title "SQLite WAL, synchronous=FULL"
