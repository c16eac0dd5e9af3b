// SPDX-License-Identifier: GPL-2.0
/*
 * The 32-bit compat paths of sg, compared between rsg and sg on one
 * scsi_debug LU: built with -m32, so that sg_io_hdr and sg_req_info have
 * their i386 layouts and every call goes through the compat syscall entry.
 *
 * In failure messages "expected" is what sg did and "seen" what rsg did.
 */

#include <poll.h>
#include <stddef.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "rsg_test.h"

#define HDR_SZ		((long)sizeof(struct sg_io_hdr))
#define V2_SZ		((long)sizeof(struct sg_header))
/* The 64-bit kernel's own struct sg_io_hdr. */
#define NATIVE_HDR_SZ	88
#define TABLE_SZ	(SG_MAX_QUEUE * (long)sizeof(sg_req_info_t))
#define SLACK_MS	5000


FIXTURE(compat)
{
	int fd[NDRV];
	const char *path[NDRV];
};

static int get_int(int fd, unsigned long cmd)
{
	int v = -12345;

	if (ioctl(fd, cmd, &v) < 0)
		return -errno;
	return v;
}

static int wait_waiting(int fd, int n)
{
	int v = -1, i;

	for (i = 0; i < SLACK_MS / 2; i++) {
		v = get_int(fd, SG_GET_NUM_WAITING);
		if (v < 0 || v >= n)
			break;
		/*
		 * Not usleep(): 32-bit glibc uses the old time syscalls,
		 * which kernels without COMPAT_32BIT_TIME lack.
		 */
		poll(NULL, 0, 2);
	}
	return v;
}

/* write() a v3 header in the 88 bytes sg insists on (see async_v3). */
static long write_hdr(int fd, const struct sg_io_hdr *h)
{
	uint8_t b[NATIVE_HDR_SZ];

	memset(b, 0, sizeof(b));
	memcpy(b, h, sizeof(*h));
	return rv(write(fd, b, sizeof(b)));
}

FIXTURE_SETUP(compat)
{
	struct lu lu[NDRV];
	int d;

	for (d = 0; d < NDRV; d++) {
		self->fd[d] = -1;
		self->path[d] = dev_path(d);
		ASSERT_EQ(0, lu_info(self->path[d], &lu[d])) {
			TH_LOG("no sysfs device behind %s", self->path[d]);
		}
	}
	ASSERT_EQ(0, memcmp(&lu[SG], &lu[RSG], sizeof(lu[SG])));
	ASSERT_EQ(0, clear_ua(self->path[SG]));
	for (d = 0; d < NDRV; d++) {
		self->fd[d] = open(self->path[d], O_RDWR);
		ASSERT_LE(0, self->fd[d]) {
			TH_LOG("open %s: %s", self->path[d], strerror(errno));
		}
	}
}

FIXTURE_TEARDOWN(compat)
{
	int d;

	for (d = 0; d < NDRV; d++)
		if (self->fd[d] >= 0)
			close(self->fd[d]);
}

static void assert_same(struct __test_metadata *_metadata,
			const struct sg_io_hdr *out,
			const struct sg_io_hdr *in)
{
	const struct sg_io_hdr *a = &out[RSG], *b = &out[SG];
	int d;

	for (d = 0; d < NDRV; d++) {
		ASSERT_TRUE(inputs_kept(&out[d], &in[d])) {
			TH_LOG("%s changed an input field", drv_name[d]);
		}
		ASSERT_GE(SLACK_MS, out[d].duration);
	}
	ASSERT_EQ(b->status, a->status);
	ASSERT_EQ(b->masked_status, a->masked_status);
	ASSERT_EQ(b->msg_status, a->msg_status);
	ASSERT_EQ(b->sb_len_wr, a->sb_len_wr);
	ASSERT_EQ(b->host_status, a->host_status);
	ASSERT_EQ(b->driver_status, a->driver_status);
	ASSERT_EQ(b->resid, a->resid);
	ASSERT_EQ(b->info, a->info);
}

static void assert_good(struct __test_metadata *_metadata,
			const struct sg_io_hdr *out,
			const struct sg_io_hdr *in)
{
	assert_same(_metadata, out, in);
	ASSERT_EQ(0, out[SG].status);
	ASSERT_EQ(0, out[SG].masked_status);
	ASSERT_EQ(0, out[SG].sb_len_wr);
	ASSERT_EQ(0, out[SG].host_status);
	ASSERT_EQ(0, out[SG].driver_status);
	ASSERT_EQ(0, out[SG].resid);
	ASSERT_EQ(0, out[SG].info);
}

/* This build really is 32-bit. */
TEST_F(compat, abi)
{
	ASSERT_EQ(4, sizeof(void *));
	ASSERT_EQ(64, sizeof(struct sg_io_hdr));
	ASSERT_EQ(20, sizeof(sg_req_info_t));
	ASSERT_EQ(36, sizeof(struct sg_header));
}

TEST_F(compat, sg_io_inquiry)
{
	struct sg_io_hdr in[NDRV], out[NDRV];
	uint8_t buf[NDRV][128], sense[NDRV][32];
	int err[NDRV], d;

	for (d = 0; d < NDRV; d++) {
		memset(buf[d], POISON, sizeof(buf[d]));
		memset(sense[d], SENSE_POISON, sizeof(sense[d]));
		hdr_init(&in[d], inq_cdb, 6, SG_DXFER_FROM_DEV, buf[d], 96,
			 sense[d], sizeof(sense[d]));
		out[d] = in[d];
		err[d] = sg_io(self->fd[d], &out[d]);
	}
	ASSERT_SG(0, err);
	assert_good(_metadata, out, in);
	ASSERT_EQ(96, buf[SG][4] + 5);
	ASSERT_EQ(POISON, buf[SG][96]);
	ASSERT_EQ(0, memcmp(buf[SG], buf[RSG], sizeof(buf[SG])));
	ASSERT_EQ(SENSE_POISON, sense[SG][0]);
	ASSERT_EQ(0, memcmp(sense[SG], sense[RSG], sizeof(sense[SG])));
}

TEST_F(compat, sg_io_check_condition)
{
	struct sg_io_hdr in[NDRV], out[NDRV];
	uint8_t sense[NDRV][32];
	int err[NDRV], d;

	for (d = 0; d < NDRV; d++) {
		memset(sense[d], SENSE_POISON, sizeof(sense[d]));
		hdr_init(&in[d], bad_cdb, 6, SG_DXFER_NONE, NULL, 0, sense[d],
			 sizeof(sense[d]));
		out[d] = in[d];
		err[d] = sg_io(self->fd[d], &out[d]);
	}
	ASSERT_SG(0, err);
	assert_same(_metadata, out, in);
	ASSERT_EQ(0x02, out[SG].status);
	ASSERT_EQ(DRIVER_SENSE, out[SG].driver_status);
	ASSERT_EQ(18, out[SG].sb_len_wr);
	ASSERT_EQ(SG_INFO_CHECK, out[SG].info);
	ASSERT_EQ(0x20, sense[SG][12]);
	ASSERT_EQ(0, memcmp(sense[SG], sense[RSG], sizeof(sense[SG])));
}

/*
 * write() of a v3 header: sg checks the count against the 64-bit kernel's
 * struct size before it reads the 32-bit header, so a 32-bit caller must
 * write at least 88 bytes. read() takes the 32-bit size.
 */
TEST_F(compat, async_v3)
{
	struct sg_io_hdr in[NDRV], out[NDRV];
	uint8_t wb[NATIVE_HDR_SZ], rb[NDRV][128], buf[NDRV][128];
	long w[NDRV][3], r[NDRV][2];
	int q[NDRV], d;

	for (d = 0; d < NDRV; d++) {
		memset(buf[d], POISON, sizeof(buf[d]));
		hdr_init(&in[d], inq_cdb, 6, SG_DXFER_FROM_DEV, buf[d], 96,
			 NULL, 0);
		in[d].pack_id = 5 + d;
		in[d].usr_ptr = &in[d];
		memset(wb, 0, sizeof(wb));
		memcpy(wb, &in[d], HDR_SZ);
		w[d][0] = rv(write(self->fd[d], wb, HDR_SZ));
		w[d][1] = rv(write(self->fd[d], wb, NATIVE_HDR_SZ - 1));
		q[d] = get_int(self->fd[d], SG_GET_COMMAND_Q);
		w[d][2] = rv(write(self->fd[d], wb, NATIVE_HDR_SZ));
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		memset(rb[d], POISON, sizeof(rb[d]));
		r[d][0] = rv(read(self->fd[d], rb[d], NATIVE_HDR_SZ));
		memcpy(&out[d], rb[d], HDR_SZ);

		/* Short of the 32-bit header: EINVAL, and the response is gone. */
		ASSERT_EQ(NATIVE_HDR_SZ, rv(write(self->fd[d], wb,
						  NATIVE_HDR_SZ)));
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		r[d][1] = rv(read(self->fd[d], rb[d] + 100, HDR_SZ - 1));
		ASSERT_EQ(0, get_int(self->fd[d], SG_GET_NUM_WAITING));
	}
	ASSERT_EQ(-EINVAL, w[SG][0]);
	ASSERT_EQ(-EINVAL, w[SG][1]);
	ASSERT_EQ(NATIVE_HDR_SZ, w[SG][2]);
	ASSERT_EQ(0, memcmp(w[SG], w[RSG], sizeof(w[SG])));
	ASSERT_SG(0, q);
	ASSERT_EQ(NATIVE_HDR_SZ, r[SG][0]);
	ASSERT_EQ(-EINVAL, r[SG][1]);
	ASSERT_EQ(0, memcmp(r[SG], r[RSG], sizeof(r[SG])));
	assert_good(_metadata, out, in);
	for (d = 0; d < NDRV; d++) {
		/* Only the 32-bit header is written back. */
		ASSERT_EQ(POISON, rb[d][HDR_SZ]) {
			TH_LOG("%s wrote past the 32-bit header", drv_name[d]);
		}
	}
	ASSERT_EQ(96, buf[SG][4] + 5);
	ASSERT_EQ(0, memcmp(buf[SG], buf[RSG], sizeof(buf[SG])));
}

/* SG_GET_REQUEST_TABLE in the compat layout: 16 entries of 20 bytes. */
TEST_F(compat, request_table)
{
	uint8_t tb[NDRV][TABLE_SZ + 32];
	sg_req_info_t *t[NDRV];
	struct sg_io_hdr h;
	int e[NDRV], d, i;

	for (d = 0; d < NDRV; d++) {
		hdr_init(&h, tur_cdb, 6, SG_DXFER_NONE, NULL, 0, NULL, 0);
		h.pack_id = 1;
		h.usr_ptr = (void *)0x11223344;
		ASSERT_EQ(NATIVE_HDR_SZ, write_hdr(self->fd[d], &h));
		hdr_init(&h, bad_cdb, 6, SG_DXFER_NONE, NULL, 0, NULL, 0);
		h.pack_id = 2;
		h.usr_ptr = (void *)0x55667788;
		ASSERT_EQ(NATIVE_HDR_SZ, write_hdr(self->fd[d], &h));
		ASSERT_EQ(2, wait_waiting(self->fd[d], 2));
		memset(tb[d], 0xee, sizeof(tb[d]));
		e[d] = rv(ioctl(self->fd[d], SG_GET_REQUEST_TABLE, tb[d]));
		t[d] = (sg_req_info_t *)tb[d];
	}
	ASSERT_SG(0, e);
	ASSERT_EQ(2, t[SG][0].req_state);
	ASSERT_EQ(0, t[SG][0].problem);
	ASSERT_EQ(1, t[SG][0].pack_id);
	ASSERT_EQ(0x11223344, (uintptr_t)t[SG][0].usr_ptr);
	ASSERT_EQ(2, t[SG][1].req_state);
	ASSERT_EQ(1, t[SG][1].problem);
	ASSERT_EQ(2, t[SG][1].pack_id);
	ASSERT_EQ(0x55667788, (uintptr_t)t[SG][1].usr_ptr);
	for (i = 0; i < SG_MAX_QUEUE; i++) {
		/* Everything but the duration. */
		ASSERT_EQ(0, memcmp(&t[SG][i], &t[RSG][i],
				    offsetof(sg_req_info_t, duration))) {
			TH_LOG("entry %d", i);
		}
		ASSERT_EQ(t[SG][i].unused, t[RSG][i].unused);
		if (i >= 2) {
			ASSERT_EQ(0, t[SG][i].req_state);
			ASSERT_EQ(0, t[SG][i].duration);
			ASSERT_EQ(0, t[RSG][i].duration);
		}
	}
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0xee, tb[d][TABLE_SZ]) {
			TH_LOG("%s wrote past 16 compat entries", drv_name[d]);
		}
	}
}

/* SG_SET_FORCE_PACK_ID: the pack_id is read at its 32-bit offset. */
TEST_F(compat, force_pack_id)
{
	struct sg_io_hdr h;
	int got[NDRV], d, i;
	long r[NDRV];

	for (d = 0; d < NDRV; d++) {
		for (i = 1; i <= 3; i++) {
			hdr_init(&h, tur_cdb, 6, SG_DXFER_NONE, NULL, 0, NULL,
				 0);
			h.pack_id = i;
			ASSERT_EQ(NATIVE_HDR_SZ, write_hdr(self->fd[d], &h));
		}
		ASSERT_EQ(3, wait_waiting(self->fd[d], 3));
		ASSERT_EQ(0, ioctl(self->fd[d], SG_SET_FORCE_PACK_ID,
				   &(int){ 1 }));
		memset(&h, 0, sizeof(h));
		h.interface_id = 'S';
		h.dxfer_direction = SG_DXFER_NONE;
		h.pack_id = 2;
		r[d] = rv(read(self->fd[d], &h, HDR_SZ));
		got[d] = h.pack_id;
	}
	ASSERT_SG(HDR_SZ, r);
	ASSERT_SG(2, got);
}

/* The v2 header has the same layout on both; it goes through all the same. */
TEST_F(compat, v2_inquiry)
{
	uint8_t pkt[V2_SZ + 6], rb[NDRV][256];
	struct sg_header *h = (struct sg_header *)pkt;
	long w[NDRV], r[NDRV];
	int d;

	memset(pkt, 0, sizeof(pkt));
	h->reply_len = V2_SZ + 96;
	h->pack_id = 12;
	memcpy(pkt + V2_SZ, inq_cdb, 6);
	for (d = 0; d < NDRV; d++) {
		w[d] = rv(write(self->fd[d], pkt, sizeof(pkt)));
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		memset(rb[d], POISON, sizeof(rb[d]));
		r[d] = rv(read(self->fd[d], rb[d], sizeof(rb[d])));
	}
	ASSERT_SG((long)sizeof(pkt), w);
	ASSERT_SG(V2_SZ + 96, r);
	ASSERT_EQ(12, ((struct sg_header *)rb[SG])->pack_id);
	ASSERT_EQ(96, rb[SG][V2_SZ + 4] + 5);
	ASSERT_EQ(0, memcmp(rb[SG], rb[RSG], sizeof(rb[SG])));
}

/* Int ioctls through compat_ptr_ioctl. */
TEST_F(compat, int_ioctls)
{
	static const unsigned long cmds[] = {
		SG_GET_RESERVED_SIZE, SG_GET_COMMAND_Q, SG_GET_KEEP_ORPHAN,
		SG_GET_NUM_WAITING, SG_GET_PACK_ID, SG_GET_SG_TABLESIZE,
		SG_GET_VERSION_NUM, SG_GET_LOW_DMA,
	};
	static const int want[] = { 32768, 0, 0, 0, -1, -2, 30536, 0 };
	int v[NDRV], d;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		for (d = 0; d < NDRV; d++)
			v[d] = get_int(self->fd[d], cmds[i]);
		/* -2: no fixed value, but positive. */
		if (want[i] == -2) {
			ASSERT_LT(0, v[SG]);
		} else {
			ASSERT_EQ(want[i], v[SG]) {
				TH_LOG("ioctl 0x%lx", cmds[i]);
			}
		}
		ASSERT_EQ(v[SG], v[RSG]) {
			TH_LOG("ioctl 0x%lx", cmds[i]);
		}
	}
}

TEST_HARNESS_MAIN
