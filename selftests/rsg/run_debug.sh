#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# In-VM entry point on the debug kernel (KASAN, lockdep, kmemleak, fault
# injection): every suite of run.sh (or those RSG_SUITES_FROM or
# RSG_SUITES_BEFORE select, see suites.sh), then a kmemleak scan that must
# find nothing. Ends with "N passed, N failed" like run.sh.
#
#   tools/vm/run.sh --kernel build/kernel-debug --module build/rsg-debug.ko \
#       -- selftests/rsg/run_debug.sh
cd "$(dirname "$0")/../.." || exit 1
# KASAN and lockdep make everything several times slower: longer timeouts,
# and fewer host removals under load (100 on the test kernel) to stay near
# make check's time; pass RSG_REMOVAL_CYCLES=100 for all. The fault
# injection windows keep their defaults: smaller ones may not reach rsg's
# own allocations at module load and attach.
export RSG_SUITE_TIMEOUT=${RSG_SUITE_TIMEOUT:-900} RSG_TEARDOWN_SLOW=${RSG_TEARDOWN_SLOW:-15}
export RSG_REMOVAL_CYCLES=${RSG_REMOVAL_CYCLES:-20}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
selftests/rsg/run.sh | tee "$out"
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n1)
passed=${line%% passed*}
failed=${line#*, }
failed=${failed%% failed*}
[ -n "$line" ] || { passed=0; failed=1; }

km=/sys/kernel/debug/kmemleak
[ -e "$km" ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
if [ -w "$km" ]; then
	# An object is reported once it stayed unreferenced past its minimum
	# age (5 s) across scans.
	echo scan > "$km"
	sleep 6
	echo scan > "$km"
	leaks=$(grep -c 'unreferenced object' "$km")
	if [ "$leaks" -eq 0 ]; then
		echo "ok - kmemleak: no unreferenced objects"
		passed=$((passed + 1))
	else
		cat "$km"
		echo "not ok - kmemleak: $leaks unreferenced objects"
		failed=$((failed + 1))
	fi
else
	echo "not ok - kmemleak: $km missing (not the debug kernel?)"
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
