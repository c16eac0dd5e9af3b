#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# sg3_utils must see the same device through rsg as through sg: identical
# output (device name aside) and exit status, and data written with sg_raw
# through rsg reads back the same through both drivers.
#
# RSG_DEV and SG_DEV name the nodes of one LU (default /dev/rsg0, /dev/sg0).
cd "$(dirname "$0")" || exit 1
. ./tap.sh

rsg=${RSG_DEV:-/dev/rsg0}
sg=${SG_DEV:-/dev/sg0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tap_begin

# run NAME DEV CMD...: CMD with @ replaced by DEV (appended if there is no
# @); its output with DEV's name replaced, then its exit status, go to
# $tmp/NAME.
run() {
	local name=$1 dev=$2 arg
	local -a argv=()
	local at=0
	shift 2
	for arg in "$@"; do
		if [ "$arg" = @ ]; then
			argv+=("$dev")
			at=1
		else
			argv+=("$arg")
		fi
	done
	[ $at = 1 ] || argv+=("$dev")
	"${argv[@]}" > "$tmp/$name" 2>&1
	echo "exit status $?" >> "$tmp/$name"
	name_as_dev "$tmp/$name" "$dev"
}

# compare DESCRIPTION STATUS CMD...: sg must exit with STATUS, and rsg must
# give the same output and status.
compare() {
	local desc=$1 status=$2
	shift 2
	run rsg "$rsg" "$@"
	run sg "$sg" "$@"
	if ! grep -qx "exit status $status" "$tmp/sg"; then
		not_ok "$desc" "sg did not exit with $status:" "$(cat "$tmp/sg")"
	elif ! cmp -s "$tmp/sg" "$tmp/rsg"; then
		not_ok "$desc" "output differs between sg and rsg:" \
			"$(diff -u "$tmp/sg" "$tmp/rsg")"
	else
		ok "$desc"
	fi
}

compare "sg_inq" 0 sg_inq
compare "sg_inq -p 0x83" 0 sg_inq -p 0x83
compare "sg_vpd -a" 0 sg_vpd -a
compare "sg_readcap -l" 0 sg_readcap -l
compare "sg_luns" 0 sg_luns
compare "sg_modes -a" 0 sg_modes -a
compare "sg_turs" 0 sg_turs
compare "sg_turs -n 20" 0 sg_turs -n 20
compare "sg_inq --hex" 0 sg_inq --hex
compare "sg_inq --len=300" 0 sg_inq --len=300
compare "sg_inq -p 0xb0" 0 sg_inq -p 0xb0
compare "sg_inq -c (CmdDt, refused by the LU)" 5 sg_inq -c
compare "sg_vpd -p bl" 0 sg_vpd -p bl
compare "sg_readcap -16" 0 sg_readcap -16
compare "sg_logs -a" 0 sg_logs -a
compare "sg_requests" 0 sg_requests
compare "sg_opcodes" 0 sg_opcodes
compare "sg_opcodes -o 0x28" 0 sg_opcodes -o 0x28
compare "sg_rtpg" 0 sg_rtpg
compare "sg_verify" 0 sg_verify -c 8 -l 100
compare "sg_sync" 0 sg_sync
compare "sg_get_lba_status" 0 sg_get_lba_status
compare "sg_senddiag -t" 0 sg_senddiag -t
compare "sg_start -s" 0 sg_start -s
compare "sg_prevent -p 0" 0 sg_prevent -p 0
compare "sg_persist -k (not supported by the LU)" 9 sg_persist -k
compare "sg_timestamp (not supported by the LU)" 5 sg_timestamp

# Data through sg_raw: 8 blocks at LBA 0x2000, written through one driver
# and read back through both.
bs=$(sg_readcap "$sg" | sed -n 's/.*Logical block length=\([0-9]*\) bytes.*/\1/p')
len=$((8 * bs))

raw_rw() {
	local what=$1 wdev=$2 lba=$3
	local cdb_lba
	cdb_lba=$(printf '%02x %02x %02x %02x' $((lba >> 24 & 255)) \
		$((lba >> 16 & 255)) $((lba >> 8 & 255)) $((lba & 255)))

	# A different pattern each time, so stale data does not pass.
	head -c "$len" /dev/urandom > "$tmp/pat"
	if ! sg_raw -s "$len" -i "$tmp/pat" "$wdev" 2a 00 $cdb_lba 00 00 08 00 \
		> "$tmp/out" 2>&1; then
		not_ok "sg_raw write through $what" "$(cat "$tmp/out")"
		return
	fi
	ok "sg_raw write through $what"
	for r in rsg sg; do
		local rdev=$rsg
		[ $r = sg ] && rdev=$sg
		rm -f "$tmp/in"
		if sg_raw -r "$len" -o "$tmp/in" "$rdev" 28 00 $cdb_lba 00 00 08 00 \
			> "$tmp/out" 2>&1 && cmp -s "$tmp/pat" "$tmp/in"; then
			ok "sg_raw read back through $r what $what wrote"
		else
			not_ok "sg_raw read back through $r what $what wrote" \
				"$(cat "$tmp/out")"
		fi
	done
}

if [ -n "$bs" ] && [ "$bs" -gt 0 ]; then
	ok "block size $bs"
	raw_rw rsg "$rsg" 8192
	raw_rw sg "$sg" 8200
else
	not_ok "block size from sg_readcap"
fi

# sg_raw's report of a good command and of a failing one match too; an
# unsupported opcode is sg3_utils' exit status 9 (invalid operation code).
compare "sg_raw read capacity" 0 sg_raw -r 8 -o /dev/null @ 25 00 00 00 00 00 00 00 00 00
compare "sg_raw invalid opcode" 9 sg_raw @ c0 00 00 00 00 00

# Writers, each run on rsg and then on sg at LBAs 0x3000 to 0x3600, then
# reads of what they left, including transfers shorter and longer than
# the buffer (resid, bytes past the data) and sense from a bad LBA.
compare "sg_write_same" 0 sg_write_same -n 8 -l 0x3000
# --force: without it sg_unmap counts down 15 s (and reads INQUIRY, which
# sg_inq above compares) before each UNMAP.
compare "sg_unmap" 0 sg_unmap -f -l 0x3000 -n 8
compare "sg_compare_and_write" 0 sg_compare_and_write -l 0x3200 -n 1 -i /dev/zero
compare "sg_write_x" 0 sg_write_x -l 0x3500 -n 1 -i /dev/zero
compare "sg_raw write from a longer buffer" 0 \
	sg_raw -s 1024 -i /dev/zero @ 2a 00 00 00 36 00 00 00 01 00
compare "sg_raw read into a longer buffer" 0 \
	sg_raw -r 1024 @ 28 00 00 00 36 00 00 00 01 00
compare "sg_raw read into a shorter buffer" 0 \
	sg_raw -r 256 @ 28 00 00 00 36 00 00 00 01 00
compare "sg_raw 4 KiB into a 1 MiB buffer" 0 \
	sg_raw -r 0x100000 @ 28 00 00 00 30 00 00 00 08 00
compare "sg_raw READ(16) 64 KiB" 0 \
	sg_raw -r 65536 @ 88 00 00 00 00 00 00 00 30 00 00 00 00 80 00 00
compare "sg_raw READ CAPACITY(16)" 0 \
	sg_raw -r 16 @ 9e 10 00 00 00 00 00 00 00 00 00 00 00 10 00 00
compare "sg_raw 18-byte CDB" 0 \
	sg_raw -r 36 @ 12 00 00 00 24 00 00 00 00 00 00 00 00 00 00 00 00 00
compare "sg_raw READ past the end: sense" 22 \
	sg_raw -R -r 512 @ 28 00 ff ff ff ff 00 00 01 00

tap_end
