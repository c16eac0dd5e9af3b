#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rsgdd (tools/rsgdd, built to build/rsgdd) against an rsg node: round trips
# through files and between devices, reblocking, sink, every pattern
# written and verified (and a corrupted copy caught), random mode, the
# depth probe, argument errors and a SCSI medium error.
#
# RSG_DEV names the rsg node of a scsi_debug LU (default /dev/rsg0); its
# data is overwritten. scsi_debug's medium error (opts=2) is switched on
# for one test through sysfs and back off after.
cd "$(dirname "$0")/../.." || exit 1
. selftests/rsg/tap.sh

dev=${RSG_DEV:-/dev/rsg0}
rsgdd=$PWD/build/rsgdd
opts=/sys/bus/pseudo/drivers/scsi_debug/opts
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ -w "$opts" ] && echo 0 > "$opts"' EXIT

MiB=$((1 << 20))

tap_begin

if [ "${RSG_SELF_TEST:-0}" = 1 ]; then
	# rsgdd needs rsg's queue interface, which sg does not have.
	echo "ok 1 # SKIP rsg is not loaded"
	tap_n=1
	tap_end
	exit
fi

# rd ARGS...: run rsgdd; stderr goes to $tmp/err, the exit status to $rc.
rd() {
	"$rsgdd" "$@" 2> "$tmp/err"
	rc=$?
}

# expect_ok DESCRIPTION ARGS...: rsgdd ARGS must succeed.
expect_ok() {
	local d=$1
	shift
	rd "$@"
	if [ "$rc" -eq 0 ]; then
		ok "$d"
	else
		not_ok "$d" "rsgdd $* exited with $rc:" "$(cat "$tmp/err")"
	fi
}

# expect_fail DESCRIPTION STATUS REGEX ARGS...: rsgdd ARGS must exit with
# STATUS and say something matching REGEX on stderr.
expect_fail() {
	local d=$1 want=$2 re=$3
	shift 3
	rd "$@"
	if [ "$rc" -ne "$want" ]; then
		not_ok "$d" "rsgdd $* exited with $rc, not $want:" "$(cat "$tmp/err")"
	elif ! grep -qE -- "$re" "$tmp/err"; then
		not_ok "$d" "no '$re' in the message:" "$(cat "$tmp/err")"
	else
		ok "$d"
	fi
}

# same DESCRIPTION A B: files A and B are identical.
same() {
	if cmp "$2" "$3" > "$tmp/cmp" 2>&1; then
		ok "$1"
	else
		not_ok "$1" "$(cat "$tmp/cmp")"
	fi
}

check "build/rsgdd is built" test -x "$rsgdd"
check "rsg node $dev" test -c "$dev"
"$rsgdd" --help > "$tmp/help" 2>&1
check_eq "--help exits 0" 0 $?
check "--help describes the sides" grep -q 'depth=N|auto' "$tmp/help"

# Reference data: 16 MiB of seeded random bytes.
expect_ok "pattern random to a file" -i pattern=random,seed=11 \
	-o file="$tmp/a" -m 16M -q
check_eq "the file holds 16 MiB" $((16 * MiB)) "$(stat -c %s "$tmp/a")"

# device -> file -> device round trips.
expect_ok "file to device (bs 64k, depth 16)" -i file="$tmp/a" \
	-o dev="$dev",depth=16 -q
expect_ok "device to file (depth 16)" -i dev="$dev",depth=16 \
	-o file="$tmp/b" -m 16M -q
same "device to file: data matches" "$tmp/a" "$tmp/b"
expect_ok "file to device at 64 MiB (bs 128k, depth 8)" \
	-i file="$tmp/b",bs=128k -o dev="$dev",offset=64M,bs=128k,depth=8 -q
expect_ok "device at 64 MiB to file (depth 1)" \
	-i dev="$dev",offset=64M,depth=1 -o file="$tmp/c" -m 16M -q
same "round trip through a second device region" "$tmp/a" "$tmp/c"

# Reblocking: 4 KiB reads gathered into 64 KiB writes and back, both
# between devices (iovec lists in rsg requests) and into files (writev).
expect_ok "reblock device 4k -> device 64k" -i dev="$dev",bs=4k,depth=32 \
	-o dev="$dev",offset=128M,bs=64k,depth=8 -m 16M -q
expect_ok "reblock device 64k -> device 4k" \
	-i dev="$dev",offset=128M,bs=64k,depth=8 \
	-o dev="$dev",offset=160M,bs=4k,depth=32 -m 16M -q
expect_ok "read back the 4k-written copy" -i dev="$dev",offset=160M \
	-o file="$tmp/d" -m 16M -q
same "4k -> 64k -> 4k copy matches" "$tmp/a" "$tmp/d"
expect_ok "reblock device 4k -> file 64k" -i dev="$dev",offset=128M,bs=4k \
	-o file="$tmp/e",bs=64k -m 16M -q
same "device 4k -> file 64k matches" "$tmp/a" "$tmp/e"
expect_ok "reblock file 64k -> file 4k" -i file="$tmp/e",bs=64k \
	-o file="$tmp/f",bs=4k -q
same "file 64k -> file 4k matches" "$tmp/a" "$tmp/f"
expect_ok "reblock device 3k -> device 5k" -i dev="$dev",bs=3k,depth=8 \
	-o dev="$dev",offset=192M,bs=5k,depth=8 -m 8M -q
expect_ok "read back the 5k-written copy" -i dev="$dev",offset=192M \
	-o file="$tmp/g" -m 8M -q
head -c $((8 * MiB)) "$tmp/a" > "$tmp/a8"
same "3k -> 5k copy matches" "$tmp/a8" "$tmp/g"

# READ(16)/WRITE(16) on request.
expect_ok "cdb=16 write" -i file="$tmp/a8" -o dev="$dev",offset=200M,cdb=16 -q
expect_ok "cdb=16 read" -i dev="$dev",offset=200M,cdb=16 -o file="$tmp/h" \
	-m 8M -q
same "16-byte CDB round trip matches" "$tmp/a8" "$tmp/h"

# Pipes: stdin to the device, the device to stdout.
"$rsgdd" -i file=- -o dev="$dev",offset=96M -q < "$tmp/a" 2> "$tmp/err"
check_eq "stdin to device" 0 $?
"$rsgdd" -i dev="$dev",offset=96M,depth=4 -o file=- -m 16M -q 2> "$tmp/err" |
	cmp - "$tmp/a" > "$tmp/cmp" 2>&1
check_eq "device to stdout matches" "0 0" "${PIPESTATUS[*]}"

# Sink: reads only, and the summary.
expect_ok "sink mode" -i dev="$dev",depth=16 -o sink -m 16M
check "sink summary has bytes, MB/s, IOPS, latency and busy time" \
	grep -qE '^rsgdd: 16777216 bytes .* MB/s$' "$tmp/err"
check "sink summary per side" \
	grep -qE 'IOPS, latency p50 .* p99 .* max .*, busy [0-9.]+%' "$tmp/err"

# Every pattern written, then verified in place.
off=208
for p in zeros ones lba random,seed=5; do
	name=${p%%,*}
	expect_ok "pattern $name written" -i pattern="$p" \
		-o dev="$dev",offset=${off}M -m 8M -q
	expect_ok "pattern $name verifies" -i dev="$dev",offset=${off}M,bs=16k \
		-o verify="$p" -m 8M -q
	off=$((off + 8))
done
# lba is at 224 MiB, random (seed 5) at 232 MiB.
expect_fail "lba verify at the wrong offset fails" 3 'sectors read differ' \
	-i dev="$dev",offset=216M -o verify=lba -m 1M -q
expect_fail "random verify with the wrong seed fails" 3 'sectors read differ' \
	-i dev="$dev",offset=232M -o verify=random,seed=6 -m 1M -q

# A corrupted sector in a copy is caught and named.
for p in lba random,seed=5; do
	name=${p%%,*}
	[ "$name" = lba ] && off=224 || off=232
	rd -i dev="$dev",offset=${off}M -o file="$tmp/p" -m 8M -q
	dd if=/dev/zero of="$tmp/p" bs=512 seek=1000 count=1 conv=notrunc \
		status=none
	lba=$((off * 2048 + 1000))
	expect_fail "corrupted $name copy fails verify" 3 \
		"1 of 16384 sectors read differ" \
		-i file="$tmp/p" -o verify="$p",offset=${off}M -q
	check "the bad sector is named (LBA $lba)" grep -q "LBA $lba: " "$tmp/err"
done

# Random mode: seeded random positions and lengths.
expect_ok "random reads verify against lba" -i dev="$dev",offset=224M,depth=16 \
	-o verify=lba -r 7 -l 4k:64k -S 8M -m 8M
check "random mode reports its reads" \
	grep -qE 'in  dev .*: [0-9]+ I/Os' "$tmp/err"
expect_ok "random writes of pattern random" -i pattern=random,seed=9 \
	-o dev="$dev",offset=240M,depth=16 -r 3 -l 4k:32k -S 8M -m 8M -q
expect_ok "the same random extents verify" -i dev="$dev",offset=240M,depth=16 \
	-o verify=random,seed=9 -r 3 -l 4k:32k -S 8M -m 8M -q
expect_ok "random reads to the sink" -i dev="$dev",bs=4k,depth=32 -o sink \
	-r 1 -m 8M -q
expect_fail "random mode refuses stdout" 2 'cannot seek' \
	-i dev="$dev" -o file=- -r 1 -m 1M

# Engines: io_uring passthrough and sg's write()/read(), checked against
# each other, the queue interface and C sg on the same LU.
expect_ok "engine=uring writes a pattern" -i pattern=lba \
	-o dev="$dev",offset=112M,bs=16k,depth=16,engine=uring -m 8M -q
expect_ok "engine=queue verifies what engine=uring wrote" \
	-i dev="$dev",offset=112M,depth=8 -o verify=lba -m 8M -q
expect_ok "engine=uring reads verify at depth 64" \
	-i dev="$dev",offset=112M,bs=4k,depth=64,engine=uring -o verify=lba -m 8M -q
expect_ok "engine=uring random reads verify" \
	-i dev="$dev",offset=112M,depth=32,engine=uring -o verify=lba \
	-r 5 -l 4k:32k -S 8M -m 8M -q
expect_ok "engine=sg reads on rsg verify" \
	-i dev="$dev",offset=112M,bs=8k,depth=16,engine=sg -o verify=lba -m 8M -q
expect_ok "engine=sg deeper than 16" \
	-i dev="$dev",offset=112M,depth=64,engine=sg -o sink -m 1M
check "engine=sg depth is capped at sg's 16" grep -q 'capped at 16' "$tmp/err"
if [ -n "${SG_DEV:-}" ] && [ -c "${SG_DEV:-}" ]; then
	expect_ok "engine=sg on C sg verifies what engine=uring wrote" \
		-i dev="$SG_DEV",offset=112M,depth=16,engine=sg -o verify=lba -m 8M -q
else
	ok "engine=sg on C sg # SKIP SG_DEV not set"
fi
expect_fail "engine=uring needs rsg" 1 'RSG_GET_QUEUE_DEPTH' \
	-i dev="${SG_DEV:-/dev/null}",engine=uring -o sink -m 1M

# Depth probing.
expect_ok "depth probe on the input" -i dev="$dev",depth=auto -o sink -m 16M
check "the probe reports and picks a depth" \
	grep -qE 'depth probe on .*1: .* MB/s.*using depth [0-9]+' "$tmp/err"
expect_ok "depth probe on the output" -i pattern=zeros \
	-o dev="$dev",offset=248M,depth=auto -m 8M

# Bad arguments: a message and status 2.
expect_fail "no arguments" 2 'no input'
expect_fail "bad block size" 2 'bs: bad size' -i dev="$dev",bs=banana -o sink
expect_fail "block size not a multiple of the sector" 2 'block size' \
	-i dev="$dev",bs=1000 -o sink
expect_fail "depth on a file" 2 "'depth' does not apply" \
	-i file="$tmp/a",depth=4 -o sink
expect_fail "unknown setting" 2 "unknown setting 'colour'" \
	-i dev="$dev",colour=red -o sink
expect_fail "pattern with no end" 2 'give -m' -i pattern=zeros -o sink
expect_fail "offset past the end" 2 'past the end' \
	-i dev="$dev",offset=1G -o sink
expect_fail "a missing device is an I/O error" 1 'No such file' \
	-i dev=/dev/rsg-missing -o sink
if [ -n "${SG_DEV:-}" ] && [ -c "$SG_DEV" ]; then
	expect_fail "an sg node is not an rsg device" 1 'not an rsg device' \
		-i dev="$SG_DEV" -o sink
fi

# A SCSI error: scsi_debug fails READs of LBAs 0x1234.. with MEDIUM ERROR,
# unrecovered read error, and the failing LBA in the sense data.
if [ -w "$opts" ]; then
	echo 2 > "$opts"
	expect_fail "medium error exits 1" 1 \
		'MEDIUM ERROR, unrecovered read error \(11/00\) at LBA 4660' \
		-i dev="$dev",depth=8 -o sink -m 8M
	check "the message names the command and status" grep -qE \
		'READ\(10\) of 128 blocks at LBA 4608 failed: status CHECK CONDITION \(0x02\), host DID_OK \(0x00\), driver DRIVER_SENSE \(0x08\)' \
		"$tmp/err"
	echo 0 > "$opts"
	expect_ok "the device reads again once the error is off" \
		-i dev="$dev",depth=8 -o sink -m 8M -q
else
	not_ok "medium error" "$opts is not writable"
fi

# SIGINT stops a run cleanly: in-flight commands are cancelled and reaped.
# The signal goes once -v shows the copy starting, so that it is not lost
# before rsgdd handles it.
"$rsgdd" -i dev="$dev",bs=4k,depth=64 -o sink -v 2> "$tmp/err" &
pid=$!
wait_for 20 grep -q '^rsgdd: copying' "$tmp/err"
sleep 0.5
kill -INT "$pid"
wait "$pid"
check_eq "SIGINT exits 130" 130 $?
check "SIGINT says so" grep -q 'interrupted' "$tmp/err"
expect_ok "the device works after the interrupted run" \
	-i dev="$dev",depth=8 -o sink -m 4M -q

tap_end
