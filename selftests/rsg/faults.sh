#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Allocation failures injected into rsg (and sg, for comparison) with the
# per-task fail-nth of failslab and fail_page_alloc: every system call of
# rsg_fault's scenarios, then module load and device attach. Each fault must
# end cleanly (success or ENOMEM-class errno, device still usable), with no
# leak (kmemleak, module references, /proc/scsi/rsg) and no splat.
#
# usage: faults.sh        (in the VM; RSG_DEV, SG_DEV, RSG_HCTL as run.sh sets)
# Skips (TAP) when the kernel has no fault injection, e.g. the base kernel.
# FAULTS_LOAD_WINDOW: how many of the last allocations of a module load to
# fail (default 100: rsg's init ends with the attach to the LU, and a load
# takes seconds on the debug kernel); FAULTS_ATTACH_WINDOW: the same for a
# LU scan (default 150, ending 20 faults after rsg's attach; 0 skips it).
cd "$(dirname "$0")/../.." || exit 1
. selftests/rsg/tap.sh
. tools/vm/guest.sh

dbg=/sys/kernel/debug
prog=selftests/rsg/out/rsg_fault
hctl=${RSG_HCTL:-$(ls /sys/class/scsi_device | head -n1)}
load_window=${FAULTS_LOAD_WINDOW:-100}
attach_window=${FAULTS_ATTACH_WINDOW:-150}

[ -d "$dbg/failslab" ] || mount -t debugfs none "$dbg" 2> /dev/null
if [ ! -e /proc/self/fail-nth ] || [ ! -d "$dbg/failslab" ] ||
   [ ! -d "$dbg/fail_page_alloc" ]; then
	echo "TAP version 13"
	echo "1..0 # SKIP no fault injection (fail-nth, failslab, fail_page_alloc) in this kernel"
	exit 0
fi

# Knobs: GFP_KERNEL (sleeping) allocations and order-0 pages may fail too;
# only fail-nth picks the victim (probability 0, task filter on); no
# message per fault (a stack dump per fault would flood the console).
knobs="failslab/ignore-gfp-wait fail_page_alloc/ignore-gfp-wait
	fail_page_alloc/min-order failslab/verbose fail_page_alloc/verbose
	failslab/task-filter fail_page_alloc/task-filter failslab/probability
	fail_page_alloc/probability"
declare -A saved
for k in $knobs; do
	saved[$k]=$(cat "$dbg/$k")
done
restore() {
	local k
	for k in $knobs; do
		echo "${saved[$k]}" > "$dbg/$k"
	done
}
trap restore EXIT
set_knob() {
	echo "$2" > "$dbg/$1"
}
set_knob failslab/ignore-gfp-wait N
set_knob fail_page_alloc/ignore-gfp-wait N
set_knob fail_page_alloc/min-order 0
set_knob failslab/verbose "${FAULTS_VERBOSE:-0}"
set_knob fail_page_alloc/verbose "${FAULTS_VERBOSE:-0}"
set_knob failslab/task-filter Y
set_knob fail_page_alloc/task-filter Y
set_knob failslab/probability 0
set_knob fail_page_alloc/probability 0

kmemleak=$dbg/kmemleak
[ -w "$kmemleak" ] || kmemleak=
# Objects reported: "unreferenced object 0xADDR (size N):" lines.
leaked_objects() {
	echo scan > "$kmemleak"
	grep -o 'unreferenced object 0x[0-9a-f]*' "$kmemleak" | sort
}
# Leaks found before this suite are not its business (nor cleared: the
# final report of check-debug still shows them).
[ -z "$kmemleak" ] || leaks_before=$(leaked_objects)

# The scenarios (a TAP producer of their own): pass their results through,
# renumbered into this suite's plan.
tap_begin
total=0
exited=0
while IFS= read -r line; do
	case "$line" in
	"ok "*|"not ok "*)
		d=${line#ok }
		d=${d#not ok }
		d=${d#* }
		case "$line" in
		ok*) ok "rsg_fault: $d" ;;
		*)
			# The kernel's last words, for a report that has only
			# this log's summary.
			dmesg | tail -n 4 | sed 's/^/# dmesg: /'
			not_ok "rsg_fault: $d" ;;
		esac ;;
	"# faults: "*" injected="*)
		echo "$line"
		n=${line##*injected=}
		n=${n%% *}
		total=$((total + n)) ;;
	"# rsg_fault exit "*)
		exited=1
		check_eq "rsg_fault exit status" 0 "${line##* }" ;;
	"TAP version"*|"1.."*|"# PASSED"*|"# FAILED"*|"# Totals"*) ;;
	*) echo "$line" ;;
	esac
done < <("$prog" 2>&1; echo "# rsg_fault exit $?")
# A loop that stopped early would leave scenarios uncounted.
check_eq "rsg_fault's output read to its end" 1 "$exited"
echo "# faults injected into system calls: $total"

# The rest are shell loops over fail-nth helpers of rsg_fault.
nth() {
	"$prog" nth "$@"
}

rsg_node_ok() {
	local n
	n=$(node_of "$1" rsg) && [ -c "$n" ] && sg_inq "$n" > /dev/null 2>&1
}

# How many allocations a call makes: fail-nth set past them, minus what
# is left.
count_allocs() {
	local big=1000000 out
	out=$(nth "$big" "$@") || return 1
	echo $((big - ${out##*left=}))
}

# --- module load: rsg's init and its attach to the LU, failed allocation by
# allocation from the end of finit_module backwards.
module=${RSG_MODULE:-build/rsg.ko}
load_faults=0
load_fail=0
load_noattach=0
load_bad=
check "rmmod rsg for the load faults" rmmod rsg
allocs=$(count_allocs load "$module")
check "module load counted (${allocs:-?} allocations)" test -n "$allocs" -a -d /sys/module/rsg
rmmod rsg 2> /dev/null
if [ -n "$allocs" ]; then
	first=$((allocs - load_window))
	[ "$first" -ge 1 ] || first=1
	n=$allocs
	# Walk back from the last allocation; the count varies a little from
	# load to load (slab pages, stack depot), so stop after the window.
	while [ "$n" -ge "$first" ]; do
		[ $(((allocs - n) % 25)) = 0 ] && echo "# module load: fault at N=$n"
		out=$(nth "$n" load "$module")
		ret=${out#ret=}
		ret=${ret%% *}
		left=${out##*left=}
		n=$((n - 1))
		if [ "$left" != 0 ]; then
			# Past the end of this load: it ran without a fault.
			[ -d /sys/module/rsg ] && rmmod rsg
			continue
		fi
		load_faults=$((load_faults + 1))
		if [ "$ret" != 0 ]; then
			if [ "$ret" != 12 ]; then
				load_bad="$load_bad load@$((n + 1)):errno$ret"
			fi
			load_fail=$((load_fail + 1))
			if [ -d /sys/module/rsg ] || [ -d /proc/scsi/rsg ] ||
			   [ -d /sys/class/scsi_rsg ]; then
				load_bad="$load_bad load@$((n + 1)):leftovers"
			fi
			continue
		fi
		if rsg_node_ok "$hctl"; then
			:
		elif [ -z "$(node_of "$hctl" rsg)" ]; then
			load_noattach=$((load_noattach + 1))
		else
			load_bad="$load_bad load@$((n + 1)):node-unusable"
		fi
		if ! rmmod rsg; then
			load_bad="$load_bad load@$((n + 1)):rmmod"
			break
		fi
	done
fi
echo "# faults: module_load rsg injected=$load_faults ENOMEM=$load_fail no_attach=$load_noattach"
total=$((total + load_faults))
check_eq "module load faults end cleanly" "" "$load_bad"
check "module load faults reached rsg's init or attach" \
	test $((load_fail + load_noattach)) -gt 0
check "reload rsg" load_rsg
check "rsg node for $hctl after the load faults" wait_for 5 rsg_node_ok "$hctl"

# --- device attach: a second scsi_debug host whose LU is scanned in by a
# sysfs write, failing allocations from the end of the scan backwards
# (rsg's attach is among the last: the class interfaces, then bsg).
attach_loop() {
	add_host=/sys/bus/pseudo/drivers/scsi_debug/add_host
	hosts_before=$(ls /sys/class/scsi_host)
	echo 1 > "$add_host"
	udev_settle
	host=
	for h in $(ls /sys/class/scsi_host); do
		case " $(echo $hosts_before) " in *" $h "*) ;; *) host=$h ;; esac
	done
	check "second scsi_debug host ($host)" test -n "$host"
	hno=${host#host}
	lu2=$hno:0:0:0
	check "rsg node for $lu2" wait_for 5 rsg_node_ok "$lu2"
	lu_delete() {
		local d=/sys/class/scsi_device/$lu2/device/delete
		[ -e "$d" ] && echo 1 > "$d"
		wait_for 5 gone "/sys/class/scsi_device/$lu2"
	}
	lu_scan() {
		nth "$1" write "/sys/class/scsi_host/$host/scan" "0 0 0"
	}
	attach_faults=0
	attach_noattach=0
	attach_bad=
	check "delete $lu2" lu_delete
	out=$(lu_scan 1000000)
	allocs=$((1000000 - ${out##*left=}))
	check "scan of $lu2 counted ($allocs allocations)" rsg_node_ok "$lu2"
	check "delete $lu2 again" lu_delete
	first=$((allocs - attach_window))
	[ "$first" -ge 1 ] || first=1
	n=$allocs
	# The count varies from scan to scan (slab pages, stack depot), so the
	# window is wide; once rsg's attach was reached, 20 more faults (into
	# the mid-layer's and sg's earlier allocations) end the walk.
	past=0
	while [ "$n" -ge "$first" ] && [ "$past" -le 20 ]; do
		out=$(lu_scan "$n")
		left=${out##*left=}
		n=$((n - 1))
		[ "$left" = 0 ] || { lu_delete; continue; }
		attach_faults=$((attach_faults + 1))
		if [ -d "/sys/class/scsi_device/$lu2" ]; then
			if rsg_node_ok "$lu2"; then
				:
			elif [ -z "$(node_of "$lu2" rsg)" ]; then
				[ -n "$(node_of "$lu2" sg)" ] &&
					attach_noattach=$((attach_noattach + 1)) &&
					past=-1
			else
				attach_bad="$attach_bad scan@$((n + 1)):node-unusable"
			fi
		fi
		lu_delete || { attach_bad="$attach_bad scan@$((n + 1)):delete"; break; }
		[ "$attach_noattach" -gt 0 ] && past=$((past + 1))
	done
	echo "# faults: device_attach rsg injected=$attach_faults no_attach=$attach_noattach"
	total=$((total + attach_faults))
	check_eq "attach faults end cleanly" "" "$attach_bad"
	check "attach faults reached rsg's attach" test "$attach_noattach" -gt 0
	echo "0 0 0" > "/sys/class/scsi_host/$host/scan"
	check "rsg node for $lu2 after the attach faults" wait_for 5 rsg_node_ok "$lu2"
	check "remove the second host" sh -c "echo -1 > $add_host"
	check "rsg node for $hctl still works" rsg_node_ok "$hctl"
}

if [ "$attach_window" -gt 0 ]; then
	attach_loop
else
	echo "# device attach faults skipped (FAULTS_ATTACH_WINDOW=0)"
fi

echo "# faults injected in all: $total"
check "faults were injected" test "$total" -gt 0

# Nothing leaked: kmemleak reports objects unreferenced for 5 s or more.
if [ -n "$kmemleak" ]; then
	sleep 6
	leaked_objects > /dev/null
	sleep 1
	new=$(comm -13 <(echo "$leaks_before") <(leaked_objects) | grep .)
	if [ -z "$new" ]; then
		ok "kmemleak: no new leak"
	else
		not_ok "kmemleak: no new leak" "$(echo "$new" | head -n 20)" \
			"$(head -n 60 "$kmemleak")"
	fi
else
	echo "# kmemleak not available"
fi

tap_end
