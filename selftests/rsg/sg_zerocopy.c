// SPDX-License-Identifier: GPL-2.0
/*
 * The zero-copy paths of rsg against C sg on the same scsi_debug LU: the
 * mmap()-ed reserve buffer (SG_FLAG_MMAP_IO) and direct I/O
 * (SG_FLAG_DIRECT_IO). Each test does the same on both nodes and requires
 * the same errnos, info bits and data, plus the values sg defines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <scsi/sg.h>

#include "kselftest_harness.h"
#include "rsg_test.h"

#ifndef SG_FLAG_MMAP_IO
#define SG_FLAG_MMAP_IO 4
#endif

#define LBA_BASE	8192	/* away from what other suites write */
#define BS		512

static long pinned_pages(void)
{
	return read_num("/proc/scsi/rsg/%s", "pinned_pages");
}

/* One READ(10) or WRITE(10) through SG_IO; returns errno or 0. */
static int rw(int fd, int write, uint32_t lba, void *buf, unsigned int len,
	      unsigned int flags, int iovcnt, struct sg_io_hdr *out)
{
	uint8_t cdb[10], sense[32];
	struct sg_io_hdr h;

	rw10(cdb, write ? 0x2a : 0x28, lba, len / BS);
	hdr_init(&h, cdb, 10, write ? SG_DXFER_TO_DEV : SG_DXFER_FROM_DEV,
		 buf, len, sense, sizeof(sense));
	h.flags = flags;
	h.iovec_count = iovcnt;
	if (flags & SG_FLAG_MMAP_IO)
		h.dxferp = NULL;
	if (ioctl(fd, SG_IO, &h) < 0)
		return errno;
	if (out)
		*out = h;
	return h.status || h.host_status || h.driver_status ? EIO : 0;
}

FIXTURE(zc)
{
	int fd[NDRV];
	int rsv;
};

FIXTURE_SETUP(zc)
{
	const char *path[NDRV];
	int d;

	path[RSG] = getenv("RSG_DEV") ?: "/dev/rsg0";
	path[SG] = getenv("SG_DEV") ?: "/dev/sg0";
	for (d = 0; d < NDRV; d++) {
		self->fd[d] = open(path[d], O_RDWR);
		ASSERT_LE(0, self->fd[d]);
	}
	ASSERT_EQ(0, ioctl(self->fd[RSG], SG_GET_RESERVED_SIZE, &self->rsv));
	ASSERT_EQ(0, ioctl(self->fd[SG], SG_GET_RESERVED_SIZE, &d));
	ASSERT_EQ(d, self->rsv);
	ASSERT_LT(16384, self->rsv);
}

FIXTURE_TEARDOWN(zc)
{
	int d;

	for (d = 0; d < NDRV; d++)
		close(self->fd[d]);
	set_param("sg", "allow_dio", "0");
	set_param("rsg", "allow_dio", "0");
}

TEST_F(zc, mmap_offset_einval)
{
	int d, err[NDRV];

	for (d = 0; d < NDRV; d++) {
		void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd[d], 4096);

		err[d] = p == MAP_FAILED ? errno : 0;
		if (p != MAP_FAILED)
			munmap(p, 4096);
	}
	EXPECT_EQ(EINVAL, err[SG]);
	EXPECT_EQ(err[SG], err[RSG]);
}

TEST_F(zc, mmap_beyond_reserve_enomem)
{
	size_t len = self->rsv + 4096;
	int d, err[NDRV];

	for (d = 0; d < NDRV; d++) {
		void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, self->fd[d], 0);

		err[d] = p == MAP_FAILED ? errno : 0;
		if (p != MAP_FAILED)
			munmap(p, len);
	}
	EXPECT_EQ(ENOMEM, err[SG]);
	EXPECT_EQ(err[SG], err[RSG]);
}

/* Data written through the map reaches the device and comes back in it. */
TEST_F(zc, mmap_io_write_read)
{
	unsigned int len = 16384;
	uint8_t *want = malloc(len), *plain = malloc(len);
	struct sg_io_hdr h[NDRV];
	int d;

	ASSERT_TRUE(want && plain);
	for (d = 0; d < NDRV; d++) {
		uint8_t *map = mmap(NULL, self->rsv, PROT_READ | PROT_WRITE,
				    MAP_SHARED, self->fd[d], 0);
		uint32_t lba = LBA_BASE + d * 64;

		ASSERT_NE(MAP_FAILED, map);
		pattern(want, len, d + 1);
		memcpy(map, want, len);
		ASSERT_EQ(0, rw(self->fd[d], 1, lba, NULL, len, SG_FLAG_MMAP_IO, 0, &h[d]));
		EXPECT_EQ(0, h[d].info & SG_INFO_DIRECT_IO_MASK);
		memset(plain, 0, len);
		ASSERT_EQ(0, rw(self->fd[d], 0, lba, plain, len, 0, 0, NULL));
		EXPECT_EQ(0, memcmp(plain, want, len));
		memset(map, 0, len);
		ASSERT_EQ(0, rw(self->fd[d], 0, lba, NULL, len, SG_FLAG_MMAP_IO, 0, &h[d]));
		EXPECT_EQ(0, memcmp(map, want, len));
		EXPECT_EQ(0, h[d].resid);
		munmap(map, self->rsv);
	}
	EXPECT_EQ(h[SG].info, h[RSG].info);
	free(want);
	free(plain);
}

TEST_F(zc, mmap_io_rules)
{
	int d, e1[NDRV], e2[NDRV], e3[NDRV];
	uint8_t *buf = malloc(4096);
	uint8_t cdb[10];
	struct sg_io_hdr h;

	ASSERT_TRUE(buf != NULL);
	for (d = 0; d < NDRV; d++) {
		/* Larger than the reserve. */
		e1[d] = rw(self->fd[d], 0, LBA_BASE, NULL, self->rsv + BS,
			   SG_FLAG_MMAP_IO, 0, NULL);
		/* Both zero-copy flags. */
		e2[d] = rw(self->fd[d], 0, LBA_BASE, NULL, 4096,
			   SG_FLAG_MMAP_IO | SG_FLAG_DIRECT_IO, 0, NULL);
		/* The reserve is held by an unread asynchronous request. */
		rw10(cdb, 0x28, LBA_BASE, 8);
		hdr_init(&h, cdb, 10, SG_DXFER_FROM_DEV, buf, 4096, NULL, 0);
		ASSERT_EQ((ssize_t)sizeof(h), write(self->fd[d], &h, sizeof(h)));
		e3[d] = rw(self->fd[d], 0, LBA_BASE, NULL, 4096, SG_FLAG_MMAP_IO, 0, NULL);
		ASSERT_EQ((ssize_t)sizeof(h), read(self->fd[d], &h, sizeof(h)));
		/* Free again once that response is read. */
		EXPECT_EQ(0, rw(self->fd[d], 0, LBA_BASE, NULL, 4096, SG_FLAG_MMAP_IO, 0, NULL));
	}
	EXPECT_EQ(ENOMEM, e1[SG]);
	EXPECT_EQ(e1[SG], e1[RSG]);
	EXPECT_EQ(EINVAL, e2[SG]);
	EXPECT_EQ(e2[SG], e2[RSG]);
	EXPECT_EQ(EBUSY, e3[SG]);
	EXPECT_EQ(e3[SG], e3[RSG]);
	free(buf);
}

TEST_F(zc, reserve_resize_after_mmap_ebusy)
{
	int d, same[NDRV], other[NDRV], val;

	for (d = 0; d < NDRV; d++) {
		void *map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd[d], 0);

		ASSERT_NE(MAP_FAILED, map);
		val = self->rsv;
		same[d] = ioctl(self->fd[d], SG_SET_RESERVED_SIZE, &val) ? errno : 0;
		val = self->rsv * 2;
		other[d] = ioctl(self->fd[d], SG_SET_RESERVED_SIZE, &val) ? errno : 0;
		/* Even after munmap: the file was mapped once. */
		munmap(map, 4096);
		val = self->rsv * 2;
		if (ioctl(self->fd[d], SG_SET_RESERVED_SIZE, &val) == 0)
			other[d] = -1;
	}
	EXPECT_EQ(0, same[SG]);
	EXPECT_EQ(same[SG], same[RSG]);
	EXPECT_EQ(EBUSY, other[SG]);
	EXPECT_EQ(other[SG], other[RSG]);
}

/* fork(), dup(), two maps, and close before munmap all keep working. */
TEST_F(zc, mmap_fork_dup_close)
{
	unsigned int len = 8192;
	int d;

	for (d = 0; d < NDRV; d++) {
		uint8_t *a, *b;
		pid_t pid;
		int st, fd2;

		a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd[d], 0);
		b = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd[d], 0);
		ASSERT_NE(MAP_FAILED, a);
		ASSERT_NE(MAP_FAILED, b);
		memset(a, 0x11 + d, len);
		EXPECT_EQ(0x11 + d, b[len - 1]);
		fd2 = dup(self->fd[d]);
		ASSERT_LE(0, fd2);
		pid = fork();
		if (pid == 0)
			_exit(rw(fd2, 1, LBA_BASE + 128, NULL, len, SG_FLAG_MMAP_IO, 0, NULL) ||
			      b[0] != 0x11 + d);
		ASSERT_LT(0, pid);
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		close(fd2);
		/* The pages outlive the file. */
		close(self->fd[d]);
		self->fd[d] = open(d == RSG ? (getenv("RSG_DEV") ?: "/dev/rsg0") :
				   (getenv("SG_DEV") ?: "/dev/sg0"), O_RDWR);
		ASSERT_LE(0, self->fd[d]);
		EXPECT_EQ(0x11 + d, a[0]);
		a[1] = 0;
		munmap(a, len);
		munmap(b, len);
	}
}

/* Direct I/O only with allow_dio, and only when sg's conditions hold. */
TEST_F(zc, dio_info_bits)
{
	unsigned int len = 65536;
	uint8_t *buf, *want;
	struct sg_io_hdr h[NDRV];
	struct iovec iov[2];
	int d, off[NDRV], on[NDRV], unal[NDRV], vec[NDRV];

	ASSERT_EQ(0, posix_memalign((void **)&buf, 4096, len + 4096));
	want = malloc(len);
	ASSERT_TRUE(want != NULL);
	for (d = 0; d < NDRV; d++) {
		uint32_t lba = LBA_BASE + 256 + d * 256;

		pattern(want, len, 7 + d);
		ASSERT_EQ(0, rw(self->fd[d], 1, lba, want, len, 0, 0, NULL));
		ASSERT_EQ(0, set_param(drv_name[d], "allow_dio", "0"));
		memset(buf, 0, len);
		ASSERT_EQ(0, rw(self->fd[d], 0, lba, buf, len, SG_FLAG_DIRECT_IO, 0, &h[d]));
		off[d] = h[d].info & SG_INFO_DIRECT_IO_MASK;
		EXPECT_EQ(0, memcmp(buf, want, len));

		ASSERT_EQ(0, set_param(drv_name[d], "allow_dio", "1"));
		memset(buf, 0, len);
		ASSERT_EQ(0, rw(self->fd[d], 0, lba, buf, len, SG_FLAG_DIRECT_IO, 0, &h[d]));
		on[d] = h[d].info & SG_INFO_DIRECT_IO_MASK;
		EXPECT_EQ(0, memcmp(buf, want, len));

		/* Misaligned for the queue's DMA alignment. */
		memset(buf, 0, len + 1);
		ASSERT_EQ(0, rw(self->fd[d], 0, lba, buf + 1, len, SG_FLAG_DIRECT_IO, 0, &h[d]));
		unal[d] = h[d].info & SG_INFO_DIRECT_IO_MASK;
		EXPECT_EQ(0, memcmp(buf + 1, want, len));

		/* An iovec. */
		memset(buf, 0, len);
		iov[0] = (struct iovec){ buf, len / 2 };
		iov[1] = (struct iovec){ buf + len / 2, len / 2 };
		ASSERT_EQ(0, rw(self->fd[d], 0, lba, iov, len, SG_FLAG_DIRECT_IO, 2, &h[d]));
		vec[d] = h[d].info & SG_INFO_DIRECT_IO_MASK;
		EXPECT_EQ(0, memcmp(buf, want, len));
	}
	EXPECT_EQ(0, off[SG]);
	EXPECT_EQ(SG_INFO_DIRECT_IO, on[SG]);
	EXPECT_EQ(0, unal[SG]);
	EXPECT_EQ(0, vec[SG]);
	EXPECT_EQ(off[SG], off[RSG]);
	EXPECT_EQ(on[SG], on[RSG]);
	EXPECT_EQ(unal[SG], unal[RSG]);
	EXPECT_EQ(vec[SG], vec[RSG]);
	EXPECT_EQ(0, pinned_pages());
	free(buf);
	free(want);
}

/*
 * A 256-page (1 MiB) buffer is mapped directly by both drivers. One page
 * more than the adapter's scatter/gather table goes through kernel pages in
 * rsg (sg fails it, a documented difference, so only rsg is run there).
 */
TEST_F(zc, dio_segment_limit)
{
	unsigned int big = 256 * 4096, over;
	struct sg_io_hdr h;
	uint8_t *buf, *want;
	int d, val, tablesize;

	ASSERT_EQ(0, ioctl(self->fd[RSG], SG_GET_SG_TABLESIZE, &tablesize));
	ASSERT_EQ(0, ioctl(self->fd[SG], SG_GET_SG_TABLESIZE, &val));
	ASSERT_EQ(val, tablesize);
	ASSERT_EQ(0, ioctl(self->fd[RSG], BLKSECTGET, &val));
	over = (tablesize + 1) * 4096;
	/* BLKSECTGET answers in bytes; beyond that, only the 256-page part runs. */
	if (over < big || over > (16u << 20) || over > (unsigned int)val)
		over = big;
	ASSERT_EQ(0, posix_memalign((void **)&buf, 4096, over));
	want = malloc(over);
	ASSERT_TRUE(want != NULL);
	pattern(want, over, 3);
	ASSERT_EQ(0, rw(self->fd[RSG], 1, LBA_BASE + 1024, want, over, 0, 0, NULL));
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, set_param(drv_name[d], "allow_dio", "1"));
		/* Small, so the reserve buffer is no way out. */
		val = 32768;
		ASSERT_EQ(0, ioctl(self->fd[d], SG_SET_RESERVED_SIZE, &val));
		memset(buf, 0, over);
		ASSERT_EQ(0, rw(self->fd[d], 0, LBA_BASE + 1024, buf, big, SG_FLAG_DIRECT_IO, 0, &h));
		EXPECT_EQ(SG_INFO_DIRECT_IO, h.info & SG_INFO_DIRECT_IO_MASK) TH_LOG("%s", drv_name[d]);
		EXPECT_EQ(0, memcmp(buf, want, big));
	}
	if (over > big) {
		memset(buf, 0, over);
		ASSERT_EQ(0, rw(self->fd[RSG], 0, LBA_BASE + 1024, buf, over, SG_FLAG_DIRECT_IO, 0, &h));
		EXPECT_EQ(0, h.info & SG_INFO_DIRECT_IO_MASK);
		EXPECT_EQ(0, memcmp(buf, want, over));
	}
	EXPECT_EQ(0, pinned_pages());
	free(buf);
	free(want);
}

/* Pages pinned for requests in flight are released when they finish. */
TEST_F(zc, dio_async_unpinned_after_close)
{
	unsigned int len = 32768;
	uint8_t *buf, cdb[10];
	struct sg_io_hdr h;
	int i, fd;

	ASSERT_EQ(0, posix_memalign((void **)&buf, 4096, 8 * len));
	ASSERT_EQ(0, set_param("rsg", "allow_dio", "1"));
	fd = open(getenv("RSG_DEV") ?: "/dev/rsg0", O_RDWR);
	ASSERT_LE(0, fd);
	for (i = 0; i < 8; i++) {
		rw10(cdb, 0x28, LBA_BASE + i * 64, len / BS);
		hdr_init(&h, cdb, 10, SG_DXFER_FROM_DEV, buf + i * len, len, NULL, 0);
		h.flags = SG_FLAG_DIRECT_IO;
		ASSERT_EQ((ssize_t)sizeof(h), write(fd, &h, sizeof(h)));
	}
	close(fd);
	/* Unread responses are retired from a worker after the close. */
	for (i = 0; i < 50 && pinned_pages(); i++)
		usleep(20000);
	EXPECT_EQ(0, pinned_pages());
	free(buf);
}

TEST_HARNESS_MAIN
