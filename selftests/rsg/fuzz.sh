#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rsgfuzz (tools/rsgfuzz, built to build/rsgfuzz): random and malformed
# input through every entry point of RSG_DEV, compared with SG_DEV (sg's
# node of the same LU), over a fixed set of seeds; the leak check; and an
# INQUIRY on both nodes afterwards. Kernel splats fail the VM run.
#
#   fuzz.sh          the bounded pass of run.sh (RSG_DEV, SG_DEV set)
#   fuzz.sh long     a long run on its own: loads scsi_debug, sg and rsg;
#                    FUZZ_SEED (default random) and FUZZ_ITERS (200000)
#
# FUZZ_SEEDS overrides the fixed seed set ("SEED:ITERS ...").
cd "$(dirname "$0")/../.." || exit 1
. tools/vm/guest.sh
. selftests/rsg/tap.sh

fuzz=$PWD/build/rsgfuzz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Each about 8 s under TCG (the fixed regression cases run first in each).
seeds=${FUZZ_SEEDS:-"1:600 2:600 3:600 4:600"}
dio_seed=${FUZZ_DIO_SEED:-5:600}

# run_fuzz DESCRIPTION ARGS...: one rsgfuzz run; its findings as
# diagnostics when it fails.
run_fuzz() {
	local d=$1
	shift
	"$fuzz" "$@" > "$tmp/out" 2>&1
	local rc=$?
	if [ $rc -eq 0 ]; then
		ok "$d"
		grep '^rsgfuzz: seed .* ops' "$tmp/out" | sed 's/^/# /'
	else
		not_ok "$d" "rsgfuzz $* exited with $rc:" "$(head -n 60 "$tmp/out")" \
			"$(tail -n 3 "$tmp/out")"
	fi
}

inquiry() {
	sg_inq "$1" > /dev/null 2>&1
}

tap_begin

if [ "${1:-}" = long ]; then
	check "load scsi_debug" load_scsi_debug
	check "load sg" load_sg
	check "load rsg" load_rsg
	hctl=$(ls /sys/class/scsi_device | head -n1)
	SG_DEV=$(node_of "$hctl" sg)
	RSG_DEV=$(node_of "$hctl" rsg)
	# Take the new LU's unit attention through sg, as run.sh does.
	for i in 1 2 3; do sg_turs "$SG_DEV" > /dev/null 2>&1 && break; done
	seed=${FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
	iters=${FUZZ_ITERS:-200000}
	echo "# seed $seed, $iters iterations, $RSG_DEV against $SG_DEV"
	run_fuzz "leak check" --dev "$RSG_DEV" --cmp "$SG_DEV" --leak-check
	cat "$tmp/out" | sed 's/^/# /'
	"$fuzz" --dev "$RSG_DEV" --cmp "$SG_DEV" --seed "$seed" --iters "$iters" \
		--progress 10000 2>&1 | tee "$tmp/long"
	check_eq "seed $seed, $iters iterations" 0 "${PIPESTATUS[0]}"
	check "INQUIRY on $RSG_DEV afterwards" inquiry "$RSG_DEV"
	check "INQUIRY on $SG_DEV afterwards" inquiry "$SG_DEV"
	tap_end
	exit
fi

dev=${RSG_DEV:-/dev/rsg0}
cmp=${SG_DEV:-}
queue=
if [ "${RSG_SELF_TEST:-0}" = 1 ]; then
	# sg compared with itself: the queue interface is rsg's alone.
	queue=--no-queue
fi
check "build/rsgfuzz is built" test -x "$fuzz"
check "node $dev" test -c "$dev"
check "sg node ${cmp:-(none)}" test -c "$cmp"

"$fuzz" --dev "$dev" --cmp "$cmp" --leak-check > "$tmp/leak" 2>&1
rc=$?
while read -r line; do
	case "$line" in
	*": ok"*) ok "${line#leak: }" ;;
	leak:*) not_ok "${line#leak: }" ;;
	esac
done < "$tmp/leak"
check_eq "leak check exit status" 0 $rc

for s in $seeds; do
	run_fuzz "seed ${s%%:*}, ${s##*:} iterations against sg" --dev "$dev" \
		--cmp "$cmp" --seed "${s%%:*}" --iters "${s##*:}" $queue
done

# Once more with direct I/O allowed on both drivers: SG_FLAG_DIRECT_IO then
# pins the caller's pages, bad ones included.
params=
for m in rsg sg; do
	p=/sys/module/$m/parameters/allow_dio
	[ -w "$p" ] && params="$params $p"
done
if [ -n "$params" ]; then
	for p in $params; do echo 1 > "$p"; done
	run_fuzz "seed ${dio_seed%%:*}, ${dio_seed##*:} iterations, direct I/O" \
		--dev "$dev" --cmp "$cmp" --seed "${dio_seed%%:*}" \
		--iters "${dio_seed##*:}" $queue
	for p in $params; do echo 0 > "$p"; done
else
	echo "ok $((tap_n + 1)) # SKIP no writable allow_dio parameter"
	tap_n=$((tap_n + 1))
fi

check "INQUIRY on $dev afterwards" inquiry "$dev"
check "INQUIRY on $cmp afterwards" inquiry "$cmp"
tap_end
