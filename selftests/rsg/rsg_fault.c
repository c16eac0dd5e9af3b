// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures injected into rsg, and into sg on the same LU for
 * comparison, through the per-task /proc/thread-self/fail-nth: write N, make
 * one system call, and the Nth allocation the task makes in it fails (slab
 * or page allocator, as far as the failslab and fail_page_alloc filters let
 * allocations through; faults.sh sets them). For N = 1, 2, ... until the
 * call makes fewer than N allocations, every fault must end in a clean
 * result: success (the driver fell back, e.g. to smaller page runs) with the
 * right data, or an errno that is ENOMEM or one sg gives for the same
 * operation. After each fault the device must still answer an INQUIRY, and
 * at the end of each test nothing may be left behind: module references,
 * pinned pages and /proc/scsi/rsg/debug as before.
 *
 * Each test prints "# faults: NAME DRIVER injected=N ..." lines; faults.sh
 * adds them up. Without fault injection in the kernel every test skips.
 *
 *   rsg_fault                   the tests (kselftest harness)
 *   rsg_fault nth N write F S   write S to file F with fail-nth N and print
 *                               "ret=R left=L" (R: 0 or an errno; L: what
 *                               is left of N, 0 when the fault was injected)
 *   rsg_fault nth N load KO [PARAMS]   the same for finit_module(KO)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <scsi/sg.h>
#include <scsi/rsg.h>

#include "kselftest_harness.h"
#include "rsg_test.h"

#ifndef SG_FLAG_MMAP_IO
#define SG_FLAG_MMAP_IO 4
#endif

#define BS		512
#define LBA		65536		/* 32 MiB in: away from other suites */
#define REGION		(256 << 10)	/* bytes of reference data there */
#define MAX_NTH		3000		/* a call making more is a failure */
#define ST_ERR		1000		/* pseudo errno: a bad SCSI status */
#define NIOV		10		/* more than UIO_FASTIOV */
#define NBATCH		4

static const char *const nth_path = "/proc/thread-self/fail-nth";
static int nth_fd = -1;

static void nth_set(unsigned int n)
{
	char b[16];
	int len = snprintf(b, sizeof(b), "%u", n);

	if (pwrite(nth_fd, b, len, 0) != len)
		abort();
}

/* What is left of N: 0 when the Nth allocation came (and failed). */
static unsigned int nth_left(void)
{
	char b[16] = { 0 };

	if (pread(nth_fd, b, sizeof(b) - 1, 0) <= 0)
		abort();
	return strtoul(b, NULL, 10);
}

static int nth_available(void)
{
	if (nth_fd < 0)
		nth_fd = open(nth_path, O_RDWR | O_CLOEXEC);
	return nth_fd >= 0;
}

static const char *err_name(int e)
{
	static char b[16];

	switch (e) {
	case 0: return "ok";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EIO: return "EIO";
	case EBUSY: return "EBUSY";
	case EAGAIN: return "EAGAIN";
	case EINVAL: return "EINVAL";
	case ENODEV: return "ENODEV";
	case ENXIO: return "ENXIO";
	case ST_ERR: return "status";
	}
	snprintf(b, sizeof(b), "errno%d", e);
	return b;
}

/* A faulted call that blocks this long is reported as hung. */
#define HANG_S		60

static void on_alarm(int sig)
{
	(void)sig;
}

/* SIGALRM interrupts a blocked call (no SA_RESTART), which then fails. */
static void arm_watchdog(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };

	sigaction(SIGALRM, &sa, NULL);
}

static int trace;	/* RSG_FAULT_TRACE=1: one line per fault */

/* The data at LBA, as the fixture wrote it. */
static uint8_t *ref;

static int status_of(const struct sg_io_hdr *h)
{
	return h->status || h->host_status || h->driver_status ? -ST_ERR : 0;
}

static int sgio(int fd, struct sg_io_hdr *h)
{
	return ioctl(fd, SG_IO, h) < 0 ? -errno : status_of(h);
}

static void rw_hdr(struct sg_io_hdr *h, uint8_t *cdb, uint8_t *sense,
		   int write, unsigned int off, void *buf, unsigned int len)
{
	rw10(cdb, write ? 0x2a : 0x28, LBA + off / BS, len / BS);
	hdr_init(h, cdb, 10, write ? SG_DXFER_TO_DEV : SG_DXFER_FROM_DEV,
		 buf, len, sense, 32);
}

/* An INQUIRY through a new file: the device is usable. */
static int inquiry(const char *path)
{
	uint8_t resp[96], sense[32];
	struct sg_io_hdr h;
	int fd, r;

	fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	memset(resp, 0, sizeof(resp));
	hdr_init(&h, inq_cdb, 6, SG_DXFER_FROM_DEV, resp, sizeof(resp), sense,
		 sizeof(sense));
	r = sgio(fd, &h);
	close(fd);
	if (!r && memcmp(resp + 8, "Linux", 5))
		r = -EBADMSG;
	return r;
}

/* Where run() is, for what wait_in() prints. */
static const char *cur_scen;
static int cur_drv;
static unsigned int cur_n;

/* One comment line on the LU and scsi_debug, for a failure's report. */
static void dump_state(int fd)
{
	char delay[16] = "?", ndelay[16] = "?", opts[16] = "?", nth[16] = "?";
	char state[32] = "?", busy[16] = "?";
	const char *hctl = getenv("RSG_HCTL");
	int waiting = -1;

	ioctl(fd, SG_GET_NUM_WAITING, &waiting);
	read_str(delay, sizeof(delay), SDEBUG_DRV "delay");
	read_str(ndelay, sizeof(ndelay), SDEBUG_DRV "ndelay");
	read_str(opts, sizeof(opts), SDEBUG_DRV "opts");
	read_str(nth, sizeof(nth), SDEBUG_DRV "every_nth");
	if (hctl) {
		read_str(state, sizeof(state),
			 "/sys/class/scsi_device/%s/device/state", hctl);
		read_str(busy, sizeof(busy),
			 "/sys/class/scsi_device/%s/device/device_busy", hctl);
	}
	fprintf(stderr,
		"# state: waiting=%d sdev=%s busy=%s; scsi_debug delay=%s ndelay=%s opts=%s every_nth=%s\n",
		waiting, state, busy, delay, ndelay, opts, nth);
}

/*
 * A completion comes within milliseconds; one later than SLOW_WAIT_MS is
 * reported with the LU's state, and one missing after the command's
 * timeout (20 s, then the mid-layer's abort) fails.
 */
#define SLOW_WAIT_MS	10000
#define LOST_WAIT_MS	45000

static int wait_in(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = poll(&p, 1, SLOW_WAIT_MS);

	if (r == 0) {
		fprintf(stderr, "# %s %s N=%u: no completion after %d ms\n",
			cur_scen, drv_name[cur_drv], cur_n, SLOW_WAIT_MS);
		dump_state(fd);
		r = poll(&p, 1, LOST_WAIT_MS - SLOW_WAIT_MS);
	}
	return r == 1 && (p.revents & POLLIN) ? 0 : -ETIME;
}

/*
 * One operation under test. setup and cleanup run without faults; op is the
 * one system call a fault is injected into, returning 0 or -errno; check
 * (optional) tells whether the state after op is right, given its result.
 */
struct ctx {
	int d;
	const char *path;
	int fd;
	uint8_t *buf;		/* REGION bytes, page aligned */
	uint8_t *map;
	size_t maplen;
	int rsv;		/* reserve size before op */
	int queued;		/* requests op queued, for cleanup */
	struct sg_io_hdr h[NBATCH];
	uint8_t cdb[NBATCH][16], sense[NBATCH][32];
	struct iovec iov[NIOV];
};

struct scen {
	const char *name;
	int drivers;		/* bit RSG, bit SG */
	int must_fault;		/* the call allocates in every driver */
	int (*setup)(struct ctx *c);
	int (*op)(struct ctx *c);
	const char *(*check)(struct ctx *c, int r);
	void (*cleanup)(struct ctx *c);
};

#define BOTH	(1 << RSG | 1 << SG)
#define RSG_ONLY (1 << RSG)

static int open_rw(struct ctx *c)
{
	c->fd = open(c->path, O_RDWR);
	return c->fd < 0 ? -errno : 0;
}

static void close_fd(struct ctx *c)
{
	if (c->map)
		munmap(c->map, c->maplen);
	c->map = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Data read at byte offset off of the region is the reference data. */
static const char *data_ok(const uint8_t *p, unsigned int off,
			   unsigned int len)
{
	return memcmp(p, ref + off, len) ? "data read after a fault is wrong"
					 : NULL;
}

/* open() */
static int op_open(struct ctx *c)
{
	return open_rw(c);
}

/* SG_IO READ through the reserve buffer (16 KiB, less than the reserve). */
static int op_read_reserve(struct ctx *c)
{
	rw_hdr(&c->h[0], c->cdb[0], c->sense[0], 0, 0, c->buf, 16384);
	return sgio(c->fd, &c->h[0]);
}

static const char *chk_read_16k(struct ctx *c, int r)
{
	return r ? NULL : data_ok(c->buf, 0, 16384);
}

/*
 * A request that used the reserve buffer, failed or not, gave it back: the
 * reserve can be resized (EBUSY while in use).
 */
static const char *reserve_free(struct ctx *c)
{
	int v = 65536;

	if (ioctl(c->fd, SG_SET_RESERVED_SIZE, &v) < 0)
		return errno == EBUSY ? "the reserve buffer stayed in use"
				      : "SG_SET_RESERVED_SIZE failed";
	return NULL;
}

static const char *chk_read_reserve(struct ctx *c, int r)
{
	return chk_read_16k(c, r) ?: reserve_free(c);
}

static const char *chk_write_reserve(struct ctx *c, int r)
{
	return reserve_free(c);
}

/* SG_IO READ and WRITE through buffers of their own (past the reserve). */
static int op_read_own(struct ctx *c)
{
	rw_hdr(&c->h[0], c->cdb[0], c->sense[0], 0, 0, c->buf, 131072);
	return sgio(c->fd, &c->h[0]);
}

static const char *chk_read_128k(struct ctx *c, int r)
{
	return r ? NULL : data_ok(c->buf, 0, 131072);
}

static int op_write_own(struct ctx *c)
{
	memcpy(c->buf, ref, 131072);
	rw_hdr(&c->h[0], c->cdb[0], c->sense[0], 1, 0, c->buf, 131072);
	return sgio(c->fd, &c->h[0]);
}

/* SG_IO with an iovec of NIOV entries: 40 KiB (own buffer), 10 KiB
 * (reserve). */
static int op_iov(struct ctx *c, int write, unsigned int seg)
{
	int i;

	for (i = 0; i < NIOV; i++) {
		c->iov[i].iov_base = c->buf + i * 8192;
		c->iov[i].iov_len = seg;
		if (write)
			memcpy(c->iov[i].iov_base, ref + i * seg, seg);
	}
	rw_hdr(&c->h[0], c->cdb[0], c->sense[0], write, 0, c->iov,
	       NIOV * seg);
	c->h[0].iovec_count = NIOV;
	return sgio(c->fd, &c->h[0]);
}

static int op_iov_read_own(struct ctx *c)
{
	return op_iov(c, 0, 4096);
}

static const char *chk_iov_read(struct ctx *c, int r)
{
	int i;

	for (i = 0; !r && i < NIOV; i++)
		if (memcmp(c->buf + i * 8192, ref + i * 4096, 4096))
			return "iovec data read after a fault is wrong";
	return NULL;
}

static int op_iov_write_reserve(struct ctx *c)
{
	return op_iov(c, 1, 1024);
}

/* SG_IO READ with direct I/O into the caller's pages. */
static int setup_dio(struct ctx *c)
{
	if (set_param(drv_name[c->d], "allow_dio", "1"))
		return -EIO;
	return open_rw(c);
}

static int op_read_dio(struct ctx *c)
{
	rw_hdr(&c->h[0], c->cdb[0], c->sense[0], 0, 0, c->buf, 65536);
	c->h[0].flags = SG_FLAG_DIRECT_IO;
	return sgio(c->fd, &c->h[0]);
}

static const char *chk_read_64k(struct ctx *c, int r)
{
	return r ? NULL : data_ok(c->buf, 0, 65536);
}

static void cleanup_dio(struct ctx *c)
{
	close_fd(c);
	set_param(drv_name[c->d], "allow_dio", "0");
}

/* SG_IO READ into the mmap()-ed reserve buffer. */
static int setup_map(struct ctx *c)
{
	int r = open_rw(c);

	if (r)
		return r;
	c->maplen = 32768;
	c->map = mmap(NULL, c->maplen, PROT_READ | PROT_WRITE, MAP_SHARED,
		      c->fd, 0);
	if (c->map == MAP_FAILED) {
		c->map = NULL;
		return -errno;
	}
	return 0;
}

/*
 * The same mapped alone in a 512 GiB slot of the address space, so that the
 * first fault in it allocates page tables at every level: rsg's fault handler
 * allocates nothing itself, but must live with the faults around it.
 */
#define FAR_MAP		((void *)0x6f0000000000UL)

static int setup_map_far(struct ctx *c)
{
	int r = open_rw(c);

	if (r)
		return r;
	c->maplen = 32768;
	c->map = mmap(FAR_MAP, c->maplen, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_FIXED_NOREPLACE, c->fd, 0);
	if (c->map == MAP_FAILED) {
		c->map = NULL;
		return -errno;
	}
	return 0;
}

static int op_read_mmap(struct ctx *c)
{
	rw_hdr(&c->h[0], c->cdb[0], c->sense[0], 0, 0, NULL, 16384);
	c->h[0].flags = SG_FLAG_MMAP_IO;
	return sgio(c->fd, &c->h[0]);
}

static const char *chk_read_mmap(struct ctx *c, int r)
{
	return r ? NULL : data_ok(c->map, 0, 16384);
}

/* mmap() itself, and page faults on the mapping taken in the kernel. */
static int op_mmap(struct ctx *c)
{
	c->maplen = 32768;
	c->map = mmap(NULL, c->maplen, PROT_READ | PROT_WRITE, MAP_SHARED,
		      c->fd, 0);
	if (c->map == MAP_FAILED) {
		c->map = NULL;
		return -errno;
	}
	return 0;
}

static int op_map_fault(struct ctx *c)
{
	/* Written by the kernel: a fault in the syscall, not in user mode. */
	ssize_t n = getrandom(c->map + 8192, 8192, 0);

	return n < 0 ? -errno : 0;
}

static const char *chk_map_fault(struct ctx *c, int r)
{
	/* The mapping is whole afterwards: every page can be read. */
	volatile uint8_t sum = 0;
	size_t i;

	for (i = 0; i < c->maplen; i += 4096)
		sum += c->map[i];
	(void)sum;
	return NULL;
}

/* Asynchronous write() of a v3 READ, and read() of its response. */
static void hdr_read_64k(struct ctx *c)
{
	rw_hdr(&c->h[0], c->cdb[0], c->sense[0], 0, 0, c->buf, 65536);
}

static int op_write_v3(struct ctx *c)
{
	hdr_read_64k(c);
	if (write(c->fd, &c->h[0], sizeof(c->h[0])) < 0)
		return -errno;
	c->queued = 1;
	return 0;
}

/* Reads back what op_write_v3 queued; the data must be right. */
static const char *chk_write_v3(struct ctx *c, int r)
{
	if (r)
		return NULL;
	if (wait_in(c->fd))
		return "no response to a queued request";
	if (read(c->fd, &c->h[0], sizeof(c->h[0])) != sizeof(c->h[0]))
		return "read() of the response failed";
	c->queued = 0;
	if (status_of(&c->h[0]))
		return "bad status";
	return data_ok(c->buf, 0, 65536);
}

static int setup_read_v3(struct ctx *c)
{
	int r = open_rw(c);

	if (r)
		return r;
	hdr_read_64k(c);
	if (write(c->fd, &c->h[0], sizeof(c->h[0])) < 0)
		return -errno;
	return wait_in(c->fd);
}

static int op_read_v3(struct ctx *c)
{
	memset(c->buf, 0, 65536);
	if (read(c->fd, &c->h[0], sizeof(c->h[0])) < 0)
		return -errno;
	return status_of(&c->h[0]);
}

/* v2: struct sg_header, CDB, then the data in on read(). */
static int op_write_v2(struct ctx *c)
{
	uint8_t out[sizeof(struct sg_header) + 10];
	struct sg_header *h = (struct sg_header *)out;

	memset(out, 0, sizeof(out));
	h->reply_len = sizeof(struct sg_header) + 4096;
	h->pack_id = 77;
	rw10(out + sizeof(*h), 0x28, LBA, 4096 / BS);
	if (write(c->fd, out, sizeof(out)) < 0)
		return -errno;
	c->queued = 1;
	return 0;
}

static const char *chk_write_v2(struct ctx *c, int r)
{
	size_t len = sizeof(struct sg_header) + 4096;
	struct sg_header *h = (struct sg_header *)c->buf;

	if (r)
		return NULL;
	if (wait_in(c->fd))
		return "no response to a queued v2 request";
	if (read(c->fd, c->buf, len) != (ssize_t)len)
		return "v2 read() of the response failed";
	c->queued = 0;
	if (h->result || h->pack_id != 77)
		return "bad v2 response";
	return data_ok(c->buf + sizeof(*h), 0, 4096);
}

static const char *chk_write_v2_reserve(struct ctx *c, int r)
{
	return chk_write_v2(c, r) ?: reserve_free(c);
}

/* SG_SET_RESERVED_SIZE: a new reserve, or the old one on failure. */
static int setup_resize(struct ctx *c)
{
	int r = open_rw(c);

	if (r)
		return r;
	return ioctl(c->fd, SG_GET_RESERVED_SIZE, &c->rsv) < 0 ? -errno : 0;
}

static int op_resize(struct ctx *c)
{
	int v = 262144;

	return ioctl(c->fd, SG_SET_RESERVED_SIZE, &v) < 0 ? -errno : 0;
}

static const char *chk_resize(struct ctx *c, int r)
{
	int v = -1;

	if (ioctl(c->fd, SG_GET_RESERVED_SIZE, &v) < 0)
		return "SG_GET_RESERVED_SIZE failed";
	if (r == -ENOMEM && v != c->rsv)
		return "reserve changed although the resize failed";
	if (!r && (v <= 0 || v > 262144))
		return "reserve size out of range after a resize";
	/* The file still moves data through whatever reserve it has. */
	if (op_read_reserve(c) || chk_read_16k(c, 0))
		return "READ after the resize failed";
	return NULL;
}

/* The queue interface. */
static void q_hdrs(struct ctx *c, unsigned int n, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		rw_hdr(&c->h[i], c->cdb[i], c->sense[i], 0, i * len,
		       c->buf + i * len, len);
		c->h[i].usr_ptr = (void *)(uintptr_t)(i + 1);
	}
}

static int op_queue(struct ctx *c)
{
	q_hdrs(c, 1, 16384);
	if (ioctl(c->fd, RSG_IOQUEUE, &c->h[0]) < 0)
		return -errno;
	c->queued = 1;
	return 0;
}

static int op_queue_batch(struct ctx *c)
{
	struct rsg_batch b = { .hdrs = (uintptr_t)c->h, .count = NBATCH };

	q_hdrs(c, NBATCH, 16384);
	if (ioctl(c->fd, RSG_IOQUEUE_BATCH, &b) < 0)
		return -errno;
	c->queued = b.done;
	return 0;
}

/* Everything op queued completes, with the right data; then none is left. */
static const char *chk_queued(struct ctx *c, int r)
{
	struct sg_io_hdr got[NBATCH];
	unsigned int n = c->queued, i;
	int seen[NBATCH] = { 0 };

	if (r)
		return c->queued ? "requests queued although the call failed"
				 : NULL;
	if (!n)
		return "a batch succeeded with none queued";
	while (c->queued) {
		struct rsg_batch b = {
			.hdrs = (uintptr_t)got, .count = NBATCH,
			.flags = RSG_BATCH_WAIT, .timeout_ms = LOST_WAIT_MS,
		};

		if (ioctl(c->fd, RSG_IOGET_BATCH, &b) < 0)
			return "queued requests did not complete";
		for (i = 0; i < b.done; i++) {
			uintptr_t tag = (uintptr_t)got[i].usr_ptr;

			if (tag < 1 || tag > n || seen[tag - 1]++)
				return "a completion with a wrong tag";
			if (status_of(&got[i]))
				return "bad status in a completion";
			if (data_ok(c->buf + (tag - 1) * 16384,
				    (tag - 1) * 16384, 16384))
				return "queued READ data is wrong";
		}
		c->queued -= b.done;
	}
	if (ioctl(c->fd, RSG_IOGET, got) == 0 || errno != EAGAIN)
		return "more completions than requests queued";
	return NULL;
}

static int setup_queued(struct ctx *c)
{
	struct rsg_batch b = { .hdrs = (uintptr_t)c->h, .count = NBATCH };
	int r = open_rw(c);

	if (r)
		return r;
	q_hdrs(c, NBATCH, 16384);
	if (ioctl(c->fd, RSG_IOQUEUE_BATCH, &b) < 0 || b.done != NBATCH)
		return -EIO;
	c->queued = NBATCH;
	/* op reaps what is ready; the rest are reaped by chk_rest. */
	r = wait_in(c->fd);
	sleep_ms(20);
	return r;
}

static int op_get(struct ctx *c)
{
	struct sg_io_hdr got;

	if (ioctl(c->fd, RSG_IOGET, &got) < 0)
		return -errno;
	c->queued--;
	return status_of(&got);
}

static int op_get_batch(struct ctx *c)
{
	struct sg_io_hdr got[NBATCH];
	struct rsg_batch b = {
		.hdrs = (uintptr_t)got, .count = NBATCH,
		.flags = RSG_BATCH_WAIT, .timeout_ms = LOST_WAIT_MS,
	};
	unsigned int i;

	if (ioctl(c->fd, RSG_IOGET_BATCH, &b) < 0)
		return -errno;
	c->queued -= b.done;
	for (i = 0; i < b.done; i++)
		if (status_of(&got[i]))
			return -ST_ERR;
	return 0;
}

/* What op left queued is reaped (without faults) before close. */
static const char *chk_rest(struct ctx *c, int r)
{
	while (c->queued > 0) {
		struct sg_io_hdr got;

		if (wait_in(c->fd) || ioctl(c->fd, RSG_IOGET, &got) < 0)
			return "a queued request was lost";
		c->queued--;
	}
	return NULL;
}

static const struct scen scens[] = {
	{ "open", BOTH, 1, NULL, op_open, NULL, close_fd },
	{ "sg_io_read_reserve", BOTH, 1, open_rw, op_read_reserve,
	  chk_read_reserve, close_fd },
	{ "sg_io_read_own", BOTH, 1, open_rw, op_read_own, chk_read_128k,
	  close_fd },
	{ "sg_io_write_own", BOTH, 1, open_rw, op_write_own, NULL, close_fd },
	{ "sg_io_iovec_read_own", BOTH, 1, open_rw, op_iov_read_own,
	  chk_iov_read, close_fd },
	{ "sg_io_iovec_write_reserve", BOTH, 1, open_rw, op_iov_write_reserve,
	  chk_write_reserve, close_fd },
	{ "sg_io_read_direct", BOTH, 1, setup_dio, op_read_dio, chk_read_64k,
	  cleanup_dio },
	{ "sg_io_read_mmap", BOTH, 1, setup_map, op_read_mmap, chk_read_mmap,
	  close_fd },
	{ "write_v3", BOTH, 1, open_rw, op_write_v3, chk_write_v3, close_fd },
	{ "read_v3", BOTH, 0, setup_read_v3, op_read_v3, chk_read_64k,
	  close_fd },
	{ "write_v2", BOTH, 1, open_rw, op_write_v2, chk_write_v2_reserve,
	  close_fd },
	{ "mmap", BOTH, 1, open_rw, op_mmap, NULL, close_fd },
	{ "mmap_fault", BOTH, 1, setup_map_far, op_map_fault, chk_map_fault,
	  close_fd },
	{ "reserved_size", BOTH, 1, setup_resize, op_resize, chk_resize,
	  close_fd },
	{ "queue", RSG_ONLY, 1, open_rw, op_queue, chk_queued, close_fd },
	{ "queue_batch", RSG_ONLY, 1, open_rw, op_queue_batch, chk_queued,
	  close_fd },
	{ "get", RSG_ONLY, 0, setup_queued, op_get, chk_rest, close_fd },
	{ "get_batch", RSG_ONLY, 0, setup_queued, op_get_batch, chk_rest,
	  close_fd },
};

#define NSCEN (sizeof(scens) / sizeof(scens[0]))

/* Outcomes of the faulted calls of one scenario on one driver. */
struct outcome {
	int injected;
	int nerr;
	int err[16], cnt[16];
};

static void note(struct outcome *o, int e)
{
	int i;

	for (i = 0; i < o->nerr; i++)
		if (o->err[i] == e)
			break;
	if (i == o->nerr) {
		if (o->nerr == 16)
			return;
		o->err[o->nerr++] = e;
	}
	o->cnt[i]++;
}

static int seen(const struct outcome *o, int e)
{
	int i;

	for (i = 0; i < o->nerr; i++)
		if (o->err[i] == e)
			return 1;
	return 0;
}

static void report(const struct scen *s, int d, const struct outcome *o)
{
	char line[256];
	int i, n;

	n = snprintf(line, sizeof(line), "# faults: %s %s injected=%d", s->name,
		     drv_name[d], o->injected);
	for (i = 0; i < o->nerr && n < (int)sizeof(line); i++)
		n += snprintf(line + n, sizeof(line) - n, " %s=%d",
			      err_name(o->err[i]), o->cnt[i]);
	printf("%s\n", line);
	fflush(stdout);
}

/* Module references and rsg's own accounting, to compare before/after. */
struct baseline {
	long refcnt;
	long pinned;
	char debug[4096];
};

static void read_whole(const char *path, char *out, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, out, len - 1);

	out[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

static void baseline(int d, struct baseline *b)
{
	b->refcnt = read_num("/sys/module/%s/refcnt", drv_name[d]);
	b->pinned = d == RSG ? read_num("/proc/scsi/rsg/%s", "pinned_pages")
			     : 0;
	if (d == RSG)
		read_whole("/proc/scsi/rsg/debug", b->debug, sizeof(b->debug));
	else
		b->debug[0] = '\0';
}

/*
 * Requests retire in a worker after close: give them a moment. A command
 * whose scsi_debug allocation failed is requeued and may take until its
 * timeout (20 s) to end, so wait past that.
 */
static int back_to(int d, const struct baseline *want, struct baseline *now)
{
	int i;

	for (i = 0; i < 500; i++) {
		baseline(d, now);
		if (now->refcnt == want->refcnt && now->pinned == want->pinned &&
		    !strcmp(now->debug, want->debug))
			return 1;
		sleep_ms(50);
	}
	return 0;
}

/* Runs scenario s on driver d for N = 1, 2, ... */
static void run(struct __test_metadata *_metadata, const struct scen *s,
		int d, struct outcome *o)
{
	struct baseline base, now;
	struct ctx *c;
	unsigned int n;

	memset(o, 0, sizeof(*o));
	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, c);
	memset(c, 0, sizeof(*c));
	c->d = d;
	c->path = dev_path(d);
	c->fd = -1;
	c->buf = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, c->buf);
	baseline(d, &base);

	for (n = 1; n <= MAX_NTH; n++) {
		const char *bad = NULL;
		unsigned int left;
		int r, u;

		c->queued = 0;
		cur_scen = s->name;
		cur_drv = d;
		cur_n = n;
		if (s->setup) {
			r = s->setup(c);
			ASSERT_EQ(0, r) {
				TH_LOG("%s %s: setup failed at N=%u: %s",
				       s->name, drv_name[d], n, strerror(-r));
			}
		}
		memset(c->buf, 0, REGION);
		alarm(HANG_S);
		nth_set(n);
		r = s->op(c);
		left = nth_left();
		nth_set(0);
		alarm(0);
		if (trace)
			fprintf(stderr, "# %s %s N=%u: %s%s\n", s->name,
				drv_name[d], n, err_name(-r),
				left ? " (no fault)" : "");
		ASSERT_NE(-EINTR, r) {
			TH_LOG("%s %s: hung for %d s after the fault at N=%u",
			       s->name, drv_name[d], HANG_S, n);
		}
		if (s->check)
			bad = s->check(c, r);
		if (s->cleanup)
			s->cleanup(c);
		if (left) {
			/* Fewer than n allocations: it ran without a fault. */
			ASSERT_EQ(0, r) {
				TH_LOG("%s %s: fails without a fault: %s",
				       s->name, drv_name[d], err_name(-r));
			}
			ASSERT_EQ(NULL, bad) {
				TH_LOG("%s %s without a fault: %s", s->name,
				       drv_name[d], bad);
			}
			break;
		}
		o->injected++;
		note(o, -r);
		ASSERT_EQ(NULL, bad) {
			TH_LOG("%s %s, fault at N=%u (%s): %s", s->name,
			       drv_name[d], n, err_name(-r), bad);
		}
		u = inquiry(c->path);
		ASSERT_EQ(0, u) {
			TH_LOG("%s %s: INQUIRY after the fault at N=%u: %s",
			       s->name, drv_name[d], n, err_name(-u));
		}
	}
	ASSERT_GE(MAX_NTH, n) {
		TH_LOG("%s %s: still allocating at N=%d", s->name, drv_name[d],
		       MAX_NTH);
	}
	report(s, d, o);
	if (!back_to(d, &base, &now) && d == SG) {
		/* C sg is the reference for errnos, not under test here. */
		printf("# faults: %s sg: C sg still holds %ld module references (%ld before)\n",
		       s->name, now.refcnt, base.refcnt);
	} else {
		ASSERT_EQ(base.refcnt, now.refcnt) {
			TH_LOG("%s %s: module references not back to what they were",
			       s->name, drv_name[d]);
		}
		ASSERT_EQ(base.pinned, now.pinned) {
			TH_LOG("%s %s: pinned pages not back to what they were",
			       s->name, drv_name[d]);
		}
		ASSERT_STREQ(base.debug, now.debug) {
			TH_LOG("%s %s: requests or open files not back to what they were",
			       s->name, drv_name[d]);
		}
	}
	munmap(c->buf, REGION);
	munmap(c, sizeof(*c));
}

FIXTURE(fault)
{
	int unused;
};

FIXTURE_VARIANT(fault)
{
	int scen;
};

FIXTURE_SETUP(fault)
{
	uint8_t cdb[10], sense[32];
	struct sg_io_hdr h;
	int fd;

	if (!nth_available())
		SKIP(return, "no %s: the kernel has no fault injection",
		     nth_path);
	trace = getenv("RSG_FAULT_TRACE") && *getenv("RSG_FAULT_TRACE") == '1';
	arm_watchdog();
	/* No page faults of the test's own memory inside a faulted call. */
	ASSERT_EQ(0, mlockall(MCL_CURRENT | MCL_FUTURE));
	ref = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, ref);
	pattern(ref, REGION, 7);
	fd = open(dev_path(SG), O_RDWR);
	ASSERT_LE(0, fd);
	rw_hdr(&h, cdb, sense, 1, 0, ref, REGION);
	ASSERT_EQ(0, sgio(fd, &h));
	close(fd);
}

FIXTURE_TEARDOWN(fault)
{
	if (nth_fd >= 0)
		nth_set(0);
}

/* 0 when the data at LBA is still the reference data. */
static int region_intact(void)
{
	uint8_t cdb[10], sense[32], *got = malloc(REGION);
	struct sg_io_hdr h;
	int fd, r = -1;

	fd = open(dev_path(SG), O_RDWR);
	if (got && fd >= 0) {
		rw_hdr(&h, cdb, sense, 0, 0, got, REGION);
		r = sgio(fd, &h);
		if (!r)
			r = memcmp(got, ref, REGION) ? 1 : 0;
	}
	if (fd >= 0)
		close(fd);
	free(got);
	return r;
}

#define SCEN(i, n) \
	FIXTURE_VARIANT_ADD(fault, n) { .scen = i }

SCEN(0, open);
SCEN(1, sg_io_read_reserve);
SCEN(2, sg_io_read_own);
SCEN(3, sg_io_write_own);
SCEN(4, sg_io_iovec_read_own);
SCEN(5, sg_io_iovec_write_reserve);
SCEN(6, sg_io_read_direct);
SCEN(7, sg_io_read_mmap);
SCEN(8, write_v3);
SCEN(9, read_v3);
SCEN(10, write_v2);
SCEN(11, mmap);
SCEN(12, mmap_fault);
SCEN(13, reserved_size);
SCEN(14, queue);
SCEN(15, queue_batch);
SCEN(16, get);
SCEN(17, get_batch);

/*
 * sg first, for the outcomes it gives; then rsg, whose outcomes must be
 * success, ENOMEM, or one sg gave too.
 */
TEST_F_TIMEOUT(fault, each, 600)
{
	const struct scen *s = &scens[variant->scen];
	struct outcome o[NDRV];
	int i;

	if (s->drivers & 1 << SG)
		run(_metadata, s, SG, &o[SG]);
	run(_metadata, s, RSG, &o[RSG]);
	for (i = 0; i < o[RSG].nerr; i++) {
		int e = o[RSG].err[i];

		EXPECT_TRUE(e == 0 || e == ENOMEM ||
			    (s->drivers & 1 << SG && seen(&o[SG], e))) {
			TH_LOG("%s: rsg gave %s %d times, sg never did",
			       s->name, err_name(e), o[RSG].cnt[i]);
		}
	}
	if (s->must_fault) {
		EXPECT_LT(0, o[RSG].injected);
		if (s->drivers & 1 << SG)
			EXPECT_LT(0, o[SG].injected);
	}
	/* Writes that met a fault left the data as it was. */
	EXPECT_EQ(0, region_intact());
}

/* rsg_fault nth N write FILE STRING | rsg_fault nth N load KO [PARAMS] */
static int nth_cmd(int argc, char **argv)
{
	unsigned int n, left;
	int fd, r;

	if (argc < 5 || !nth_available())
		return 2;
	n = strtoul(argv[2], NULL, 0);
	if (!strcmp(argv[3], "write")) {
		if (argc < 6)
			return 2;
		fd = open(argv[4], O_WRONLY);
		if (fd < 0)
			return 2;
		nth_set(n);
		r = write(fd, argv[5], strlen(argv[5])) < 0 ? errno : 0;
	} else if (!strcmp(argv[3], "load")) {
		fd = open(argv[4], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return 2;
		nth_set(n);
		r = syscall(SYS_finit_module, fd, argc > 5 ? argv[5] : "", 0)
			? errno : 0;
	} else {
		return 2;
	}
	left = nth_left();
	nth_set(0);
	close(fd);
	printf("ret=%d left=%u\n", r, left);
	return 0;
}

int main(int argc, char **argv)
{
	/* Results as they come, also into a file. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "nth"))
		return nth_cmd(argc, argv);
	return test_harness_run(argc, argv);
}
