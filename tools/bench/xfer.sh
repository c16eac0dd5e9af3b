#!/bin/bash
# The zero-copy benchmark, inside the test VM: 64 KiB, 1 MiB and 4 MiB READs
# and WRITEs through C sg and rsg on one scsi_debug LU (delay=0), moving data
# through kernel buffers, the mmap()-ed reserve and pinned user pages;
# drivers alternate over ROUNDS rounds. Prints CSV:
# driver,mode,dir,bytes,ops,mbps,us_per_op,direct_fraction
set -u
. tools/vm/guest.sh
secs=${BENCH_SECS:-2}
rounds=${BENCH_ROUNDS:-3}
load_scsi_debug delay=0 || exit 1
load_sg || exit 1
load_rsg allow_dio=1 || exit 1
echo 1 > /sys/module/sg/parameters/allow_dio
hctl=$(ls /sys/class/scsi_device | head -n1)
sg=$(node_of "$hctl" sg)
rsg=$(node_of "$hctl" rsg)
echo "driver,mode,dir,bytes,ops,mbps,us_per_op,direct_fraction"
for round in $(seq "$rounds"); do
	for bytes in 65536 1048576 4194304; do
		for mode in indirect mmap direct; do
			for dir in read write; do
				for drv in sg rsg; do
					node=${!drv}
					line=$(build/sgbench "$node" "$mode" "$dir" "$bytes" "$secs" 2>/dev/null) ||
						line="$node $mode $dir $bytes 0 0 0 0"
					set -- $line
					echo "$drv,$2,$3,$4,$5,$6,$7,$8"
				done
			done
		done
	done
done
