// SPDX-License-Identifier: GPL-2.0
/*
 * Small steps of rsg's queue interface for shell suites that unload the
 * module or remove the device.
 *
 * usage: rsg_qhold -q [-n N] [-d] DEV   queue N READ(10)s of a page each
 *                                      (default 64; -d: SG_FLAG_DIRECT_IO)
 *                                      and exit without reaping them
 *        rsg_qhold -r DEV              what a new open sees
 *        rsg_qhold -D DEV              the depth, and depth + 1 requests
 *        rsg_qhold -u MODULE           delete_module(MODULE, O_NONBLOCK)
 *
 * One line per step, "NAME VALUE" with an errno (0 for success) or count:
 *	-q: "queued N" or "queued K errno E"
 *	-r: "RSG_IOGET E", "RSG_IOGET_BATCH E", "POLLIN 0|1"
 *	-D: "depth D", "queued D", "next E"
 *	-u: "delete_module E"
 * Exit status 0 when DEV opened (or the syscall ran), 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <scsi/rsg.h>

#define PAGE		4096
#define LBA_HOLD	207000

static int err(int r)
{
	return r < 0 ? errno : 0;
}

static void hdr(struct sg_io_hdr *h, uint8_t *cdb, int cdb_len, int dir,
		void *buf, unsigned int len, uintptr_t tag)
{
	memset(h, 0, sizeof(*h));
	h->interface_id = 'S';
	h->dxfer_direction = dir;
	h->cmd_len = cdb_len;
	h->cmdp = cdb;
	h->dxferp = buf;
	h->dxfer_len = len;
	h->timeout = 60000;
	h->pack_id = tag;
	h->usr_ptr = (void *)tag;
}

/* N READ(10)s of a page each, left running when the process exits. */
static int hold(int fd, int n, int dio)
{
	uint8_t (*cdb)[10] = calloc(n, sizeof(*cdb));
	uint8_t *buf = aligned_alloc(PAGE, (size_t)n * PAGE);
	struct sg_io_hdr h;
	int i;

	if (!cdb || !buf)
		return 1;
	for (i = 0; i < n; i++) {
		uint32_t lba = LBA_HOLD + i * (PAGE / 512);

		cdb[i][0] = 0x28;
		cdb[i][2] = lba >> 24;
		cdb[i][3] = lba >> 16;
		cdb[i][4] = lba >> 8;
		cdb[i][5] = lba;
		cdb[i][8] = PAGE / 512;
		hdr(&h, cdb[i], 10, SG_DXFER_FROM_DEV, buf + (size_t)i * PAGE,
		    PAGE, i + 1);
		if (dio)
			h.flags = SG_FLAG_DIRECT_IO;
		if (ioctl(fd, RSG_IOQUEUE, &h) < 0) {
			printf("queued %d errno %d\n", i, errno);
			return 0;
		}
	}
	printf("queued %d\n", n);
	return 0;
}

static int reopen(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct sg_io_hdr h[4];
	struct rsg_batch b = { .hdrs = (uintptr_t)h, .count = 4 };

	printf("RSG_IOGET %d\n", err(ioctl(fd, RSG_IOGET, h)));
	printf("RSG_IOGET_BATCH %d\n", err(ioctl(fd, RSG_IOGET_BATCH, &b)));
	printf("POLLIN %d\n", poll(&p, 1, 0) > 0 && (p.revents & POLLIN));
	return 0;
}

/* The depth, then that many TEST UNIT READYs and one more. */
static int depth(int fd)
{
	uint8_t cdb[6] = { 0 };
	struct sg_io_hdr h;
	int d = 0, i, r = 0;

	if (ioctl(fd, RSG_GET_QUEUE_DEPTH, &d) < 0) {
		printf("depth errno %d\n", errno);
		return 0;
	}
	printf("depth %d\n", d);
	for (i = 0; i < d; i++) {
		hdr(&h, cdb, 6, SG_DXFER_NONE, NULL, 0, i + 1);
		r = err(ioctl(fd, RSG_IOQUEUE, &h));
		if (r)
			break;
	}
	printf("queued %d\n", i);
	hdr(&h, cdb, 6, SG_DXFER_NONE, NULL, 0, d + 1);
	printf("next %d\n", err(ioctl(fd, RSG_IOQUEUE, &h)));
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: rsg_qhold -q [-n N] [-d] DEV | -r DEV | -D DEV | -u MODULE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int c, mode = 0, n = 64, dio = 0, fd;

	while ((c = getopt(argc, argv, "qrDun:d")) != -1) {
		switch (c) {
		case 'q':
		case 'r':
		case 'D':
		case 'u':
			mode = c;
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 'd':
			dio = 1;
			break;
		default:
			usage();
		}
	}
	if (!mode || optind != argc - 1 || n <= 0)
		usage();
	if (mode == 'u') {
		printf("delete_module %d\n",
		       err(syscall(SYS_delete_module, argv[optind], O_NONBLOCK)));
		return 0;
	}
	fd = open(argv[optind], O_RDWR);
	if (fd < 0) {
		printf("open %d\n", errno);
		return 1;
	}
	switch (mode) {
	case 'q':
		c = hold(fd, n, dio);
		break;
	case 'r':
		c = reopen(fd);
		break;
	default:
		c = depth(fd);
		break;
	}
	fflush(stdout);
	close(fd);
	return c;
}
