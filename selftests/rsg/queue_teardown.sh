#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The queue interface across close, module unload and device removal
# (Documentation/rsg-queue.rst, "abandoned"): requests a close leaves
# running are not seen by a new open, keep their pages pinned and rsg
# loaded (delete_module EBUSY) until they finish, and then rmmod succeeds;
# rmmod retried from the close on gets through once they drain; a LU
# removed under abandoned requests goes at once. rsg loaded with
# queue_depth=8 gives files that depth.
#
# A module still referenced makes delete_module() fail with EWOULDBLOCK;
# rmmod (kmod) sees the reference count first and reports it "in use".
#
# Unloads and reloads rsg: run it last. Expects scsi_debug, sg and rsg
# loaded; RSG_HCTL names the LU. Leaves rsg loaded with its defaults.
cd "$(dirname "$0")/../.." || exit 1
. selftests/rsg/tap.sh
. tools/vm/guest.sh

qhold=selftests/rsg/out/rsg_qhold
hctl=${RSG_HCTL:-$(ls /sys/class/scsi_device | head -n1)}
host=${hctl%%:*}
sdebug=/sys/bus/pseudo/drivers/scsi_debug
hz=$(sed -n 's/^CONFIG_HZ=//p' "$RSG_KERNEL/.config" 2>/dev/null)
hz=${hz:-250}
# How long the abandoned requests run: long enough to still run at the
# rmmod checks, longer on a slow (debug) kernel.
slow=${RSG_TEARDOWN_SLOW:-8}
fill=${RSG_TEARDOWN_FILL:-3}
old_delay=$(cat $sdebug/delay)
old_ndelay=$(cat $sdebug/ndelay)
EAGAIN=11
# What delete_module() answers for a module still referenced.
EWOULDBLOCK=11

tap_begin

node() {
	node_of "$hctl" rsg
}

node_ok() {
	local n
	n=$(node) && [ -n "$n" ] && [ -c "$n" ]
}

busy() {
	cat "/sys/class/scsi_device/$hctl/device/device_busy"
}

idle() {
	[ "$(busy)" = 0 ]
}

inq_ok() {
	sg_inq "$(node)" > /dev/null 2>&1
}

pinned_zero() {
	[ "$(cat /proc/scsi/rsg/pinned_pages)" = 0 ]
}

ua_cleared() {
	local i sg
	sg=$(node_of "$hctl" sg)
	for i in 1 2 3 4 5; do
		sg_turs "$sg" > /dev/null 2>&1 && return 0
	done
	return 1
}

# rmmod_retry SECONDS: rmmod rsg until it succeeds; sets tries and took.
rmmod_retry() {
	local end=$(($(date +%s) + $1)) t0
	t0=$(date +%s%N)
	tries=0
	while [ "$(date +%s)" -lt $end ]; do
		tries=$((tries + 1))
		if rmmod rsg 2> /dev/null; then
			took=$((($(date +%s%N) - t0) / 1000000))
			return 0
		fi
		sleep 0.1
	done
	return 1
}

reload_rsg() {
	check "reload rsg $*" load_rsg "$@"
	check "rsg node back" wait_for 10 node_ok
}

check "rsg loaded" test -d /sys/module/rsg
check "rsg node for $hctl" node_ok
check "scsi_debug: commands take ${slow}s" sdebug_set delay $((slow * hz))

# 1. 64 direct I/O requests left running by a close.
echo 1 > /proc/scsi/rsg/allow_dio
check_eq "64 requests queued, fd closed" "queued 64" \
	"$($qhold -q -n 64 -d "$(node)")"
check_eq "a new open sees none of them" \
	"$(printf '%s\n' "RSG_IOGET $EAGAIN" "RSG_IOGET_BATCH $EAGAIN" "POLLIN 0")" \
	"$($qhold -r "$(node)")"
check "they still run on the LU ($(busy))" test "$(busy)" -gt 0
p=$(cat /proc/scsi/rsg/pinned_pages)
check "their pages stay pinned ($p)" test "$p" -gt 0
check_eq "delete_module(rsg) while they run" "delete_module $EWOULDBLOCK" \
	"$($qhold -u rsg)"
msg=$(rmmod rsg 2>&1)
rc=$?
check "rmmod rsg refused while they run" test $rc -ne 0
check "rmmod says rsg is in use" grep -q "in use" <<< "$msg"
check "rsg still loaded" test -d /sys/module/rsg
check "rsg node still there" node_ok
check "pinned_pages back to 0 once they finish" wait_for 30 pinned_zero
check "the LU idle" wait_for 30 idle
check "rmmod rsg after they drained" rmmod_retry 10
check "rsg unloaded" wait_for 5 gone /sys/module/rsg

# 2. The queue_depth parameter at load. A file's depth counts its
# outstanding requests, so the commands need only outlast the few ioctls
# that fill it: a shorter delay, since 256 of them (192 at a time on the
# LU) are waited out.
reload_rsg queue_depth=8
check "scsi_debug: commands take ${fill}s" sdebug_set delay $((fill * hz))
check_eq "queue_depth parameter" 8 \
	"$(cat /sys/module/rsg/parameters/queue_depth)"
check_eq "depth 8: 8 queued, the 9th EAGAIN" \
	"$(printf '%s\n' "depth 8" "queued 8" "next $EAGAIN")" \
	"$($qhold -D "$(node)")"
check "the LU idle" wait_for 30 idle
check "rmmod rsg" rmmod_retry 10
reload_rsg
check_eq "default depth 256: 256 queued, the 257th EAGAIN" \
	"$(printf '%s\n' "depth 256" "queued 256" "next $EAGAIN")" \
	"$($qhold -D "$(node)")"
check "the LU idle" wait_for 30 idle
# kept_buffer_kb: 0 to 1 GiB, as KiB; out of range refused, value kept.
kb=/sys/module/rsg/parameters/kept_buffer_kb
check_eq "kept_buffer_kb default" 4096 "$(cat $kb)"
check "kept_buffer_kb refuses -1" sh -c "! echo -1 > $kb" 2> /dev/null
check "kept_buffer_kb refuses 1048577" sh -c "! echo 1048577 > $kb" 2> /dev/null
check_eq "kept_buffer_kb unchanged by them" 4096 "$(cat $kb)"
check "kept_buffer_kb takes 0" sh -c "echo 0 > $kb"
check_eq "kept_buffer_kb reads 0" 0 "$(cat $kb)"
check "kept_buffer_kb takes 4096" sh -c "echo 4096 > $kb"
check "scsi_debug: commands take ${slow}s again" sdebug_set delay $((slow * hz))

# 3. rmmod retried from the close on: EBUSY until they drain, no hang.
check_eq "64 requests queued, fd closed" "queued 64" \
	"$($qhold -q -n 64 "$(node)")"
if rmmod_retry $((slow * 6)); then
	ok "rmmod rsg retried until it went (${tries} tries, ${took} ms)"
else
	not_ok "rmmod rsg retried until it went" "still loaded after $((slow * 6))s"
fi
check "rmmod needed retries: the requests held rsg" test "${tries:-0}" -gt 1
check "the LU idle after rmmod" idle
reload_rsg
check "rsg works after reload" inq_ok

# 4. The LU removed under abandoned requests. Running requests of the
# interface are aborted at removal, abandoned ones included, so removal
# does not wait for them; at worst it must not hang.
# Long enough that waiting for them cannot pass for aborting them.
long=15
check "scsi_debug: commands take ${long}s" sdebug_set delay $((long * hz))
check_eq "16 requests queued, fd closed" "queued 16" \
	"$($qhold -q -n 16 "$(node)")"
n=$(node)
t0=$(date +%s%N)
echo 1 > "/sys/class/scsi_device/$hctl/device/delete"
ms=$((($(date +%s%N) - t0) / 1000000))
check "LU deleted under abandoned requests (${ms} ms)" \
	test $ms -lt $(((long + 20) * 1000))
check "removal aborted them, did not wait their ${long}s (${ms} ms)" \
	test $ms -lt 5000
check "$hctl gone" wait_for 10 gone "/sys/class/scsi_device/$hctl"
check "$n gone" wait_for 10 gone "$n"
check "rmmod rsg with the LU gone" rmmod_retry $((long * 2))
check "scsi_debug delay restored" sdebug_delay_restore "$old_delay" "$old_ndelay"
echo '- - -' > "/sys/class/scsi_host/host$host/scan"
check "$hctl back after rescan" wait_for 10 test -e "/sys/class/scsi_device/$hctl"
reload_rsg
check "unit attention cleared" ua_cleared
check "rsg works at the end" inq_ok

tap_end
