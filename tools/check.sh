#!/usr/bin/env bash
# `make check`: host-side checks, then the VM suites. Prints one TAP-style
# line per check and ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

passed=0
failed=0
log=build/check
mkdir -p "$log"

result() { # name status
	if [ "$2" -eq 0 ]; then
		passed=$((passed + 1)); echo "ok - $1"
	else
		failed=$((failed + 1)); echo "not ok - $1"
	fi
}

# Host checks: formatting, lints, C style, the house rules on unsafe.
make -s rustfmtcheck > "$log/rustfmt.log" 2>&1
result "rustfmt" $?
make -s clippy > "$log/clippy.log" 2>&1 && ! grep -E '^(warning|error)' "$log/clippy.log"
result "clippy (no warnings)" $?
make -s checkpatch > "$log/checkpatch.log" 2>&1
result "checkpatch on the C shim" $?
tools/check-unsafe.sh > "$log/unsafe.log" 2>&1
result "every unsafe block has a SAFETY comment" $?
cargo test --manifest-path tools/rsgdd/Cargo.toml --target-dir build/rsgdd-target \
	> "$log/rsgdd-test.log" 2>&1
result "rsgdd unit tests (cargo test)" $?
cargo clippy --release --manifest-path selftests/rsg/uring/Cargo.toml \
	--target-dir build/uring-target -- -D warnings > "$log/uring-clippy.log" 2>&1
result "io_uring selftest lints (cargo clippy)" $?
cargo test --manifest-path tools/rsgfuzz/Cargo.toml --target-dir build/rsgfuzz-target \
	> "$log/rsgfuzz-test.log" 2>&1
result "rsgfuzz unit tests (cargo test)" $?
cargo test --manifest-path tools/rsg-uapi/Cargo.toml --target-dir build/rsg-uapi-target \
	> "$log/rsg-uapi-test.log" 2>&1
result "rsg-uapi unit tests (cargo test)" $?

# VM suites: each ends with its own "N passed, N failed" line.
vm_suite() { # name [run.sh options] -- command
	local name=$1
	shift
	tools/vm/run.sh --timeout "${RSG_VM_TIMEOUT:-2400}" --cache loose "$@" \
		> "$log/$name.log" 2>&1
	echo $? > "$log/$name.rc"
}

account() { # name
	local out=$log/$1.log rc line p f
	rc=$(cat "$log/$1.rc" 2>/dev/null || echo 1)
	# Each failure with the comment lines its test printed (up to 12), so
	# that a run's summary alone says what went wrong.
	awk -v tag="[$1]" '
		/^not ok / {
			k = n < 12 ? n : 12
			for (i = n - k; i < n; i++) print tag "   " ring[i % 12]
			print tag " " $0; n = 0; next
		}
		/^#/ { ring[n % 12] = $0; n++; next }
		/^ok / { n = 0 }' "$out"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n1)
	p=${line%% passed*}
	f=${line#*, }
	f=${f%% failed*}
	[ -n "$line" ] || { p=0; f=0; }
	echo "[$1] ${p} passed, ${f} failed (log: $out)"
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# A crash, timeout or kernel splat with no failing test still fails.
		failed=$((failed + 1))
		echo "not ok - $1: VM run failed (status $rc)"
		tail -n 30 "$out"
	fi
}

# The base kernel runs both entry points; the debug kernel (KASAN, lockdep,
# kmemleak, fault injection) runs the full suite at the same time, in two
# boots ("debug" up to faults.sh, "debug_b" from it on, in run.sh's order),
# since a VM waiting on its LU or on a module load leaves a core idle.
# RSG_CHECK_DEBUG=0 skips the debug kernel.
debug=${RSG_CHECK_DEBUG:-1}
split=faults
debug_vm() { # name VAR=VALUE
	vm_suite "$1" --kernel build/kernel-debug --module build/rsg-debug.ko \
		--mem 1536 --append nosoftlockup -- "$2" selftests/rsg/run_debug.sh
}
if [ "$debug" = 1 ]; then
	debug_vm debug RSG_SUITES_BEFORE=$split &
	debug_vm debug_b RSG_SUITES_FROM=$split &
fi
# major21's dd tools and fio mostly wait out scsi_debug's delay: a lane of
# their own.
{
	vm_suite major21 -- selftests/rsg/run_major21.sh
	# The README's first command, `make run`: its demo must run to the end.
	vm_suite demo -- tools/demo.sh
} &
vm_suite selftests -- selftests/rsg/run.sh
wait
account selftests
account major21
if [ "$debug" = 1 ]; then
	account debug
	account debug_b
	# Each suite of the debug kernel ran in exactly one of its two boots.
	ran() { grep -E '^# [a-z0-9_]+: [0-9]+ passed' "$log/$1.log" | cut -d: -f1 | sort; }
	all=$(sed -n 's/^run_suite \([a-z0-9_]*\) .*/# \1/p; s/^.*[ \t]run_suite \([a-z0-9_]*\) .*/# \1/p' \
		selftests/rsg/run.sh | sort -u)
	both=$( (ran debug; ran debug_b) | sort)
	[ "$(grep -vx '# setup' <<< "$both")" = "$(grep -vx '# setup' <<< "$all")" ]
	result "every debug-kernel suite ran in one of its two boots" $?
fi
[ "$(cat "$log/demo.rc")" -eq 0 ] &&
	grep -q '^round trip: 65536 bytes identical$' "$log/demo.log"
result "make run's demo (log: $log/demo.log)" $?

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
