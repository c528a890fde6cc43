#!/bin/sh
# plots.sh BUILD: when gnuplot is installed, the latency distributions bench-snap wrote (BUILD/bench/snap-*.dat:
# a hello function restored, booted, and run as a native process) as SVG plots beside them; else says so.
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
