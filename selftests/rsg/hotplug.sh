#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Device removal and addition: an rsg node and its class device follow the
# SCSI device, an fd held across removal gets ENODEV, and rescans and new
# hosts get nodes; a scanner LU takes any command from a read-only file.
# sg is checked alongside as the reference.
#
# RSG_HCTL names the LU (default: the first SCSI device). With
# RSG_SELF_TEST=1 only sg is checked.
cd "$(dirname "$0")" || exit 1
. ./tap.sh
. ../../tools/vm/guest.sh

out=$(pwd)/out
hctl=${RSG_HCTL:-$(ls /sys/class/scsi_device | head -n1)}
host=${hctl%%:*}
drivers="sg rsg"
[ "${RSG_SELF_TEST:-0}" = 1 ] && drivers=sg
tmp=$(mktemp -d)
pids=
trap 'for p in $pids; do kill $p 2>/dev/null; done; rm -rf "$tmp"' EXIT

tap_begin
[ "${RSG_SELF_TEST:-0}" = 1 ] && echo "# self-test: rsg parts skipped"

class_of() {
	if [ "$1" = rsg ]; then echo scsi_rsg; else echo scsi_generic; fi
}

# present DRIVER HCTL: DRIVER has a node for HCTL, a class device, and the
# class device's parent is the scsi_device.
present() {
	local node cls name
	node=$(node_of "$2" "$1") || return 1
	[ -n "$node" ] && [ -c "$node" ] || return 1
	cls=$(class_of "$1")
	name=${node#/dev/}
	[ -e "/sys/class/$cls/$name" ] || return 1
	[ "$(readlink -f "/sys/class/$cls/$name/device")" = \
	  "$(readlink -f "/sys/class/scsi_device/$2/device")" ]
}

# hold_ok: the sg_hold report of a working fd.
hold_ok() {
	printf '%s\n' open "SG_IO 0" "SG_GET_SCSI_ID 0" "SG_EMULATED_HOST 0" \
		"SCSI_IOCTL_GET_IDLUN 0" "SG_GET_VERSION_NUM 0" "close 0"
}

# What sg does on an fd whose device went away: ENODEV (19) for commands
# and device ioctls, while fd-local ones and close still work.
hold_gone() {
	printf '%s\n' open "SG_IO 19" "SG_GET_SCSI_ID 19" "SG_EMULATED_HOST 19" \
		"SCSI_IOCTL_GET_IDLUN 19" "SG_GET_VERSION_NUM 0" "close 0"
}

has_line() {
	grep -qx "$2" "$1"
}

# 1. Removal of the LU with the nodes held open.
declare -A node name
for d in $drivers; do
	if present $d "$hctl"; then
		ok "$d: node and class device for $hctl"
	else
		not_ok "$d: node and class device for $hctl"
	fi
	node[$d]=$(node_of "$hctl" $d)
	name[$d]=${node[$d]#/dev/}
	"$out/sg_hold" -w "${node[$d]}" > "$tmp/hold.$d" 2>&1 &
	pids="$pids $!"
	eval "pid_$d=$!"
	check "$d: fd held open" wait_for 5 has_line "$tmp/hold.$d" open
done

echo 1 > "/sys/class/scsi_device/$hctl/device/delete"
check "$hctl deleted" wait_for 5 gone "/sys/class/scsi_device/$hctl"
for d in $drivers; do
	check "$d: ${node[$d]} removed" wait_for 5 gone "${node[$d]}"
	check "$d: class device ${name[$d]} removed" \
		wait_for 5 gone "/sys/class/$(class_of $d)/${name[$d]}"
done
for d in $drivers; do
	eval "p=\$pid_$d"
	kill -USR1 "$p"
	wait "$p"
	check_eq "$d: held fd after removal" "$(hold_gone)" "$(cat "$tmp/hold.$d")"
done
if [ "$drivers" = "sg rsg" ]; then
	check "rsg: held fd behaves as sg's" cmp -s "$tmp/hold.sg" "$tmp/hold.rsg"
fi

# 2. A rescan brings the LU and its nodes back.
echo '- - -' > "/sys/class/scsi_host/host$host/scan"
check "$hctl back after rescan" wait_for 5 test -e "/sys/class/scsi_device/$hctl"
for d in $drivers; do
	check "$d: node and class device after rescan" \
		wait_for 5 present $d "$hctl"
	n=$(node_of "$hctl" $d)
	check_eq "$d: new node works" "$(hold_ok)" "$("$out/sg_hold" "$n" 2>&1)"
done

# 3. A new scsi_debug host gets nodes; removing it takes them away.
adder=/sys/bus/pseudo/drivers/scsi_debug/add_host
new_host() {
	ls /sys/class/scsi_host | grep -vxF -f "$tmp/hosts" | head -n1
}
has_new_host() {
	[ -n "$(new_host)" ]
}
# add_lu WHAT: adds a scsi_debug host; its number in nh, its LU in nhctl.
add_lu() {
	ls /sys/class/scsi_host > "$tmp/hosts"
	echo 1 > $adder
	check "$1 host added" wait_for 5 has_new_host
	nh=$(new_host)
	nh=${nh#host}
	nhctl=$nh:0:0:0
	check "$nhctl appeared" wait_for 5 test -e "/sys/class/scsi_device/$nhctl"
}
# remove_lu WHAT: removes the host add_lu added.
remove_lu() {
	echo -1 > $adder
	check "$1 host removed" wait_for 5 gone "/sys/class/scsi_host/host$nh"
}
add_lu "scsi_debug"
for d in $drivers; do
	check "$d: node and class device for $nhctl" wait_for 5 present $d "$nhctl"
	node[$d]=$(node_of "$nhctl" $d)
	name[$d]=${node[$d]#/dev/}
	check_eq "$d: node of $nhctl works" "$(hold_ok)" \
		"$("$out/sg_hold" "${node[$d]}" 2>&1)"
done
if [ "$drivers" = "sg rsg" ]; then
	sg_inq "${node[sg]}" > "$tmp/inq.sg" 2>&1
	sg_inq "${node[rsg]}" > "$tmp/inq.rsg" 2>&1
	check "rsg: sg_inq on $nhctl as through sg" cmp -s "$tmp/inq.sg" "$tmp/inq.rsg"
fi

remove_lu "scsi_debug"
for d in $drivers; do
	check "$d: ${node[$d]} removed with its host" wait_for 5 gone "${node[$d]}"
	check "$d: class device ${name[$d]} removed with its host" \
		wait_for 5 gone "/sys/class/$(class_of $d)/${name[$d]}"
done
check "$hctl still there" present sg "$hctl"

# 4. The command filter's exception for scanners (sg_allow_access): through
# a file opened read-only, a scanner takes any command, here SYNCHRONIZE
# CACHE(10), which a disk's file refuses with EPERM. Without CAP_SYS_RAWIO,
# which passes every filter. scsi_debug makes the LUs it scans after ptype=6
# scanners.
ptype=/sys/bus/pseudo/drivers/scsi_debug/ptype
old_ptype=$(cat $ptype)
sync_ro() {
	setpriv --bounding-set=-sys_rawio \
		sg_raw -R "$1" 35 00 00 00 00 00 00 00 00 00 2>&1
	echo "exit $?"
}
echo 6 > $ptype
add_lu "scanner"
echo "$old_ptype" > $ptype
check_eq "$nhctl is a scanner" 6 "$(cat /sys/class/scsi_device/$nhctl/device/type)"
for d in $drivers; do
	check "$d: node for scanner $nhctl" wait_for 5 present $d "$nhctl"
	sync_ro "$(node_of "$nhctl" $d)" > "$tmp/scanner.$d"
	sync_ro "$(node_of "$hctl" $d)" > "$tmp/disk.$d"
done
check "sg: read-only SYNCHRONIZE CACHE reaches the scanner" \
	grep -qx "exit 0" "$tmp/scanner.sg"
check "sg: read-only SYNCHRONIZE CACHE refused on the disk" \
	grep -qi "not permitted" "$tmp/disk.sg"
if [ "$drivers" = "sg rsg" ]; then
	check_eq "rsg: read-only SYNCHRONIZE CACHE on the scanner as through sg" \
		"$(cat "$tmp/scanner.sg")" "$(cat "$tmp/scanner.rsg")"
	check_eq "rsg: read-only SYNCHRONIZE CACHE on the disk as through sg" \
		"$(sed 's|/dev/[a-z]*[0-9]*|DEV|g' "$tmp/disk.sg")" \
		"$(sed 's|/dev/[a-z]*[0-9]*|DEV|g' "$tmp/disk.rsg")"
fi
remove_lu "scanner"

tap_end
