#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Module lifetime: an open node pins the module, closing it lets rmmod
# succeed and take the nodes and class away, and the module reloads. For
# rsg also the char major: dynamic while sg is loaded, 21 otherwise.
#
# usage: rmmod.sh [rsg|sg]   (sg checks the same for the C driver)
# Expects scsi_debug, sg and (for rsg) rsg loaded. RSG_HCTL names the LU.
cd "$(dirname "$0")/../.." || exit 1
. selftests/rsg/tap.sh
. tools/vm/guest.sh

mod=${1:-rsg}
hctl=${RSG_HCTL:-$(ls /sys/class/scsi_device | head -n1)}
cls=scsi_generic
[ "$mod" = rsg ] && cls=scsi_rsg

tap_begin

loaded() {
	[ -d "/sys/module/$1" ]
}

node_ok() {
	local n
	n=$(node_of "$hctl" "$mod") && [ -n "$n" ] && [ -c "$n" ]
}

major_of() {
	stat -c %t "$1" | xargs -I{} printf '%d\n' 0x{}
}

inq_ok() {
	sg_inq "$(node_of "$hctl" "$mod")" > /dev/null 2>&1
}

check "$mod loaded" loaded "$mod"
check "$mod node for $hctl" node_ok
node=$(node_of "$hctl" "$mod")

# Held open, the module is pinned.
exec 3<> "$node"
if rmmod "$mod" 2> /dev/null; then
	not_ok "rmmod $mod fails while $node is open"
else
	ok "rmmod $mod fails while $node is open"
fi
check "$mod still loaded" loaded "$mod"
check "$node still there" test -c "$node"
check "$node still works" inq_ok

# The same for an fd held by another process.
exec 3<&-
sleep 100 3<> "$node" &
holder=$!
sleep 0.2
if rmmod "$mod" 2> /dev/null; then
	not_ok "rmmod $mod fails while another process holds $node"
else
	ok "rmmod $mod fails while another process holds $node"
fi
kill $holder
wait $holder 2> /dev/null

# Closed, it goes, and takes its nodes and class with it.
check "rmmod $mod after close" rmmod "$mod"
check "$mod unloaded" wait_for 5 gone "/sys/module/$mod"
check "$node removed" wait_for 5 gone "$node"
check "class $cls removed" gone "/sys/class/$cls"
check "no $cls under $hctl" gone "/sys/class/scsi_device/$hctl/device/$cls"

# And comes back.
check "reload $mod" load_$mod
check "$mod node after reload" wait_for 5 node_ok
check "$mod node works after reload" inq_ok

if [ "$mod" = rsg ]; then
	# sg holds major 21, so rsg must have taken another one.
	check "sg loaded" loaded sg
	m=$(major_of "$(node_of "$hctl" rsg)")
	check "rsg major ($m) is dynamic while sg is loaded" test "$m" != 21

	# Without sg, rsg takes 21.
	check "rmmod rsg" rmmod rsg
	check "rmmod sg" rmmod sg
	check "load rsg alone" load_rsg
	check "rsg node without sg" wait_for 5 node_ok
	m=$(major_of "$(node_of "$hctl" rsg)")
	check_eq "rsg major without sg" 21 "$m"
	check "rsg node works on major 21" inq_ok
	# There it takes sg's sysfs names, its node keeping rsg's.
	n=$(basename "$(node_of "$hctl" rsg)")
	check "class device ${n#r} in scsi_generic" \
		grep -qx "DEVNAME=$n" "/sys/class/scsi_generic/${n#r}/uevent"
	check "generic link under $hctl" \
		test "$(readlink -f "/sys/class/scsi_device/$hctl/device/generic")" \
		= "$(readlink -f "/sys/class/scsi_generic/${n#r}")"
	check "no scsi_rsg class on major 21" gone /sys/class/scsi_rsg

	# Back to the usual state: sg on 21, rsg dynamic.
	check "rmmod rsg again" rmmod rsg
	check "load sg" load_sg
	check "load rsg after sg" load_rsg
	check "rsg node back" wait_for 5 node_ok
	m=$(major_of "$(node_of "$hctl" sg)")
	check_eq "sg major" 21 "$m"
	m=$(major_of "$(node_of "$hctl" rsg)")
	check "rsg major ($m) is dynamic again" test "$m" != 21
else
	m=$(major_of "$(node_of "$hctl" sg)")
	check_eq "sg major" 21 "$m"
fi

tap_end
