#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Error paths. scsi_debug fails a command in a chosen way, and the same
# command through rsg and through sg must come back the same: sg_raw's
# report and exit status, and every field of the reply through SG_IO, async
# write()/read() and the v2 interface (sg_err). sg's reply must also carry
# the sense (or status) that was injected, so a failed injection cannot
# pass as two identical successes.
#
# Injections that count commands (every_nth) are set up again before each
# driver's command, so both drivers' commands are hit the same way.
#
# RSG_DEV and SG_DEV name the nodes of one LU (default /dev/rsg0, /dev/sg0),
# RSG_HCTL the LU. Expects no other user of the LU.
cd "$(dirname "$0")/../.." || exit 1
. selftests/rsg/tap.sh

rsg=${RSG_DEV:-/dev/rsg0}
sg=${SG_DEV:-/dev/sg0}
hctl=${RSG_HCTL:-$(ls /sys/class/scsi_device | head -n1)}
sg_err=$PWD/selftests/rsg/out/sg_err
drv=/sys/bus/pseudo/drivers/scsi_debug
par=/sys/module/scsi_debug/parameters
qdepth_file=/sys/class/scsi_device/$hctl/device/queue_depth
qdepth=$(cat "$qdepth_file")
tmp=$(mktemp -d)

# Whatever happens, leave the LU as run.sh's later suites expect it.
restore() {
	echo 0 > $drv/opts
	echo 0 > $drv/every_nth
	echo 0 > $drv/statistics
	echo 0 > $drv/dsense
	echo 0 > $par/wp
	echo "$qdepth" > "$qdepth_file"
	sg_start --start "$sg" > /dev/null 2>&1
	sg_turs "$sg" > /dev/null 2>&1
}
trap 'restore; rm -rf "$tmp"' EXIT

tap_begin

# both NAME SETUP CLEANUP CMD...: for rsg, then sg: SETUP NODE, then CMD
# with @ replaced by the node and @D by a data file, then CLEANUP NODE. The
# output of CMD and CLEANUP, with the node's name replaced, CMD's exit
# status and a dump of the data file go to $tmp/NAME.rsg and $tmp/NAME.sg.
both() {
	local name=$1 setup=$2 cleanup=$3 d node arg rc out
	local -a argv
	shift 3
	for d in rsg sg; do
		node=$rsg
		[ $d = sg ] && node=$sg
		out=$tmp/$name.$d
		argv=()
		for arg in "$@"; do
			case "$arg" in
			@) argv+=("$node") ;;
			@D) argv+=("$tmp/data") ;;
			*) argv+=("$arg") ;;
			esac
		done
		rm -f "$tmp/data"
		$setup "$node"
		"${argv[@]}" > "$out" 2>&1
		rc=$?
		$cleanup "$node" >> "$out" 2>&1
		echo "exit status $rc" >> "$out"
		[ -f "$tmp/data" ] && od -A x -t x1 "$tmp/data" >> "$out"
		name_as_dev "$out" "$node"
	done
}

# same DESC NAME: rsg's record of NAME is sg's.
same() {
	if cmp -s "$tmp/$2.sg" "$tmp/$2.rsg"; then
		ok "$1"
	else
		not_ok "$1" "sg and rsg differ:" \
			"$(diff -u "$tmp/$2.sg" "$tmp/$2.rsg")"
	fi
}

# expect DESC NAME REGEX...: sg's record of NAME has a line matching each
# REGEX (extended).
expect() {
	local desc=$1 name=$2 re
	shift 2
	for re in "$@"; do
		if ! grep -qE -- "$re" "$tmp/$name.sg"; then
			not_ok "$desc" "no line matching '$re' in:" \
				"$(cat "$tmp/$name.sg")"
			return
		fi
	done
	ok "$desc"
}

# sense_of NAME: KEY/ASC/ASCQ from sg_err's "sense=" line in sg's record
# of NAME, fixed or descriptor format.
sense_of() {
	awk '/^sense=/ {
		sub(/^sense=/, "")
		split($0, b, " ")
		if (b[1] == "72" || b[1] == "73") {
			k = b[2]; a = b[3]; q = b[4]
		} else {
			k = b[3]; a = b[13]; q = b[14]
		}
		printf "%s/%s/%s\n", substr(k, 2, 1), a, q
		exit
	}' "$tmp/$1.sg"
}

# check_sense DESC NAME KEY/ASC/ASCQ
check_sense() {
	check_eq "$1" "$3" "$(sense_of "$2")"
}

none() {
	:
}

# Every command from now on is hit by $opts; then back to none.
inject() {
	echo 1 > $drv/every_nth
	echo "$opts" > $drv/opts
}

uninject() {
	echo 0 > $drv/opts
	echo 0 > $drv/every_nth
}

# CDBs: READ(10)/WRITE(10) of 8 blocks at a 32-bit LBA.
read10() {
	printf '28 00 %02x %02x %02x %02x 00 00 08 00' $(($1 >> 24 & 255)) \
		$(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255))
}

write10() {
	printf '2a 00 %02x %02x %02x %02x 00 00 08 00' $(($1 >> 24 & 255)) \
		$(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255))
}

# rw_all NAME SETUP CLEANUP CDB: the CDB (a READ of 4 KiB) through sg_raw
# and sg_err's three paths, one comparison each.
rw_all() {
	local name=$1 setup=$2 cleanup=$3 cdb=$4 m
	# shellcheck disable=SC2086
	both "$name.raw" $setup $cleanup sg_raw -v -r 4096 -o @D @ $cdb
	same "$name: sg_raw -v" "$name.raw"
	for m in io async v2; do
		# shellcheck disable=SC2086
		both "$name.$m" $setup $cleanup "$sg_err" -m $m -r 4096 -o @D @ \
			$cdb
		same "$name: sg_err -m $m" "$name.$m"
	done
}

check "sg_err built" test -x "$sg_err"
check "scsi_debug error knobs writable" test -w $drv/opts -a -w $drv/every_nth \
	-a -w $par/wp -a -w $par/medium_error_start -a -w "$qdepth_file"

# A known pattern where the reads below that succeed (fully or partly) look.
head -c 4096 /dev/urandom > "$tmp/pat"
check "pattern written at LBA 0x3000" sg_raw -s 4096 -i "$tmp/pat" "$sg" \
	$(write10 0x3000)

# MEDIUM ERROR at fixed LBAs (medium_error_start 0x1234, count 10): no
# command counting involved. The INFO field holds the failing LBA, or the
# range's start for a read that begins below it.
echo 0x1234 > $par/medium_error_start
echo 10 > $par/medium_error_count
opts=2
echo $opts > $drv/opts
rw_all medium none none "$(read10 0x1234)"
expect "medium: sg_raw exits 3" medium.raw "^exit status 3$"
check_sense "medium: sense 3/11/00" medium.io 3/11/00
expect "medium: valid INFO 0x1234, resid 4096" medium.io \
	"^sense=f0 00 03 00 00 12 34 " "resid=4096 info=0x1 "
expect "medium: v2 result 0, target_status CHECK, DRIVER_SENSE" medium.v2 \
	"result=0 " "target_status=0x01 host_status=0x00 driver_status=0x08"
both medium.16 none none "$sg_err" -s 255 -r 4096 @ \
	88 00 00 00 00 00 00 00 12 36 00 00 00 08 00 00
same "medium: READ(16) inside the range, mx_sb_len 255" medium.16
expect "medium: INFO 0x1236, sb_len_wr 18" medium.16 \
	"^sense=f0 00 03 00 00 12 36 " "sb_len_wr=18 "
both medium.sb8 none none "$sg_err" -s 8 -r 4096 @ $(read10 0x1230)
same "medium: mx_sb_len 8 truncates the sense" medium.sb8
expect "medium: sb_len_wr 8" medium.sb8 "sb_len_wr=8 "
both medium.sb0 none none "$sg_err" -s 0 -r 4096 @ $(read10 0x1230)
same "medium: mx_sb_len 0 copies no sense" medium.sb0
expect "medium: sb_len_wr 0, still CHECK CONDITION" medium.sb0 \
	"sb_len_wr=0 " "^status=0x02 "
echo 1 > $drv/dsense
both medium.desc none none "$sg_err" -r 4096 @ $(read10 0x1234)
same "medium: descriptor sense" medium.desc
check_sense "medium: descriptor sense 3/11/00" medium.desc 3/11/00
echo 0 > $drv/dsense
both medium.outside none none "$sg_err" -r 4096 -o @D @ $(read10 0x3000)
same "medium: a read outside the range" medium.outside
expect "medium: a read outside the range succeeds" medium.outside \
	"^status=0x00 " "resid=0 info=0x0 "
echo 0 > $drv/opts

# SHORT TRANSFER: READ moves half the data; resid says so. What the rest
# of the buffer holds is the driver's business, so it is compared too.
opts=0x100
rw_all short inject uninject "$(read10 0x3000)"
expect "short: sg_raw received 2048 bytes" short.raw "Writing 2048 bytes" \
	"^exit status 0$"
expect "short: GOOD, resid 2048" short.io "^status=0x00 " \
	"resid=2048 info=0x0 "
# With the fd's reserve buffer just used by a WRITE of other bytes.
both short.reuse inject uninject "$sg_err" -p 0x3800 -r 4096 -o @D @ \
	$(read10 0x3000)
same "short: reused reserve buffer" short.reuse
both short.reuse_async inject uninject "$sg_err" -m async -p 0x3800 \
	-r 4096 -o @D @ $(read10 0x3000)
same "short: reused reserve buffer, async" short.reuse_async
expect "short: bytes past resid come from the reused buffer (sg)" \
	short.reuse "^000800 3c 3c 3c 3c "

# RECOVERED ERROR on a READ: CHECK CONDITION, but the data is there.
opts=8
rw_all recovered inject uninject "$(read10 0x3000)"
expect "recovered: sg_raw exits 21" recovered.raw "^exit status 21$"
check_sense "recovered: sense 1/5d/00" recovered.io 1/5d/00
expect "recovered: resid 0" recovered.io "resid=0 info=0x1 "

# TRANSPORT ERROR: ABORTED COMMAND, ACK/NAK timeout.
opts=0x10
rw_all transport inject uninject "$(read10 0x3000)"
expect "transport: sg_raw exits 11" transport.raw "^exit status 11$"
check_sense "transport: sense b/4b/03" transport.io b/4b/03
both transport.tur inject uninject "$sg_err" @ 00 00 00 00 00 00
same "transport: TEST UNIT READY" transport.tur

# TASK SET FULL: with queue depth 1 every command finds the queue full;
# every_nth=2 makes the second such command fail. scsi_debug returns it
# with DID_ABORT, which the midlayer does not retry for passthrough.
tsf_setup() {
	echo 1 > "$qdepth_file"
	echo 0 > $drv/statistics
	echo 1 > $drv/statistics
	echo 2 > $drv/every_nth
	echo 0x800 > $drv/opts
	sg_turs "$1" > /dev/null 2>&1
}

# Counters first: writing opts rounds cmnd_count down.
tsf_cleanup() {
	sed -n 's/^\(cmnd_count=[0-9]*\), .*\(a_tsf=[0-9]*\),.*/\1 \2/p' \
		/proc/scsi/scsi_debug/*
	uninject
	echo "$qdepth" > "$qdepth_file"
}
rw_all tsf tsf_setup tsf_cleanup "$(read10 0x3000)"
expect "tsf: sg_raw exits 99" tsf.raw "^exit status 99$"
expect "tsf: TASK SET FULL with DID_ABORT" tsf.io "^status=0x28 " \
	"host_status=0x0005 "
expect "tsf: scsi_debug saw 2 commands" tsf.io "^cmnd_count=2 a_tsf=0$"

# HOST BUSY: the second command is refused once by queuecommand; the
# midlayer requeues it, so the caller sees nothing but success.
busy_setup() {
	echo 0 > $drv/statistics
	echo 1 > $drv/statistics
	echo 2 > $drv/every_nth
	echo 0x8000 > $drv/opts
	sg_turs "$1" > /dev/null 2>&1
}

busy_cleanup() {
	sed -n 's/^\(cmnd_count=[0-9]*\), .*/\1/p' /proc/scsi/scsi_debug/*
	uninject
}
rw_all busy busy_setup busy_cleanup "$(read10 0x3000)"
expect "busy: GOOD after a requeue (3 commands queued)" busy.io \
	"^status=0x00 " "resid=0 info=0x0 " "^cmnd_count=3$"

# DATA PROTECT: wp=1 fails every write.
echo 1 > $par/wp
head -c 4096 /dev/urandom > "$tmp/wdata"
both wp.raw none none sg_raw -v -s 4096 -i "$tmp/wdata" @ $(write10 0x3000)
same "wp: sg_raw -v" wp.raw
expect "wp: sg_raw exits 7" wp.raw "^exit status 7$"
for m in io async v2; do
	both wp.$m none none "$sg_err" -m $m -w 4096 @ $(write10 0x3000)
	same "wp: sg_err -m $m" wp.$m
done
check_sense "wp: sense 7/27/02" wp.io 7/27/02
echo 0 > $par/wp
both wp.after none none sg_raw -r 4096 -o @D @ $(read10 0x3000)
same "wp: refused writes left the data alone" wp.after
check "wp: data at LBA 0x3000 is the pattern" cmp "$tmp/pat" "$tmp/data"

# NOT READY: tur_ms_to_ready is read-only once loaded, so stop the unit
# with START STOP UNIT; TUR and media access then fail with 2/04/02.
check "stop the unit" sg_start --stop "$sg"
both notready.tur none none sg_raw -v @ 00 00 00 00 00 00
same "notready: sg_raw -v TEST UNIT READY" notready.tur
expect "notready: sg_raw exits 2" notready.tur "^exit status 2$"
rw_all notready none none "$(read10 0x3000)"
check_sense "notready: sense 2/04/02" notready.io 2/04/02
check "start the unit" sg_start --start "$sg"
check "TEST UNIT READY passes again" sg_turs "$sg"

# Timeout: the command is dropped, the midlayer aborts it after the
# caller's timeout and completes it with DID_TIME_OUT. Each one is waited
# out, so the timeouts are the shortest sg_raw takes (1 s).
aborts() {
	sed -n 's/.*command aborts=\([0-9]*\).*/\1/p' /proc/scsi/scsi_debug/*
}

timeout_setup() {
	aborts_before=$(aborts)
	inject
}

timeout_cleanup() {
	uninject
	echo "aborts: +$(($(aborts) - aborts_before))"
}
opts=4
start=$SECONDS
both timeout.raw timeout_setup timeout_cleanup sg_raw -v -t 1 @ \
	00 00 00 00 00 00
same "timeout: sg_raw -v -t 1" timeout.raw
expect "timeout: sg_raw exits 99 with DID_TIME_OUT, one abort" timeout.raw \
	"^exit status 99$" "DID_TIME_OUT" "^aborts: \+1$"
for m in io async; do
	both timeout.$m timeout_setup timeout_cleanup "$sg_err" -m $m -t 1000 @ \
		00 00 00 00 00 00
	same "timeout: sg_err -m $m" timeout.$m
done
expect "timeout: host_status DID_TIME_OUT" timeout.io "host_status=0x0003 " \
	"info=0x1 "
check "timeout: six timeouts took under 60 s" test $((SECONDS - start)) -lt 60
check "timeout: rsg usable afterwards" sg_turs "$rsg"
check "timeout: sg usable afterwards" sg_turs "$sg"

# ILLEGAL REQUEST without injection: LBA past the end.
nblocks=$(sg_readcap -b "$sg" | awk '{ print $1 }')
both range.raw none none sg_raw -v -r 4096 @ $(read10 $((nblocks - 4)))
same "range: sg_raw -v READ past the last LBA" range.raw
expect "range: sg_raw exits 22 (LBA out of range)" range.raw \
	"^exit status 22$"
both range.io none none "$sg_err" -r 4096 @ $(read10 $((nblocks - 4)))
same "range: sg_err" range.io
check_sense "range: sense 5/21/00" range.io 5/21/00

tap_end
