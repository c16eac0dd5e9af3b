#!/usr/bin/env bash
# The demo `make run` boots: scsi_debug and rsg loaded, sg3_utils on /dev/rsg0.
# Runs inside the test VM (tools/vm/run.sh), in the repository root.
set -e
# A script of its own: run.sh's shell functions do not reach it.
. tools/vm/guest.sh
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "load scsi_debug (256 MiB, one LU) and rsg"
load_scsi_debug
load_rsg
dmesg | grep -E 'rsg' | tail -n 3
ls -l /dev/rsg*

say "sg_inq /dev/rsg0"
sg_inq /dev/rsg0

say "sg_readcap -l /dev/rsg0"
sg_readcap -l /dev/rsg0

say "write 64 KiB at LBA 2048 with sg_raw, read it back, compare"
head -c 65536 /dev/urandom > /tmp/pattern
sg_raw -s 65536 -i /tmp/pattern /dev/rsg0 2a 00 00 00 08 00 00 00 80 00
sg_raw -r 65536 -o /tmp/readback /dev/rsg0 28 00 00 00 08 00 00 00 80 00
cmp /tmp/pattern /tmp/readback
echo "round trip: 65536 bytes identical"
