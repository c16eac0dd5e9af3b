// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin that counts the guest instructions executed at each
 * translation block, exactly, and writes the counts out in phases: each
 * time the guest runs the block at address mark= (the guest kernel's
 * ksys_sync, so a sync(1) in the guest ends a phase), and at exit.
 *
 *   qemu-system-x86_64 -plugin build/insnprof.so,mark=0x...,out=FILE ...
 *
 * FILE gets "phase N" lines, each followed by "address count" lines, where
 * count is the instructions executed in the block starting at that address.
 * tools/bench/insnprof.py turns two phases into a per-function difference.
 * Counting is inline and not atomic: run the guest with -smp 1.
 *
 * Only the plugin API of QEMU 7.2 (version 1) is used, declared in
 * qemu_plugin_api.h so that no QEMU headers are needed.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_plugin_api.h"

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* One per translation; a block translated again gets a new one. */
struct block {
	uint64_t addr;
	uint64_t count;
	struct block *next;
};

static struct block *blocks;
static uint64_t mark;
static FILE *out;
static int phase;

static void dump(void)
{
	fprintf(out, "phase %d\n", phase++);
	for (struct block *b = blocks; b; b = b->next) {
		if (b->count)
			fprintf(out, "%" PRIx64 " %" PRIu64 "\n", b->addr,
				b->count);
		b->count = 0;
	}
	fflush(out);
}

static void on_mark(unsigned int vcpu, void *data)
{
	dump();
}

static void on_trans(uint64_t id, struct qemu_plugin_tb *tb)
{
	struct block *b = calloc(1, sizeof(*b));

	if (!b)
		abort();
	b->addr = qemu_plugin_tb_vaddr(tb);
	b->next = blocks;
	blocks = b;
	qemu_plugin_register_vcpu_tb_exec_inline(tb,
		QEMU_PLUGIN_INLINE_ADD_U64, &b->count,
		qemu_plugin_tb_n_insns(tb));
	if (b->addr == mark)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, on_mark,
			QEMU_PLUGIN_CB_NO_REGS, NULL);
}

static void at_exit(uint64_t id, void *data)
{
	dump();
	fclose(out);
}

__attribute__((visibility("default")))
int qemu_plugin_install(uint64_t id, const struct qemu_info_t *info,
			int argc, char **argv)
{
	const char *path = "insnprof.out";

	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "mark=", 5))
			mark = strtoull(argv[i] + 5, NULL, 16);
		else if (!strncmp(argv[i], "out=", 4))
			path = argv[i] + 4;
	}
	out = fopen(path, "w");
	if (!out)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
