#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# In-VM entry point of the major-21 suite. sg3_utils' dd family needs the
# node at char major 21, which rsg only gets while sg is not loaded, so the
# two drivers take turns: scsi_debug and rsg, major21.sh against rsg, rmmod
# rsg, load sg, major21.sh against sg, then the outputs that must not depend
# on the driver are compared. Ends with "N passed, N failed".
#
#   tools/vm/run.sh -- selftests/rsg/run_major21.sh
#
# RSG_SELF_TEST=1: rsg.ko is not available; sg takes both turns.
cd "$(dirname "$0")/../.." || exit 1
. tools/vm/guest.sh
. selftests/rsg/tap.sh
. selftests/rsg/suites.sh

self_test=${RSG_SELF_TEST:-0}
suite_timeout=${RSG_SUITE_TIMEOUT:-900}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
first=rsg
[ "$self_test" = 1 ] && first=sg

# load_turn DRIVER: load DRIVER and wait for its node.
load_turn() {
	if [ "$1" = rsg ]; then
		load_rsg
	else
		load_sg
	fi
}

setup() {
	tap_begin
	check "load scsi_debug" load_scsi_debug
	hctl=$(ls /sys/class/scsi_device | head -n1)
	check "scsi_debug LU" test -n "$hctl"
	check "load $first" load_turn "$first"
	check "$first node for $hctl" wait_for 5 node_found "$first"
	check "unit attention cleared" ua_cleared "$first"
	echo "# $first: $(node_of "$hctl" "$first")  LU: $hctl"
	tap_end
}

swap() {
	tap_begin
	check "rmmod $first" rmmod "$first"
	check "load sg" load_sg
	check "sg node for $hctl" wait_for 5 node_found sg
	check "unit attention cleared" ua_cleared sg
	echo "# sg: $(node_of "$hctl" sg)  LU: $hctl"
	tap_end
}

# These outputs (node name replaced, exit status appended) come from the
# LU and sg3_utils alone, so rsg must reproduce sg's exactly.
same="sg_inq sg_readcap sg_scan_i sg_map26 sg_xcopy sg_reset_none sg_reset_d sg_reset_dn
	sg_turs_after_reset sg_turs_after_ua sg_dd_w sg_dd_r sg_dd_verify
	sg_dd_verify_bad sg_dd_bpt1 sg_dd_bpt512 sg_dd_dio_w sg_dd_dio_r
	sg_dd_dio1_w sg_dd_dio1_r sg_dd_dd sg_dd_dd_r sgp_dd_w sgp_dd_r
	sgm_dd_w sgm_dd_r sg_read sg_read_mmap sg_read_dio sg_read_dio1"

compare() {
	local name a b
	tap_begin
	for name in $same; do
		a=$tmp/save/first/$name
		b=$tmp/save/sg/$name
		if [ ! -f "$a" ] || [ ! -f "$b" ]; then
			not_ok "$name: same output on $first and sg" \
				"not saved by both turns"
		elif ! cmp -s "$b" "$a"; then
			not_ok "$name: same output on $first and sg" \
				"$(diff -u "$b" "$a")"
		else
			ok "$name: same output on $first and sg"
		fi
	done
	tap_end
}

run_suite setup setup
[ "$failed" -eq 0 ] || finish
hctl=$(ls /sys/class/scsi_device | head -n1)
export RSG_HCTL=$hctl

run_suite "major21-$first" selftests/rsg/major21.sh "$first" "$tmp/save/first"
run_suite swap swap
[ "$failed" -eq 0 ] || [ -c "$(node_of "$hctl" sg)" ] || finish
run_suite major21-sg selftests/rsg/major21.sh sg "$tmp/save/sg"
run_suite compare compare

finish
