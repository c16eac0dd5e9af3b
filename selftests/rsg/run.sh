#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# In-VM entry point of the rsg tests: load scsi_debug, sg and rsg, run every
# suite, and end with "N passed, N failed" over all their TAP results.
#
#   tools/vm/run.sh -- selftests/rsg/run.sh
#
# RSG_SELF_TEST=1: rsg.ko is not available; compare sg with itself
# (RSG_DEV=SG_DEV) and skip what needs rsg. Build first with
# make -C selftests/rsg.
cd "$(dirname "$0")/../.." || exit 1
. tools/vm/guest.sh
. selftests/rsg/tap.sh

self_test=${RSG_SELF_TEST:-0}
suite_timeout=${RSG_SUITE_TIMEOUT:-300}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

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

# A new LU reports a unit attention first; take it here so that no suite
# sees it on only one of the two drivers.
ua_cleared() {
	local i
	for i in 1 2 3 4 5; do
		sg_turs "$SG_DEV" > /dev/null 2>&1 && return 0
	done
	return 1
}

setup() {
	tap_begin
	check "test programs built" test -x selftests/rsg/out/sg_compat \
		-a -x selftests/rsg/out/sg_hold -a -x selftests/rsg/out/sg_async \
		-a -x selftests/rsg/out/sg_compat32
	check "load scsi_debug" load_scsi_debug
	# sg first: it needs major 21, which rsg would take if it came first.
	check "load sg" load_sg
	if [ "$self_test" = 1 ]; then
		echo "# self-test: sg compared with itself"
	else
		check "load rsg" load_rsg
	fi
	hctl=$(ls /sys/class/scsi_device | head -n1)
	check "scsi_debug LU" test -n "$hctl"
	check "sg node for $hctl" wait_for 5 node_found sg
	SG_DEV=$(node_of "$hctl" sg)
	if [ "$self_test" = 1 ]; then
		RSG_DEV=$SG_DEV
	else
		check "rsg node for $hctl" wait_for 5 node_found rsg
		RSG_DEV=$(node_of "$hctl" rsg)
	fi
	check "unit attention cleared" ua_cleared
	echo "# rsg: $RSG_DEV  sg: $SG_DEV  LU: $hctl"
	tap_end
}

run_suite setup setup
[ "$failed" -eq 0 ] || finish
hctl=$(ls /sys/class/scsi_device | head -n1)
SG_DEV=$(node_of "$hctl" sg)
RSG_DEV=$SG_DEV
[ "$self_test" = 1 ] || RSG_DEV=$(node_of "$hctl" rsg)
export RSG_DEV SG_DEV RSG_SELF_TEST=$self_test RSG_HCTL=$hctl

run_suite sg_compat selftests/rsg/out/sg_compat
run_suite sg_async selftests/rsg/out/sg_async
run_suite sg_compat32 selftests/rsg/out/sg_compat32
run_suite sg_zerocopy selftests/rsg/out/sg_zerocopy
run_suite sg3_utils selftests/rsg/sg3_utils.sh
run_suite errors selftests/rsg/errors.sh
run_suite rsgdd selftests/rsg/rsgdd.sh
run_suite rsg_queue selftests/rsg/out/rsg_queue -F removal
# These two change the device set, so they come last.
if [ "$self_test" = 1 ]; then
	echo "# self-test: rmmod.sh skipped"
else
	run_suite rmmod selftests/rsg/rmmod.sh rsg
fi
run_suite hotplug selftests/rsg/hotplug.sh
# The queue interface with the LU removed and rsg unloaded: last of all.
if [ "$self_test" = 1 ]; then
	echo "# self-test: queue removal and teardown skipped"
else
	run_suite rsg_queue_removal selftests/rsg/out/rsg_queue -f removal
	run_suite queue_teardown selftests/rsg/queue_teardown.sh
fi

finish
