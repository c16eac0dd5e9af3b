#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The benchmark, inside the test VM: every workload of tools/bench/workloads
# on C sg and rsg nodes of one scsi_debug LU, over BENCH_ROUNDS rounds of
# sg, rsg, sg2 (sg again: how much two series of the same driver differ is
# the noise). Each run lasts about BENCH_SECS seconds.
#
# Prints CSV lines "csv:workload,driver,round,metric,value" and comments
# ("# ..."); `make bench` turns them into build/bench/.
#
#   tools/vm/run.sh -- tools/bench/bench.sh
#
# BENCH_ONLY: a regular expression; only workloads whose name matches run.
# BENCH_CPU: the CPU that single-threaded workloads run on: a number, "last"
# (the default) or "none" (the scheduler places them).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tools/vm/guest.sh

secs=${BENCH_SECS:-1}
rounds=${BENCH_ROUNDS:-3}
only=${BENCH_ONLY:-.}
case ${BENCH_CPU:-last} in
last) cpu=$(($(nproc) - 1)) ;;
none) cpu= ;;
*) cpu=$BENCH_CPU ;;
esac
sd=/sys/bus/pseudo/drivers/scsi_debug
# Longest a run may take before it counts as failed.
limit=$(awk -v s="$secs" 'BEGIN { printf "%d", s * 10 + 30 }')

log() { echo "# $*"; }

# load DRIVER...: exactly these drivers loaded, sg's allow_dio set; rsg
# takes char major 21 when sg is not loaded (sgp_dd needs that). Runners
# call it in subshells, so the state is read from /sys, not kept.
load() {
	local have="" d
	for d in sg rsg; do
		[ -d /sys/module/$d ] && have="$have $d"
	done
	hctl=$(ls /sys/class/scsi_device | head -n1)
	[ "$have" = " $*" ] && return 0
	for d in rsg sg; do
		[ -d /sys/module/$d ] && { rmmod $d || return 1; }
	done
	for d in "$@"; do
		case $d in
		sg) load_sg && echo 1 > /sys/module/sg/parameters/allow_dio ;;
		rsg) load_rsg allow_dio=1 ;;
		esac || return 1
	done
	for d in "$@"; do
		# Take any unit attention outside the timed runs.
		sg_turs "$(node_of "$hctl" $d)" > /dev/null 2>&1
	done
	log "loaded: $* ($(for d in "$@"; do printf '%s ' "$(node_of "$hctl" $d)"; done))" >&2
}

# set_profile NAME: scsi_debug's timing (see tools/bench/workloads).
profile=
set_profile() {
	[ "$profile" = "$1" ] && return 0
	case $1 in
	d0) echo 0 > $sd/delay ;;
	nd) echo 1000000 > $sd/ndelay ;;
	slow) echo 250 > $sd/delay ;;
	*) return 1 ;;
	esac || return 1
	profile=$1
	log "profile $1: delay=$(cat $sd/delay) ndelay=$(cat $sd/ndelay)"
}

# run DRIVER NODE CMD...: CMD's output (stdout and stderr) under the time
# limit; a failure is logged.
run() {
	local out rc
	out=$(timeout -k 2 "$limit" "${@:3}" 2>&1)
	rc=$?
	[ $rc -eq 0 ] || { log "$1 $2: '${*:3}' failed ($rc): $(echo "$out" | tail -n 3)" >&2; return 1; }
	echo "$out"
}

# pin: the command prefix that runs a single-threaded workload on $cpu, for
# every driver. Where the scheduler puts it otherwise moves a depth-1 run by
# a percent (CPU 0 also keeps the system's time on every tick).
pin() {
	[ -n "$cpu" ] && echo taskset -c "$cpu"
}

# calibrate KEY BASE UNIT MAX CMD... (CMD has @N@ for the count): prints a
# count, a multiple of UNIT and at most MAX, that makes CMD last about
# BENCH_SECS. Trials start at BASE and grow fourfold until the last two
# differ by half a run; the cost of a count is that difference, so that
# start-up cancels out (under instruction counting it can outlast the
# commands: every wait on the host's files jumps to the next timer).
# Runners run in subshells, so the count is kept in a file for the rest of
# the run.
calibrate() {
	local key=$1 n=$2 unit=$3 max=$4 file us prev_n=0 prev_us=0 run_us
	shift 4
	file=/tmp/bench-count-${key//[^a-zA-Z0-9]/_}
	[ -s "$file" ] && { cat "$file"; return 0; }
	run_us=$(awk -v s="$secs" 'BEGIN { printf "%d", s * 1e6 }')
	while :; do
		us=$(trial "$n" "$@") || return 1
		[ "$prev_n" -gt 0 ] && [ $(((us - prev_us) * 2)) -ge "$run_us" ] && break
		[ $((n * 4)) -le "$max" ] || break
		prev_n=$n prev_us=$us
		n=$((n * 4))
	done
	awk -v n="$n" -v us="$us" -v pn="$prev_n" -v pus="$prev_us" -v u="$unit" \
		-v m="$max" -v s="$secs" 'BEGIN {
			per = (pn > 0 && us > pus) ? (us - pus) / (n - pn) : us / n
			c = s * 1e6 / (per > 0 ? per : 1); c = int(c / u) * u
			if (c < u) c = u; if (c > m) c = m; printf "%d\n", c }' > "$file"
	log "$key: count $(cat "$file")" >&2
	cat "$file"
}

# trial N CMD...: microseconds CMD takes with @N@ = N.
trial() {
	local n=$1 t0
	shift
	t0=$(date +%s%N)
	timeout -k 2 "$limit" "${@//@N@/$n}" > /dev/null 2>&1 || return 1
	echo $((($(date +%s%N) - t0) / 1000))
}

# Runners: run_KIND DRIVER NODE ARGS... prints "metric value" lines.

# sg_turs -n N: synchronous SG_IO round trips.
run_turs() {
	local line
	local n
	n=$(calibrate "turs-$profile" 200 1 1000000 $(pin) sg_turs -n @N@ "$2") || return 1
	line=$(run "$1" "$2" $(pin) sg_turs -t -n "$n" "$2") || return 1
	echo "$line" | sed -n 's/.* \([0-9.]*\) operations\/sec.*/ops_s \1/p'
}

# fio's sg engine: RW BS IODEPTH JOBS.
run_fio() {
	local line ms p=""
	ms=$(awk -v s="$secs" 'BEGIN { printf "%d", s * 1000 }')
	# A 1 MiB command takes about 24 ms: a run of BENCH_SECS=1 holds some
	# 41, and one more or less would move the figure by 2.5%.
	case $4 in *m) ms=$((ms * 4)) ;; esac
	# Two jobs are two processes: the scheduler places them.
	[ "$6" = 1 ] && p=$(pin)
	# shellcheck disable=SC2086
	line=$(run "$1" "$2" $p fio --name=bench --ioengine=sg --filename="$2" --rw="$3" \
		--bs="$4" --iodepth="$5" --numjobs="$6" --group_reporting --size=128m \
		--runtime="${ms}ms" --time_based --norandommap --output-format=terse) || return 1
	# Terse v3: read bandwidth (KiB/s) and IOPS are fields 7 and 8, write's
	# 48 and 49.
	echo "$line" | awk -F';' '$1 == 3 {
		printf "iops %s\nmbps %.2f\n", $8 + $49, ($7 + $48) * 1024 / 1e6 }'
}

# sgbench: SG_IO through kernel buffers, the mmap-ed reserve or pinned
# pages: MODE DIR BYTES.
run_xfer() {
	local line
	line=$(run "$1" "$2" $(pin) build/sgbench "$2" "$3" "$4" "$5" "$secs") || return 1
	set -- $line
	printf 'mbps %s\nus_per_op %s\ndirect_fraction %s\n' "$6" "$7" "$8"
}

# qbench: 4 KiB random READs, MODE DEPTH. sg's side is its own
# write()/read() interface at the same depth, at most sg's 16 a file.
run_qbench() {
	local line mode=$3 depth=$4
	if [ "$1" != rsg ]; then
		mode=sg
		[ "$depth" -gt 16 ] && depth=16
	fi
	line=$(run "$1" "$2" $(pin) build/qbench "$2" $mode "$depth" 4096 "$secs") || return 1
	set -- $line
	printf 'iops %s\nmbps %s\n' "$2" "$3"
}

# rsgdd: 4 KiB random READs into a sink at DEPTH, any further arguments
# added to its device settings (an engine, say). sg's side is rsgdd's sg
# engine (write()/read()) at the same depth, at most 16, so that both sides
# pay for the same tool. 4 MiB a command slot, up to 64 MiB: about a second
# at every depth under the nd profile (at least 64 MiB under d0).
run_rsgdd() {
	local drv=$1 dev=$2 d=$3 line set n
	if [ "$drv" = rsg ]; then
		set=dev=$dev,bs=4k,depth=$d
		shift 3
		[ $# -gt 0 ] && set=$set,$(IFS=,; echo "$*")
	else
		[ "$d" -gt 16 ] && d=16
		set=dev=$dev,bs=4k,depth=$d,engine=sg
	fi
	n=$((4194304 * (d < 16 ? d : 16)))
	# Under d0 a command takes microseconds: at least 16384 of them, or
	# set-up and a stray 4 ms tick weigh on the figure.
	if [ "$profile" = d0 ] && [ "$n" -lt 67108864 ]; then
		n=67108864
	fi
	# Its reader and writer are threads of their own: not pinned.
	line=$(run "$drv" "$dev" build/rsgdd -i "$set" -o sink -r 1 -m "$n") || return 1
	echo "$line" | sed -n 's/.* I\/Os, \([0-9.]*\) IOPS.*/iops \1/p'
	echo "$line" | sed -n 's/.*, \([0-9.]*\) MB\/s$/mbps \1/p'
}

# qbench's memory mode: 128 outstanding 4 KiB READs. write: 16 on each of
# 8 files with write(), both drivers; queue: rsg puts all 128 on one file
# with RSG_IOQUEUE (sg cannot), sg's side as for write.
run_mem() {
	local line
	if [ "$1" = rsg ] && [ "$3" = queue ]; then
		line=$(run "$1" "$2" $(pin) build/qbench "$2" mem-queue 1 128 4096) || return 1
	else
		line=$(run "$1" "$2" $(pin) build/qbench "$2" mem-write 8 16 4096) || return 1
	fi
	set -- $line
	printf 'bytes_per_req %s\nslab_bytes_per_req %s\n' "$2" "$3"
}

# sgp_dd, 4 threads, 64 KiB a command: read to /dev/null or write zeros.
# It speaks the sg protocol only to char major 21, so each driver runs
# alone there.
run_sgpdd() {
	local line io dev n
	load "${1%2}" || return 1
	dev=$(node_of "$hctl" "${1%2}")
	if [ "$3" = read ]; then
		io="if=$dev of=/dev/null"
	else
		io="if=/dev/zero of=$dev"
	fi
	n=$(calibrate "sgpdd-$3" 16384 128 524288 sgp_dd $io bs=512 bpt=128 thr=4 count=@N@) ||
		return 1
	line=$(run "$1" "$dev" sgp_dd $io bs=512 bpt=128 thr=4 time=1 count="$n") || return 1
	echo "$line" | sed -n 's/.*secs, \([0-9.]*\) MB\/sec.*/mbps \1/p'
}

load_scsi_debug delay=0 || exit 1
load sg rsg || exit 1
log "secs=$secs rounds=$rounds cpus=$(nproc) pinned=${cpu:-no} kernel=$(uname -r)"
log "LU $hctl: $(cat /sys/class/scsi_device/$hctl/device/queue_depth) queue depth"
start=$(date +%s)
grep -v '^#' tools/bench/workloads | while read -r name prof metric target kind args; do
	[ -n "$name" ] || continue
	[[ $name =~ $only ]] || continue
	t0=$(date +%s)
	[ "$kind" = sgpdd ] || load sg rsg || exit 1
	set_profile "$prof" || exit 1
	for round in $(seq "$rounds"); do
		# Each round starts one driver later (sg rsg sg2, rsg sg2 sg,
		# sg2 sg rsg, ...): over three rounds every driver runs once in
		# each place, so an effect of the place (what ran just before, a
		# module just loaded) falls on no driver alone.
		order=(sg rsg sg2 sg rsg)
		for drv in "${order[@]:$(((round - 1) % 3)):3}"; do
			# sgp_dd's runner loads its driver and finds the node.
			dev=
			[ "$kind" = sgpdd ] || dev=$(node_of "$hctl" "${drv%2}")
			# shellcheck disable=SC2086
			out=$(run_$kind "$drv" "$dev" $args) || continue
			echo "$out" | while read -r m v; do
				[[ $m =~ ^[a-z_]+$ && -n $v ]] && echo "csv:$name,$drv,$round,$m,$v"
			done
		done
	done
	log "$name: $(($(date +%s) - t0)) s"
done
log "total: $(($(date +%s) - start)) s"
