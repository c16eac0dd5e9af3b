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
. selftests/rsg/suites.sh

self_test=${RSG_SELF_TEST:-0}
suite_timeout=${RSG_SUITE_TIMEOUT:-300}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

setup() {
	tap_begin
	check "test programs built" test -x selftests/rsg/out/sg_compat \
		-a -x selftests/rsg/out/sg_hold -a -x selftests/rsg/out/sg_async \
		-a -x selftests/rsg/out/sg_compat32 -a -x selftests/rsg/out/sg_perm \
		-a -x selftests/rsg/out/sg_signal -a -x selftests/rsg/out/rsg_stress
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
	check "unit attention cleared" ua_cleared sg
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
if [ "$self_test" = 1 ]; then
	echo "# self-test: stat skipped (rsg's own attribute)"
else
	run_suite stat selftests/rsg/stat.sh
fi
run_suite rsg_queue selftests/rsg/out/rsg_queue -F removal
if [ "$self_test" = 1 ]; then
	echo "# self-test: io_uring suites skipped (rsg's own interface)"
else
	run_suite rsg_uring selftests/rsg/out/rsg_uring
fi
run_suite fuzz selftests/rsg/fuzz.sh
run_suite sg_perm selftests/rsg/out/sg_perm
run_suite sg_signal selftests/rsg/out/sg_signal
# Allocation failures: a TAP skip on kernels without fault injection. It
# reloads rsg and adds a host of its own, so it comes before the suites that
# change the device set.
if [ "$self_test" = 1 ]; then
	echo "# self-test: faults skipped"
else
	suite_timeout=${RSG_FAULTS_TIMEOUT:-2400} run_suite faults selftests/rsg/faults.sh
fi
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
	run_suite rsg_uring_removal selftests/rsg/out/rsg_uring removal
	run_suite queue_teardown selftests/rsg/queue_teardown.sh
fi
# Hosts removed and added under load; unloads and reloads rsg. A debug
# kernel takes many times as long for its 100 cycles.
suite_timeout=$((suite_timeout * 6)) run_suite removal_load \
	selftests/rsg/removal_load.sh

finish
