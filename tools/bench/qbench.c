// SPDX-License-Identifier: GPL-2.0
/*
 * qbench: keep DEPTH random READs of BS bytes outstanding on one sg or rsg
 * file for SECONDS, through one of three interfaces, or measure the memory
 * that outstanding requests hold.
 *
 *   qbench DEV sg|queue|batch DEPTH BS SECONDS
 *	sg:    write() each request, poll(), read() each response (sg's own
 *	       asynchronous interface; sg allows 16 per file)
 *	queue: RSG_IOQUEUE each request, poll(), RSG_IOGET each completion
 *	batch: RSG_IOQUEUE_BATCH every free slot, RSG_IOGET_BATCH (waiting)
 *   prints: ops IOPS MB/s
 *
 *   qbench DEV mem-write|mem-queue FILES PER_FILE BS
 *	opens FILES files and puts PER_FILE READs on each (write() or
 *	RSG_IOQUEUE), with the device slow enough (scsi_debug's delay) that
 *	none completes before the memory is sampled; then reaps them all.
 *   prints: requests bytes_per_req slab_bytes_per_req
 *	bytes: free pages (with the per-CPU lists of /proc/zoneinfo) before
 *	and after queueing; slab: /proc/meminfo's Slab.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <scsi/sg.h>
#include "../../include/uapi/scsi/rsg.h"

#define SPAN_BLOCKS	(128u << 11)	/* random LBAs within 128 MiB */
#define MAX_DEPTH	4096
#define MAX_FILES	64

enum mode { M_SG, M_QUEUE, M_BATCH };

struct slot {
	unsigned char cdb[10];
	unsigned char sense[32];
	void *buf;
};

static struct slot slots[MAX_DEPTH];
static struct sg_io_hdr hdrs[MAX_DEPTH];
static unsigned int bytes, blocks;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned int next_lba(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng % (SPAN_BLOCKS / blocks)) * blocks;
}

static void die(const char *what)
{
	fprintf(stderr, "qbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Fills in slot i's header for a READ(10) at a fresh random LBA. */
static struct sg_io_hdr *prep(unsigned int i)
{
	struct slot *s = &slots[i];
	struct sg_io_hdr *h = &hdrs[i];
	unsigned int lba = next_lba();

	memset(s->cdb, 0, sizeof(s->cdb));
	s->cdb[0] = 0x28;
	s->cdb[2] = lba >> 24;
	s->cdb[3] = lba >> 16;
	s->cdb[4] = lba >> 8;
	s->cdb[5] = lba;
	s->cdb[7] = blocks >> 8;
	s->cdb[8] = blocks;
	memset(h, 0, sizeof(*h));
	h->interface_id = 'S';
	h->dxfer_direction = SG_DXFER_FROM_DEV;
	h->cmd_len = sizeof(s->cdb);
	h->cmdp = s->cdb;
	h->mx_sb_len = sizeof(s->sense);
	h->sbp = s->sense;
	h->dxfer_len = bytes;
	h->dxferp = s->buf;
	h->timeout = 60000;
	h->pack_id = i;
	h->usr_ptr = (void *)(uintptr_t)i;
	return h;
}

static void check(const struct sg_io_hdr *h)
{
	if (h->status || h->host_status || h->driver_status) {
		fprintf(stderr, "qbench: READ failed: status %d host %d driver %d\n",
			h->status, h->host_status, h->driver_status);
		exit(1);
	}
}

static void wait_in(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, 60000) <= 0)
		if (errno != EINTR)
			die("poll");
}

/* Queues slot i through the interface of `mode`. */
static int submit(int fd, enum mode mode, unsigned int i)
{
	struct sg_io_hdr *h = prep(i);

	if (mode == M_SG)
		return write(fd, h, sizeof(*h)) == sizeof(*h) ? 0 : -1;
	return ioctl(fd, RSG_IOQUEUE, h);
}

/* Reaps one completion without waiting; its slot, or -1 (EAGAIN). */
static int reap(int fd, enum mode mode)
{
	struct sg_io_hdr h;

	memset(&h, 0, sizeof(h));
	h.interface_id = 'S';
	h.pack_id = -1;
	if (mode == M_SG) {
		if (read(fd, &h, sizeof(h)) != sizeof(h))
			return -1;
	} else if (ioctl(fd, RSG_IOGET, &h) < 0) {
		return -1;
	}
	check(&h);
	return (int)(uintptr_t)h.usr_ptr;
}

static int run(const char *dev, enum mode mode, unsigned int depth, double secs)
{
	static struct sg_io_hdr done[MAX_DEPTH];
	unsigned long ops = 0;
	unsigned int free_slots[MAX_DEPTH], nfree = 0, i, n;
	double start, t;
	int fd;

	fd = open(dev, O_RDWR | O_NONBLOCK);
	if (fd < 0)
		die(dev);
	for (i = 0; i < depth; i++) {
		if (posix_memalign(&slots[i].buf, 4096, bytes))
			die("posix_memalign");
		memset(slots[i].buf, 0, bytes);
		free_slots[nfree++] = i;
	}
	start = now();
	do {
		if (mode == M_BATCH) {
			struct rsg_batch b = { .count = nfree };

			for (i = 0; i < nfree; i++)
				done[i] = *prep(free_slots[i]);
			b.hdrs = (uintptr_t)done;
			if (nfree && ioctl(fd, RSG_IOQUEUE_BATCH, &b) < 0)
				die("RSG_IOQUEUE_BATCH");
			/* What was not queued stays free. */
			memmove(free_slots, free_slots + b.done,
				(nfree - b.done) * sizeof(free_slots[0]));
			nfree -= b.done;
			b = (struct rsg_batch){ .hdrs = (uintptr_t)done, .count = depth,
						.flags = RSG_BATCH_WAIT };
			if (ioctl(fd, RSG_IOGET_BATCH, &b) < 0)
				die("RSG_IOGET_BATCH");
			for (i = 0; i < b.done; i++) {
				check(&done[i]);
				free_slots[nfree++] = (uintptr_t)done[i].usr_ptr;
			}
			ops += b.done;
		} else {
			while (nfree && submit(fd, mode, free_slots[nfree - 1]) == 0)
				nfree--;
			if (nfree && errno != EAGAIN && errno != EDOM)
				die("queue");
			wait_in(fd);
			while ((n = reap(fd, mode)) != (unsigned int)-1) {
				free_slots[nfree++] = n;
				ops++;
			}
			if (errno != EAGAIN)
				die("reap");
		}
		t = now() - start;
	} while (t < secs);
	/* Drain what is still outstanding. */
	while (nfree < depth) {
		wait_in(fd);
		while ((n = reap(fd, mode == M_BATCH ? M_QUEUE : mode)) != (unsigned int)-1)
			nfree++;
	}
	printf("%lu %.1f %.2f\n", ops, ops / t, ops * (double)bytes / t / 1e6);
	return 0;
}

/* Free pages, counting those on the per-CPU lists, from /proc/zoneinfo. */
static long free_pages(void)
{
	char line[256];
	long total = 0, v;
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		die("/proc/zoneinfo");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " pages free %ld", &v) == 1 ||
		    sscanf(line, " count: %ld", &v) == 1)
			total += v;
	}
	fclose(f);
	return total;
}

static long meminfo_kb(const char *key)
{
	char line[256];
	size_t len = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		die("/proc/meminfo");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':')
			v = strtol(line + len + 1, NULL, 10);
	fclose(f);
	return v;
}

static int mem(const char *dev, int rsgq, unsigned int files, unsigned int per)
{
	int fds[MAX_FILES], waiting;
	unsigned int f, i, n = files * per;
	long free0, slab0, free1, slab1;

	if (files > MAX_FILES || n > MAX_DEPTH)
		return 2;
	for (f = 0; f < files; f++) {
		fds[f] = open(dev, O_RDWR | O_NONBLOCK);
		if (fds[f] < 0)
			die(dev);
	}
	for (i = 0; i < n; i++) {
		if (posix_memalign(&slots[i].buf, 4096, bytes))
			die("posix_memalign");
		memset(slots[i].buf, 0, bytes);
		prep(i);
	}
	usleep(300000);
	free0 = free_pages();
	slab0 = meminfo_kb("Slab");
	for (i = 0; i < n; i++)
		if (submit(fds[i / per], rsgq ? M_QUEUE : M_SG, i) < 0)
			die("queue");
	usleep(200000);
	free1 = free_pages();
	slab1 = meminfo_kb("Slab");
	/* Anything already complete means the sample came too late. */
	for (f = 0; f < files; f++) {
		struct pollfd p = { .fd = fds[f], .events = POLLIN };

		if (poll(&p, 1, 0) > 0) {
			fprintf(stderr, "qbench: requests completed before the sample\n");
			return 1;
		}
	}
	for (f = 0; f < files; f++) {
		for (waiting = per; waiting > 0;) {
			wait_in(fds[f]);
			while (reap(fds[f], rsgq ? M_QUEUE : M_SG) >= 0)
				waiting--;
		}
		close(fds[f]);
	}
	printf("%u %.0f %.0f\n", n, (free0 - free1) * 4096.0 / n, (slab1 - slab0) * 1024.0 / n);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int depth;

	if (argc != 6) {
		fprintf(stderr,
			"usage: %s DEV sg|queue|batch DEPTH BS SECONDS\n"
			"       %s DEV mem-write|mem-queue FILES PER_FILE BS\n",
			argv[0], argv[0]);
		return 2;
	}
	if (!strncmp(argv[2], "mem-", 4)) {
		bytes = strtoul(argv[5], NULL, 0);
		blocks = bytes / 512;
		if (!blocks)
			return 2;
		return mem(argv[1], !strcmp(argv[2], "mem-queue"), strtoul(argv[3], NULL, 0),
			   strtoul(argv[4], NULL, 0));
	}
	depth = strtoul(argv[3], NULL, 0);
	bytes = strtoul(argv[4], NULL, 0);
	blocks = bytes / 512;
	if (!depth || depth > MAX_DEPTH || !blocks)
		return 2;
	if (!strcmp(argv[2], "sg"))
		return run(argv[1], M_SG, depth, strtod(argv[5], NULL));
	if (!strcmp(argv[2], "queue"))
		return run(argv[1], M_QUEUE, depth, strtod(argv[5], NULL));
	if (!strcmp(argv[2], "batch"))
		return run(argv[1], M_BATCH, depth, strtod(argv[5], NULL));
	return 2;
}
