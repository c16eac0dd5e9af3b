#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# sg3_utils' dd family and fio's sg engine through DRIVER at char major 21.
# sg_dd, sgp_dd, sgm_dd and sg_read only speak the sg protocol to a node of
# major 21 (anything else gets plain read()/write()), so this suite needs a
# boot where scsi_debug and DRIVER are the only SCSI drivers loaded. Data is
# checked against files; outputs that must not depend on the driver are
# saved to SAVEDIR so that run_major21.sh can compare rsg with sg.
#
# usage: major21.sh rsg|sg [SAVEDIR]
# RSG_HCTL names the LU (default: the first one).
cd "$(dirname "$0")/../.." || exit 1
. tools/vm/guest.sh
. selftests/rsg/tap.sh

drv=${1:-rsg}
save=${2:-}
other=sg
[ "$drv" = sg ] && other=rsg
hctl=${RSG_HCTL:-$(ls /sys/class/scsi_device | head -n1)}
dev=$(node_of "$hctl" "$drv")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -z "$save" ] || mkdir -p "$save"

# 8 MiB of 512-byte blocks for the dd tools; LBAs below stay inside the
# 256 MiB store.
bs=512
blocks=16384

tap_begin

# run NAME CMD...: CMD's output with the node's name replaced by DEV, then
# its exit status, to $tmp/NAME (and SAVEDIR/NAME); returns that status.
run() {
	local name=$1 rc
	shift
	"$@" > "$tmp/$name" 2>&1
	rc=$?
	echo "exit status $rc" >> "$tmp/$name"
	name_as_dev "$tmp/$name" "$dev"
	[ -z "$save" ] || cp "$tmp/$name" "$save/$name"
	return $rc
}

# check_run DESC NAME CMD...: one test point: CMD exits 0.
check_run() {
	local desc=$1 name=$2
	shift 2
	if run "$name" "$@"; then
		ok "$desc"
	else
		not_ok "$desc" "$(cat "$tmp/$name")"
	fi
}

# check_data DESC NAME A B CMD...: CMD exits 0 and files A and B match.
check_data() {
	local desc=$1 name=$2 a=$3 b=$4
	shift 4
	if ! run "$name" "$@"; then
		not_ok "$desc" "$(cat "$tmp/$name")"
	elif ! cmp "$a" "$b" > "$tmp/cmp" 2>&1; then
		not_ok "$desc" "$(cat "$tmp/cmp")"
	else
		ok "$desc"
	fi
}

# no_match FILE... -- REGEX: no FILE has a line matching REGEX.
no_match() {
	local -a files=()
	while [ "$1" != -- ]; do
		files+=("$1")
		shift
	done
	! grep -E -- "$2" "${files[@]}"
}

major_of() {
	printf '%d\n' "0x$(stat -c %t "$1")"
}

resets() {
	sed -n 's/^RESETs: device=\([0-9]*\),.*/\1/p' /proc/scsi/scsi_debug/*
}

check "$drv node for $hctl" test -c "$dev"
check_eq "$dev is char major 21" 21 "$(major_of "$dev")"
check "$other is not loaded" test ! -d "/sys/module/$other"

# Inquiry-level tools; the sg path of libsgutils is taken at major 21.
check_run "sg_inq" sg_inq sg_inq "$dev"
check_run "sg_readcap" sg_readcap sg_readcap "$dev"
check_run "sg_scan -i" sg_scan_i sg_scan -i "$dev"
check "sg_scan -i names the LU" grep -q "^DEV: scsi${hctl%%:*} channel=" \
	"$tmp/sg_scan_i"
# Tools that map a node of major 21 to its device through sysfs: only the
# outputs are compared (scsi_debug has no EXTENDED COPY, so sg_xcopy fails
# alike on both drivers).
run sg_map26 sg_map26 "$dev"
check "sg_map26 took the sg path" grep -q "^sg device: DEV " "$tmp/sg_map26"
run sg_xcopy sg_xcopy if="$dev" of="$dev" bs=$bs count=8 seek=$((blocks * 2))
check "sg_xcopy reached the device" grep -q "Xcopy operating parameters" \
	"$tmp/sg_xcopy"

head -c $((blocks * bs)) /dev/urandom > "$tmp/in"

# sg_dd: file -> device -> file, several transfer sizes.
check_run "sg_dd file to $drv" sg_dd_w \
	sg_dd if="$tmp/in" of="$dev" bs=$bs count=$blocks
check_data "sg_dd $drv to file" sg_dd_r "$tmp/in" "$tmp/out" \
	sg_dd if="$dev" of="$tmp/out" bs=$bs count=$blocks
check_run "sg_dd --verify matches" sg_dd_verify \
	sg_dd if="$tmp/in" of="$dev" bs=$bs count=$blocks --verify
# One flipped byte in the last transfer: VERIFY must report a miscompare.
cp "$tmp/in" "$tmp/bad"
printf '\x5a' | dd of="$tmp/bad" bs=1 seek=$((blocks * bs - 700)) \
	conv=notrunc status=none
run sg_dd_verify_bad sg_dd if="$tmp/bad" of="$dev" bs=$bs count=$blocks \
	--verify
rc=$?
if [ $rc -eq 14 ]; then
	ok "sg_dd --verify reports a miscompare (exit 14)"
else
	not_ok "sg_dd --verify reports a miscompare (exit 14)" \
		"$(cat "$tmp/sg_dd_verify_bad")"
fi
# One block per command; every command costs a 4 ms scsi_debug jiffy, so
# only the first 1 MiB.
rm -f "$tmp/out"
head -c $((2048 * bs)) "$tmp/in" > "$tmp/in_1m"
check_data "sg_dd bpt=1 $drv to file" sg_dd_bpt1 "$tmp/in_1m" "$tmp/out" \
	sg_dd if="$dev" of="$tmp/out" bs=$bs count=2048 bpt=1
# 256 KiB per command: more than the default 32 KiB reserve.
rm -f "$tmp/out"
check_data "sg_dd bpt=512 $drv to file" sg_dd_bpt512 "$tmp/in" "$tmp/out" \
	sg_dd if="$dev" of="$tmp/out" bs=$bs count=$blocks bpt=512
# Direct IO asked for; sg's allow_dio=0 turns it into indirect IO.
check_run "sg_dd dio=1 file to $drv" sg_dd_dio_w \
	sg_dd if="$tmp/in" of="$dev" bs=$bs count=$blocks seek=$blocks dio=1
rm -f "$tmp/out"
check_data "sg_dd dio=1 $drv to file" sg_dd_dio_r "$tmp/in" "$tmp/out" \
	sg_dd if="$dev" of="$tmp/out" bs=$bs count=$blocks skip=$blocks dio=1
# With allow_dio=1 aligned buffers are mapped, not bounced: sg_dd reports
# every transfer that fell back to indirect IO.
param=/sys/module/$drv/parameters/allow_dio
echo 1 > "$param"
check_run "sg_dd dio=1 allow_dio=1 file to $drv" sg_dd_dio1_w \
	sg_dd if="$tmp/in" of="$dev" bs=$bs count=$blocks seek=$((2 * blocks)) \
	dio=1
rm -f "$tmp/out"
check_data "sg_dd dio=1 allow_dio=1 $drv to file" sg_dd_dio1_r "$tmp/in" \
	"$tmp/out" sg_dd if="$dev" of="$tmp/out" bs=$bs count=$blocks \
	skip=$((2 * blocks)) dio=1
check "sg_dd dio=1 allow_dio=1: all direct" no_match "$tmp/sg_dd_dio1_w" \
	"$tmp/sg_dd_dio1_r" -- incomplete
check_run "sg_read dio=1 allow_dio=1" sg_read_dio1 \
	sg_read if="$dev" bs=$bs count=$blocks bpt=128 dio=1
check "sg_read dio=1 allow_dio=1: all direct" no_match "$tmp/sg_read_dio1" \
	-- incomplete
echo 0 > "$param"

# Device to device: two fds of the node, one reading and one writing.
check_run "sg_dd $drv to $drv" sg_dd_dd \
	sg_dd if="$dev" of="$dev" bs=$bs count=$blocks seek=$((3 * blocks))
rm -f "$tmp/out"
check_data "sg_dd $drv to $drv copy reads back" sg_dd_dd_r "$tmp/in" \
	"$tmp/out" sg_dd if="$dev" of="$tmp/out" bs=$bs count=$blocks \
	skip=$((3 * blocks))

# sgp_dd: 8 threads, each with its own fd and async write()/read().
head -c $((blocks * bs)) /dev/urandom > "$tmp/in2"
check_run "sgp_dd thr=8 file to $drv" sgp_dd_w \
	sgp_dd if="$tmp/in2" of="$dev" bs=$bs count=$blocks \
	seek=$((4 * blocks)) thr=8
rm -f "$tmp/out"
check_data "sgp_dd thr=8 $drv to file" sgp_dd_r "$tmp/in2" "$tmp/out" \
	sgp_dd if="$dev" of="$tmp/out" bs=$bs count=$blocks \
	skip=$((4 * blocks)) thr=8

# sgm_dd: mmap'ed reserve buffer.
head -c $((blocks * bs)) /dev/urandom > "$tmp/in3"
check_run "sgm_dd file to $drv" sgm_dd_w \
	sgm_dd if="$tmp/in3" of="$dev" bs=$bs count=$blocks \
	seek=$((5 * blocks))
rm -f "$tmp/out"
check_data "sgm_dd $drv to file" sgm_dd_r "$tmp/in3" "$tmp/out" \
	sgm_dd if="$dev" of="$tmp/out" bs=$bs count=$blocks \
	skip=$((5 * blocks))

# sgp_dd through the mmap-ed reserve and by direct IO (bounced when
# allow_dio is off, pinned when on; the data must be right either way).
rm -f "$tmp/out"
check_data "sgp_dd iflag=mmap $drv to file" sgp_dd_mmap "$tmp/in3" "$tmp/out" \
	sgp_dd if="$dev" of="$tmp/out" bs=$bs count=$blocks \
	skip=$((5 * blocks)) iflag=mmap thr=4
rm -f "$tmp/out"
check_data "sgp_dd iflag=dio $drv to file" sgp_dd_dio "$tmp/in3" "$tmp/out" \
	sgp_dd if="$dev" of="$tmp/out" bs=$bs count=$blocks \
	skip=$((5 * blocks)) iflag=dio thr=4

# sg_read: indirect, mmap and direct IO.
check_run "sg_read" sg_read sg_read if="$dev" bs=$bs count=$blocks bpt=128
check_run "sg_read mmap=1" sg_read_mmap \
	sg_read if="$dev" bs=$bs count=$blocks bpt=64 mmap=1
check_run "sg_read dio=1" sg_read_dio \
	sg_read if="$dev" bs=$bs count=$blocks bpt=128 dio=1

# sg_reset: SG_SCSI_RESET reaches the LLD as one LU reset, and the next
# command sees the unit attention it leaves.
before=$(resets)
check_run "sg_reset (reset state)" sg_reset_none sg_reset "$dev"
check_run "sg_reset -d" sg_reset_d sg_reset -d "$dev"
check_eq "scsi_debug saw one device reset" $((before + 1)) "$(resets)"
run sg_turs_after_reset sg_turs "$dev"
rc=$?
if [ $rc -eq 6 ]; then
	ok "first sg_turs after the reset: unit attention (exit 6)"
else
	not_ok "first sg_turs after the reset: unit attention (exit 6)" \
		"$(cat "$tmp/sg_turs_after_reset")"
fi
check_run "second sg_turs after the reset" sg_turs_after_ua sg_turs "$dev"
check_run "sg_reset -d -N" sg_reset_dn sg_reset -d -N "$dev"
sg_turs "$dev" > /dev/null 2>&1

# fio's sg engine: async write()/read() on the node, crc32c verify of
# every block written, random 4 KiB blocks in a 64 MiB region. At depth 1
# each command waits out scsi_debug's 4 ms, so only 8 MiB of it is written.
fio_job() {
	local qd=$1 io=$2
	(cd "$tmp" && fio --name=rw$qd --filename="$dev" --ioengine=sg \
		--rw=randwrite --bs=4k --iodepth=$qd --size=64m --io_size=$io \
		--verify=crc32c --do_verify=1 --verify_fatal=1 \
		--verify_state_save=0)
}

for job in 1:8m:2048 16:64m:16384; do
	IFS=: read -r qd io n <<< "$job"
	run "fio_qd$qd" fio_job $qd $io
	rc=$?
	if [ $rc -ne 0 ] || ! grep -q 'err= 0' "$tmp/fio_qd$qd" ||
		! grep -q "issued rwts: total=$n,$n," "$tmp/fio_qd$qd"; then
		not_ok "fio sg randwrite iodepth=$qd crc32c verify" \
			"$(cat "$tmp/fio_qd$qd")"
	else
		ok "fio sg randwrite iodepth=$qd crc32c verify"
	fi
done
# At depth 16 the queue really filled: most submissions at depth 16.
check "fio iodepth=16 kept 16 commands queued" \
	grep -qE 'IO depths *:.* 16=(9[0-9]|100)\.' "$tmp/fio_qd16"

tap_end
