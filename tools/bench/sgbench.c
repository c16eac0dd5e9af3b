// SPDX-License-Identifier: GPL-2.0
/*
 * sgbench: time SCSI READs or WRITEs through an sg or rsg node with SG_IO,
 * moving data the three ways sg offers: through kernel buffers (indirect),
 * the mmap()-ed reserve buffer, or the caller's pinned pages (direct).
 *
 *   sgbench DEV indirect|mmap|direct read|write BYTES SECONDS
 *
 * Prints one line: DEV mode dir bytes ops MB/s us/op direct_fraction
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <scsi/sg.h>

#ifndef SG_FLAG_MMAP_IO
#define SG_FLAG_MMAP_IO 4
#endif

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned char cdb[10], sense[32];
	struct sg_io_hdr h;
	unsigned long ops = 0, direct = 0;
	unsigned int bytes, blocks, lba = 0;
	double secs, start, t;
	void *buf = NULL;
	int fd, mode, write, rsv;

	if (argc != 6) {
		fprintf(stderr, "usage: %s DEV indirect|mmap|direct read|write BYTES SECONDS\n",
			argv[0]);
		return 2;
	}
	mode = !strcmp(argv[2], "mmap") ? 1 : !strcmp(argv[2], "direct") ? 2 : 0;
	write = !strcmp(argv[3], "write");
	bytes = strtoul(argv[4], NULL, 0);
	secs = strtod(argv[5], NULL);
	blocks = bytes / 512;
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	rsv = bytes;
	if (mode == 1) {
		if (ioctl(fd, SG_SET_RESERVED_SIZE, &rsv) < 0 ||
		    ioctl(fd, SG_GET_RESERVED_SIZE, &rsv) < 0 || rsv < (int)bytes) {
			fprintf(stderr, "reserve of %u bytes not available (%d)\n", bytes, rsv);
			return 1;
		}
		buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (buf == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
	} else if (posix_memalign(&buf, 4096, bytes)) {
		return 1;
	}
	memset(buf, 0x5a, bytes);
	start = now();
	do {
		memset(cdb, 0, sizeof(cdb));
		cdb[0] = write ? 0x2a : 0x28;
		cdb[2] = lba >> 24;
		cdb[3] = lba >> 16;
		cdb[4] = lba >> 8;
		cdb[5] = lba;
		cdb[7] = blocks >> 8;
		cdb[8] = blocks;
		memset(&h, 0, sizeof(h));
		h.interface_id = 'S';
		h.dxfer_direction = write ? SG_DXFER_TO_DEV : SG_DXFER_FROM_DEV;
		h.cmd_len = sizeof(cdb);
		h.cmdp = cdb;
		h.mx_sb_len = sizeof(sense);
		h.sbp = sense;
		h.dxfer_len = bytes;
		h.dxferp = mode == 1 ? NULL : buf;
		h.flags = mode == 1 ? SG_FLAG_MMAP_IO : mode == 2 ? SG_FLAG_DIRECT_IO : 0;
		h.timeout = 20000;
		if (ioctl(fd, SG_IO, &h) < 0 || h.status || h.host_status || h.driver_status) {
			fprintf(stderr, "SG_IO failed: %s status %d host %d\n", strerror(errno),
				h.status, h.host_status);
			return 1;
		}
		if (h.info & SG_INFO_DIRECT_IO)
			direct++;
		ops++;
		lba = (lba + blocks) % (64u << 11);
		t = now() - start;
	} while (t < secs);
	printf("%s %s %s %u %lu %.1f %.1f %.2f\n", argv[1], argv[2], argv[3], bytes, ops,
	       ops * (double)bytes / t / 1e6, t / ops * 1e6, (double)direct / ops);
	return 0;
}
