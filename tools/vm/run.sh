#!/usr/bin/env bash
# Boot the test kernel in QEMU on the host's own root filesystem (9p, read-only)
# and run one shell command inside it.
#
# usage: tools/vm/run.sh [--kernel DIR] [--module KO] [--timeout SEC] [--kvm]
#                        [--mem MB] [--console FILE] [--append ARGS]
#                        [--cache MODE] -- COMMAND...
#
# COMMAND runs under bash in the repository root, as root, with
# RSG_KERNEL set to the kernel build directory, RSG_MODULE to the rsg.ko
# built for it (relative to the repository), and tools/vm/guest.sh sourced.
# Its output is printed; the exit status is COMMAND's. The run fails (status
# 125) when the kernel log shows a BUG, WARNING, Oops, KASAN, lockdep or
# hung-task report, and 124 when the VM does not finish in time.
# PCI interrupts are routed without ACPI (acpi=noirq): evaluating _PRT
# under TCG, slower still with KASAN and a busy host, can exceed ACPICA's
# 30 s loop timeout and leave virtio without interrupts.
# --cache sets the root's 9p cache mode (default: none). With "loose" the
# guest keeps binaries and libraries in its page cache instead of reading
# them over 9p at every exec, several times faster under TCG; files the
# host changes while the VM runs may then look stale inside it.
# RSG_QEMU_ARGS adds QEMU options (e.g. "-icount shift=0,sleep=off" for
# instruction-counted time, or "-smp 1").
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
kernel=$repo/build/kernel
module=build/rsg.ko
timeout=600
accel=tcg
mem=2048
console=
append=
cache=
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--module) module=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--kvm) accel=kvm; shift ;;
	--mem) mem=$2; shift 2 ;;
	--console) console=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--cache) cache=$2; shift 2 ;;
	--) shift; break ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: $0 [options] -- COMMAND..." >&2; exit 2; }
kernel=$(realpath "$kernel")
image=$kernel/arch/x86/boot/bzImage
[ -f "$image" ] || { echo "vm: no kernel image at $image (run make kernel)" >&2; exit 2; }
# A KASAN kernel on -cpu max boots with 5-level paging, and an interrupt
# taken in identify_cpu() early in boot then sometimes trips KASAN
# ("wild-memory-access" on the irq_desc lock; 2 boots in 15 on a loaded
# host, none in 20 with 4-level paging). The kernel's, not the driver's.
grep -q '^CONFIG_KASAN=y' "$kernel/.config" 2> /dev/null && append="no5lvl $append"

out=$(mktemp -d "${TMPDIR:-/tmp}/rsg-vm.XXXXXX")
trap 'rm -rf "$out"' EXIT
printf '%s\n' "$*" > "$out/cmd"
printf '%s\n' "$repo" > "$out/repo"
printf '%s\n' "$kernel" > "$out/kernel"
printf '%s\n' "$module" > "$out/module"
[ -n "$console" ] || console=$out/console

set +e
timeout --foreground -k 5 "$timeout" qemu-system-x86_64 \
	-accel "$accel" -cpu max -smp 2 -m "$mem" \
	-nographic -no-reboot -nodefaults \
	-serial "file:$console" \
	-kernel "$image" \
	-append "console=ttyS0 root=/dev/root rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=262144${cache:+,cache=$cache} ro init=$repo/tools/vm/init.sh acpi=noirq panic=-1 oops=panic loglevel=4 $append" \
	-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=root,mount_tag=/dev/root \
	-fsdev local,id=out,path="$out",security_model=none \
	-device virtio-9p-pci,fsdev=out,mount_tag=rsgout \
	${RSG_QEMU_ARGS:-} \
	</dev/null >"$out/qemu.log" 2>&1
qrc=$?
set -e

[ -f "$out/output" ] && cat "$out/output"
if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
	echo "vm: timed out after ${timeout}s; console tail:" >&2
	tail -n 40 "$console" >&2
	exit 124
fi
if [ ! -f "$out/status" ]; then
	echo "vm: the guest did not finish (qemu status $qrc); console tail:" >&2
	tail -n 40 "$console" >&2
	cat "$out/qemu.log" >&2
	exit 125
fi
# A splat anywhere in the kernel log fails the run.
log=$out/dmesg
[ -f "$log" ] || log=$console
if grep -v -E 'Command line:' "$log" | grep -E -n 'BUG:|WARNING:|Oops|BUG: KASAN|kernel BUG|possible circular locking|possible recursive locking|inconsistent lock state|DEBUG_LOCKS_WARN_ON|suspicious RCU usage|blocked for more than|general protection fault|Kernel panic|UBSAN|refcount_t:|list_add corruption|list_del corruption|unreferenced object' >&2; then
	echo "vm: kernel log shows a splat; see above" >&2
	[ -n "${RSG_VM_LOG:-}" ] && cp "$log" "$RSG_VM_LOG"
	exit 125
fi
[ -n "${RSG_VM_LOG:-}" ] && cp "$log" "$RSG_VM_LOG"
exit "$(cat "$out/status")"
