#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Exact guest instructions per command, by function, sg against rsg: boots
# the test VM on one CPU under tools/bench/insnprof.c, runs each workload a
# fixed number of times on sg's node and then on rsg's, with a sync(1)
# between runs to end a counting phase, and prints the largest per-function
# differences for each workload. `make insnprof` runs it.
#
#   tools/bench/insnprof.sh [N]     # N commands a run (default 20000)
#
# INSNPROF_MODULE=KO profiles that build of rsg instead of build/rsg.ko.
# INSNPROF_SMP=2 counts on two CPUs (completions then take the block
# softirq, as in `make bench`); the output goes to build/insnprof-smp2/.
#
# Output in build/insnprof/: counts.out (the plugin's), guest.log, and
# report.txt (what is printed). Needs the test kernel and build/rsg.ko,
# fio, sg3_utils and build/rsgdd (make bench's setup installs them).
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-20000}
smp=${INSNPROF_SMP:-1}
out=build/insnprof
[ "$smp" = 1 ] || out=build/insnprof-smp$smp
mkdir -p "$out"
gcc -O2 -shared -fPIC -Wall -o build/insnprof.so tools/bench/insnprof.c
mark=$(awk '$3 == "ksys_sync" { print $1 }' build/kernel/System.map)
[ -n "$mark" ] || { echo "insnprof: no ksys_sync in System.map" >&2; exit 1; }

cat > "$out/guest.sh" << EOF
. tools/vm/guest.sh
load_scsi_debug delay=0; load_sg; load_rsg
h=\$(ls /sys/class/scsi_device | head -n1)
sg=\$(node_of \$h sg); rsg=\$(node_of \$h rsg)
sg_turs \$sg > /dev/null 2>&1; sg_turs \$rsg > /dev/null 2>&1
fio_qd1() {
	fio --name=p --ioengine=sg --filename=\$1 --rw=randread --bs=4k \\
		--iodepth=1 --size=128m --number_ios=$n --norandommap \\
		--output-format=terse > /dev/null
}
rsgdd1() {
	build/rsgdd -i dev=\$1,bs=4k,depth=1,engine=\$2 -o sink -r 1 \\
		-m $((n * 4096)) > /dev/null 2>&1
}
sync
fio_qd1 \$sg; sync
fio_qd1 \$rsg; sync
sg_turs -n $n \$sg > /dev/null; sync
sg_turs -n $n \$rsg > /dev/null; sync
rsgdd1 \$sg sg; sync
rsgdd1 \$rsg uring; sync
grep -E '\[(rsg|sg|scsi_debug)\]' /proc/kallsyms | sed 's/^/KSYM /'
EOF

RSG_QEMU_ARGS="-smp $smp -plugin $PWD/build/insnprof.so,mark=0x$mark,out=$PWD/$out/counts.out" \
	tools/vm/run.sh --module "${INSNPROF_MODULE:-build/rsg.ko}" --timeout 1200 -- bash "$out/guest.sh" \
	> "$out/guest.log" 2>&1

report() { # TITLE SG_PHASE RSG_PHASE
	echo "== $1: instructions per command, A = sg, B = rsg"
	python3 tools/bench/insnprof.py "$out/counts.out" build/kernel/System.map \
		"$out/guest.log" --phases "$2" "$3" --ops "$n" --top 30
	echo
}
{
	report "fio sg engine, 4 KiB random READ, iodepth 1 (write()/read())" 1 2
	report "sg_turs: TEST UNIT READY through SG_IO" 3 4
	report "rsgdd depth 1: sg's write()/read() against rsg's io_uring" 5 6
} | tee "$out/report.txt"
