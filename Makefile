# SPDX-License-Identifier: GPL-2.0
#
# make          build build/rsg.ko (and the kernel, if missing)
# make run      boot the VM and show sg3_utils working on /dev/rsg0
# make check    every test: host checks, module builds, VM suites on the
#               test kernel and on the debug kernel
# make kernel   the test kernel only (cached outside the tree)

REPO := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
KDIR ?= $(REPO)/build/kernel
export PATH := $(HOME)/.cargo/bin:$(PATH)
KMAKE = $(MAKE) -C $(KDIR) M=$(REPO) LLVM=1

.PHONY: all module kernel setup run check clean clippy rustfmt rustfmtcheck \
	checkpatch selftests bench bench-tools kernel-debug module-debug rsgdd check-debug \
	bench-uring rsgfuzz fuzz insnprof

all: module

setup:
	@tools/setup-host.sh

kernel: setup
	@tools/kernel/build.sh tools/kernel/rsg.config -- $(REPO)/build/kernel

module: kernel
	+$(KMAKE) modules
	@cp -f $(REPO)/rsg.ko $(REPO)/build/rsg.ko
	@echo "  OUT     build/rsg.ko"

kernel-debug: setup
	@tools/kernel/build.sh tools/kernel/rsg.config tools/kernel/debug.config -- \
		$(REPO)/build/kernel-debug

# The same sources built against the debug kernel, in a copy of the tree.
module-debug: kernel-debug
	@mkdir -p build/mod-debug
	@rsync -a --delete Kbuild drivers build/mod-debug/
	+$(MAKE) -C $(REPO)/build/kernel-debug M=$(REPO)/build/mod-debug LLVM=1 modules
	@cp -f build/mod-debug/rsg.ko build/rsg-debug.ko
	@echo "  OUT     build/rsg-debug.ko"

clippy: kernel
	@rm -f drivers/rsg_main.o
	+$(KMAKE) CLIPPY=1 modules

rustfmt:
	rustfmt --edition 2021 --config-path $(KDIR)/.rustfmt.toml drivers/rsg_main.rs

rustfmtcheck:
	rustfmt --check --edition 2021 --config-path $(KDIR)/.rustfmt.toml drivers/rsg_main.rs

checkpatch: kernel
	$(KDIR)/scripts/checkpatch.pl --no-tree --quiet --terse --strict \
		-f drivers/bindings/rsg_shim.c drivers/bindings/rsg_shim.h

selftests: kernel
	+$(MAKE) -C selftests/rsg KDIR=$(KDIR)

run: module
	@tools/vm/run.sh -- tools/demo.sh

# The camdd(8)-style copy and benchmark tool (tools/rsgdd).
rsgdd:
	cargo build --release --manifest-path tools/rsgdd/Cargo.toml --target-dir build/rsgdd-target
	@cp -f build/rsgdd-target/release/rsgdd build/rsgdd
	@echo "  OUT     build/rsgdd"

# The bad-input fuzzer (tools/rsgfuzz).
rsgfuzz:
	cargo build --release --manifest-path tools/rsgfuzz/Cargo.toml --target-dir build/rsgfuzz-target
	@cp -f build/rsgfuzz-target/release/rsgfuzz build/rsgfuzz
	@echo "  OUT     build/rsgfuzz"

# A long fuzzing run in the VM, rsg against sg: FUZZ_SEED (default: random,
# printed first) and FUZZ_ITERS (default 200000).
FUZZ_ITERS ?= 200000
fuzz: module rsgfuzz
	@seed=$${FUZZ_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	echo "fuzz: seed $$seed, $(FUZZ_ITERS) iterations"; \
	tools/vm/run.sh --timeout $${FUZZ_TIMEOUT:-36000} -- \
		"FUZZ_SEED=$$seed FUZZ_ITERS=$(FUZZ_ITERS) selftests/rsg/fuzz.sh long"

check: module module-debug selftests rsgdd rsgfuzz
	@tools/check.sh

# The VM suites on the debug kernel alone (KASAN, lockdep, kmemleak, fault
# injection: faults.sh runs only there), ending with a kmemleak scan;
# `check` runs them too.
check-debug: module-debug selftests rsgdd rsgfuzz
	tools/vm/run.sh --kernel build/kernel-debug --module build/rsg-debug.ko \
		--mem 1536 --timeout 4800 --append nosoftlockup -- selftests/rsg/run_debug.sh

bench-tools:
	@mkdir -p build
	gcc -O2 -Wall -Werror -o build/sgbench tools/bench/sgbench.c
	gcc -O2 -Wall -Werror -o build/qbench tools/bench/qbench.c

# rsg against C sg on one scsi_debug LU, in one VM boot: the workloads of
# tools/bench/workloads into build/bench/ (results.csv, summary.txt,
# ratios.png). BENCH_ROUNDS (3), BENCH_SECS (1 s a run), BENCH_ONLY (a
# regular expression on workload names), BENCH_CPU (where single-threaded
# workloads run: a CPU number, last, or none). BENCH_ICOUNT=1 runs the VM on
# QEMU's instruction counter, so that guest time counts guest instructions
# (load on the host no longer moves the figures). See
# Documentation/performance.rst.
BENCH_ICOUNT ?= 0
comma := ,
BENCH_QEMU_ARGS = $(if $(filter 1,$(BENCH_ICOUNT)),-icount shift=0$(comma)sleep=off)
BENCH_ROUNDS ?= 3
BENCH_SECS ?= 1
BENCH_ONLY ?= .
BENCH_CPU ?= last
bench: module bench-tools rsgdd
	@tools/bench/setup.sh
	@mkdir -p build/bench
	RSG_QEMU_ARGS="$(BENCH_QEMU_ARGS)" tools/vm/run.sh --timeout 3000 -- BENCH_ROUNDS=$(BENCH_ROUNDS) \
		BENCH_SECS=$(BENCH_SECS) BENCH_CPU=$(BENCH_CPU) "BENCH_ONLY='$(value BENCH_ONLY)'" \
		tools/bench/bench.sh > build/bench/raw.txt
	tools/bench/report.sh build/bench/raw.txt build/bench

# The asynchronous interfaces (sg write()/read(), rsg queue, rsg io_uring)
# at depths 1..256, in one VM boot: build/bench/uring.{csv,txt}.
bench-uring: module rsgdd
	@mkdir -p build/bench
	tools/vm/run.sh --timeout 3000 -- tools/bench/uring.sh > build/bench/uring.csv
	awk -f tools/bench/uring.awk build/bench/uring.csv | tee build/bench/uring.txt

# Exact guest instructions per command, by function, sg against rsg, on one
# CPU (Documentation/performance.rst); into build/insnprof/.
insnprof: module rsgdd
	@tools/bench/setup.sh
	tools/bench/insnprof.sh $(INSNPROF_N)

clean:
	-+$(KMAKE) clean 2>/dev/null
	rm -rf build/rsg.ko selftests/rsg/out
