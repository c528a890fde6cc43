#!/bin/sh
# plots.sh BUILD: when gnuplot is installed, the latency distributions bench-snap wrote (BUILD/bench/snap-*.dat:
# a hello function restored, booted, and run as a native process), and bench-serve's medians per configuration
# (BUILD/bench/serve-*conn.dat: requests/s and p50/p99 latency), as SVG plots beside them; else says so.
set -eu
B=${1:?usage: plots.sh BUILD}
if ! command -v gnuplot >/dev/null 2>&1; then
	echo "bench plots: SKIPPED, no gnuplot (Debian's gnuplot-nox; tools/deps.sh installs it)"
	exit 0
fi
for dat in "$B"/bench/snap-*.dat; do
	[ -f "$dat" ] || continue
	svg=${dat%.dat}.svg
	mode=$(basename "${dat%.dat}" | sed 's/^snap-//')
	gnuplot <<EOF2
set terminal svg size 800,500 dynamic background rgb 'white'
set output '$svg'
set title 'hello function, request to exit ($mode mode): distribution of latencies'
set xlabel 'ms (log scale)'
set ylabel 'fraction of requests at or below'
set logscale x
set key top left
set grid
plot '$dat' using 2:1 with steps title 'restore (UKVM\\_HOST\\_FAST host)', \
     '' using 3:1 with steps title 'restore (plain host)', \
     '' using 4:1 with steps title 'boot', \
     '' using 5:1 with steps title 'native process (fork+exec)'
EOF2
	echo "bench plots: $svg"
done
for dat in "$B"/bench/serve-*conn.dat; do
	[ -f "$dat" ] || continue
	svg=${dat%.dat}.svg
	conns=$(basename "${dat%conn.dat}" | sed 's/^serve-//')
	gnuplot <<EOF2
set terminal svg size 1000,450 dynamic background rgb 'white'
set output '$svg'
set multiplot layout 1,2 title 'ukvm-serve, POST /fn/hello over $conns connection(s): medians over rounds'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -30 scale 0 font ',9'
set grid ytics
set key top right
set ylabel 'requests/s'
plot '$dat' using 2:xtic(1) title 'req/s'
set ylabel 'ms'
plot '$dat' using 3:xtic(1) title 'p50', '' using 4 title 'p99'
unset multiplot
EOF2
	echo "bench plots: $svg"
done
