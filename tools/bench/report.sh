#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Turn the output of tools/bench/bench.sh into DIR/results.csv (workload,
# driver, round, metric, value), DIR/summary.txt and DIR/ratios.png, and
# keep the rest (comments, failures) in DIR/log.txt.
#
#   tools/bench/report.sh RAW_OUTPUT DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
raw=$1
dir=$2
mkdir -p "$dir"
{
	echo "workload,driver,round,metric,value"
	sed -n 's/^csv://p' "$raw"
} > "$dir/results.csv"
grep -v '^csv:' "$raw" > "$dir/log.txt" || true
awk -f tools/bench/summary.awk -v dat="$dir/ratios.dat" tools/bench/workloads \
	"$dir/results.csv" > "$dir/summary.txt"
grep -E '^# (secs=|LU |profile |total)' "$dir/log.txt" >> "$dir/summary.txt" || true
if [ -s "$dir/ratios.dat" ] && command -v gnuplot > /dev/null; then
	gnuplot -e "dat='$dir/ratios.dat'; out='$dir/ratios.png'" tools/bench/ratios.gp
else
	echo "bench: no plot (no data, or gnuplot missing)" >&2
fi
cat "$dir/summary.txt"
