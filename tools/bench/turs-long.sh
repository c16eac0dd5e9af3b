#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The SG_IO round trip under a 1 ms device, timed in long runs: boots the
# test VM on two CPUs with instructions as time, loads scsi_debug with a
# 1 ms ndelay, and runs `sg_turs -t -n N` on CPU 1 through sg and rsg in
# turn, ROUNDS times. Prints "node seconds" a run. A 1-s bench run moves by
# steps of about 3.5 ms; runs of 20000 commands see the drivers' difference
# through them (Documentation/performance.rst).
#
#   tools/bench/turs-long.sh [N [ROUNDS]]     # defaults 20000 and 3
#
# RSG_MODULE=KO times that build of rsg instead of build/rsg.ko.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-20000}
rounds=${2:-3}
case "$n$rounds" in *[!0-9]*) echo "usage: $0 [N [ROUNDS]]" >&2; exit 2 ;; esac
RSG_QEMU_ARGS="-icount shift=0,sleep=off -smp 2" \
	tools/vm/run.sh --module "${RSG_MODULE:-build/rsg.ko}" --timeout 3000 -- "
load_scsi_debug delay=0 ndelay=1000000 && load_sg && load_rsg || exit 1
h=\$(ls /sys/class/scsi_device | head -n1)
sg=\$(node_of \$h sg); rsg=\$(node_of \$h rsg)
sg_turs \$sg > /dev/null 2>&1; sg_turs \$rsg > /dev/null 2>&1
for i in \$(seq $rounds); do
	for d in \$sg \$rsg; do
		echo \"\$d \$(taskset -c 1 sg_turs -t -n $n \$d |
			sed -n 's/.*was \([0-9.]*\) secs.*/\1/p')\"
	done
done"
