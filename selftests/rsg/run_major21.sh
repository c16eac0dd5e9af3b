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

self_test=${RSG_SELF_TEST:-0}
suite_timeout=${RSG_SUITE_TIMEOUT:-900}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
first=rsg
[ "$self_test" = 1 ] && first=sg

# run_suite NAME COMMAND...: run one TAP producer and add up its results. A
# missing plan, fewer results than planned or a failing exit status with no
# "not ok" counts as a failure.
run_suite() {
	local name=$1 log=$tmp/$1.log rc p f plan
	shift
	echo "# ===== $name"
	if declare -F "$1" > /dev/null; then
		"$@"
	else
		timeout -k 5 "$suite_timeout" "$@"
	fi 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	p=$(grep -cE '^ok [0-9]+' "$log")
	f=$(grep -cE '^not ok [0-9]+' "$log")
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$log" | tail -n1)
	if [ -z "$plan" ]; then
		echo "# $name: no TAP plan (exit status $rc)"
		f=$((f + 1))
	elif [ $((p + f)) -lt "$plan" ]; then
		echo "# $name: $((p + f)) results of $plan planned"
		f=$((f + plan - p - f))
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "# $name: exit status $rc"
		f=$((f + 1))
	fi
	echo "# $name: $p passed, $f failed"
	passed=$((passed + p))
	failed=$((failed + f))
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

node_found() {
	[ -n "$(node_of "$hctl" "$1")" ] && [ -c "$(node_of "$hctl" "$1")" ]
}

# Take the power-on unit attention (or one left by a reset) here, so that
# it is not charged to either driver's turn.
ua_cleared() {
	local i
	for i in 1 2 3 4 5; do
		sg_turs "$(node_of "$hctl" "$1")" > /dev/null 2>&1 && return 0
	done
	return 1
}

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
same="sg_inq sg_readcap sg_scan_i sg_reset_none sg_reset_d sg_reset_dn
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
