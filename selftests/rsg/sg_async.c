// SPDX-License-Identifier: GPL-2.0
/*
 * sg's asynchronous interface and the per-fd state around it: write() and
 * read() with v3 and v2 headers, the queue limits, the request bookkeeping
 * ioctls, poll() and SIGIO, orphans of interrupted SG_IO, open() exclusion,
 * the command filter and the credential check of read() and write().
 *
 * Each test does the same on an rsg node and an sg node of one scsi_debug
 * LU, requires from sg the value sg.c defines and from rsg what sg did.
 * In failure messages "expected" is what sg did and "seen" what rsg did,
 * unless the message names the driver.
 *
 * scsi_debug answers INQUIRY, REPORT LUNS and unknown opcodes at once and
 * delays the rest (TEST UNIT READY, READ, WRITE) by its delay/ndelay, which
 * the tests that need a command still running raise for a while.
 *
 * ASSERT_*() expand to more than one statement, so loops and ifs around them
 * always take braces.
 */

#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>

#include "kselftest_harness.h"
#include "rsg_test.h"

#ifndef SG_GET_ACCESS_COUNT
#define SG_GET_ACCESS_COUNT	0x2289
#endif
#ifndef BLKSECTGET
#define BLKSECTGET		_IO(0x12, 103)
#endif

#define HDR_SZ		((long)sizeof(struct sg_io_hdr))
#define V2_SZ		((long)sizeof(struct sg_header))
#define SZ_256M		(256u << 20)
#define DEF_RESERVED	32768
#define MAX_CDB_SIZE	252

/* How long a delayed command takes, and when a signal interrupts it. */
#define SLOW_MS		400
#define SIG_MS		100
/* Slack for completion and scheduling; the VM may run under emulation. */
#define SLACK_MS	5000
/*
 * The least duration a delayed command may report: durations count
 * jiffies, which can lag the delay's hrtimer under emulation.
 */
#define DUR_MIN		(SLOW_MS / 2)

#define POLL_ALL	(POLLIN | POLLRDNORM | POLLRDBAND | POLLPRI | \
			 POLLOUT | POLLWRNORM | POLLWRBAND)
#define POLL_READY	(POLLIN | POLLRDNORM)
#define POLL_ROOM	(POLLOUT | POLLWRNORM)

/* Scratch LBAs, away from the ones sg_compat uses. */
#define LBA_V3		100000
#define LBA_V2		101000
#define LBA_ORPHAN	102000
#define LBA_FILTER	103000
#define LBA_DATA_OUT	104000

FIXTURE(async)
{
	int fd[NDRV];
	const char *path[NDRV];
	unsigned int bs;
	bool slowed;			/* scsi_debug's delay was raised */
	char delay[32], ndelay[32];	/* ... and what it was */
	int xfd[NDRV];			/* fds of an added LU */
	bool host_added;		/* a scsi_debug host was added */
};

/* An int-valued ioctl: the value, or -errno. */
static int get_int(int fd, unsigned long cmd)
{
	int v = -12345;

	if (ioctl(fd, cmd, &v) < 0)
		return -errno;
	return v;
}

static int set_int(int fd, unsigned long cmd, int v)
{
	return ioctl(fd, cmd, &v) < 0 ? -errno : 0;
}

static int num_waiting(int fd)
{
	return get_int(fd, SG_GET_NUM_WAITING);
}

/* Wait until n responses are ready; returns how many are. */
static int wait_waiting(int fd, int n)
{
	long end = now_ms() + SLACK_MS;
	int v;

	do {
		v = num_waiting(fd);
		if (v < 0 || v >= n)
			return v;
		sleep_ms(2);
	} while (now_ms() < end);
	return v;
}

static int revents(int fd, short events, int timeout)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r = poll(&p, 1, timeout);

	if (r < 0)
		return -errno;
	return r ? p.revents : 0;
}

static int set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

static long v3_write(int fd, const struct sg_io_hdr *h)
{
	return rv(write(fd, h, sizeof(*h)));
}

static long v3_read(int fd, struct sg_io_hdr *h)
{
	return rv(read(fd, h, sizeof(*h)));
}

/* A TEST UNIT READY header whose pack_id and usr_ptr tell it apart. */
static void tur_hdr(struct sg_io_hdr *h, int pack_id)
{
	hdr_init(h, tur_cdb, 6, SG_DXFER_NONE, NULL, 0, NULL, 0);
	h->pack_id = pack_id;
	h->usr_ptr = (void *)(uintptr_t)(0x1000 + pack_id);
}

static long submit_tur(int fd, int pack_id)
{
	struct sg_io_hdr h;

	tur_hdr(&h, pack_id);
	return v3_write(fd, &h);
}

/* Read one v3 response; its pack_id, or -errno. */
static int read_pack_id(int fd)
{
	struct sg_io_hdr h;
	long r = v3_read(fd, &h);

	return r < 0 ? r : h.pack_id;
}

/* Synchronous TEST UNIT READY: the SCSI status, or -errno. */
static int sync_tur(int fd)
{
	struct sg_io_hdr h;

	hdr_init(&h, tur_cdb, 6, SG_DXFER_NONE, NULL, 0, NULL, 0);
	if (ioctl(fd, SG_IO, &h) < 0)
		return -errno;
	return h.status;
}

/* Synchronous READ(10)/WRITE(10): the SCSI status, or -errno. */
static int sync_rw(int fd, uint8_t op, uint32_t lba, unsigned int nblk,
		   void *buf, unsigned int len)
{
	struct sg_io_hdr h;
	uint8_t cdb[10];

	rw10(cdb, op, lba, nblk);
	hdr_init(&h, cdb, 10, op == 0x2a ? SG_DXFER_TO_DEV : SG_DXFER_FROM_DEV,
		 buf, len, NULL, 0);
	if (ioctl(fd, SG_IO, &h) < 0)
		return -errno;
	return h.status;
}

static int req_table(int fd, sg_req_info_t *t)
{
	memset(t, 0xee, SG_MAX_QUEUE * sizeof(*t));
	return ioctl(fd, SG_GET_REQUEST_TABLE, t) < 0 ? -errno : 0;
}

/* Entries in use at the front of a request table. */
static int table_used(const sg_req_info_t *t)
{
	int i;

	for (i = 0; i < SG_MAX_QUEUE && t[i].req_state; i++)
		;
	return i;
}

/* Everything but the duration, which depends on timing. */
static bool entry_same(const sg_req_info_t *a, const sg_req_info_t *b)
{
	return a->req_state == b->req_state && a->orphan == b->orphan &&
	       a->sg_io_owned == b->sg_io_owned &&
	       a->problem == b->problem && a->pack_id == b->pack_id &&
	       a->usr_ptr == b->usr_ptr && a->unused == b->unused;
}

static void assert_tables_same(struct __test_metadata *_metadata,
			       sg_req_info_t t[NDRV][SG_MAX_QUEUE])
{
	int i;

	for (i = 0; i < SG_MAX_QUEUE; i++) {
		ASSERT_TRUE(entry_same(&t[SG][i], &t[RSG][i])) {
			TH_LOG("entry %d: sg state %d orphan %d owned %d problem %d pack_id %d usr_ptr %p",
			       i, t[SG][i].req_state, t[SG][i].orphan,
			       t[SG][i].sg_io_owned, t[SG][i].problem,
			       t[SG][i].pack_id, t[SG][i].usr_ptr);
			TH_LOG("entry %d: rsg state %d orphan %d owned %d problem %d pack_id %d usr_ptr %p",
			       i, t[RSG][i].req_state, t[RSG][i].orphan,
			       t[RSG][i].sg_io_owned, t[RSG][i].problem,
			       t[RSG][i].pack_id, t[RSG][i].usr_ptr);
		}
		/* Unused entries are zeroed, duration included. */
		if (!t[SG][i].req_state) {
			ASSERT_EQ(0, t[SG][i].duration);
			ASSERT_EQ(0, t[RSG][i].duration);
		}
	}
}

/* The header read() returns: inputs as written, outputs alike. */
static void assert_v3_same(struct __test_metadata *_metadata,
			   const struct sg_io_hdr *out,
			   const struct sg_io_hdr *in)
{
	const struct sg_io_hdr *a = &out[RSG], *b = &out[SG];
	int d;

	for (d = 0; d < NDRV; d++) {
		ASSERT_TRUE(inputs_kept(&out[d], &in[d])) {
			TH_LOG("%s: the inputs read back differ from those written",
			       drv_name[d]);
		}
		ASSERT_GE(SLACK_MS, out[d].duration) {
			TH_LOG("%s", drv_name[d]);
		}
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

static void assert_v3_good(struct __test_metadata *_metadata,
			   const struct sg_io_hdr *out,
			   const struct sg_io_hdr *in)
{
	const struct sg_io_hdr *h = &out[SG];

	assert_v3_same(_metadata, out, in);
	ASSERT_EQ(0, h->status);
	ASSERT_EQ(0, h->masked_status);
	ASSERT_EQ(0, h->msg_status);
	ASSERT_EQ(0, h->sb_len_wr);
	ASSERT_EQ(0, (int)h->host_status);
	ASSERT_EQ(0, (int)h->driver_status);
	ASSERT_EQ(0, h->resid);
	ASSERT_EQ(0, h->info);
}

/* scsi_debug's delay */

/* It cannot change while commands are queued; wait those out. */
static int sdebug_set(const char *attr, const char *val)
{
	return sdebug_set_within(attr, val, 2 * SLACK_MS);
}

/* Commands other than INQUIRY and the like now take SLOW_MS. */
static int slow_down(FIXTURE_DATA(async) *self)
{
	char ns[32];

	if (!self->slowed) {
		if (read_str(self->delay, sizeof(self->delay), SDEBUG_DRV "delay") ||
		    read_str(self->ndelay, sizeof(self->ndelay),
			     SDEBUG_DRV "ndelay"))
			return -1;
		self->slowed = true;
	}
	snprintf(ns, sizeof(ns), "%d", SLOW_MS * 1000000);
	return sdebug_set("ndelay", ns);
}

static int speed_up(FIXTURE_DATA(async) *self)
{
	int r;

	if (!self->slowed)
		return 0;
	if (atoi(self->ndelay) > 0)
		r = sdebug_set("ndelay", self->ndelay);
	else
		r = sdebug_set("delay", self->delay);
	if (!r)
		self->slowed = false;
	return r;
}

FIXTURE_SETUP(async)
{
	struct lu lu[NDRV];
	long long sz;
	int d;

	for (d = 0; d < NDRV; d++) {
		self->fd[d] = -1;
		self->xfd[d] = -1;
	}
	for (d = 0; d < NDRV; d++) {
		self->path[d] = dev_path(d);
		ASSERT_EQ(0, lu_info(self->path[d], &lu[d])) {
			TH_LOG("no sysfs device behind %s", self->path[d]);
		}
	}
	ASSERT_EQ(0, memcmp(&lu[SG], &lu[RSG], sizeof(lu[SG]))) {
		TH_LOG("%s and %s are not the same LU", self->path[RSG],
		       self->path[SG]);
	}
	sz = sdebug_param("sector_size");
	ASSERT_LT(0, sz);
	self->bs = sz;
	/* On an fd of its own: SG_IO switches command queuing on. */
	ASSERT_EQ(0, clear_ua(self->path[SG]));
	for (d = 0; d < NDRV; d++) {
		self->fd[d] = open(self->path[d], O_RDWR);
		ASSERT_LE(0, self->fd[d]) {
			TH_LOG("open %s: %s", self->path[d], strerror(errno));
		}
	}
}

FIXTURE_TEARDOWN(async)
{
	int d;

	for (d = 0; d < NDRV; d++) {
		if (self->fd[d] >= 0)
			close(self->fd[d]);
		if (self->xfd[d] >= 0)
			close(self->xfd[d]);
	}
	if (self->host_added)
		write_attr(SDEBUG_DRV "add_host", "-1");
	EXPECT_EQ(0, speed_up(self));
}

/* v3 headers through write() and read() */

TEST_F(async, v3_inquiry)
{
	struct sg_io_hdr in[NDRV], out[NDRV], copy;
	uint8_t buf[NDRV][128], sense[NDRV][32];
	long w[NDRV], r[NDRV];
	int ready[NDRV], before[NDRV], d;

	for (d = 0; d < NDRV; d++) {
		memset(buf[d], POISON, sizeof(buf[d]));
		memset(sense[d], SENSE_POISON, sizeof(sense[d]));
		hdr_init(&in[d], inq_cdb, 6, SG_DXFER_FROM_DEV, buf[d], 96,
			 sense[d], sizeof(sense[d]));
		in[d].pack_id = 7;
		in[d].usr_ptr = &in[d];
		copy = in[d];
		w[d] = v3_write(self->fd[d], &in[d]);
		/* write() only reads the header. */
		ASSERT_EQ(0, memcmp(&copy, &in[d], sizeof(copy))) {
			TH_LOG("%s wrote to the header", drv_name[d]);
		}
		ready[d] = wait_waiting(self->fd[d], 1);
		/* Data in reaches the caller's buffer only with read(). */
		before[d] = buf[d][0];
		memset(&out[d], 0x5a, sizeof(out[d]));
		r[d] = v3_read(self->fd[d], &out[d]);
	}
	ASSERT_SG(HDR_SZ, w);
	ASSERT_SG(1, ready);
	ASSERT_SG(POISON, before);
	ASSERT_SG(HDR_SZ, r);
	assert_v3_good(_metadata, out, in);
	ASSERT_EQ(0, memcmp(buf[SG], buf[RSG], sizeof(buf[SG])));
	ASSERT_EQ(96, buf[SG][4] + 5);
	ASSERT_EQ(POISON, buf[SG][96]);
	ASSERT_EQ(SENSE_POISON, sense[SG][0]);
	ASSERT_EQ(0, memcmp(sense[SG], sense[RSG], sizeof(sense[SG])));
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, num_waiting(self->fd[d]));
	}
}

/* Sense data too is copied out by read(), to the sbp given to write(). */
TEST_F(async, v3_check_condition)
{
	static const int mx[] = { 32, 0 };
	struct sg_io_hdr in[NDRV], out[NDRV];
	sg_req_info_t t[NDRV][SG_MAX_QUEUE];
	uint8_t sense[NDRV][64];
	int before[NDRV], tr[NDRV], d;
	long w[NDRV], r[NDRV];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mx); i++) {
		for (d = 0; d < NDRV; d++) {
			memset(sense[d], SENSE_POISON, sizeof(sense[d]));
			hdr_init(&in[d], bad_cdb, 6, SG_DXFER_NONE, NULL, 0,
				 sense[d], mx[i]);
			in[d].pack_id = 40 + i;
			w[d] = v3_write(self->fd[d], &in[d]);
			ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
			tr[d] = req_table(self->fd[d], t[d]);
			before[d] = sense[d][0];
			r[d] = v3_read(self->fd[d], &out[d]);
		}
		ASSERT_SG(HDR_SZ, w);
		ASSERT_SG(0, tr);
		ASSERT_EQ(2, t[SG][0].req_state);
		ASSERT_EQ(1, t[SG][0].problem);
		ASSERT_EQ(40 + (int)i, t[SG][0].pack_id);
		ASSERT_EQ(1, table_used(t[SG]));
		assert_tables_same(_metadata, t);
		ASSERT_SG(SENSE_POISON, before);
		ASSERT_SG(HDR_SZ, r);
		assert_v3_same(_metadata, out, in);
		ASSERT_EQ(0x02, out[SG].status);
		ASSERT_EQ(0x01, out[SG].masked_status);
		ASSERT_EQ(0, out[SG].host_status);
		ASSERT_EQ(SG_INFO_CHECK, out[SG].info);
		ASSERT_EQ(0, memcmp(sense[SG], sense[RSG], sizeof(sense[SG])));
		if (!mx[i]) {
			ASSERT_EQ(0, out[SG].driver_status);
			ASSERT_EQ(0, out[SG].sb_len_wr);
			ASSERT_EQ(SENSE_POISON, sense[SG][0]);
			continue;
		}
		ASSERT_EQ(DRIVER_SENSE, out[SG].driver_status);
		ASSERT_EQ(18, out[SG].sb_len_wr);
		ASSERT_EQ(0x70, sense[SG][0] & 0x7f);
		ASSERT_EQ(0x05, sense[SG][2] & 0x0f);
		ASSERT_EQ(0x20, sense[SG][12]);
		ASSERT_EQ(SENSE_POISON, sense[SG][18]);
	}
}

/* Both calls return the count given, however large. */
TEST_F(async, v3_count_larger)
{
	uint8_t wb[NDRV][512], rb[NDRV][512];
	long w[NDRV], r[NDRV];
	int tail[NDRV], d;

	for (d = 0; d < NDRV; d++) {
		memset(wb[d], 0x3c, sizeof(wb[d]));
		tur_hdr((struct sg_io_hdr *)wb[d], 3);
		w[d] = rv(write(self->fd[d], wb[d], sizeof(wb[d])));
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		memset(rb[d], POISON, sizeof(rb[d]));
		r[d] = rv(read(self->fd[d], rb[d], sizeof(rb[d])));
		tail[d] = rb[d][HDR_SZ] == POISON &&
			  !memcmp(rb[d] + HDR_SZ, rb[d] + HDR_SZ + 1,
				  sizeof(rb[d]) - HDR_SZ - 1);
	}
	ASSERT_SG((long)sizeof(wb[0]), w);
	ASSERT_SG((long)sizeof(rb[0]), r);
	/* Only the header is written. */
	ASSERT_SG(1, tail);
	ASSERT_EQ(3, ((struct sg_io_hdr *)rb[SG])->pack_id);
	ASSERT_EQ(3, ((struct sg_io_hdr *)rb[RSG])->pack_id);
}

/*
 * Fewer bytes than a v2 header: EIO. A v3 header (negative reply_len)
 * shorter than struct sg_io_hdr: EINVAL, before command queuing is touched.
 */
TEST_F(async, v3_write_short)
{
	static const size_t counts[] = { 0, 1, 35, 36, 64, HDR_SZ - 1 };
	long r[NDRV][ARRAY_SIZE(counts)];
	int q[NDRV], nw[NDRV], d;
	struct sg_io_hdr h;
	unsigned int i;

	tur_hdr(&h, 1);
	for (d = 0; d < NDRV; d++) {
		for (i = 0; i < ARRAY_SIZE(counts); i++)
			r[d][i] = rv(write(self->fd[d], &h, counts[i]));
		q[d] = get_int(self->fd[d], SG_GET_COMMAND_Q);
		nw[d] = num_waiting(self->fd[d]);
	}
	for (i = 0; i < ARRAY_SIZE(counts); i++) {
		ASSERT_EQ(counts[i] < 36 ? -EIO : -EINVAL, r[SG][i]) {
			TH_LOG("count %zu", counts[i]);
		}
		ASSERT_EQ(r[SG][i], r[RSG][i]) {
			TH_LOG("count %zu", counts[i]);
		}
	}
	ASSERT_SG(0, q);
	ASSERT_SG(0, nw);
}

/*
 * A refused v3 header still switches command queuing on (sg sets cmd_q
 * before its checks), and gives its slot back: 16 requests fit afterwards.
 */
TEST_F(async, v3_rejects)
{
	long bad[NDRV][4], edom[NDRV];
	int q[NDRV], ok[NDRV], d, i, k;
	struct sg_io_hdr h;

	for (d = 0; d < NDRV; d++) {
		for (i = 0; i < 2 * SG_MAX_QUEUE; i++) {
			tur_hdr(&h, i);
			h.interface_id = 'Q';
			bad[d][0] = v3_write(self->fd[d], &h);
			if (!i)
				q[d] = get_int(self->fd[d], SG_GET_COMMAND_Q);
			tur_hdr(&h, i);
			h.cmdp = NULL;
			bad[d][1] = v3_write(self->fd[d], &h);
			tur_hdr(&h, i);
			h.cmd_len = 5;
			bad[d][2] = v3_write(self->fd[d], &h);
			tur_hdr(&h, i);
			h.dxfer_len = SZ_256M;
			h.dxfer_direction = SG_DXFER_FROM_DEV;
			bad[d][3] = v3_write(self->fd[d], &h);
		}
		ok[d] = 0;
		for (k = 0; k < SG_MAX_QUEUE; k++)
			ok[d] += submit_tur(self->fd[d], k) == HDR_SZ;
		edom[d] = submit_tur(self->fd[d], 99);
	}
	ASSERT_SG(1, q);
	ASSERT_EQ(-ENOSYS, bad[SG][0]);
	ASSERT_EQ(-EMSGSIZE, bad[SG][1]);
	ASSERT_EQ(-EMSGSIZE, bad[SG][2]);
	ASSERT_EQ(-EINVAL, bad[SG][3]);
	ASSERT_EQ(0, memcmp(bad[SG], bad[RSG], sizeof(bad[SG])));
	ASSERT_SG(SG_MAX_QUEUE, ok);
	ASSERT_SG(-EDOM, edom);
}

/* A read() too short for the header fails with EINVAL and loses it. */
TEST_F(async, v3_read_short)
{
	sg_req_info_t t[NDRV][SG_MAX_QUEUE];
	long r1[NDRV], r2[NDRV], r3[NDRV];
	int nw[NDRV], pid[NDRV], d;
	struct sg_io_hdr h;

	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 1));
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 2));
		ASSERT_EQ(2, wait_waiting(self->fd[d], 2));
		memset(&h, POISON, sizeof(h));
		r1[d] = rv(read(self->fd[d], &h, HDR_SZ - 1));
		r2[d] = rv(read(self->fd[d], &h, 10));
		nw[d] = num_waiting(self->fd[d]);
		pid[d] = get_int(self->fd[d], SG_GET_PACK_ID);
		ASSERT_EQ(0, req_table(self->fd[d], t[d]));
		ASSERT_EQ(0, set_nonblock(self->fd[d], true));
		r3[d] = v3_read(self->fd[d], &h);
		/* Nothing was written back. */
		ASSERT_EQ(POISON, ((uint8_t *)&h)[0]);
	}
	ASSERT_SG(-EINVAL, r1);
	ASSERT_SG(-EINVAL, r2);
	ASSERT_SG(0, nw);
	ASSERT_SG(-1, pid);
	ASSERT_EQ(0, table_used(t[SG]));
	assert_tables_same(_metadata, t);
	ASSERT_SG(-EAGAIN, r3);
}

/* Without SG_SET_FORCE_PACK_ID, responses come back oldest first. */
TEST_F(async, v3_read_order)
{
	static const int ids[] = { 3, 1, 2, 0 };
	int got[NDRV][ARRAY_SIZE(ids)], gp[NDRV][ARRAY_SIZE(ids) + 1];
	int n = ARRAY_SIZE(ids), d, i;

	for (d = 0; d < NDRV; d++) {
		for (i = 0; i < n; i++) {
			ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], ids[i]));
		}
		ASSERT_EQ(n, wait_waiting(self->fd[d], n));
		for (i = 0; i < n; i++) {
			gp[d][i] = get_int(self->fd[d], SG_GET_PACK_ID);
			got[d][i] = read_pack_id(self->fd[d]);
		}
		gp[d][n] = get_int(self->fd[d], SG_GET_PACK_ID);
	}
	for (i = 0; i < n; i++) {
		ASSERT_EQ(ids[i], got[SG][i]);
		ASSERT_EQ(ids[i], gp[SG][i]);
	}
	ASSERT_EQ(-1, gp[SG][n]);
	ASSERT_EQ(0, memcmp(got[SG], got[RSG], sizeof(got[SG])));
	ASSERT_EQ(0, memcmp(gp[SG], gp[RSG], sizeof(gp[SG])));
}

/* O_NONBLOCK: EAGAIN with nothing outstanding and while still active. */
TEST_F(async, v3_read_nonblock)
{
	long r0[NDRV], r1[NDRV], r2[NDRV];
	int ev[NDRV], d;
	struct sg_io_hdr h;

	ASSERT_EQ(0, slow_down(self));
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, set_nonblock(self->fd[d], true));
		r0[d] = v3_read(self->fd[d], &h);
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 5));
		r1[d] = v3_read(self->fd[d], &h);
		ev[d] = revents(self->fd[d], POLLIN, SLACK_MS);
		r2[d] = v3_read(self->fd[d], &h);
	}
	ASSERT_SG(-EAGAIN, r0);
	ASSERT_SG(-EAGAIN, r1);
	ASSERT_SG(POLLIN, ev);
	ASSERT_SG(HDR_SZ, r2);
}

/* A blocking read() waits for the command. */
TEST_F(async, v3_read_blocks)
{
	struct sg_io_hdr in[NDRV], out[NDRV];
	long r[NDRV], t0, waited[NDRV];
	int d;

	ASSERT_EQ(0, slow_down(self));
	for (d = 0; d < NDRV; d++) {
		tur_hdr(&in[d], 6);
		ASSERT_EQ(HDR_SZ, v3_write(self->fd[d], &in[d]));
		t0 = now_ms();
		r[d] = v3_read(self->fd[d], &out[d]);
		waited[d] = now_ms() - t0;
	}
	ASSERT_SG(HDR_SZ, r);
	assert_v3_good(_metadata, out, in);
	for (d = 0; d < NDRV; d++) {
		ASSERT_LE(SLOW_MS / 2, waited[d]) {
			TH_LOG("%s: read() returned after %ld ms", drv_name[d],
			       waited[d]);
		}
		/* The duration covers the command, from write() on. */
		ASSERT_LE(DUR_MIN, out[d].duration) {
			TH_LOG("%s: duration %u", drv_name[d], out[d].duration);
		}
	}
}

/* Data out is copied in by write(): changing the buffer later is harmless. */
TEST_F(async, v3_data_out_at_write)
{
	unsigned int len = 4 * self->bs;
	uint8_t *buf[NDRV], *want, cdb[NDRV][10];
	struct sg_io_hdr in[NDRV], out[NDRV];
	int st[NDRV], d;
	long r[NDRV];

	want = malloc(len);
	ASSERT_NE(NULL, want);
	ASSERT_EQ(0, slow_down(self));
	for (d = 0; d < NDRV; d++) {
		buf[d] = malloc(len);
		ASSERT_NE(NULL, buf[d]);
		pattern(buf[d], len, 50 + d);
		rw10(cdb[d], 0x2a, LBA_DATA_OUT + 8 * d, 4);
		hdr_init(&in[d], cdb[d], 10, SG_DXFER_TO_DEV, buf[d], len,
			 NULL, 0);
		ASSERT_EQ(HDR_SZ, v3_write(self->fd[d], &in[d]));
		memset(buf[d], 0, len);
		r[d] = v3_read(self->fd[d], &out[d]);
	}
	ASSERT_SG(HDR_SZ, r);
	assert_v3_good(_metadata, out, in);
	for (d = 0; d < NDRV; d++) {
		st[d] = sync_rw(self->fd[SG], 0x28, LBA_DATA_OUT + 8 * d, 4,
				buf[d], len);
		pattern(want, len, 50 + d);
		ASSERT_EQ(0, memcmp(want, buf[d], len)) {
			TH_LOG("%s wrote the buffer as it was after write()",
			       drv_name[d]);
		}
		free(buf[d]);
	}
	ASSERT_SG(0, st);
	free(want);
}

/*
 * Writes and reads through both drivers, one within the 32 KiB reserve
 * buffer and one beyond it; each reads back what either wrote.
 */
TEST_F(async, v3_write_read_data)
{
	static const unsigned int sizes[] = { 4096, 65536 };
	struct sg_io_hdr in[NDRV], out[NDRV];
	uint8_t cdb[10], *buf[NDRV], *want;
	unsigned int s, len, nblk;
	int w, d;

	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		len = sizes[s];
		nblk = len / self->bs;
		want = malloc(len);
		ASSERT_NE(NULL, want);
		for (d = 0; d < NDRV; d++) {
			buf[d] = malloc(len);
			ASSERT_NE(NULL, buf[d]);
			pattern(buf[d], len, 10 * s + d);
			rw10(cdb, 0x2a, LBA_V3 + 256 * d, nblk);
			hdr_init(&in[d], cdb, 10, SG_DXFER_TO_DEV, buf[d], len,
				 NULL, 0);
			ASSERT_EQ(HDR_SZ, v3_write(self->fd[d], &in[d]));
			ASSERT_EQ(HDR_SZ, v3_read(self->fd[d], &out[d]));
		}
		assert_v3_good(_metadata, out, in);
		for (w = 0; w < NDRV; w++) {
			pattern(want, len, 10 * s + w);
			for (d = 0; d < NDRV; d++) {
				memset(buf[d], POISON, len);
				rw10(cdb, 0x28, LBA_V3 + 256 * w, nblk);
				hdr_init(&in[d], cdb, 10, SG_DXFER_FROM_DEV,
					 buf[d], len, NULL, 0);
				ASSERT_EQ(HDR_SZ,
					  v3_write(self->fd[d], &in[d]));
				ASSERT_EQ(HDR_SZ,
					  v3_read(self->fd[d], &out[d]));
				ASSERT_EQ(0, memcmp(want, buf[d], len)) {
					TH_LOG("%s read what %s wrote wrongly (%u bytes)",
					       drv_name[d], drv_name[w], len);
				}
			}
			assert_v3_good(_metadata, out, in);
		}
		for (d = 0; d < NDRV; d++)
			free(buf[d]);
		free(want);
	}
}

/* v2: struct sg_header, CDB and data out in one write() */

#define V2_PKT		(V2_SZ + 16 + 4096)

/* Build a v2 request; returns its length. */
static long v2_build(uint8_t *pkt, int reply_len, int pack_id, bool twelve,
		     const uint8_t *cdb, size_t cdb_len, const uint8_t *data,
		     size_t data_len)
{
	struct sg_header *h = (struct sg_header *)pkt;

	memset(pkt, 0, V2_PKT);
	/* Output fields: junk that must not matter. */
	h->pack_len = -7;
	h->result = 99;
	h->reply_len = reply_len;
	h->pack_id = pack_id;
	h->twelve_byte = twelve;
	memcpy(pkt + V2_SZ, cdb, cdb_len);
	if (data_len)
		memcpy(pkt + V2_SZ + cdb_len, data, data_len);
	return V2_SZ + cdb_len + data_len;
}

static long v2_submit(int fd, int reply_len, int pack_id, bool twelve,
		      const uint8_t *cdb, size_t cdb_len, const uint8_t *data,
		      size_t data_len)
{
	uint8_t pkt[V2_PKT];
	long n = v2_build(pkt, reply_len, pack_id, twelve, cdb, cdb_len, data,
			  data_len);

	return rv(write(fd, pkt, n));
}

TEST_F(async, v2_inquiry)
{
	uint8_t rb[NDRV][256];
	const struct sg_header *h = (struct sg_header *)rb[SG];
	long w[NDRV], r[NDRV];
	int d;

	for (d = 0; d < NDRV; d++) {
		w[d] = v2_submit(self->fd[d], V2_SZ + 96, 11, false, inq_cdb, 6,
				 NULL, 0);
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		memset(rb[d], POISON, sizeof(rb[d]));
		r[d] = rv(read(self->fd[d], rb[d], V2_SZ + 96));
	}
	ASSERT_SG(V2_SZ + 6, w);
	ASSERT_SG(V2_SZ + 96, r);
	ASSERT_EQ(V2_SZ + 96, h->pack_len);
	ASSERT_EQ(V2_SZ + 96, h->reply_len);
	ASSERT_EQ(11, h->pack_id);
	ASSERT_EQ(0, h->result);
	ASSERT_EQ(0, (int)h->twelve_byte);
	ASSERT_EQ(0, (int)h->target_status);
	ASSERT_EQ(0, (int)h->host_status);
	ASSERT_EQ(0, (int)h->driver_status);
	ASSERT_EQ(0, (int)h->other_flags);
	ASSERT_EQ(0, h->sense_buffer[0]);
	ASSERT_EQ(96, rb[SG][V2_SZ + 4] + 5);
	ASSERT_EQ(POISON, rb[SG][V2_SZ + 96]);
	ASSERT_EQ(0, memcmp(rb[SG], rb[RSG], sizeof(rb[SG])));
}

/* read() returns at most reply_len, and what the count allows. */
TEST_F(async, v2_read_count)
{
	static const long counts[] = { 200, V2_SZ + 14, V2_SZ };
	uint8_t rb[NDRV][ARRAY_SIZE(counts)][256];
	long r[NDRV][ARRAY_SIZE(counts)];
	unsigned int i;
	int d;

	for (d = 0; d < NDRV; d++) {
		/* Command queuing is off: one v2 request at a time. */
		for (i = 0; i < ARRAY_SIZE(counts); i++) {
			ASSERT_EQ(V2_SZ + 6,
				  v2_submit(self->fd[d], V2_SZ + 96, i, false,
					    inq_cdb, 6, NULL, 0));
			ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
			memset(rb[d][i], POISON, sizeof(rb[d][i]));
			r[d][i] = rv(read(self->fd[d], rb[d][i], counts[i]));
		}
	}
	for (i = 0; i < ARRAY_SIZE(counts); i++) {
		ASSERT_EQ(counts[i] < V2_SZ + 96 ? counts[i] : V2_SZ + 96,
			  r[SG][i]);
		ASSERT_EQ(r[SG][i], r[RSG][i]);
		ASSERT_EQ(POISON, rb[SG][i][r[SG][i]]);
		ASSERT_EQ(0, memcmp(rb[SG][i], rb[RSG][i], sizeof(rb[SG][i]))) {
			TH_LOG("count %ld", counts[i]);
		}
	}
}

/* Shorter than the header: 0 returned, nothing copied, response gone. */
TEST_F(async, v2_read_short)
{
	uint8_t rb[NDRV][64];
	long r[NDRV], r2[NDRV];
	int nw[NDRV], d;

	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(V2_SZ + 6, v2_submit(self->fd[d], V2_SZ + 96, 1,
					       false, inq_cdb, 6, NULL, 0));
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		memset(rb[d], POISON, sizeof(rb[d]));
		r[d] = rv(read(self->fd[d], rb[d], 20));
		nw[d] = num_waiting(self->fd[d]);
		ASSERT_EQ(0, set_nonblock(self->fd[d], true));
		r2[d] = rv(read(self->fd[d], rb[d], sizeof(rb[d])));
		ASSERT_EQ(POISON, rb[d][0]);
	}
	ASSERT_SG(0, r);
	ASSERT_SG(0, nw);
	ASSERT_SG(-EAGAIN, r2);
}

/*
 * reply_len 0 and no data: read() writes the header and returns 0, the
 * count clamped to reply_len.
 */
TEST_F(async, v2_reply_len_zero)
{
	uint8_t rb[NDRV][64];
	const struct sg_header *h = (struct sg_header *)rb[SG];
	long r[NDRV];
	int d;

	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(V2_SZ + 6, v2_submit(self->fd[d], 0, 77, false,
					       tur_cdb, 6, NULL, 0));
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		memset(rb[d], POISON, sizeof(rb[d]));
		r[d] = rv(read(self->fd[d], rb[d], sizeof(rb[d])));
	}
	ASSERT_SG(0, r);
	ASSERT_EQ(0, h->reply_len);
	ASSERT_EQ(0, h->pack_len);
	ASSERT_EQ(77, h->pack_id);
	ASSERT_EQ(0, h->result);
	ASSERT_EQ(POISON, rb[SG][V2_SZ]);
	ASSERT_EQ(0, memcmp(rb[SG], rb[RSG], sizeof(rb[SG])));
}

/* CHECK CONDITION: target_status is the shifted status, sense is copied. */
TEST_F(async, v2_check_condition)
{
	uint8_t rb[NDRV][64], cdb[10] = { 0xc0 };
	const struct sg_header *h = (struct sg_header *)rb[SG];
	long w[NDRV], r[NDRV];
	int d;

	for (d = 0; d < NDRV; d++) {
		/* Opcode group 6: a 10 byte CDB. */
		w[d] = v2_submit(self->fd[d], V2_SZ, 5, false, cdb, 10, NULL, 0);
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		memset(rb[d], POISON, sizeof(rb[d]));
		r[d] = rv(read(self->fd[d], rb[d], sizeof(rb[d])));
	}
	ASSERT_SG(V2_SZ + 10, w);
	ASSERT_SG(V2_SZ, r);
	ASSERT_EQ(5, h->pack_id);
	ASSERT_EQ(0, h->result);
	ASSERT_EQ(0x01, (int)h->target_status);
	ASSERT_EQ(0, (int)h->host_status);
	ASSERT_EQ(DRIVER_SENSE, (int)h->driver_status);
	ASSERT_EQ(0x70, h->sense_buffer[0] & 0x7f);
	ASSERT_EQ(0x05, h->sense_buffer[2] & 0x0f);
	ASSERT_EQ(0x20, h->sense_buffer[12]);
	ASSERT_EQ(POISON, rb[SG][V2_SZ]);
	ASSERT_EQ(0, memcmp(rb[SG], rb[RSG], sizeof(rb[SG])));
}

/*
 * twelve_byte makes opcodes 0xc0 and up 12 byte CDBs, and is reported back
 * for them; a write() one byte short of the CDB is EIO.
 */
TEST_F(async, v2_twelve_byte)
{
	uint8_t vendor[12] = { 0xc0 }, rb[NDRV][3][64];
	struct sg_header *h;
	long w[NDRV][4];
	int i, d;

	for (d = 0; d < NDRV; d++) {
		w[d][0] = v2_submit(self->fd[d], V2_SZ, 1, true, vendor, 10,
				    NULL, 0);
		w[d][1] = v2_submit(self->fd[d], V2_SZ, 2, true, vendor, 12,
				    NULL, 0);
		memset(rb[d][0], POISON, sizeof(rb[d][0]));
		ASSERT_EQ(V2_SZ, rv(read(self->fd[d], rb[d][0], 64)));
		w[d][2] = v2_submit(self->fd[d], V2_SZ, 3, false, vendor, 10,
				    NULL, 0);
		memset(rb[d][1], POISON, sizeof(rb[d][1]));
		ASSERT_EQ(V2_SZ, rv(read(self->fd[d], rb[d][1], 64)));
		/* Below 0xc0 the flag is ignored. */
		w[d][3] = v2_submit(self->fd[d], V2_SZ + 96, 4, true, inq_cdb,
				    6, NULL, 0);
		memset(rb[d][2], POISON, sizeof(rb[d][2]));
		ASSERT_EQ(64, rv(read(self->fd[d], rb[d][2], 64)));
	}
	ASSERT_EQ(-EIO, w[SG][0]);
	ASSERT_EQ(V2_SZ + 12, w[SG][1]);
	ASSERT_EQ(V2_SZ + 10, w[SG][2]);
	ASSERT_EQ(V2_SZ + 6, w[SG][3]);
	ASSERT_EQ(0, memcmp(w[SG], w[RSG], sizeof(w[SG])));
	for (i = 0; i < 3; i++) {
		h = (struct sg_header *)rb[SG][i];
		ASSERT_EQ(i + 2, h->pack_id);
		ASSERT_EQ(i == 0, (int)h->twelve_byte);
		ASSERT_EQ(i == 2 ? 0 : 1, (int)h->target_status);
		ASSERT_EQ(0, memcmp(rb[SG][i], rb[RSG][i], 64)) {
			TH_LOG("request %d", i + 2);
		}
	}
}

/*
 * SG_NEXT_CMD_LEN sets the CDB length of the next v2 write() only, and that
 * write() uses it up even when it then fails; v3 writes leave it alone.
 */
TEST_F(async, v2_next_cmd_len)
{
	uint8_t cdb12[12] = { 0x12, 0, 0, 0, 96, 0 }, rb[NDRV][256], tb[64];
	int s[NDRV][5], d;
	long w[NDRV][5];
	void *p;

	p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (d = 0; d < NDRV; d++) {
		s[d][0] = set_int(self->fd[d], SG_NEXT_CMD_LEN, 253);
		s[d][1] = set_int(self->fd[d], SG_NEXT_CMD_LEN, MAX_CDB_SIZE);
		s[d][2] = set_int(self->fd[d], SG_NEXT_CMD_LEN, -1);
		s[d][3] = rv(ioctl(self->fd[d], SG_NEXT_CMD_LEN, p));
		s[d][4] = set_int(self->fd[d], SG_NEXT_CMD_LEN, 12);

		/* v3 ignores it... */
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 1));
		ASSERT_EQ(1, read_pack_id(self->fd[d]));
		/* ...the next v2 write() takes 12 bytes, and has only 6... */
		w[d][0] = v2_submit(self->fd[d], V2_SZ + 96, 2, false, inq_cdb,
				    6, NULL, 0);
		/* ...and the one after is back to the opcode's length. */
		w[d][1] = v2_submit(self->fd[d], V2_SZ + 96, 3, false, inq_cdb,
				    6, NULL, 0);
		ASSERT_EQ(V2_SZ + 96, rv(read(self->fd[d], rb[d], 256)));

		ASSERT_EQ(0, set_int(self->fd[d], SG_NEXT_CMD_LEN, 12));
		w[d][2] = v2_submit(self->fd[d], V2_SZ + 96, 4, false, cdb12,
				    12, NULL, 0);
		memset(rb[d], POISON, sizeof(rb[d]));
		ASSERT_EQ(V2_SZ + 96, rv(read(self->fd[d], rb[d], 256)));

		/* 0 cancels it. */
		ASSERT_EQ(0, set_int(self->fd[d], SG_NEXT_CMD_LEN, 16));
		ASSERT_EQ(0, set_int(self->fd[d], SG_NEXT_CMD_LEN, 0));
		w[d][3] = v2_submit(self->fd[d], V2_SZ, 5, false, tur_cdb, 6,
				    NULL, 0);
		ASSERT_EQ(V2_SZ, rv(read(self->fd[d], tb, sizeof(tb))));
		/* Up to 252 is accepted; the midlayer takes 32 at most. */
		ASSERT_EQ(0, set_int(self->fd[d], SG_NEXT_CMD_LEN, 40));
		memset(tb, 0, sizeof(tb));
		w[d][4] = v2_submit(self->fd[d], V2_SZ, 6, false, cdb12, 12,
				    tb, 28);
	}
	munmap(p, 4096);
	ASSERT_EQ(-ENOMEM, s[SG][0]);
	ASSERT_EQ(0, s[SG][1]);
	ASSERT_EQ(0, s[SG][2]);
	ASSERT_EQ(-EFAULT, s[SG][3]);
	ASSERT_EQ(0, s[SG][4]);
	ASSERT_EQ(0, memcmp(s[SG], s[RSG], sizeof(s[SG])));
	ASSERT_EQ(-EIO, w[SG][0]);
	ASSERT_EQ(V2_SZ + 6, w[SG][1]);
	ASSERT_EQ(V2_SZ + 12, w[SG][2]);
	ASSERT_EQ(V2_SZ + 6, w[SG][3]);
	ASSERT_EQ(-EINVAL, w[SG][4]);
	ASSERT_EQ(0, memcmp(w[SG], w[RSG], sizeof(w[SG])));
	ASSERT_EQ(4, ((struct sg_header *)rb[SG])->pack_id);
	ASSERT_EQ(96, rb[SG][V2_SZ + 4] + 5);
	ASSERT_EQ(0, memcmp(rb[SG], rb[RSG], sizeof(rb[SG])));
}

/* Data out follows the CDB; data in follows the header read back. */
TEST_F(async, v2_write_read_data)
{
	unsigned int len = 2 * self->bs;
	uint8_t cdb[10], rb[NDRV][V2_SZ + 1024], data[1024], want[1024];
	const struct sg_header *h;
	long w[NDRV], r[NDRV];
	int wr, d;

	ASSERT_GE(sizeof(data), len);
	for (d = 0; d < NDRV; d++) {
		pattern(data, len, 70 + d);
		rw10(cdb, 0x2a, LBA_V2 + 4 * d, 2);
		w[d] = v2_submit(self->fd[d], V2_SZ, 20 + d, false, cdb, 10,
				 data, len);
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		memset(rb[d], POISON, sizeof(rb[d]));
		r[d] = rv(read(self->fd[d], rb[d], V2_SZ));
		h = (struct sg_header *)rb[d];
		ASSERT_EQ(0, h->result);
		ASSERT_EQ(0, (int)h->target_status);
	}
	ASSERT_SG(V2_SZ + 10 + len, w);
	ASSERT_SG(V2_SZ, r);
	for (wr = 0; wr < NDRV; wr++) {
		pattern(want, len, 70 + wr);
		for (d = 0; d < NDRV; d++) {
			rw10(cdb, 0x28, LBA_V2 + 4 * wr, 2);
			w[d] = v2_submit(self->fd[d], V2_SZ + len, 30 + d, false,
					 cdb, 10, NULL, 0);
			ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
			memset(rb[d], POISON, sizeof(rb[d]));
			r[d] = rv(read(self->fd[d], rb[d], V2_SZ + len));
			ASSERT_EQ(0, memcmp(want, rb[d] + V2_SZ, len)) {
				TH_LOG("%s read what %s wrote wrongly",
				       drv_name[d], drv_name[wr]);
			}
		}
		ASSERT_SG(V2_SZ + 10, w);
		ASSERT_SG(V2_SZ + len, r);
	}
}

/*
 * Data out and a reply_len beyond the header: sg guesses "data in" and
 * copies the data out in first (SG_DXFER_TO_FROM_DEV). In 6.12 that mapping
 * fails with ENOMEM, as SG_IO with SG_DXFER_TO_FROM_DEV does; rsg must
 * give the same result, whichever it is.
 */
TEST_F(async, v2_to_from_dev)
{
	uint8_t data[96], rb[NDRV][256];
	long w[NDRV], r[NDRV];
	int d;

	memset(data, 0x3c, sizeof(data));
	for (d = 0; d < NDRV; d++) {
		w[d] = v2_submit(self->fd[d], V2_SZ + 96, 8, false, inq_cdb, 6,
				 data, sizeof(data));
		r[d] = 0;
		memset(rb[d], POISON, sizeof(rb[d]));
		if (w[d] > 0) {
			ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
			r[d] = rv(read(self->fd[d], rb[d], sizeof(rb[d])));
		}
	}
	ASSERT_EQ(w[SG], w[RSG]);
	ASSERT_EQ(r[SG], r[RSG]);
	ASSERT_EQ(0, memcmp(rb[SG], rb[RSG], sizeof(rb[SG])));
	if (w[SG] < 0) {
		TH_LOG("sg fails the v2 SG_DXFER_TO_FROM_DEV write() with %ld",
		       w[SG]);
		ASSERT_EQ(-ENOMEM, w[SG]);
		for (d = 0; d < NDRV; d++) {
			ASSERT_EQ(0, num_waiting(self->fd[d]));
			ASSERT_EQ(0, sync_tur(self->fd[d]));
		}
		return;
	}
	ASSERT_EQ(V2_SZ + 6 + 96, w[SG]);
	ASSERT_EQ(V2_SZ + 96, r[SG]);
}

/*
 * Command queuing is off on a new fd and v2 headers leave it so: one
 * request at a time. A v3 header switches it on before it is queued.
 */
TEST_F(async, v2_cmd_q)
{
	int q[NDRV][4], nw[NDRV], d;
	long w[NDRV][6];

	for (d = 0; d < NDRV; d++) {
		q[d][0] = get_int(self->fd[d], SG_GET_COMMAND_Q);
		w[d][0] = v2_submit(self->fd[d], V2_SZ, 1, false, tur_cdb, 6,
				    NULL, 0);
		w[d][1] = v2_submit(self->fd[d], V2_SZ, 2, false, tur_cdb, 6,
				    NULL, 0);
		q[d][1] = get_int(self->fd[d], SG_GET_COMMAND_Q);
		w[d][2] = submit_tur(self->fd[d], 3);
		q[d][2] = get_int(self->fd[d], SG_GET_COMMAND_Q);
		w[d][3] = v2_submit(self->fd[d], V2_SZ, 4, false, tur_cdb, 6,
				    NULL, 0);
		/* Off again with requests outstanding: v2 is refused... */
		ASSERT_EQ(0, set_int(self->fd[d], SG_SET_COMMAND_Q, 0));
		w[d][4] = v2_submit(self->fd[d], V2_SZ, 5, false, tur_cdb, 6,
				    NULL, 0);
		/* ...and v3 switches it on again. */
		w[d][5] = submit_tur(self->fd[d], 6);
		q[d][3] = get_int(self->fd[d], SG_GET_COMMAND_Q);
		nw[d] = wait_waiting(self->fd[d], 4);
	}
	ASSERT_EQ(0, q[SG][0]);
	ASSERT_EQ(0, q[SG][1]);
	ASSERT_EQ(1, q[SG][2]);
	ASSERT_EQ(1, q[SG][3]);
	ASSERT_EQ(0, memcmp(q[SG], q[RSG], sizeof(q[SG])));
	ASSERT_EQ(V2_SZ + 6, w[SG][0]);
	ASSERT_EQ(-EDOM, w[SG][1]);
	ASSERT_EQ(HDR_SZ, w[SG][2]);
	ASSERT_EQ(V2_SZ + 6, w[SG][3]);
	ASSERT_EQ(-EDOM, w[SG][4]);
	ASSERT_EQ(HDR_SZ, w[SG][5]);
	ASSERT_EQ(0, memcmp(w[SG], w[RSG], sizeof(w[SG])));
	ASSERT_SG(4, nw);
}

/*
 * v2 write()s refused before anything is queued: too short for the CDB,
 * 256 MiB or more of data asked for, a CDB that cannot be read.
 */
TEST_F(async, v2_write_bad)
{
	long r[NDRV][3], w[NDRV];
	uint8_t pkt[V2_PKT], *page;
	int ok[NDRV], d, i;
	long n;

	page = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	ASSERT_EQ(0, mprotect(page + 4096, 4096, PROT_NONE));
	for (d = 0; d < NDRV; d++) {
		n = v2_build(pkt, V2_SZ, 1, false, tur_cdb, 6, NULL, 0);
		r[d][0] = rv(write(self->fd[d], pkt, n - 1));
		n = v2_build(pkt, V2_SZ + SZ_256M, 2, false, inq_cdb, 6, NULL,
			     0);
		r[d][1] = rv(write(self->fd[d], pkt, n));
		/* The header ends where the page does. */
		v2_build(pkt, V2_SZ, 3, false, tur_cdb, 6, NULL, 0);
		memcpy(page + 4096 - V2_SZ, pkt, V2_SZ);
		r[d][2] = rv(write(self->fd[d], page + 4096 - V2_SZ,
				   V2_SZ + 6));
		/* None of them kept a slot. */
		ASSERT_EQ(0, set_int(self->fd[d], SG_SET_COMMAND_Q, 1));
		ok[d] = 0;
		for (i = 0; i < SG_MAX_QUEUE; i++)
			ok[d] += v2_submit(self->fd[d], V2_SZ, i, false,
					   tur_cdb, 6, NULL, 0) == V2_SZ + 6;
		w[d] = v2_submit(self->fd[d], V2_SZ, i, false, tur_cdb, 6,
				 NULL, 0);
	}
	munmap(page, 8192);
	ASSERT_EQ(-EIO, r[SG][0]);
	ASSERT_EQ(-EINVAL, r[SG][1]);
	ASSERT_EQ(-EFAULT, r[SG][2]);
	ASSERT_EQ(0, memcmp(r[SG], r[RSG], sizeof(r[SG])));
	ASSERT_SG(SG_MAX_QUEUE, ok);
	ASSERT_SG(-EDOM, w);
}

/*
 * v2 data in is copied from sg's kernel buffer, reply_len - 36 bytes of it
 * whatever the device transferred: past the transfer, the reserve buffer
 * still holds what the fd's previous command left there.
 */
TEST_F(async, v2_data_from_reserve)
{
	uint8_t first[NDRV][96], rb[NDRV][V2_SZ + 96];
	static const uint8_t inq36[6] = { 0x12, 0, 0, 0, 36, 0 };
	struct sg_io_hdr h;
	long r[NDRV];
	int d;

	for (d = 0; d < NDRV; d++) {
		memset(first[d], POISON, sizeof(first[d]));
		hdr_init(&h, inq_cdb, 6, SG_DXFER_FROM_DEV, first[d], 96, NULL,
			 0);
		ASSERT_EQ(HDR_SZ, v3_write(self->fd[d], &h));
		ASSERT_EQ(HDR_SZ, v3_read(self->fd[d], &h));
		ASSERT_EQ(0, h.resid);
		ASSERT_EQ(V2_SZ + 6, v2_submit(self->fd[d], V2_SZ + 96, 1,
					       false, inq36, 6, NULL, 0));
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		memset(rb[d], POISON, sizeof(rb[d]));
		r[d] = rv(read(self->fd[d], rb[d], sizeof(rb[d])));
	}
	ASSERT_SG(V2_SZ + 96, r);
	ASSERT_EQ(0, memcmp(first[SG], first[RSG], 96));
	/* The first 36 bytes are the new response, the rest stale. */
	ASSERT_EQ(0, memcmp(first[SG], rb[SG] + V2_SZ, 96));
	ASSERT_EQ(0, memcmp(rb[SG], rb[RSG], sizeof(rb[SG]))) {
		TH_LOG("data past the transfer differs");
	}
}

/* Queue limits */

/* 16 requests per fd, answered or not; SG_IO needs a slot too. */
TEST_F(async, queue_limit)
{
	sg_req_info_t t[NDRV][SG_MAX_QUEUE];
	int ok[NDRV], nw[NDRV], ev[NDRV][2], io[NDRV], d, i;
	long w[NDRV][3];

	for (d = 0; d < NDRV; d++) {
		ok[d] = 0;
		for (i = 0; i < SG_MAX_QUEUE; i++)
			ok[d] += submit_tur(self->fd[d], i) == HDR_SZ;
		w[d][0] = submit_tur(self->fd[d], 16);
		w[d][1] = v2_submit(self->fd[d], V2_SZ, 16, false, tur_cdb, 6,
				    NULL, 0);
		io[d] = sync_tur(self->fd[d]);
		nw[d] = wait_waiting(self->fd[d], SG_MAX_QUEUE);
		ev[d][0] = revents(self->fd[d], POLL_ALL, 0);
		ASSERT_EQ(0, req_table(self->fd[d], t[d]));
		ASSERT_EQ(0, read_pack_id(self->fd[d]));
		ev[d][1] = revents(self->fd[d], POLL_ALL, 0);
		w[d][2] = submit_tur(self->fd[d], 16);
	}
	ASSERT_SG(SG_MAX_QUEUE, ok);
	ASSERT_EQ(-EDOM, w[SG][0]);
	ASSERT_EQ(-EDOM, w[SG][1]);
	ASSERT_EQ(HDR_SZ, w[SG][2]);
	ASSERT_EQ(0, memcmp(w[SG], w[RSG], sizeof(w[SG])));
	ASSERT_SG(-EDOM, io);
	ASSERT_SG(SG_MAX_QUEUE, nw);
	ASSERT_EQ(POLL_READY, ev[SG][0]);
	ASSERT_EQ(POLL_READY | POLL_ROOM, ev[SG][1]);
	ASSERT_EQ(0, memcmp(ev[SG], ev[RSG], sizeof(ev[SG])));
	for (i = 0; i < SG_MAX_QUEUE; i++) {
		ASSERT_EQ(2, t[SG][i].req_state);
		ASSERT_EQ(i, t[SG][i].pack_id);
	}
	assert_tables_same(_metadata, t);
}

/* SG_SET_COMMAND_Q takes any non-zero value as on. */
TEST_F(async, command_q_set_get)
{
	static const int vals[] = { 1, 0, 7, -1, 0 };
	int g[NDRV][ARRAY_SIZE(vals)], s[NDRV][ARRAY_SIZE(vals)];
	unsigned int i;
	int d;

	for (d = 0; d < NDRV; d++) {
		for (i = 0; i < ARRAY_SIZE(vals); i++) {
			s[d][i] = set_int(self->fd[d], SG_SET_COMMAND_Q,
					  vals[i]);
			g[d][i] = get_int(self->fd[d], SG_GET_COMMAND_Q);
		}
	}
	for (i = 0; i < ARRAY_SIZE(vals); i++) {
		ASSERT_EQ(0, s[SG][i]);
		ASSERT_EQ(!!vals[i], g[SG][i]);
	}
	ASSERT_EQ(0, memcmp(s[SG], s[RSG], sizeof(s[SG])));
	ASSERT_EQ(0, memcmp(g[SG], g[RSG], sizeof(g[SG])));
}

/* SG_IO goes through the same submission: it switches queuing on too. */
TEST_F(async, command_q_sg_io)
{
	int q[NDRV][2], st[NDRV], d;

	for (d = 0; d < NDRV; d++) {
		q[d][0] = get_int(self->fd[d], SG_GET_COMMAND_Q);
		st[d] = sync_tur(self->fd[d]);
		q[d][1] = get_int(self->fd[d], SG_GET_COMMAND_Q);
	}
	ASSERT_SG(0, st);
	ASSERT_EQ(0, q[SG][0]);
	ASSERT_EQ(1, q[SG][1]);
	ASSERT_EQ(0, memcmp(q[SG], q[RSG], sizeof(q[SG])));
}

/* Bookkeeping ioctls */

/* Only completed requests count, oldest first. */
TEST_F(async, pack_id_num_waiting)
{
	int v[NDRV][12], d;

	ASSERT_EQ(0, slow_down(self));
	for (d = 0; d < NDRV; d++) {
		v[d][0] = get_int(self->fd[d], SG_GET_PACK_ID);
		v[d][1] = num_waiting(self->fd[d]);
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 21));
		/* Still running: not counted. */
		v[d][2] = get_int(self->fd[d], SG_GET_PACK_ID);
		v[d][3] = num_waiting(self->fd[d]);
		v[d][4] = wait_waiting(self->fd[d], 1);
		v[d][5] = get_int(self->fd[d], SG_GET_PACK_ID);
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 22));
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 23));
		v[d][6] = wait_waiting(self->fd[d], 3);
		v[d][7] = get_int(self->fd[d], SG_GET_PACK_ID);
		ASSERT_EQ(21, read_pack_id(self->fd[d]));
		v[d][8] = get_int(self->fd[d], SG_GET_PACK_ID);
		v[d][9] = num_waiting(self->fd[d]);
		ASSERT_EQ(22, read_pack_id(self->fd[d]));
		ASSERT_EQ(23, read_pack_id(self->fd[d]));
		v[d][10] = get_int(self->fd[d], SG_GET_PACK_ID);
		v[d][11] = num_waiting(self->fd[d]);
	}
	ASSERT_EQ(-1, v[SG][0]);
	ASSERT_EQ(0, v[SG][1]);
	ASSERT_EQ(-1, v[SG][2]);
	ASSERT_EQ(0, v[SG][3]);
	ASSERT_EQ(1, v[SG][4]);
	ASSERT_EQ(21, v[SG][5]);
	ASSERT_EQ(3, v[SG][6]);
	ASSERT_EQ(21, v[SG][7]);
	ASSERT_EQ(22, v[SG][8]);
	ASSERT_EQ(2, v[SG][9]);
	ASSERT_EQ(-1, v[SG][10]);
	ASSERT_EQ(0, v[SG][11]);
	ASSERT_EQ(0, memcmp(v[SG], v[RSG], sizeof(v[SG])));
}

/*
 * SG_GET_REQUEST_TABLE: 16 entries in submission order, state 1 while
 * active and 2 when done, v2 requests without usr_ptr, the rest zeroed.
 */
TEST_F(async, request_table)
{
	sg_req_info_t t[NDRV][4][SG_MAX_QUEUE];
	struct sg_io_hdr h;
	int d, k;

	ASSERT_EQ(0, slow_down(self));
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, req_table(self->fd[d], t[d][0]));
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 31));
		ASSERT_EQ(V2_SZ + 6, v2_submit(self->fd[d], V2_SZ, 33, false,
					       tur_cdb, 6, NULL, 0));
		sleep_ms(SLOW_MS / 4);
		ASSERT_EQ(0, req_table(self->fd[d], t[d][1]));
		/* Answered at once, with CHECK CONDITION. */
		hdr_init(&h, bad_cdb, 6, SG_DXFER_NONE, NULL, 0, NULL, 0);
		h.pack_id = 32;
		h.usr_ptr = &t;
		ASSERT_EQ(HDR_SZ, v3_write(self->fd[d], &h));
		ASSERT_EQ(3, wait_waiting(self->fd[d], 3));
		ASSERT_EQ(0, req_table(self->fd[d], t[d][2]));
		ASSERT_EQ(31, read_pack_id(self->fd[d]));
		ASSERT_EQ(0, req_table(self->fd[d], t[d][3]));
	}
	for (k = 0; k < 4; k++) {
		sg_req_info_t both[NDRV][SG_MAX_QUEUE];

		memcpy(both[RSG], t[RSG][k], sizeof(both[RSG]));
		memcpy(both[SG], t[SG][k], sizeof(both[SG]));
		assert_tables_same(_metadata, both);
	}
	ASSERT_EQ(0, table_used(t[SG][0]));
	ASSERT_EQ(2, table_used(t[SG][1]));
	ASSERT_EQ(3, table_used(t[SG][2]));
	ASSERT_EQ(2, table_used(t[SG][3]));
	for (d = 0; d < NDRV; d++) {
		const sg_req_info_t *a = t[d][1], *b = t[d][2], *c = t[d][3];

		ASSERT_EQ(1, a[0].req_state);
		ASSERT_EQ(31, a[0].pack_id);
		ASSERT_EQ((void *)(uintptr_t)(0x1000 + 31), a[0].usr_ptr);
		ASSERT_EQ(1, a[1].req_state);
		ASSERT_EQ(33, a[1].pack_id);
		ASSERT_EQ(NULL, a[1].usr_ptr);
		ASSERT_EQ(0, a[0].orphan + a[0].sg_io_owned + a[0].problem);
		/* Milliseconds since write(), while active. */
		ASSERT_LE(SLOW_MS / 8, a[0].duration) {
			TH_LOG("%s: duration %u", drv_name[d], a[0].duration);
		}
		ASSERT_GT(SLOW_MS + SLACK_MS, a[0].duration);

		ASSERT_EQ(2, b[0].req_state);
		ASSERT_EQ(2, b[1].req_state);
		ASSERT_EQ(2, b[2].req_state);
		ASSERT_EQ(0, b[0].problem);
		ASSERT_EQ(0, b[1].problem);
		ASSERT_EQ(1, b[2].problem);
		ASSERT_EQ(32, b[2].pack_id);
		ASSERT_EQ((void *)&t, b[2].usr_ptr);
		/* The command's duration, once done. */
		ASSERT_LE(DUR_MIN, b[0].duration) {
			TH_LOG("%s: duration %u", drv_name[d], b[0].duration);
		}
		ASSERT_GT(SLOW_MS, b[2].duration);

		ASSERT_EQ(33, c[0].pack_id);
		ASSERT_EQ(32, c[1].pack_id);
	}
}

static int page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

/*
 * SG_SET_RESERVED_SIZE: negative is EINVAL; the buffer is at least a page,
 * rounded up to 512 bytes and clamped to the queue's max_sectors in bytes.
 */
TEST_F(async, reserved_size)
{
	const int vals[] = {
		-1, 0, 1000, 5000, 65536, INT_MAX, DEF_RESERVED,
	};
	int s[NDRV][ARRAY_SIZE(vals)], g[NDRV][ARRAY_SIZE(vals) + 1];
	int max[NDRV], d;
	unsigned int i;

	for (d = 0; d < NDRV; d++) {
		max[d] = get_int(self->fd[d], BLKSECTGET);
		g[d][0] = get_int(self->fd[d], SG_GET_RESERVED_SIZE);
		for (i = 0; i < ARRAY_SIZE(vals); i++) {
			s[d][i] = set_int(self->fd[d], SG_SET_RESERVED_SIZE,
					  vals[i]);
			g[d][i + 1] = get_int(self->fd[d],
					      SG_GET_RESERVED_SIZE);
		}
	}
	ASSERT_SG(max[SG], max);
	ASSERT_LT(0, max[SG]);
	ASSERT_EQ(0, max[SG] % 512);
	ASSERT_EQ(DEF_RESERVED, g[SG][0]);
	ASSERT_EQ(-EINVAL, s[SG][0]);
	ASSERT_EQ(DEF_RESERVED, g[SG][1]);
	ASSERT_EQ(page_size(), g[SG][2]);
	ASSERT_EQ(page_size(), g[SG][3]);
	ASSERT_EQ(page_size() > 5120 ? page_size() : 5120, g[SG][4]);
	ASSERT_EQ(65536, g[SG][5]);
	ASSERT_EQ(max[SG], g[SG][6]);
	ASSERT_EQ(DEF_RESERVED, g[SG][7]);
	for (i = 1; i < ARRAY_SIZE(vals); i++) {
		ASSERT_EQ(0, s[SG][i]);
	}
	ASSERT_EQ(0, memcmp(s[SG], s[RSG], sizeof(s[SG])));
	ASSERT_EQ(0, memcmp(g[SG], g[RSG], sizeof(g[SG])));
}

/*
 * The reserve buffer serves one request at a time, from write() until its
 * response is read; resizing it meanwhile is EBUSY (keeping the size is
 * not). A request larger than the reserve does not hold it.
 */
TEST_F(async, reserved_size_busy)
{
	uint8_t *buf = malloc(96 * 1024), cdb[10];
	int s[NDRV][7], g[NDRV][3], d;
	struct sg_io_hdr h;

	ASSERT_NE(NULL, buf);
	for (d = 0; d < NDRV; d++) {
		rw10(cdb, 0x28, LBA_V3, 4);
		hdr_init(&h, cdb, 10, SG_DXFER_FROM_DEV, buf, 4 * self->bs,
			 NULL, 0);
		ASSERT_EQ(HDR_SZ, v3_write(self->fd[d], &h));
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		s[d][0] = set_int(self->fd[d], SG_SET_RESERVED_SIZE, 65536);
		s[d][1] = set_int(self->fd[d], SG_SET_RESERVED_SIZE,
				  DEF_RESERVED);
		g[d][0] = get_int(self->fd[d], SG_GET_RESERVED_SIZE);
		ASSERT_EQ(HDR_SZ, v3_read(self->fd[d], &h));
		s[d][2] = set_int(self->fd[d], SG_SET_RESERVED_SIZE, 65536);
		g[d][1] = get_int(self->fd[d], SG_GET_RESERVED_SIZE);

		/* 96 KiB does not fit: a buffer of its own. */
		rw10(cdb, 0x28, LBA_V3, 96 * 1024 / self->bs);
		hdr_init(&h, cdb, 10, SG_DXFER_FROM_DEV, buf, 96 * 1024, NULL,
			 0);
		ASSERT_EQ(HDR_SZ, v3_write(self->fd[d], &h));
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		s[d][3] = set_int(self->fd[d], SG_SET_RESERVED_SIZE, 16384);
		/* The next small one takes the reserve. */
		rw10(cdb, 0x28, LBA_V3, 1);
		hdr_init(&h, cdb, 10, SG_DXFER_FROM_DEV, buf, self->bs, NULL,
			 0);
		ASSERT_EQ(HDR_SZ, v3_write(self->fd[d], &h));
		ASSERT_EQ(2, wait_waiting(self->fd[d], 2));
		s[d][4] = set_int(self->fd[d], SG_SET_RESERVED_SIZE, 8192);
		ASSERT_EQ(HDR_SZ, v3_read(self->fd[d], &h));
		s[d][5] = set_int(self->fd[d], SG_SET_RESERVED_SIZE, 8192);
		ASSERT_EQ(HDR_SZ, v3_read(self->fd[d], &h));
		s[d][6] = set_int(self->fd[d], SG_SET_RESERVED_SIZE, 8192);
		g[d][2] = get_int(self->fd[d], SG_GET_RESERVED_SIZE);
	}
	free(buf);
	ASSERT_EQ(-EBUSY, s[SG][0]);
	ASSERT_EQ(0, s[SG][1]);
	ASSERT_EQ(0, s[SG][2]);
	ASSERT_EQ(0, s[SG][3]);
	ASSERT_EQ(-EBUSY, s[SG][4]);
	/* The large one is the older, read first. */
	ASSERT_EQ(-EBUSY, s[SG][5]);
	ASSERT_EQ(0, s[SG][6]);
	ASSERT_EQ(0, memcmp(s[SG], s[RSG], sizeof(s[SG])));
	ASSERT_EQ(DEF_RESERVED, g[SG][0]);
	ASSERT_EQ(65536, g[SG][1]);
	ASSERT_EQ(8192, g[SG][2]);
	ASSERT_EQ(0, memcmp(g[SG], g[RSG], sizeof(g[SG])));
}

/* The queue's max_segments: the host's sg_tablesize for scsi_debug. */
TEST_F(async, sg_tablesize)
{
	struct lu lu;
	char host[16];
	long long want;
	int v[NDRV], d;

	ASSERT_EQ(0, lu_info(self->path[SG], &lu));
	snprintf(host, sizeof(host), "%d", lu.host);
	want = read_num("/sys/class/scsi_host/host%s/sg_tablesize", host);
	ASSERT_LT(0, want);
	for (d = 0; d < NDRV; d++)
		v[d] = get_int(self->fd[d], SG_GET_SG_TABLESIZE);
	ASSERT_SG(want, v);
}

/* Vestigial ioctls answer as sg always has. */
TEST_F(async, vestigial_ioctls)
{
	int v[NDRV][7], d;
	void *p;

	p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (d = 0; d < NDRV; d++) {
		v[d][0] = get_int(self->fd[d], SG_GET_ACCESS_COUNT);
		v[d][1] = get_int(self->fd[d], SG_GET_LOW_DMA);
		/* Neither looks at its argument. */
		v[d][2] = rv(ioctl(self->fd[d], SG_SET_FORCE_LOW_DMA, p));
		v[d][3] = rv(ioctl(self->fd[d], SG_SET_FORCE_LOW_DMA, NULL));
		v[d][4] = set_int(self->fd[d], SG_SET_DEBUG, 1);
		v[d][5] = set_int(self->fd[d], SG_SET_DEBUG, 0);
		v[d][6] = get_int(self->fd[d], SG_GET_LOW_DMA);
	}
	munmap(p, 4096);
	ASSERT_EQ(1, v[SG][0]);
	ASSERT_EQ(0, v[SG][1]);
	ASSERT_EQ(0, v[SG][2]);
	ASSERT_EQ(0, v[SG][3]);
	ASSERT_EQ(0, v[SG][4]);
	ASSERT_EQ(0, v[SG][5]);
	ASSERT_EQ(0, v[SG][6]);
	ASSERT_EQ(0, memcmp(v[SG], v[RSG], sizeof(v[SG])));
}

TEST_F(async, keep_orphan_set_get)
{
	int v[NDRV][5], d;

	for (d = 0; d < NDRV; d++) {
		v[d][0] = get_int(self->fd[d], SG_GET_KEEP_ORPHAN);
		v[d][1] = set_int(self->fd[d], SG_SET_KEEP_ORPHAN, 1);
		v[d][2] = get_int(self->fd[d], SG_GET_KEEP_ORPHAN);
		v[d][3] = set_int(self->fd[d], SG_SET_KEEP_ORPHAN, 0);
		v[d][4] = get_int(self->fd[d], SG_GET_KEEP_ORPHAN);
	}
	ASSERT_EQ(0, v[SG][0]);
	ASSERT_EQ(0, v[SG][1]);
	ASSERT_EQ(1, v[SG][2]);
	ASSERT_EQ(0, v[SG][3]);
	ASSERT_EQ(0, v[SG][4]);
	ASSERT_EQ(0, memcmp(v[SG], v[RSG], sizeof(v[SG])));
}

/*
 * sg keeps the flag in a char as given, unlike command queuing: 5 reads
 * back as 5, and 256 is 0 (off). The kernel's char is unsigned (it is
 * built with -funsigned-char), so -1 reads back as 255.
 */
TEST_F(async, keep_orphan_char)
{
	static const int vals[] = { 5, -1, 256, 257 };
	int v[NDRV][ARRAY_SIZE(vals)], d;
	unsigned int i;

	for (d = 0; d < NDRV; d++) {
		for (i = 0; i < ARRAY_SIZE(vals); i++) {
			ASSERT_EQ(0, set_int(self->fd[d], SG_SET_KEEP_ORPHAN,
					     vals[i]));
			v[d][i] = get_int(self->fd[d], SG_GET_KEEP_ORPHAN);
		}
	}
	for (i = 0; i < ARRAY_SIZE(vals); i++) {
		ASSERT_EQ((unsigned char)vals[i], v[SG][i]);
		ASSERT_EQ(v[SG][i], v[RSG][i]) {
			TH_LOG("SG_SET_KEEP_ORPHAN %d: sg reads back %d, rsg %d",
			       vals[i], v[SG][i], v[RSG][i]);
		}
	}
}

static const unsigned long ptr_ioctls[] = {
	SG_SET_COMMAND_Q, SG_GET_COMMAND_Q, SG_SET_KEEP_ORPHAN,
	SG_GET_KEEP_ORPHAN, SG_NEXT_CMD_LEN, SG_SET_RESERVED_SIZE,
	SG_GET_RESERVED_SIZE, SG_GET_PACK_ID, SG_GET_NUM_WAITING,
	SG_GET_REQUEST_TABLE, SG_GET_SG_TABLESIZE, SG_GET_ACCESS_COUNT,
	SG_GET_LOW_DMA, BLKSECTGET, SG_SET_FORCE_PACK_ID, SG_SET_DEBUG,
};

TEST_F(async, ioctl_bad_pointer)
{
	int e[NDRV], d;
	unsigned int i;
	void *p;

	p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < ARRAY_SIZE(ptr_ioctls); i++) {
		for (d = 0; d < NDRV; d++)
			e[d] = rv(ioctl(self->fd[d], ptr_ioctls[i], p));
		ASSERT_EQ(-EFAULT, e[SG]) {
			TH_LOG("ioctl 0x%lx", ptr_ioctls[i]);
		}
		ASSERT_EQ(e[SG], e[RSG]) {
			TH_LOG("ioctl 0x%lx", ptr_ioctls[i]);
		}
	}
	munmap(p, 4096);
}

/* sg knows all of them, so they work on fds that are not O_RDWR. */
TEST_F(async, ioctl_rdonly)
{
	static const int modes[] = { O_RDONLY, O_WRONLY };
	union {
		int i;
		sg_req_info_t t[SG_MAX_QUEUE];
	} arg[NDRV];
	int e[NDRV], fd, d;
	unsigned int i, m;

	for (m = 0; m < ARRAY_SIZE(modes); m++) {
		for (i = 0; i < ARRAY_SIZE(ptr_ioctls); i++) {
			for (d = 0; d < NDRV; d++) {
				fd = open(self->path[d], modes[m]);
				ASSERT_LE(0, fd);
				memset(&arg[d], 0, sizeof(arg[d]));
				/* The reserve keeps its size. */
				if (ptr_ioctls[i] == SG_SET_RESERVED_SIZE)
					arg[d].i = DEF_RESERVED;
				e[d] = rv(ioctl(fd, ptr_ioctls[i], &arg[d]));
				close(fd);
			}
			ASSERT_EQ(0, e[SG]) {
				TH_LOG("ioctl 0x%lx mode %d", ptr_ioctls[i],
				       modes[m]);
			}
			ASSERT_EQ(e[SG], e[RSG]) {
				TH_LOG("ioctl 0x%lx mode %d", ptr_ioctls[i],
				       modes[m]);
			}
			ASSERT_EQ(0, memcmp(&arg[SG], &arg[RSG],
					    sizeof(arg[SG])));
		}
	}
}

/*
 * Answers go to pages not yet faulted in, as a fresh mapping is: the copy
 * has to be able to take the page fault.
 */
TEST_F(async, ioctl_fresh_page)
{
	static const unsigned long getters[] = {
		SG_GET_COMMAND_Q, SG_GET_KEEP_ORPHAN, SG_GET_RESERVED_SIZE,
		SG_GET_PACK_ID, SG_GET_NUM_WAITING, SG_GET_SG_TABLESIZE,
		SG_GET_ACCESS_COUNT, SG_GET_LOW_DMA, SG_GET_VERSION_NUM,
		BLKSECTGET, SG_GET_REQUEST_TABLE,
	};
	int e[NDRV], v[NDRV], d;
	unsigned int i;
	void *p;

	for (i = 0; i < ARRAY_SIZE(getters); i++) {
		for (d = 0; d < NDRV; d++) {
			p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			ASSERT_NE(MAP_FAILED, p);
			e[d] = rv(ioctl(self->fd[d], getters[i], p));
			v[d] = *(int *)p;
			munmap(p, 4096);
		}
		/* EXPECT: go on, to name every ioctl that fails. */
		EXPECT_EQ(0, e[SG]) {
			TH_LOG("ioctl 0x%lx", getters[i]);
		}
		EXPECT_EQ(e[SG], e[RSG]) {
			TH_LOG("ioctl 0x%lx", getters[i]);
		}
		EXPECT_EQ(v[SG], v[RSG]) {
			TH_LOG("ioctl 0x%lx", getters[i]);
		}
	}
}

/* SG_SET_FORCE_PACK_ID: read() takes the pack_id from the caller's buffer */

/* A v3 read buffer asking for pack_id (-1: any). */
static long read_by_id(int fd, int pack_id, struct sg_io_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->interface_id = 'S';
	h->dxfer_direction = SG_DXFER_NONE;
	h->pack_id = pack_id;
	return v3_read(fd, h);
}

TEST_F(async, force_pack_id)
{
	int got[NDRV][5], d;
	struct sg_io_hdr h;
	long r[NDRV][5];

	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 1));
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 2));
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 3));
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 4));
		ASSERT_EQ(4, wait_waiting(self->fd[d], 4));
		/* Off, the buffer's pack_id is ignored. */
		r[d][0] = read_by_id(self->fd[d], 3, &h);
		got[d][0] = h.pack_id;
		ASSERT_EQ(0, set_int(self->fd[d], SG_SET_FORCE_PACK_ID, 1));
		r[d][1] = read_by_id(self->fd[d], 3, &h);
		got[d][1] = h.pack_id;
		ASSERT_EQ(0, set_nonblock(self->fd[d], true));
		memset(&h, 0, sizeof(h));
		r[d][2] = read_by_id(self->fd[d], 9, &h);
		got[d][2] = h.pack_id;
		r[d][3] = read_by_id(self->fd[d], -1, &h);
		got[d][3] = h.pack_id;
		r[d][4] = read_by_id(self->fd[d], 4, &h);
		got[d][4] = h.pack_id;
	}
	ASSERT_EQ(HDR_SZ, r[SG][0]);
	ASSERT_EQ(1, got[SG][0]);
	ASSERT_EQ(HDR_SZ, r[SG][1]);
	ASSERT_EQ(3, got[SG][1]);
	ASSERT_EQ(-EAGAIN, r[SG][2]);
	ASSERT_EQ(9, got[SG][2]);
	ASSERT_EQ(HDR_SZ, r[SG][3]);
	ASSERT_EQ(2, got[SG][3]);
	ASSERT_EQ(HDR_SZ, r[SG][4]);
	ASSERT_EQ(4, got[SG][4]);
	ASSERT_EQ(0, memcmp(r[SG], r[RSG], sizeof(r[SG])));
	ASSERT_EQ(0, memcmp(got[SG], got[RSG], sizeof(got[SG])));
}

/*
 * sg reads the wanted pack_id where the buffer's header says: with a
 * reply_len (the v3 dxfer_direction) of 0 or more it is a v2 header, whose
 * pack_id sits where the v3 cmd_len, mx_sb_len and iovec_count are.
 */
TEST_F(async, force_pack_id_v2_offset)
{
	union {
		struct sg_io_hdr v3;
		struct sg_header v2;
	} b;
	int got[NDRV], d;
	long r[NDRV];

	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 0x11));
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 0x22));
		ASSERT_EQ(2, wait_waiting(self->fd[d], 2));
		ASSERT_EQ(0, set_int(self->fd[d], SG_SET_FORCE_PACK_ID, 1));
		memset(&b, 0, sizeof(b));
		b.v3.pack_id = 0x11;
		b.v2.reply_len = 0;
		b.v2.pack_id = 0x22;
		r[d] = v3_read(self->fd[d], &b.v3);
		got[d] = b.v3.pack_id;
	}
	ASSERT_SG(HDR_SZ, r);
	ASSERT_SG(0x22, got);
}

TEST_F(async, force_pack_id_v2)
{
	uint8_t rb[NDRV][2][V2_SZ];
	int got[NDRV][2], d, i;
	struct sg_header *h;
	long r[NDRV][2];

	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, set_int(self->fd[d], SG_SET_COMMAND_Q, 1));
		for (i = 5; i < 8; i++) {
			ASSERT_EQ(V2_SZ + 6, v2_submit(self->fd[d], V2_SZ, i,
						       false, tur_cdb, 6, NULL,
						       0));
		}
		ASSERT_EQ(3, wait_waiting(self->fd[d], 3));
		ASSERT_EQ(0, set_int(self->fd[d], SG_SET_FORCE_PACK_ID, 1));
		for (i = 0; i < 2; i++) {
			memset(rb[d][i], 0, V2_SZ);
			h = (struct sg_header *)rb[d][i];
			h->reply_len = V2_SZ;
			h->pack_id = 7 - i;
			r[d][i] = rv(read(self->fd[d], rb[d][i], V2_SZ));
			got[d][i] = h->pack_id;
		}
	}
	ASSERT_EQ(V2_SZ, r[SG][0]);
	ASSERT_EQ(V2_SZ, r[SG][1]);
	ASSERT_EQ(7, got[SG][0]);
	ASSERT_EQ(6, got[SG][1]);
	ASSERT_EQ(0, memcmp(r[SG], r[RSG], sizeof(r[SG])));
	ASSERT_EQ(0, memcmp(rb[SG], rb[RSG], sizeof(rb[SG])));
}

/* A blocking read() for a pack_id still running waits for that one. */
TEST_F(async, force_pack_id_wait)
{
	int got[NDRV], first[NDRV], d;
	struct sg_io_hdr h;
	long r[NDRV], e[NDRV];

	ASSERT_EQ(0, slow_down(self));
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, set_int(self->fd[d], SG_SET_FORCE_PACK_ID, 1));
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 1));
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 2));
		ASSERT_EQ(0, set_nonblock(self->fd[d], true));
		e[d] = read_by_id(self->fd[d], 2, &h);
		ASSERT_EQ(0, set_nonblock(self->fd[d], false));
		r[d] = read_by_id(self->fd[d], 2, &h);
		got[d] = h.pack_id;
		ASSERT_EQ(HDR_SZ, read_by_id(self->fd[d], -1, &h));
		first[d] = h.pack_id;
	}
	ASSERT_SG(-EAGAIN, e);
	ASSERT_SG(HDR_SZ, r);
	ASSERT_SG(2, got);
	ASSERT_SG(1, first);
}

/* An address no access can succeed on; kept mapped so it is not reused. */
static void *hole(void)
{
	void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * A v3 read() that cannot write the header, or the data in, fails with
 * EFAULT and the response is gone. Under SG_SET_FORCE_PACK_ID, a buffer
 * that cannot be read fails before any response is taken.
 */
TEST_F(async, v3_read_efault)
{
	struct sg_io_hdr in[NDRV], out[NDRV], h;
	int nw[NDRV][3], got[NDRV], d;
	void *p = hole();
	long r[NDRV][4];

	ASSERT_NE(NULL, p);
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 1));
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		r[d][0] = rv(read(self->fd[d], p, HDR_SZ));
		nw[d][0] = num_waiting(self->fd[d]);

		hdr_init(&in[d], inq_cdb, 6, SG_DXFER_FROM_DEV, p, 96, NULL, 0);
		in[d].pack_id = 2;
		ASSERT_EQ(HDR_SZ, v3_write(self->fd[d], &in[d]));
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		memset(&out[d], 0x5a, sizeof(out[d]));
		r[d][1] = v3_read(self->fd[d], &out[d]);
		nw[d][1] = num_waiting(self->fd[d]);

		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 3));
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		ASSERT_EQ(0, set_int(self->fd[d], SG_SET_FORCE_PACK_ID, 1));
		r[d][2] = rv(read(self->fd[d], p, HDR_SZ));
		nw[d][2] = num_waiting(self->fd[d]);
		r[d][3] = read_by_id(self->fd[d], 3, &h);
		got[d] = h.pack_id;
	}
	ASSERT_EQ(-EFAULT, r[SG][0]);
	ASSERT_EQ(-EFAULT, r[SG][1]);
	ASSERT_EQ(-EFAULT, r[SG][2]);
	ASSERT_EQ(HDR_SZ, r[SG][3]);
	ASSERT_EQ(0, memcmp(r[SG], r[RSG], sizeof(r[SG])));
	ASSERT_EQ(0, nw[SG][0]);
	ASSERT_EQ(0, nw[SG][1]);
	ASSERT_EQ(1, nw[SG][2]);
	ASSERT_EQ(0, memcmp(nw[SG], nw[RSG], sizeof(nw[SG])));
	ASSERT_SG(3, got);
	/* The header was written before the data failed. */
	assert_v3_good(_metadata, out, in);
}

/*
 * A v2 read() that cannot write the header fails with EFAULT and, in sg,
 * leaves the response half taken: listed as being read (state 3), no
 * longer readable, and holding its slot until the fd is closed.
 */
TEST_F(async, v2_read_efault)
{
	sg_req_info_t t[NDRV][SG_MAX_QUEUE];
	long r[NDRV], w[NDRV];
	void *p = hole();
	int nw[NDRV], d;

	ASSERT_NE(NULL, p);
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(V2_SZ + 6, v2_submit(self->fd[d], V2_SZ, 4, false,
					       tur_cdb, 6, NULL, 0));
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		r[d] = rv(read(self->fd[d], p, V2_SZ));
		nw[d] = num_waiting(self->fd[d]);
		ASSERT_EQ(0, req_table(self->fd[d], t[d]));
		/* Queuing is off: no room while it holds the slot. */
		w[d] = v2_submit(self->fd[d], V2_SZ, 5, false, tur_cdb, 6, NULL,
				 0);
	}
	ASSERT_SG(-EFAULT, r);
	ASSERT_SG(0, nw);
	ASSERT_EQ(1, table_used(t[SG]));
	ASSERT_EQ(3, t[SG][0].req_state);
	ASSERT_EQ(4, t[SG][0].pack_id);
	assert_tables_same(_metadata, t);
	ASSERT_SG(-EDOM, w);
}

/* poll() */

TEST_F(async, poll_idle)
{
	int ev[NDRV], d;

	for (d = 0; d < NDRV; d++)
		ev[d] = revents(self->fd[d], POLL_ALL, 0);
	ASSERT_SG(POLL_ROOM, ev);
}

/* With queuing off, one outstanding request leaves no room. */
TEST_F(async, poll_v2)
{
	int ev[NDRV][2], d;
	uint8_t rb[V2_SZ];

	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(V2_SZ + 6, v2_submit(self->fd[d], V2_SZ, 1, false,
					       tur_cdb, 6, NULL, 0));
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		ev[d][0] = revents(self->fd[d], POLL_ALL, 0);
		ASSERT_EQ(V2_SZ, rv(read(self->fd[d], rb, sizeof(rb))));
		ev[d][1] = revents(self->fd[d], POLL_ALL, 0);
	}
	ASSERT_EQ(POLL_READY, ev[SG][0]);
	ASSERT_EQ(POLL_ROOM, ev[SG][1]);
	ASSERT_EQ(0, memcmp(ev[SG], ev[RSG], sizeof(ev[SG])));
}

/* poll() sleeps until the command completes. */
TEST_F(async, poll_wakes)
{
	int ev[NDRV][3], d;
	long t0, waited[NDRV];

	ASSERT_EQ(0, slow_down(self));
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(V2_SZ + 6, v2_submit(self->fd[d], V2_SZ, 1, false,
					       tur_cdb, 6, NULL, 0));
		/* Queuing off and one active: nothing at all. */
		ev[d][0] = revents(self->fd[d], POLL_ALL, 0);
		ASSERT_EQ(0, set_int(self->fd[d], SG_SET_COMMAND_Q, 1));
		ev[d][1] = revents(self->fd[d], POLL_ALL, 0);
		t0 = now_ms();
		ev[d][2] = revents(self->fd[d], POLLIN, SLACK_MS);
		waited[d] = now_ms() - t0;
	}
	ASSERT_EQ(0, ev[SG][0]);
	ASSERT_EQ(POLL_ROOM, ev[SG][1]);
	ASSERT_EQ(POLLIN, ev[SG][2]);
	ASSERT_EQ(0, memcmp(ev[SG], ev[RSG], sizeof(ev[SG])));
	for (d = 0; d < NDRV; d++) {
		ASSERT_LE(SLOW_MS / 2, waited[d]) {
			TH_LOG("%s: poll() returned after %ld ms", drv_name[d],
			       waited[d]);
		}
	}
}

/* SIGIO */

/* Deliver SIGIO for fd to this process, as sig (0: SIGIO itself). */
static int async_on(int fd, int sig)
{
	int fl;

	if (fcntl(fd, F_SETOWN, getpid()) < 0 ||
	    fcntl(fd, F_SETSIG, sig) < 0)
		return -errno;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_ASYNC) < 0)
		return -errno;
	return 0;
}

static int block_sig(int sig)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	return sigprocmask(SIG_BLOCK, &set, NULL) ? -errno : 0;
}

/*
 * Collect the blocked signal sig for up to ms after the last one; count
 * those with the given code and band for fd, and any others.
 */
static int collect_sig(int sig, int ms, int fd, int code, long band,
		       int *other)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	siginfo_t si;
	sigset_t set;
	int n = 0;

	sigemptyset(&set);
	sigaddset(&set, sig);
	*other = 0;
	while (sigtimedwait(&set, &si, &ts) == sig) {
		if (si.si_code == code && si.si_fd == fd && si.si_band == band)
			n++;
		else
			(*other)++;
	}
	return n;
}

/* The same for both drivers' fds at once: n[d] for fd[d]. */
static void collect_sig2(int sig, int ms, const int *fd, int code, long band,
			 int *n, int *other)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	siginfo_t si;
	sigset_t set;
	int d;

	sigemptyset(&set);
	sigaddset(&set, sig);
	*other = 0;
	for (d = 0; d < NDRV; d++)
		n[d] = 0;
	while (sigtimedwait(&set, &si, &ts) == sig) {
		for (d = 0; d < NDRV; d++) {
			if (si.si_code == code && si.si_fd == fd[d] &&
			    si.si_band == band) {
				n[d]++;
				break;
			}
		}
		if (d == NDRV)
			(*other)++;
	}
}

#define SIG_RT		(SIGRTMIN + 1)

/* One POLL_IN signal per completion, naming the fd. */
TEST_F(async, sigio_per_completion)
{
	int n[NDRV], other[NDRV], d, i;

	ASSERT_EQ(0, block_sig(SIG_RT));
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, async_on(self->fd[d], SIG_RT));
		for (i = 0; i < 3; i++) {
			ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], i));
		}
		ASSERT_EQ(3, wait_waiting(self->fd[d], 3));
		n[d] = collect_sig(SIG_RT, 200, self->fd[d], POLL_IN,
				   POLLIN | POLLRDNORM, &other[d]);
	}
	ASSERT_SG(3, n);
	ASSERT_SG(0, other);
}

/* Plain SIGIO without F_SETSIG. */
TEST_F(async, sigio_default)
{
	struct timespec ts = { 1, 0 };
	int got[NDRV], code[NDRV], d;
	siginfo_t si;
	sigset_t set;

	ASSERT_EQ(0, block_sig(SIGIO));
	sigemptyset(&set);
	sigaddset(&set, SIGIO);
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, async_on(self->fd[d], 0));
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 1));
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		memset(&si, 0, sizeof(si));
		got[d] = sigtimedwait(&set, &si, &ts);
		code[d] = si.si_code;
	}
	ASSERT_SG(SIGIO, got);
	ASSERT_SG(SI_KERNEL, code);
}

/* SG_IO completions signal too; without O_ASYNC nothing is sent. */
TEST_F(async, sigio_sg_io)
{
	int n[NDRV][2], other[NDRV][2], st[NDRV], fl, d;

	ASSERT_EQ(0, block_sig(SIG_RT));
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, async_on(self->fd[d], SIG_RT));
		st[d] = sync_tur(self->fd[d]);
		n[d][0] = collect_sig(SIG_RT, 200, self->fd[d], POLL_IN,
				      POLLIN | POLLRDNORM, &other[d][0]);
		fl = fcntl(self->fd[d], F_GETFL);
		ASSERT_EQ(0, fcntl(self->fd[d], F_SETFL, fl & ~O_ASYNC));
		ASSERT_EQ(0, sync_tur(self->fd[d]));
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 1));
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
		n[d][1] = collect_sig(SIG_RT, 200, self->fd[d], POLL_IN,
				      POLLIN | POLLRDNORM, &other[d][1]);
	}
	ASSERT_SG(0, st);
	ASSERT_EQ(1, n[SG][0]);
	ASSERT_EQ(0, n[SG][1]);
	ASSERT_EQ(0, memcmp(n[SG], n[RSG], sizeof(n[SG])));
	ASSERT_EQ(0, other[SG][0] + other[SG][1]);
	ASSERT_EQ(0, other[RSG][0] + other[RSG][1]);
}

/* Orphans: SG_IO interrupted by a signal */

static volatile sig_atomic_t sig_count;

static void count_sig(int sig)
{
	sig_count++;
}

static int on_sigusr1(bool restart)
{
	struct sigaction sa = { .sa_handler = count_sig };

	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR1, &sa, NULL) ? -errno : 0;
}

/* SIGUSR1 to this process after ms. */
static int sigusr1_after(timer_t *t, int ms)
{
	struct sigevent sev = {
		.sigev_notify = SIGEV_SIGNAL,
		.sigev_signo = SIGUSR1,
	};
	struct itimerspec its = {
		.it_value = { ms / 1000, (ms % 1000) * 1000000L },
	};

	if (timer_create(CLOCK_MONOTONIC, &sev, t))
		return -errno;
	if (timer_settime(*t, 0, &its, NULL)) {
		timer_delete(*t);
		return -errno;
	}
	return 0;
}

#define ORPHAN_ID	0x77
#define ORPHAN_PTR	((void *)0x77077UL)

struct orphan {
	struct sg_io_hdr in, h;
	uint8_t cdb[10];
	uint8_t sense[32];
	uint8_t buf[4096];
	int err;		/* errno of SG_IO */
	long took;		/* ms */
};

/* Give the block each driver's orphan reads a known content. */
static int orphan_prepare(FIXTURE_DATA(async) *self, uint8_t *want)
{
	int d, st;

	if (self->bs > 4096)
		return -1;
	for (d = 0; d < NDRV; d++) {
		pattern(want, self->bs, 90 + d);
		st = sync_rw(self->fd[SG], 0x2a, LBA_ORPHAN + d, 1, want,
			     self->bs);
		if (st)
			return -1;
	}
	return slow_down(self);
}

/* SG_IO READ(10) of driver d's block, with SIGUSR1 arriving after SIG_MS. */
static int orphan_sg_io(FIXTURE_DATA(async) *self, int d, struct orphan *o,
			bool restart)
{
	timer_t t;
	long t0;

	memset(o->buf, POISON, sizeof(o->buf));
	memset(o->sense, SENSE_POISON, sizeof(o->sense));
	rw10(o->cdb, 0x28, LBA_ORPHAN + d, 1);
	hdr_init(&o->in, o->cdb, 10, SG_DXFER_FROM_DEV, o->buf, self->bs,
		 o->sense, sizeof(o->sense));
	o->in.pack_id = ORPHAN_ID;
	o->in.usr_ptr = ORPHAN_PTR;
	o->h = o->in;
	/* From before the timer is armed: a lower bound however late we run. */
	t0 = now_ms();
	if (on_sigusr1(restart) || sigusr1_after(&t, SIG_MS))
		return -1;
	o->err = sg_io(self->fd[d], &o->h);
	o->took = now_ms() - t0;
	timer_delete(t);
	return 0;
}

/* Wait for the request table to empty; 1 if it did. */
static int table_empties(int fd)
{
	sg_req_info_t t[SG_MAX_QUEUE];
	long end = now_ms() + SLACK_MS;

	do {
		if (req_table(fd, t))
			return -1;
		if (!table_used(t))
			return 1;
		sleep_ms(10);
	} while (now_ms() < end);
	return 0;
}

static void assert_orphan_entry(struct __test_metadata *_metadata,
				sg_req_info_t t[NDRV][SG_MAX_QUEUE],
				int state, int owned)
{
	assert_tables_same(_metadata, t);
	ASSERT_EQ(1, table_used(t[SG]));
	ASSERT_EQ(state, t[SG][0].req_state);
	ASSERT_EQ(1, t[SG][0].orphan);
	ASSERT_EQ(owned, t[SG][0].sg_io_owned);
	ASSERT_EQ(0, t[SG][0].problem);
	ASSERT_EQ(ORPHAN_ID, t[SG][0].pack_id);
	ASSERT_EQ(ORPHAN_PTR, t[SG][0].usr_ptr);
}

/*
 * Interrupted SG_IO fails with EINTR (no SA_RESTART); the command runs on
 * as an orphan, which is dropped when it completes: nothing to read, no
 * wake-up, and its data never reaches the caller.
 */
TEST_F(async, orphan_dropped)
{
	sg_req_info_t t[NDRV][SG_MAX_QUEUE];
	int err[NDRV], v[NDRV][6], d;
	uint8_t want[4096];
	struct orphan o;
	long r[NDRV];

	ASSERT_EQ(0, orphan_prepare(self, want));
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, orphan_sg_io(self, d, &o, false));
		err[d] = o.err;
		ASSERT_EQ(0, req_table(self->fd[d], t[d]));
		v[d][0] = num_waiting(self->fd[d]);
		v[d][1] = get_int(self->fd[d], SG_GET_PACK_ID);
		v[d][2] = revents(self->fd[d], POLL_ALL, 0);
		v[d][3] = revents(self->fd[d], POLLIN, SLOW_MS + 500);
		v[d][4] = table_empties(self->fd[d]);
		ASSERT_EQ(0, set_nonblock(self->fd[d], true));
		r[d] = v3_read(self->fd[d], &o.h);
		v[d][5] = o.buf[0];
		ASSERT_EQ(0, set_nonblock(self->fd[d], false));
		/* The fd works on. */
		ASSERT_EQ(0, sync_tur(self->fd[d]));
	}
	ASSERT_SG(EINTR, err);
	assert_orphan_entry(_metadata, t, 1, 1);
	ASSERT_EQ(0, v[SG][0]);
	ASSERT_EQ(-1, v[SG][1]);
	ASSERT_EQ(POLL_ROOM, v[SG][2]);
	ASSERT_EQ(0, v[SG][3]);
	ASSERT_EQ(1, v[SG][4]);
	ASSERT_EQ(POISON, v[SG][5]);
	ASSERT_EQ(0, memcmp(v[SG], v[RSG], sizeof(v[SG])));
	ASSERT_SG(-EAGAIN, r);
}

/*
 * With SG_SET_KEEP_ORPHAN the orphan becomes an ordinary response when it
 * completes, read() returns it with the header SG_IO was given, and the
 * data goes to that header's buffer.
 */
TEST_F(async, orphan_kept)
{
	sg_req_info_t t[NDRV][2][SG_MAX_QUEUE], both[NDRV][SG_MAX_QUEUE];
	struct sg_io_hdr in[NDRV], out[NDRV];
	int err[NDRV], v[NDRV][5], d, k;
	uint8_t want[4096];
	struct orphan o;
	long r[NDRV];

	ASSERT_EQ(0, orphan_prepare(self, want));
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, set_int(self->fd[d], SG_SET_KEEP_ORPHAN, 1));
		ASSERT_EQ(0, orphan_sg_io(self, d, &o, false));
		err[d] = o.err;
		in[d] = o.in;
		ASSERT_EQ(0, req_table(self->fd[d], t[d][0]));
		v[d][0] = revents(self->fd[d], POLLIN, SLACK_MS);
		ASSERT_EQ(0, req_table(self->fd[d], t[d][1]));
		v[d][1] = num_waiting(self->fd[d]);
		v[d][2] = get_int(self->fd[d], SG_GET_PACK_ID);
		v[d][3] = o.buf[0];
		memset(&out[d], 0x5a, sizeof(out[d]));
		r[d] = v3_read(self->fd[d], &out[d]);
		pattern(want, self->bs, 90 + d);
		v[d][4] = !memcmp(want, o.buf, self->bs);
	}
	ASSERT_SG(EINTR, err);
	for (k = 0; k < 2; k++) {
		for (d = 0; d < NDRV; d++)
			memcpy(both[d], t[d][k], sizeof(both[d]));
		assert_orphan_entry(_metadata, both, k + 1, !k);
	}
	ASSERT_EQ(POLLIN, v[SG][0]);
	ASSERT_EQ(1, v[SG][1]);
	ASSERT_EQ(ORPHAN_ID, v[SG][2]);
	ASSERT_EQ(POISON, v[SG][3]);
	ASSERT_EQ(1, v[SG][4]);
	ASSERT_EQ(0, memcmp(v[SG], v[RSG], sizeof(v[SG])));
	ASSERT_SG(HDR_SZ, r);
	assert_v3_good(_metadata, out, in);
	for (d = 0; d < NDRV; d++) {
		ASSERT_LE(DUR_MIN, out[d].duration) {
			TH_LOG("%s: duration %u", drv_name[d], out[d].duration);
		}
	}
}

/* Whether an orphan is kept is decided when it completes. */
TEST_F(async, orphan_keep_at_completion)
{
	int err[NDRV][2], nw[NDRV][2], d;
	uint8_t want[4096];
	struct orphan o;

	ASSERT_EQ(0, orphan_prepare(self, want));
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, orphan_sg_io(self, d, &o, false));
		err[d][0] = o.err;
		ASSERT_EQ(0, set_int(self->fd[d], SG_SET_KEEP_ORPHAN, 1));
		nw[d][0] = wait_waiting(self->fd[d], 1);
		ASSERT_EQ(ORPHAN_ID, read_pack_id(self->fd[d]));

		ASSERT_EQ(0, orphan_sg_io(self, d, &o, false));
		err[d][1] = o.err;
		ASSERT_EQ(0, set_int(self->fd[d], SG_SET_KEEP_ORPHAN, 0));
		ASSERT_EQ(1, table_empties(self->fd[d]));
		nw[d][1] = num_waiting(self->fd[d]);
	}
	ASSERT_EQ(EINTR, err[SG][0]);
	ASSERT_EQ(EINTR, err[SG][1]);
	ASSERT_EQ(0, memcmp(err[SG], err[RSG], sizeof(err[SG])));
	ASSERT_EQ(1, nw[SG][0]);
	ASSERT_EQ(0, nw[SG][1]);
	ASSERT_EQ(0, memcmp(nw[SG], nw[RSG], sizeof(nw[SG])));
}

/* A dropped orphan signals nothing; a kept one signals its completion. */
TEST_F(async, orphan_sigio)
{
	int n[NDRV][2], other[NDRV][2], d;
	uint8_t want[4096];
	struct orphan o;

	ASSERT_EQ(0, orphan_prepare(self, want));
	ASSERT_EQ(0, block_sig(SIG_RT));
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, async_on(self->fd[d], SIG_RT));
		ASSERT_EQ(0, orphan_sg_io(self, d, &o, false));
		ASSERT_EQ(EINTR, o.err);
		n[d][0] = collect_sig(SIG_RT, SLOW_MS + 500, self->fd[d],
				      POLL_IN, POLLIN | POLLRDNORM,
				      &other[d][0]);
		ASSERT_EQ(0, set_int(self->fd[d], SG_SET_KEEP_ORPHAN, 1));
		ASSERT_EQ(0, orphan_sg_io(self, d, &o, false));
		ASSERT_EQ(EINTR, o.err);
		n[d][1] = collect_sig(SIG_RT, SLOW_MS + 500, self->fd[d],
				      POLL_IN, POLLIN | POLLRDNORM,
				      &other[d][1]);
	}
	ASSERT_EQ(0, n[SG][0]);
	ASSERT_EQ(1, n[SG][1]);
	ASSERT_EQ(0, memcmp(n[SG], n[RSG], sizeof(n[SG])));
	ASSERT_EQ(0, other[SG][0] + other[SG][1]);
	ASSERT_EQ(0, other[RSG][0] + other[RSG][1]);
}

/*
 * With SA_RESTART the interrupted SG_IO is issued again and succeeds; the
 * first command is an orphan all the same, readable if kept.
 */
TEST_F(async, orphan_restart)
{
	int err[NDRV][2], st[NDRV], nw[NDRV][2], ok[NDRV], d, try;
	uint8_t want[4096];
	struct orphan o;
	long took[NDRV];

	ASSERT_EQ(0, orphan_prepare(self, want));
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, orphan_sg_io(self, d, &o, true));
		err[d][0] = o.err;
		st[d] = o.h.status;
		took[d] = o.took;
		pattern(want, self->bs, 90 + d);
		ok[d] = !memcmp(want, o.buf, self->bs);
		ASSERT_EQ(1, table_empties(self->fd[d]));
		nw[d][0] = num_waiting(self->fd[d]);

		ASSERT_EQ(0, set_int(self->fd[d], SG_SET_KEEP_ORPHAN, 1));
		/*
		 * On a loaded machine the signal may come before SG_IO starts:
		 * nothing is orphaned then, and the read below would block.
		 */
		for (try = 0; try < 3; try++) {
			ASSERT_EQ(0, orphan_sg_io(self, d, &o, true));
			err[d][1] = o.err;
			nw[d][1] = wait_waiting(self->fd[d], 1);
			if (nw[d][1] == 1)
				break;
		}
		ASSERT_EQ(1, nw[d][1]) {
			TH_LOG("%s: no orphan to read", drv_name[d]);
		}
		ASSERT_EQ(ORPHAN_ID, read_pack_id(self->fd[d]));
	}
	ASSERT_EQ(0, err[SG][0]);
	ASSERT_EQ(0, err[SG][1]);
	ASSERT_EQ(0, memcmp(err[SG], err[RSG], sizeof(err[SG])));
	ASSERT_SG(0, st);
	ASSERT_SG(1, ok);
	ASSERT_EQ(0, nw[SG][0]);
	ASSERT_EQ(1, nw[SG][1]);
	ASSERT_EQ(0, memcmp(nw[SG], nw[RSG], sizeof(nw[SG])));
	for (d = 0; d < NDRV; d++) {
		/* The second command started when the signal came. */
		ASSERT_LE(SIG_MS + SLOW_MS - 50, took[d]) {
			TH_LOG("%s: SG_IO took %ld ms", drv_name[d], took[d]);
		}
	}
}

/* An orphan holds its slot until it completes. */
TEST_F(async, orphan_holds_slot)
{
	int ok[NDRV], d, i;
	uint8_t want[4096];
	struct orphan o;
	long edom[NDRV];

	ASSERT_EQ(0, orphan_prepare(self, want));
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, orphan_sg_io(self, d, &o, false));
		ASSERT_EQ(EINTR, o.err);
		ok[d] = 0;
		for (i = 0; i < SG_MAX_QUEUE - 1; i++)
			ok[d] += submit_tur(self->fd[d], i) == HDR_SZ;
		edom[d] = submit_tur(self->fd[d], 99);
		ASSERT_EQ(SG_MAX_QUEUE - 1,
			  wait_waiting(self->fd[d], SG_MAX_QUEUE - 1));
	}
	ASSERT_SG(SG_MAX_QUEUE - 1, ok);
	ASSERT_SG(-EDOM, edom);
}

/* Closing the fd with an orphan outstanding, kept or not. */
TEST_F(async, orphan_close)
{
	int err[NDRV][2], st[NDRV][2], d, k;
	uint8_t want[4096];
	struct orphan o;

	ASSERT_EQ(0, orphan_prepare(self, want));
	for (k = 0; k < 2; k++) {
		for (d = 0; d < NDRV; d++) {
			ASSERT_EQ(0, set_int(self->fd[d], SG_SET_KEEP_ORPHAN,
					     k));
			ASSERT_EQ(0, orphan_sg_io(self, d, &o, false));
			err[d][k] = o.err;
			close(self->fd[d]);
			self->fd[d] = open(self->path[d], O_RDWR);
			ASSERT_LE(0, self->fd[d]);
		}
		sleep_ms(SLOW_MS + 200);
		for (d = 0; d < NDRV; d++) {
			/* A new fd sees nothing of it. */
			ASSERT_EQ(0, num_waiting(self->fd[d]));
			st[d][k] = sync_tur(self->fd[d]);
		}
	}
	for (k = 0; k < 2; k++) {
		ASSERT_EQ(EINTR, err[SG][k]);
		ASSERT_EQ(0, st[SG][k]);
	}
	ASSERT_EQ(0, memcmp(err[SG], err[RSG], sizeof(err[SG])));
	ASSERT_EQ(0, memcmp(st[SG], st[RSG], sizeof(st[SG])));
}

/* A blocking read() is interruptible; the response stays for later. */
TEST_F(async, read_interrupted)
{
	long r[NDRV][2];
	int got[NDRV][2], nw[NDRV], d;
	struct sg_io_hdr h;
	timer_t t;

	ASSERT_EQ(0, slow_down(self));
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 1));
		ASSERT_EQ(0, on_sigusr1(false));
		ASSERT_EQ(0, sigusr1_after(&t, SIG_MS));
		r[d][0] = v3_read(self->fd[d], &h);
		timer_delete(t);
		nw[d] = wait_waiting(self->fd[d], 1);
		got[d][0] = read_pack_id(self->fd[d]);

		/* With SA_RESTART the read() goes on waiting. */
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 2));
		ASSERT_EQ(0, on_sigusr1(true));
		ASSERT_EQ(0, sigusr1_after(&t, SIG_MS));
		r[d][1] = v3_read(self->fd[d], &h);
		got[d][1] = h.pack_id;
		timer_delete(t);
	}
	ASSERT_EQ(-EINTR, r[SG][0]);
	ASSERT_EQ(HDR_SZ, r[SG][1]);
	ASSERT_EQ(0, memcmp(r[SG], r[RSG], sizeof(r[SG])));
	ASSERT_SG(1, nw);
	ASSERT_EQ(1, got[SG][0]);
	ASSERT_EQ(2, got[SG][1]);
	ASSERT_EQ(0, memcmp(got[SG], got[RSG], sizeof(got[SG])));
}

struct sg_io_thread {
	int fd;
	int st;
};

static void *sg_io_thread(void *arg)
{
	struct sg_io_thread *s = arg;

	s->st = sync_tur(s->fd);
	return NULL;
}

/* SG_IO in progress: listed as owned by SG_IO, never readable. */
TEST_F(async, sg_io_in_table)
{
	sg_req_info_t t[NDRV][SG_MAX_QUEUE];
	struct sg_io_thread s[NDRV];
	int ev[NDRV], nw[NDRV], st[NDRV], d;
	pthread_t th;

	ASSERT_EQ(0, slow_down(self));
	for (d = 0; d < NDRV; d++) {
		s[d].fd = self->fd[d];
		s[d].st = -1;
		ASSERT_EQ(0, pthread_create(&th, NULL, sg_io_thread, &s[d]));
		sleep_ms(SLOW_MS / 4);
		ASSERT_EQ(0, req_table(self->fd[d], t[d]));
		ev[d] = revents(self->fd[d], POLL_ALL, 0);
		nw[d] = num_waiting(self->fd[d]);
		ASSERT_EQ(0, pthread_join(th, NULL));
		st[d] = s[d].st;
	}
	ASSERT_SG(0, st);
	assert_tables_same(_metadata, t);
	ASSERT_EQ(1, table_used(t[SG]));
	ASSERT_EQ(1, t[SG][0].req_state);
	ASSERT_EQ(1, t[SG][0].sg_io_owned);
	ASSERT_EQ(0, t[SG][0].orphan);
	ASSERT_EQ(0x1234, t[SG][0].pack_id);
	ASSERT_SG(POLL_ROOM, ev);
	ASSERT_SG(0, nw);
}

/* open(): O_EXCL */

static long open_rv(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static void close_fixture_fds(FIXTURE_DATA(async) *self)
{
	int d;

	for (d = 0; d < NDRV; d++) {
		if (self->fd[d] >= 0)
			close(self->fd[d]);
		self->fd[d] = -1;
	}
}

/* Excluding others needs write access. */
TEST_F(async, open_excl_rdonly)
{
	long r[NDRV][2];
	int d;

	for (d = 0; d < NDRV; d++) {
		r[d][0] = open_rv(self->path[d], O_RDONLY | O_EXCL);
		r[d][1] = open_rv(self->path[d],
				  O_RDONLY | O_EXCL | O_NONBLOCK);
	}
	ASSERT_EQ(-EPERM, r[SG][0]);
	ASSERT_EQ(-EPERM, r[SG][1]);
	ASSERT_EQ(0, memcmp(r[SG], r[RSG], sizeof(r[SG])));
}

/* O_EXCL|O_NONBLOCK while another fd is open. */
TEST_F(async, open_excl_busy)
{
	long r[NDRV][2];
	int d;

	for (d = 0; d < NDRV; d++) {
		r[d][0] = open_rv(self->path[d], O_RDWR | O_EXCL | O_NONBLOCK);
		r[d][1] = open_rv(self->path[d],
				  O_WRONLY | O_EXCL | O_NONBLOCK);
	}
	ASSERT_EQ(-EBUSY, r[SG][0]);
	ASSERT_EQ(-EBUSY, r[SG][1]);
	ASSERT_EQ(0, memcmp(r[SG], r[RSG], sizeof(r[SG])));
}

/* While an O_EXCL fd is open, O_NONBLOCK opens of any kind are EBUSY. */
TEST_F(async, open_excl_holder)
{
	long r[NDRV][6];
	int x, y, d;

	close_fixture_fds(self);
	for (d = 0; d < NDRV; d++) {
		x = open(self->path[d], O_RDWR | O_EXCL);
		r[d][0] = x < 0 ? -errno : 0;
		r[d][1] = open_rv(self->path[d], O_RDWR | O_NONBLOCK);
		r[d][2] = open_rv(self->path[d], O_RDONLY | O_NONBLOCK);
		r[d][3] = open_rv(self->path[d], O_RDWR | O_EXCL | O_NONBLOCK);
		if (x >= 0)
			close(x);
		y = open(self->path[d], O_RDWR | O_NONBLOCK);
		r[d][4] = y < 0 ? -errno : 0;
		r[d][5] = open_rv(self->path[d], O_RDWR | O_EXCL | O_NONBLOCK);
		if (y >= 0)
			close(y);
	}
	ASSERT_EQ(0, r[SG][0]);
	ASSERT_EQ(-EBUSY, r[SG][1]);
	ASSERT_EQ(-EBUSY, r[SG][2]);
	ASSERT_EQ(-EBUSY, r[SG][3]);
	ASSERT_EQ(0, r[SG][4]);
	ASSERT_EQ(-EBUSY, r[SG][5]);
	ASSERT_EQ(0, memcmp(r[SG], r[RSG], sizeof(r[SG])));
}

struct opener {
	pthread_t th;
	const char *path;
	int flags;
	int fd;			/* the fd, or -errno */
	int done;
};

static void *open_thread(void *arg)
{
	struct opener *o = arg;
	int fd = open(o->path, o->flags);

	o->fd = fd < 0 ? -errno : fd;
	__atomic_store_n(&o->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int start_open(struct opener *o, const char *path, int flags)
{
	memset(o, 0, sizeof(*o));
	o->path = path;
	o->flags = flags;
	return pthread_create(&o->th, NULL, open_thread, o) ? -1 : 0;
}

static bool open_done(struct opener *o)
{
	return __atomic_load_n(&o->done, __ATOMIC_ACQUIRE);
}

/* Wait up to ms for the open to return; joins the thread if it did. */
static bool open_finished(struct opener *o, long ms)
{
	long end = now_ms() + ms;

	while (!open_done(o) && now_ms() < end)
		sleep_ms(5);
	if (!open_done(o))
		return false;
	pthread_join(o->th, NULL);
	return true;
}

/*
 * A blocking O_EXCL open waits until every other fd is closed, and while
 * it is held a plain open waits for it.
 */
TEST_F(async, open_excl_waits)
{
	int waited[NDRV][3], fin[NDRV][3], res[NDRV][3], holder, d, i;
	struct opener o[3];

	close_fixture_fds(self);
	for (d = 0; d < NDRV; d++) {
		holder = open(self->path[d], O_RDWR);
		ASSERT_LE(0, holder);
		ASSERT_EQ(0, start_open(&o[0], self->path[d],
					O_RDWR | O_EXCL));
		sleep_ms(300);
		waited[d][0] = !open_done(&o[0]);
		close(holder);
		fin[d][0] = open_finished(&o[0], SLACK_MS);
		ASSERT_TRUE(fin[d][0]) {
			TH_LOG("%s: O_EXCL open still waiting", drv_name[d]);
		}
		res[d][0] = o[0].fd < 0 ? o[0].fd : 0;

		ASSERT_EQ(0, start_open(&o[1], self->path[d], O_RDWR));
		ASSERT_EQ(0, start_open(&o[2], self->path[d], O_RDONLY));
		sleep_ms(300);
		waited[d][1] = !open_done(&o[1]);
		waited[d][2] = !open_done(&o[2]);
		if (o[0].fd >= 0)
			close(o[0].fd);
		for (i = 1; i < 3; i++) {
			fin[d][i] = open_finished(&o[i], SLACK_MS);
			ASSERT_TRUE(fin[d][i]) {
				TH_LOG("%s: open %d still waiting",
				       drv_name[d], i);
			}
			res[d][i] = o[i].fd < 0 ? o[i].fd : 0;
			if (o[i].fd >= 0)
				close(o[i].fd);
		}
	}
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(1, waited[SG][i]);
		ASSERT_EQ(1, fin[SG][i]);
		ASSERT_EQ(0, res[SG][i]);
	}
	ASSERT_EQ(0, memcmp(waited[SG], waited[RSG], sizeof(waited[SG])));
	ASSERT_EQ(0, memcmp(fin[SG], fin[RSG], sizeof(fin[SG])));
	ASSERT_EQ(0, memcmp(res[SG], res[RSG], sizeof(res[SG])));
}

/* Those waits are interruptible: EINTR without SA_RESTART. */
TEST_F(async, open_wait_interrupted)
{
	static const int flags[2][2] = {
		/* holder, waiter */
		{ O_RDWR, O_RDWR | O_EXCL },
		{ O_RDWR | O_EXCL, O_RDWR },
	};
	int fin[NDRV][2], res[NDRV][2], holder, d, k;
	struct opener o;

	close_fixture_fds(self);
	ASSERT_EQ(0, on_sigusr1(false));
	for (d = 0; d < NDRV; d++) {
		for (k = 0; k < 2; k++) {
			holder = open(self->path[d], flags[k][0]);
			ASSERT_LE(0, holder);
			ASSERT_EQ(0, start_open(&o, self->path[d],
						flags[k][1]));
			sleep_ms(200);
			pthread_kill(o.th, SIGUSR1);
			fin[d][k] = open_finished(&o, SLACK_MS);
			res[d][k] = o.fd < 0 ? o.fd : 0;
			if (o.fd >= 0)
				close(o.fd);
			close(holder);
			ASSERT_TRUE(fin[d][k]) {
				TH_LOG("%s: open not interrupted", drv_name[d]);
			}
		}
	}
	ASSERT_EQ(1, fin[SG][0]);
	ASSERT_EQ(1, fin[SG][1]);
	ASSERT_EQ(-EINTR, res[SG][0]);
	ASSERT_EQ(-EINTR, res[SG][1]);
	ASSERT_EQ(0, memcmp(res[SG], res[RSG], sizeof(res[SG])));
}

/* The command filter of SG_IO on fds that are not O_RDWR */

static int sg_io_cdb(int fd, const uint8_t *cdb, int len, int dir,
		     void *buf, unsigned int n)
{
	struct sg_io_hdr h;
	uint8_t sense[32];

	hdr_init(&h, cdb, len, dir, buf, n, sense, sizeof(sense));
	if (ioctl(fd, SG_IO, &h) < 0)
		return -errno;
	return h.status;
}

static int drop_rawio(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct c[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, c))
		return -errno;
	c[CAP_TO_INDEX(CAP_SYS_RAWIO)].effective &=
		~CAP_TO_MASK(CAP_SYS_RAWIO);
	return syscall(SYS_capset, &h, c) ? -errno : 0;
}

static void *shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Run fn(arg) in a child and wait for it; its exit status. */
static int in_child(void (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		fn(arg);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static const uint8_t mode_select_cdb[6] = { 0x15, 0x10 };
static const uint8_t vendor_cdb[6] = { 0xc0 };

struct filter {
	const char *path[NDRV];
	unsigned int bs;
	int drop;
	int ro[NDRV][6];	/* O_RDONLY: see filter_child() */
	int wo[NDRV][6];	/* O_WRONLY */
	int rw[NDRV];		/* O_RDWR: vendor opcode */
};

static void filter_child(void *arg)
{
	struct filter *f = arg;
	sg_req_info_t t[SG_MAX_QUEUE];
	uint8_t buf[4096], cdb[10];
	struct sg_io_hdr h;
	int fd, d, i;

	f->drop = drop_rawio();
	for (d = 0; d < NDRV; d++) {
		fd = open(f->path[d], O_RDONLY);
		if (fd < 0)
			_exit(1);
		pattern(buf, f->bs, 60 + d);
		rw10(cdb, 0x2a, LBA_FILTER + 2 * d, 1);
		f->ro[d][0] = sg_io_cdb(fd, cdb, 10, SG_DXFER_TO_DEV, buf,
					f->bs);
		f->ro[d][1] = sg_io_cdb(fd, mode_select_cdb, 6, SG_DXFER_NONE,
					NULL, 0);
		f->ro[d][2] = sg_io_cdb(fd, vendor_cdb, 6, SG_DXFER_NONE,
					NULL, 0);
		f->ro[d][3] = sg_io_cdb(fd, inq_cdb, 6, SG_DXFER_FROM_DEV, buf,
					96);
		rw10(cdb, 0x28, LBA_FILTER + 2 * d, 1);
		f->ro[d][4] = sg_io_cdb(fd, cdb, 10, SG_DXFER_FROM_DEV, buf,
					f->bs);
		/* Refusals give their slots back. */
		rw10(cdb, 0x2a, LBA_FILTER + 2 * d, 1);
		for (i = 0; i < 2 * SG_MAX_QUEUE; i++)
			sg_io_cdb(fd, cdb, 10, SG_DXFER_TO_DEV, buf, f->bs);
		f->ro[d][5] = sync_tur(fd);
		close(fd);

		fd = open(f->path[d], O_WRONLY);
		if (fd < 0)
			_exit(1);
		pattern(buf, f->bs, 60 + d);
		rw10(cdb, 0x2a, LBA_FILTER + 2 * d + 1, 1);
		f->wo[d][0] = sg_io_cdb(fd, cdb, 10, SG_DXFER_TO_DEV, buf,
					f->bs);
		f->wo[d][1] = sg_io_cdb(fd, mode_select_cdb, 6, SG_DXFER_NONE,
					NULL, 0);
		f->wo[d][2] = sg_io_cdb(fd, vendor_cdb, 6, SG_DXFER_NONE,
					NULL, 0);
		/* write() is not filtered. */
		hdr_init(&h, vendor_cdb, 6, SG_DXFER_NONE, NULL, 0, NULL, 0);
		h.pack_id = 9;
		f->wo[d][3] = v3_write(fd, &h);
		f->wo[d][4] = wait_waiting(fd, 1);
		if (req_table(fd, t))
			_exit(1);
		f->wo[d][5] = t[0].req_state << 8 | t[0].problem;
		close(fd);

		fd = open(f->path[d], O_RDWR);
		if (fd < 0)
			_exit(1);
		f->rw[d] = sg_io_cdb(fd, vendor_cdb, 6, SG_DXFER_NONE, NULL,
				     0);
		close(fd);
	}
}

/*
 * Without CAP_SYS_RAWIO, SG_IO on an O_RDONLY fd takes only read-safe
 * commands, on an O_WRONLY fd the write-safe ones too, on O_RDWR anything;
 * others are EPERM before they reach the device.
 */
TEST_F(async, filter_no_rawio)
{
	uint8_t zero[4096], buf[4096], want[4096];
	struct filter *f = shared(sizeof(*f));
	int d;

	ASSERT_NE(NULL, f);
	ASSERT_GE(sizeof(zero), self->bs);
	memset(zero, 0, sizeof(zero));
	for (d = 0; d < NDRV; d++) {
		f->path[d] = self->path[d];
		ASSERT_EQ(0, sync_rw(self->fd[SG], 0x2a, LBA_FILTER + 2 * d, 1,
				     zero, self->bs));
		ASSERT_EQ(0, sync_rw(self->fd[SG], 0x2a,
				     LBA_FILTER + 2 * d + 1, 1, zero,
				     self->bs));
	}
	f->bs = self->bs;
	ASSERT_EQ(0, in_child(filter_child, f));
	ASSERT_EQ(0, f->drop);

	ASSERT_EQ(-EPERM, f->ro[SG][0]);
	ASSERT_EQ(-EPERM, f->ro[SG][1]);
	ASSERT_EQ(-EPERM, f->ro[SG][2]);
	ASSERT_EQ(0, f->ro[SG][3]);
	ASSERT_EQ(0, f->ro[SG][4]);
	ASSERT_EQ(0, f->ro[SG][5]);
	ASSERT_EQ(0, memcmp(f->ro[SG], f->ro[RSG], sizeof(f->ro[SG])));

	ASSERT_EQ(0, f->wo[SG][0]);
	/* MODE SELECT reaches the device, which rejects an empty list. */
	ASSERT_LE(0, f->wo[SG][1]);
	ASSERT_EQ(-EPERM, f->wo[SG][2]);
	ASSERT_EQ(HDR_SZ, f->wo[SG][3]);
	ASSERT_EQ(1, f->wo[SG][4]);
	ASSERT_EQ(2 << 8 | 1, f->wo[SG][5]);
	ASSERT_EQ(0, memcmp(f->wo[SG], f->wo[RSG], sizeof(f->wo[SG])));

	ASSERT_EQ(2, f->rw[SG]);
	ASSERT_EQ(f->rw[SG], f->rw[RSG]);

	/* The refused WRITE did not happen, the allowed one did. */
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, sync_rw(self->fd[SG], 0x28, LBA_FILTER + 2 * d, 1,
				     buf, self->bs));
		ASSERT_EQ(0, memcmp(zero, buf, self->bs)) {
			TH_LOG("%s let the WRITE through", drv_name[d]);
		}
		ASSERT_EQ(0, sync_rw(self->fd[SG], 0x28,
				     LBA_FILTER + 2 * d + 1, 1, buf,
				     self->bs));
		pattern(want, self->bs, 60 + d);
		ASSERT_EQ(0, memcmp(want, buf, self->bs)) {
			TH_LOG("%s did not do the WRITE", drv_name[d]);
		}
	}
	munmap(f, sizeof(*f));
}

/* With CAP_SYS_RAWIO nothing is filtered. */
TEST_F(async, filter_rawio)
{
	uint8_t buf[4096], want[4096], cdb[10];
	int st[NDRV][2], fd, d;

	ASSERT_GE(sizeof(buf), self->bs);
	for (d = 0; d < NDRV; d++) {
		fd = open(self->path[d], O_RDONLY);
		ASSERT_LE(0, fd);
		pattern(buf, self->bs, 80 + d);
		rw10(cdb, 0x2a, LBA_FILTER + 8 + d, 1);
		st[d][0] = sg_io_cdb(fd, cdb, 10, SG_DXFER_TO_DEV, buf,
				     self->bs);
		st[d][1] = sg_io_cdb(fd, vendor_cdb, 6, SG_DXFER_NONE, NULL,
				     0);
		close(fd);
		ASSERT_EQ(0, sync_rw(self->fd[SG], 0x28, LBA_FILTER + 8 + d, 1,
				     buf, self->bs));
		pattern(want, self->bs, 80 + d);
		ASSERT_EQ(0, memcmp(want, buf, self->bs)) {
			TH_LOG("%s did not do the WRITE", drv_name[d]);
		}
	}
	ASSERT_EQ(0, st[SG][0]);
	ASSERT_EQ(2, st[SG][1]);
	ASSERT_EQ(0, memcmp(st[SG], st[RSG], sizeof(st[SG])));
}

/* read() and write() refuse callers whose credentials changed since open */

struct cred {
	const char *path[NDRV];
	bool gid;		/* change the gid only */
	int setid;
	long w0[NDRV], w[NDRV], r[NDRV];
	int nw[NDRV], io[NDRV];
};

static void cred_child(void *arg)
{
	struct cred *c = arg;
	struct sg_io_hdr h;
	int fd[NDRV], d;

	for (d = 0; d < NDRV; d++) {
		fd[d] = open(c->path[d], O_RDWR);
		if (fd[d] < 0)
			_exit(1);
		c->w0[d] = submit_tur(fd[d], 1);
		wait_waiting(fd[d], 1);
	}
	if (c->gid)
		c->setid = setresgid(65534, 65534, 65534) ? -errno : 0;
	else
		c->setid = setresuid(65534, 65534, 65534) ? -errno : 0;
	for (d = 0; d < NDRV; d++) {
		c->w[d] = submit_tur(fd[d], 2);
		c->r[d] = v3_read(fd[d], &h);
		/* Neither lost the response waiting... */
		c->nw[d] = num_waiting(fd[d]);
		/* ...and the ioctls do not check. */
		c->io[d] = sync_tur(fd[d]);
	}
}

static void check_cred(struct __test_metadata *_metadata,
		       FIXTURE_DATA(async) *self, bool gid)
{
	struct cred *c = shared(sizeof(*c));
	int d;

	ASSERT_NE(NULL, c);
	for (d = 0; d < NDRV; d++)
		c->path[d] = self->path[d];
	c->gid = gid;
	ASSERT_EQ(0, in_child(cred_child, c));
	ASSERT_EQ(0, c->setid);
	ASSERT_SG(HDR_SZ, c->w0);
	ASSERT_SG(-EPERM, c->w);
	ASSERT_SG(-EPERM, c->r);
	ASSERT_SG(1, c->nw);
	ASSERT_SG(0, c->io);
	munmap(c, sizeof(*c));
}

TEST_F(async, cred_setresuid)
{
	check_cred(_metadata, self, false);
}

TEST_F(async, cred_setresgid)
{
	check_cred(_metadata, self, true);
}

struct inherit {
	int fd[NDRV];
	long w[NDRV], r[NDRV];
};

static void inherit_child(void *arg)
{
	struct inherit *c = arg;
	struct sg_io_hdr h;
	int d;

	for (d = 0; d < NDRV; d++) {
		c->w[d] = submit_tur(c->fd[d], 2);
		c->r[d] = v3_read(c->fd[d], &h);
	}
}

/* A forked child has credentials of its own: the fds it inherits refuse. */
TEST_F(async, cred_fork)
{
	struct inherit *c = shared(sizeof(*c));
	long r[NDRV];
	int nw[NDRV], d;

	ASSERT_NE(NULL, c);
	for (d = 0; d < NDRV; d++) {
		c->fd[d] = self->fd[d];
		ASSERT_EQ(HDR_SZ, submit_tur(self->fd[d], 1));
		ASSERT_EQ(1, wait_waiting(self->fd[d], 1));
	}
	ASSERT_EQ(0, in_child(inherit_child, c));
	for (d = 0; d < NDRV; d++) {
		nw[d] = num_waiting(self->fd[d]);
		r[d] = read_pack_id(self->fd[d]);
	}
	ASSERT_SG(-EPERM, c->w);
	ASSERT_SG(-EPERM, c->r);
	ASSERT_SG(1, nw);
	ASSERT_SG(1, r);
	munmap(c, sizeof(*c));
}

static void *inherit_thread(void *arg)
{
	inherit_child(arg);
	return NULL;
}

/* Threads share the opener's credentials. */
TEST_F(async, cred_thread)
{
	struct inherit c;
	pthread_t th;
	int d;

	for (d = 0; d < NDRV; d++)
		c.fd[d] = self->fd[d];
	ASSERT_EQ(0, pthread_create(&th, NULL, inherit_thread, &c));
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_SG(HDR_SZ, c.w);
	ASSERT_SG(HDR_SZ, c.r);
}

/* Device removal */

static bool self_test(void)
{
	const char *s = getenv("RSG_SELF_TEST");

	return s && !strcmp(s, "1");
}

/* The /dev node of class cls for the LU hctl. */
static int node_of(const char *hctl, const char *cls, char *out, size_t len)
{
	char dir[PATH_MAX];
	struct dirent *e;
	struct stat st;
	DIR *dp;
	int ret = -1;

	snprintf(dir, sizeof(dir), "/sys/class/scsi_device/%s/device/%s",
		 hctl, cls);
	dp = opendir(dir);
	if (!dp)
		return -1;
	while ((e = readdir(dp))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(out, len, "/dev/%s", e->d_name);
		ret = stat(out, &st) || !S_ISCHR(st.st_mode) ? -1 : 0;
		break;
	}
	closedir(dp);
	return ret;
}

#define MAX_LUS		64

static int list_lus(char (*names)[32])
{
	struct dirent *e;
	DIR *dp;
	int n = 0;

	dp = opendir("/sys/class/scsi_device");
	if (!dp)
		return -1;
	while ((e = readdir(dp)) && n < MAX_LUS) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= 32)
			continue;
		strcpy(names[n++], e->d_name);
	}
	closedir(dp);
	return n;
}

/* Add a scsi_debug host; the new LU and its nodes, once they are there. */
static int add_lu(FIXTURE_DATA(async) *self, char *hctl,
		  char path[NDRV][PATH_MAX])
{
	char old[MAX_LUS][32], now[MAX_LUS][32];
	const char *cls[NDRV] = { "scsi_rsg", "scsi_generic" };
	int n_old, n, i, j, d;
	long end;

	if (self_test())
		cls[RSG] = cls[SG];
	n_old = list_lus(old);
	if (n_old < 0 || write_attr(SDEBUG_DRV "add_host", "1"))
		return -1;
	self->host_added = true;
	end = now_ms() + 2 * SLACK_MS;
	do {
		n = list_lus(now);
		for (i = 0; i < n; i++) {
			for (j = 0; j < n_old; j++)
				if (!strcmp(now[i], old[j]))
					break;
			if (j < n_old)
				continue;
			for (d = 0; d < NDRV; d++)
				if (node_of(now[i], cls[d], path[d], PATH_MAX))
					break;
			if (d == NDRV) {
				strcpy(hctl, now[i]);
				return 0;
			}
		}
		sleep_ms(50);
	} while (now_ms() < end);
	return -1;
}

/*
 * Removing the LU wakes every fd: poll() adds POLLHUP and drops POLLOUT,
 * SIGIO says POLL_HUP; a completed response can still be read, after
 * which read() is ENODEV, as are write() and SG_IO.
 */
TEST_F(async, detach)
{
	char hctl[32], path[NDRV][PATH_MAX], del[PATH_MAX];
	int ev[NDRV][3], hup[NDRV], other, v[NDRV][4], d;
	struct sg_io_hdr h;
	long r[NDRV][4];

	ASSERT_EQ(0, add_lu(self, hctl, path)) {
		TH_LOG("no new LU with both nodes");
	}
	ASSERT_EQ(0, clear_ua(path[SG]));
	ASSERT_EQ(0, block_sig(SIG_RT));
	for (d = 0; d < NDRV; d++) {
		self->xfd[d] = open(path[d], O_RDWR);
		ASSERT_LE(0, self->xfd[d]);
		ASSERT_EQ(HDR_SZ, submit_tur(self->xfd[d], 1));
		ASSERT_EQ(1, wait_waiting(self->xfd[d], 1));
		ev[d][0] = revents(self->xfd[d], POLL_ALL, 0);
	}
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, async_on(self->xfd[d], SIG_RT));
	}
	snprintf(del, sizeof(del), "/sys/class/scsi_device/%s/device/delete",
		 hctl);
	ASSERT_EQ(0, write_attr(del, "1"));
	for (d = 0; d < NDRV; d++)
		ev[d][1] = revents(self->xfd[d], POLL_ALL, SLACK_MS);
	collect_sig2(SIG_RT, 300, self->xfd, POLL_HUP, POLLHUP | POLLERR, hup,
		     &other);
	for (d = 0; d < NDRV; d++) {
		tur_hdr(&h, 2);
		r[d][0] = v3_write(self->xfd[d], &h);
		v[d][0] = sync_tur(self->xfd[d]);
		v[d][1] = get_int(self->xfd[d], SG_GET_NUM_WAITING);
		v[d][2] = get_int(self->xfd[d], SG_GET_VERSION_NUM);
		v[d][3] = rv(ioctl(self->xfd[d], SG_GET_SCSI_ID, &h));
		r[d][1] = v3_read(self->xfd[d], &h);
		r[d][2] = v3_read(self->xfd[d], &h);
		ASSERT_EQ(0, set_nonblock(self->xfd[d], true));
		r[d][3] = v3_read(self->xfd[d], &h);
		ev[d][2] = revents(self->xfd[d], POLL_ALL, 0);
	}
	ASSERT_EQ(POLL_READY | POLL_ROOM, ev[SG][0]);
	ASSERT_EQ(POLL_READY | POLLHUP, ev[SG][1]);
	ASSERT_EQ(POLLHUP, ev[SG][2]);
	ASSERT_EQ(0, memcmp(ev[SG], ev[RSG], sizeof(ev[SG])));
	ASSERT_SG(1, hup);
	ASSERT_EQ(0, other);
	ASSERT_EQ(-ENODEV, r[SG][0]);
	ASSERT_EQ(HDR_SZ, r[SG][1]);
	ASSERT_EQ(-ENODEV, r[SG][2]);
	ASSERT_EQ(-EAGAIN, r[SG][3]);
	ASSERT_EQ(0, memcmp(r[SG], r[RSG], sizeof(r[SG])));
	ASSERT_EQ(-ENODEV, v[SG][0]);
	ASSERT_EQ(1, v[SG][1]);
	ASSERT_EQ(30536, v[SG][2]);
	ASSERT_EQ(-ENODEV, v[SG][3]);
	ASSERT_EQ(0, memcmp(v[SG], v[RSG], sizeof(v[SG])));
}

TEST_HARNESS_MAIN
