# SPDX-License-Identifier: GPL-2.0
#
# make          build build/rsg.ko (and the kernel, if missing)
# make run      boot the VM and show sg3_utils working on /dev/rsg0
# make check    every test: host checks, module build, VM suites
# make kernel   the test kernel only (cached outside the tree)

REPO := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
KDIR ?= $(REPO)/build/kernel
export PATH := $(HOME)/.cargo/bin:$(PATH)
KMAKE = $(MAKE) -C $(KDIR) M=$(REPO) LLVM=1

.PHONY: all module kernel setup run check clean clippy rustfmt rustfmtcheck \
	checkpatch selftests bench bench-tools kernel-debug module-debug rsgdd check-debug

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

check: module selftests rsgdd
	@tools/check.sh

# The VM suites on the debug kernel (KASAN, lockdep, kmemleak, fault
# injection: faults.sh runs only there), then a kmemleak scan. Not part of `check`: the debug kernel
# adds about 15 minutes to a cold build.
check-debug: module-debug selftests rsgdd
	tools/vm/run.sh --kernel build/kernel-debug --module build/rsg-debug.ko \
		--mem 1536 --timeout 4800 --append nosoftlockup -- \
		'selftests/rsg/run.sh; echo scan > /sys/kernel/debug/kmemleak; sleep 6; \
		 echo scan > /sys/kernel/debug/kmemleak; cat /sys/kernel/debug/kmemleak'

bench-tools:
	@mkdir -p build
	gcc -O2 -Wall -Werror -o build/sgbench tools/bench/sgbench.c

# Zero-copy paths, rsg against sg in one VM boot: build/bench/xfer.{csv,txt}.
bench: module bench-tools
	@mkdir -p build/bench
	tools/vm/run.sh --timeout 3000 -- tools/bench/xfer.sh > build/bench/xfer.csv
	awk -f tools/bench/summary.awk build/bench/xfer.csv | tee build/bench/xfer.txt

clean:
	-+$(KMAKE) clean 2>/dev/null
	rm -rf build/rsg.ko selftests/rsg/out
