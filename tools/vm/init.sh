#!/bin/bash
# PID 1 inside the test VM: mount what a test needs, run the command handed
# over by run.sh, save its output and the kernel log, and reboot (QEMU exits).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mkdir -p /run/out /run/repo /run/kernel
mount -t 9p -o trans=virtio,version=9p2000.L rsgout /run/out

# The repository and the kernel tree may live under /tmp on the host: pin
# them under /run before /tmp becomes the guest's own tmpfs.
mount --bind "$(cat /run/out/repo)" /run/repo
mount --bind "$(cat /run/out/kernel)" /run/kernel
for d in /tmp /var/tmp /var/log; do mount -t tmpfs tmpfs "$d"; done

export RSG_KERNEL=/run/kernel
export RSG_MODULE=$(cat /run/out/module)
export HOME=/tmp TMPDIR=/tmp
cd /run/repo || exit 1
echo 0 > /proc/sys/kernel/printk_ratelimit 2>/dev/null
bash -c "source tools/vm/guest.sh; $(cat /run/out/cmd)" > /run/out/output 2>&1 < /dev/null
status=$?
dmesg > /run/out/dmesg
echo $status > /run/out/status
sync
umount /run/out
echo b > /proc/sysrq-trigger
sleep 10
