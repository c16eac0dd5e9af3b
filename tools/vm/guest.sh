# Helpers sourced by every command run inside the test VM.

# devtmpfs has no /dev/fd, which bash's <(...) needs.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd 2>/dev/null

# A module of the test kernel's build tree.
kmod_path() {
	echo "$RSG_KERNEL/$1"
}

# load_scsi_debug [PARAM=VALUE...]: insert scsi_debug with test-friendly
# defaults (a 256 MiB store, no disk driver) and wait for its devices.
load_scsi_debug() {
	insmod "$(kmod_path drivers/scsi/scsi_debug.ko)" dev_size_mb=256 "$@" || return 1
	udev_settle
}

# load_sg: insert the C sg driver, for comparisons.
load_sg() {
	insmod "$(kmod_path drivers/scsi/sg.ko)" || return 1
	udev_settle
}

# load_rsg [PARAM=VALUE...]: insert rsg from build/.
load_rsg() {
	insmod "${RSG_MODULE:-build/rsg.ko}" "$@" || return 1
	udev_settle
}

# Devices appear through devtmpfs; give the kernel a moment to finish probing.
udev_settle() {
	local i
	for i in $(seq 1 50); do
		[ -z "$(ls /sys/bus/scsi/devices 2>/dev/null)" ] || break
		sleep 0.1
	done
	sleep 0.2
}

# node_of H:C:T:L DRIVER: the /dev node of DRIVER ("sg" or "rsg") for that LU.
# On char major 21 rsg's class device sits in scsi_generic like sg's; the
# node's name (DEVNAME) tells the drivers apart.
# Builtins only: the fault and hotplug loops call it for every step, and a
# fork costs tens of ms under TCG.
node_of() {
	local d n l
	for d in "/sys/class/scsi_device/$1/device/scsi_rsg/"* \
		"/sys/class/scsi_device/$1/device/scsi_generic/"*; do
		n=
		[ -r "$d/uevent" ] || continue
		while IFS= read -r l; do
			case "$l" in DEVNAME=*) n=${l#DEVNAME=} ;; esac
		done 2>/dev/null < "$d/uevent"
		case "$2:$n" in
		rsg:rsg*|sg:sg*)
			echo "/dev/$n"
			return 0
			;;
		esac
	done
	return 1
}

# sdebug_set ATTR VALUE: sets a scsi_debug driver attribute. delay and
# ndelay refuse a new value while commands are queued: retry for a minute.
sdebug_set() {
	local i
	for i in $(seq 1 600); do
		echo "$2" > "/sys/bus/pseudo/drivers/scsi_debug/$1" 2> /dev/null && return 0
		sleep 0.1
	done
	return 1
}

# sdebug_delay_restore DELAY NDELAY: puts back the delay read before a test
# changed it (ndelay when it was the one in use).
sdebug_delay_restore() {
	if [ "$2" -gt 0 ]; then
		sdebug_set ndelay "$2"
	else
		sdebug_set delay "$1"
	fi
}
