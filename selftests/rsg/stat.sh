#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The class device's stat attribute (Documentation/rsg.rst): "reads
# read_bytes writes write_bytes other errors in_flight busy_ms". Each field
# must move by what known commands through rsg add, and busy time must
# follow commands that scsi_debug's delay keeps running. rsg only: sg has no
# such attribute.
#
# RSG_DEV names rsg's node of a scsi_debug LU (default /dev/rsg0).
cd "$(dirname "$0")" || exit 1
. ./tap.sh

rsg=${RSG_DEV:-/dev/rsg0}
drv=/sys/bus/pseudo/drivers/scsi_debug
tmp=$(mktemp -d)
delay0=$(cat $drv/delay)
trap 'echo "$delay0" > $drv/delay; rm -rf "$tmp"' EXIT

tap_begin

n=${rsg##*/}
st=/sys/class/scsi_rsg/$n/stat
[ -r "$st" ] || st=/sys/class/scsi_generic/${n#r}/stat
check "$st is readable" test -r "$st"

names=(reads read_bytes writes write_bytes other errors in_flight busy_ms)

# snap VAR: the attribute's fields into array VAR.
snap() {
	local -n out=$1
	read -r -a out < "$st"
}

# moved DESCRIPTION "FIELD=DELTA..." BEFORE AFTER: every field moved by its
# DELTA (0 when not named), busy_ms aside.
moved() {
	local d=$1 want=$2 i name delta seen=() expect=()
	local -n b=$3 a=$4
	for i in 0 1 2 3 4 5 6; do
		name=${names[$i]}
		# A bash match, not sed: a fork costs tens of ms under TCG.
		delta=
		[[ " $want" =~ [[:space:]]$name=([0-9]+) ]] && delta=${BASH_REMATCH[1]}
		expect+=("$name+${delta:-0}")
		seen+=("$name+$((a[i] - b[i]))")
	done
	check_eq "$d" "${expect[*]}" "${seen[*]}"
}

# One command of each kind through SG_IO (sg_raw), with known transfers.
snap s0
check "stat has eight fields" test "${#s0[@]}" -eq 8
sg_raw -r 4096 "$rsg" 28 00 00 00 00 00 00 00 08 00 > /dev/null 2>&1
snap s1
moved "READ(10) of 4096 bytes: one read, 4096 bytes" "reads=1 read_bytes=4096" s0 s1
sg_raw -r 4096 "$rsg" 28 00 00 00 00 00 00 00 02 00 > /dev/null 2>&1
snap s2
moved "READ(10) of 1024 bytes into 4096: the residue is not counted" \
	"reads=1 read_bytes=1024" s1 s2
head -c 1024 /dev/zero > "$tmp/zero"
sg_raw -s 1024 -i "$tmp/zero" "$rsg" 2a 00 00 00 70 00 00 00 02 00 > /dev/null 2>&1
snap s3
moved "WRITE(10) of 1024 bytes: one write, 1024 bytes" "writes=1 write_bytes=1024" s2 s3
sg_turs -n 3 "$rsg" > /dev/null 2>&1
snap s4
moved "three TEST UNIT READYs: three without data" "other=3" s3 s4
sg_raw "$rsg" ff 00 00 00 00 00 > /dev/null 2>&1
snap s5
moved "an unsupported opcode: one without data, one error" "other=1 errors=1" s4 s5

# Idle: busy time stands still.
sleep 0.3
snap s6
check_eq "idle: busy_ms stands still" "${s5[7]}" "${s6[7]}"

# One command kept running for 2 s by scsi_debug (500 jiffies at HZ=250;
# the delay is in jiffies, so 2 s assumes HZ 250, as the test kernels have).
echo 500 > $drv/delay
t0=$(date +%s%N)
sg_turs -n 1 "$rsg" > /dev/null 2>&1 &
pid=$!
running() {
	snap s7
	[ "${s7[6]}" = 1 ]
}
check "the command in flight once sg_turs has started" wait_for 5 running
sleep 0.2
snap s7
wait $pid
t1=$(date +%s%N)
snap s8
echo "$delay0" > $drv/delay
check_eq "still in flight 0.2 s later" 1 "${s7[6]}"
check_eq "none in flight after" 0 "${s8[6]}"
during=$((s7[7] - s6[7]))
busy=$((s8[7] - s6[7]))
wall=$(((t1 - t0) / 1000000))
echo "# busy_ms: +$during while running, +$busy in all; $wall ms of wall time"
check "busy time includes the running command's (>= 150 ms)" test "$during" -ge 150
# Counted in ticks: a loaded VM that loses ticks counts less (1912 ms has
# been seen on the debug kernel), never more than the wall time.
check "busy time covers most of the command (>= 1500 ms)" test "$busy" -ge 1500
check "busy time within the wall time" test "$busy" -le $((wall + 8))
moved "a delayed TEST UNIT READY: one without data" "other=1" s6 s8

tap_end
