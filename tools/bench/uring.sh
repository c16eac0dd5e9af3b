#!/bin/bash
# The asynchronous interfaces compared, inside the test VM: 4 KiB and
# 64 KiB READs (BENCH_IOS per run) kept DEPTH deep by rsgdd through C sg's
# write()/read() on /dev/sgN, rsg's queue interface and rsg's io_uring passthrough on
# /dev/rsgN, all on one scsi_debug LU whose commands take NDELAY ns
# (completed from a timer, as a device's interrupt would). sg takes at most
# 16 commands per file, so its deeper runs are capped there. Engines
# alternate over ROUNDS rounds. Prints CSV:
# engine,node,bs,depth,bytes,secs,mbps,iops,p50_us,p99_us
set -u
. tools/vm/guest.sh
rounds=${BENCH_ROUNDS:-3}
ios=${BENCH_IOS:-4096}
sizes=${BENCH_BS:-4k 64k}
ndelay=${BENCH_NDELAY:-50000}
load_scsi_debug delay=0 ndelay="$ndelay" || exit 1
load_sg || exit 1
load_rsg || exit 1
hctl=$(ls /sys/class/scsi_device | head -n1)
sg=$(node_of "$hctl" sg)
rsg=$(node_of "$hctl" rsg)
echo 256 > "/sys/class/scsi_device/$hctl/device/queue_depth" 2>/dev/null
for i in 1 2 3; do sg_turs "$sg" > /dev/null 2>&1 && break; done
# us VALUE UNIT: a latency as microseconds.
us() {
	case $2 in
	ms) awk -v v="$1" 'BEGIN { printf "%.0f", v * 1000 }' ;;
	us) printf '%s' "$1" ;;
	ns) awk -v v="$1" 'BEGIN { printf "%.1f", v / 1000 }' ;;
	s) awk -v v="$1" 'BEGIN { printf "%.0f", v * 1000000 }' ;;
	*) printf '%s' "$1" ;;
	esac
}
echo "engine,node,bs,depth,bytes,secs,mbps,iops,p50_us,p99_us"
for round in $(seq "$rounds"); do
	for bs in $sizes; do
		bytes=$(( ${bs%k} * 1024 * ios ))
		for depth in 1 16 64 256; do
			for engine in sg queue uring; do
				node=$rsg
				[ "$engine" = sg ] && node=$sg
				out=$(build/rsgdd -i dev="$node",bs=$bs,depth=$depth,engine=$engine \
					-o sink -m "$bytes" 2>&1) || { echo "$engine,$node,$bs,$depth,error"; continue; }
				set -- $(printf '%s\n' "$out" | sed -n 's/^rsgdd: \([0-9]*\) bytes .* in \([0-9.]*\) s, \([0-9.]*\) MB\/s.*/\1 \2 \3/p')
				b=${1:-0} t=${2:-0} mb=${3:-0}
				iops=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9]*\) IOPS.*/\1/p' | head -n1)
				lat=$(printf '%s\n' "$out" | tr '\n' ' ' | sed -n 's/.*latency p50 \([0-9.]*\) \([a-z]*\) p99 \([0-9.]*\) \([a-z]*\).*/\1 \2 \3 \4/p')
				set -- $lat
				echo "$engine,$node,$bs,$depth,$b,$t,$mb,${iops:-0},$(us "${1:-0}" "${2:-}"),$(us "${3:-0}" "${4:-}")"
			done
		done
	done
done
