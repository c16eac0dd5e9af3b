// SPDX-License-Identifier: GPL-2.0
/*
 * rsg's queue interface (Documentation/rsg-queue.rst): RSG_IOQUEUE and
 * RSG_IOGET, their batches, the depth limit, waiting, RSG_IOCANCEL,
 * poll()/epoll/SIGIO readiness, the command filter, and what a close or the
 * removal of the device does to requests in flight.
 *
 * sg has no such interface, so the tests check the documented behaviour.
 * Where the document says "as SG_IO", output fields and data are compared
 * with SG_IO through the sg node of the same LU (SG_DEV).
 *
 * The "removal" fixture deletes the LU and rescans it back, which may give
 * it new nodes: run it on its own, after everything else:
 *
 *	rsg_queue -F removal; rsg_queue -f removal
 *
 * scsi_debug answers INQUIRY and unknown opcodes at once and delays READ,
 * WRITE and TEST UNIT READY by its delay (jiffies) or ndelay (ns); the tests
 * that need commands still running raise those for a while.
 *
 * ASSERT_*() expand to more than one statement, so loops and ifs around them
 * always take braces.
 */

#include <linux/capability.h>
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <scsi/rsg.h>

#include "kselftest_harness.h"
#include "rsg_test.h"

#define DEPTH_PARAM	"/sys/module/rsg/parameters/queue_depth"
#define ALLOW_DIO	"/proc/scsi/rsg/allow_dio"
#define PINNED_PAGES	"/proc/scsi/rsg/pinned_pages"

#define DEF_DEPTH	256
/* Slack for completion and scheduling; the VM may run under emulation. */
#define SLACK_MS	5000
/* A command that is cancelled or aborted, never waited out. */
#define LONG_MS		10000
#define DID_TIME_OUT	0x03

#define READ_10		0x28
#define WRITE_10	0x2a

#define TAG_BASE	0x7a5a0000UL
#define TAG(i)		((void *)(TAG_BASE + (i)))
#define PACK_ID(i)	(1000 + (int)(i))

#define POLL_ALL	(POLLIN | POLLRDNORM | POLLRDBAND | POLLPRI | \
			 POLLOUT | POLLWRNORM | POLLWRBAND)
#define POLL_READY	(POLLIN | POLLRDNORM)
#define POLL_ROOM	(POLLOUT | POLLWRNORM)

/* Scratch LBAs, away from those of the other suites. */
#define LBA_TAGS	200000
#define LBA_OUTPUTS	201000
#define LBA_IOV		202000
#define LBA_BATCH	203000
#define LBA_DIO		204000
#define LBA_PERM	205000
#define LBA_SLOW	206000

static long long attr_num(const char *path)
{
	char s[64];

	if (read_str(s, sizeof(s), "%s", path))
		return -1;
	return strtoll(s, NULL, 0);
}

/* The test kernel's HZ, for scsi_debug's delay in jiffies. */
static int kernel_hz(void)
{
	const char *k = getenv("RSG_KERNEL");
	char path[PATH_MAX], line[256];
	int hz = 250;
	FILE *f;

	if (!k)
		return hz;
	snprintf(path, sizeof(path), "%s/.config", k);
	f = fopen(path, "r");
	if (!f)
		return hz;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CONFIG_HZ=%d", &hz) == 1)
			break;
	fclose(f);
	return hz;
}

/* scsi_debug's settings, saved before the first change and put back. */
struct sdebug {
	bool saved;
	char delay[32], ndelay[32], opts[32], every_nth[32];
	char qdepth_path[PATH_MAX], qdepth[32];
};

/* delay and ndelay cannot change while commands are queued; wait those out. */
static int sdebug_set(const char *attr, const char *val)
{
	return sdebug_set_within(attr, val, 9 * LONG_MS);
}

static int sdebug_save(struct sdebug *s)
{
	if (s->saved)
		return 0;
	if (read_str(s->delay, sizeof(s->delay), SDEBUG_DRV "delay") ||
	    read_str(s->ndelay, sizeof(s->ndelay), SDEBUG_DRV "ndelay") ||
	    read_str(s->opts, sizeof(s->opts), SDEBUG_DRV "opts") ||
	    read_str(s->every_nth, sizeof(s->every_nth),
		     SDEBUG_DRV "every_nth"))
		return -1;
	s->saved = true;
	return 0;
}

/* Delayed commands now take ms milliseconds. */
static int sdebug_slow(struct sdebug *s, long ms)
{
	char v[32];

	if (sdebug_save(s))
		return -1;
	/* ndelay is below a second; beyond, delay in jiffies. */
	if (ms < 1000) {
		snprintf(v, sizeof(v), "%ld", ms * 1000000);
		return sdebug_set("ndelay", v);
	}
	snprintf(v, sizeof(v), "%ld", ms * kernel_hz() / 1000);
	return sdebug_set("delay", v);
}

/* Every command is dropped: the device never answers. */
static int sdebug_deaf(struct sdebug *s)
{
	if (sdebug_save(s))
		return -1;
	if (write_attr(SDEBUG_DRV "every_nth", "1"))
		return -1;
	return write_attr(SDEBUG_DRV "opts", "4");
}

/* The LU's queue depth (how many commands it takes at once). */
static int lu_qdepth(struct sdebug *s, const char *hctl, int depth)
{
	char v[16];

	if (!s->qdepth_path[0]) {
		snprintf(s->qdepth_path, sizeof(s->qdepth_path),
			 "/sys/class/scsi_device/%s/device/queue_depth", hctl);
		if (read_str(s->qdepth, sizeof(s->qdepth), "%s",
			     s->qdepth_path))
			return -1;
	}
	snprintf(v, sizeof(v), "%d", depth);
	return write_attr(s->qdepth_path, v);
}

static int sdebug_restore(struct sdebug *s)
{
	int r = 0;

	if (s->qdepth_path[0]) {
		r |= write_attr(s->qdepth_path, s->qdepth);
		s->qdepth_path[0] = '\0';
	}
	if (!s->saved)
		return r;
	r |= write_attr(SDEBUG_DRV "opts", s->opts);
	r |= write_attr(SDEBUG_DRV "every_nth", s->every_nth);
	if (atoi(s->ndelay) > 0)
		r |= sdebug_set("ndelay", s->ndelay);
	else
		r |= sdebug_set("delay", s->delay);
	if (!r)
		s->saved = false;
	return r;
}

/* Commands the LU has not answered yet. */
static long long lu_busy(const char *hctl)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path),
		 "/sys/class/scsi_device/%s/device/device_busy", hctl);
	return attr_num(path);
}

/*
 * Wait until the LU has answered everything; the completions then reach
 * rsg's queues within moments.
 */
static int wait_idle(const char *hctl)
{
	long end = now_ms() + SLACK_MS;
	int idle = 0;

	/* Twice in a row: requests waiting for the LU are not counted. */
	while (idle < 2) {
		if (now_ms() > end)
			return -1;
		idle = lu_busy(hctl) ? 0 : idle + 1;
		sleep_ms(idle ? 20 : 2);
	}
	sleep_ms(50);
	return 0;
}

static int revents(int fd, short events, int timeout)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r = poll(&p, 1, timeout);

	if (r < 0)
		return -errno;
	return r ? p.revents : 0;
}

static int qio(int fd, const struct sg_io_hdr *h)
{
	return ioctl(fd, RSG_IOQUEUE, h) < 0 ? -errno : 0;
}

static int qget(int fd, struct sg_io_hdr *h)
{
	return ioctl(fd, RSG_IOGET, h) < 0 ? -errno : 0;
}

static int qbatch(int fd, struct sg_io_hdr *h, unsigned int n,
		  unsigned int *done)
{
	struct rsg_batch b = {
		.hdrs = (uintptr_t)h, .count = n, .done = 0xdead,
	};
	int r = ioctl(fd, RSG_IOQUEUE_BATCH, &b) < 0 ? -errno : 0;

	*done = b.done;
	return r;
}

static int gbatch(int fd, struct sg_io_hdr *h, unsigned int n,
		  unsigned int flags, unsigned int timeout_ms,
		  unsigned int *done)
{
	struct rsg_batch b = {
		.hdrs = (uintptr_t)h, .count = n, .flags = flags,
		.done = 0xdead, .timeout_ms = timeout_ms,
	};
	int r = ioctl(fd, RSG_IOGET_BATCH, &b) < 0 ? -errno : 0;

	*done = b.done;
	return r;
}

static int qcancel(int fd, const void *tag, unsigned int flags,
		   unsigned int reserved)
{
	struct rsg_cancel c = {
		.tag = (uintptr_t)tag, .flags = flags, .reserved = reserved,
	};

	return ioctl(fd, RSG_IOCANCEL, &c) < 0 ? -errno : 0;
}

static int qdepth(int fd)
{
	int v = -12345;

	return ioctl(fd, RSG_GET_QUEUE_DEPTH, &v) < 0 ? -errno : v;
}

/* Wait up to timeout_ms for a completion (by poll) and reap it. */
static int reap(int fd, struct sg_io_hdr *h, int timeout_ms)
{
	int ev = revents(fd, POLLIN, timeout_ms);

	if (ev < 0)
		return ev;
	if (!(ev & POLLIN))
		return -ETIME;
	memset(h, 0x5a, sizeof(*h));
	return qget(fd, h);
}

/* TEST UNIT READY queued with tag i, pack_id PACK_ID(i). */
static int queue_tur(int fd, unsigned int i)
{
	struct sg_io_hdr h;

	hdr_init(&h, tur_cdb, 6, SG_DXFER_NONE, NULL, 0, NULL, 0);
	h.pack_id = PACK_ID(i);
	h.usr_ptr = TAG(i);
	return qio(fd, &h);
}

/* A set of requests, told apart by their tags. */
struct reqs {
	unsigned int n, len;
	struct sg_io_hdr *q;		/* the headers as queued */
	uint8_t (*cdb)[16];
	uint8_t (*sense)[32];
	uint8_t *data;			/* len bytes each, page aligned */
	unsigned int *seen;		/* completions reaped per request */
};

static struct reqs *reqs_new(unsigned int n, unsigned int len)
{
	struct reqs *r = calloc(1, sizeof(*r));
	size_t sz = ((size_t)n * len + 4095) & ~4095UL;

	if (!r)
		return NULL;
	r->n = n;
	r->len = len;
	r->q = calloc(n, sizeof(*r->q));
	r->cdb = calloc(n, sizeof(*r->cdb));
	r->sense = calloc(n, sizeof(*r->sense));
	r->seen = calloc(n, sizeof(*r->seen));
	r->data = sz ? aligned_alloc(4096, sz) : NULL;
	if (!r->q || !r->cdb || !r->sense || !r->seen || (sz && !r->data))
		return NULL;
	memset(r->sense, SENSE_POISON, n * sizeof(*r->sense));
	if (sz)
		memset(r->data, POISON, sz);
	return r;
}

static void reqs_free(struct reqs *r)
{
	if (!r)
		return;
	free(r->q);
	free(r->cdb);
	free(r->sense);
	free(r->seen);
	free(r->data);
	free(r);
}

static uint8_t *reqs_buf(struct reqs *r, unsigned int i)
{
	return r->data + (size_t)i * r->len;
}

/* Request i: READ(10) or WRITE(10) of the set's length at lba. */
static void reqs_rw(struct reqs *r, unsigned int i, uint8_t op, uint32_t lba,
		    unsigned int bs)
{
	rw10(r->cdb[i], op, lba, r->len / bs);
	hdr_init(&r->q[i], r->cdb[i], 10,
		 op == WRITE_10 ? SG_DXFER_TO_DEV : SG_DXFER_FROM_DEV,
		 reqs_buf(r, i), r->len, r->sense[i], sizeof(r->sense[i]));
	r->q[i].pack_id = PACK_ID(i);
	r->q[i].usr_ptr = TAG(i);
}

static void reqs_tur(struct reqs *r, unsigned int i)
{
	hdr_init(&r->q[i], tur_cdb, 6, SG_DXFER_NONE, NULL, 0, r->sense[i],
		 sizeof(r->sense[i]));
	r->q[i].pack_id = PACK_ID(i);
	r->q[i].usr_ptr = TAG(i);
}

static int reqs_queue(int fd, struct reqs *r, unsigned int from,
		      unsigned int to)
{
	unsigned int i;
	int ret;

	for (i = from; i < to; i++) {
		ret = qio(fd, &r->q[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* The request a reaped header belongs to; each comes back once. */
static unsigned int reqs_index(struct __test_metadata *_metadata,
			       struct reqs *r, const struct sg_io_hdr *h)
{
	uintptr_t i = (uintptr_t)h->usr_ptr - TAG_BASE;

	ASSERT_GT(r->n, i) {
		TH_LOG("unknown tag %p (pack_id %d)", h->usr_ptr, h->pack_id);
	}
	ASSERT_EQ(0, r->seen[i]) {
		TH_LOG("tag %p reaped twice", h->usr_ptr);
	}
	r->seen[i]++;
	ASSERT_EQ(PACK_ID(i), h->pack_id);
	ASSERT_TRUE(inputs_kept(h, &r->q[i])) {
		TH_LOG("tag %p: inputs not as queued", h->usr_ptr);
	}
	return i;
}

/* A reaped header of a request that went well. */
static unsigned int reqs_good(struct __test_metadata *_metadata,
			      struct reqs *r, const struct sg_io_hdr *h,
			      int info)
{
	unsigned int i = reqs_index(_metadata, r, h);

	ASSERT_EQ(0, h->status) {
		TH_LOG("tag %p: sense key %x asc %x", h->usr_ptr,
		       r->sense[i][2] & 0xf, r->sense[i][12]);
	}
	ASSERT_EQ(0, h->masked_status);
	ASSERT_EQ(0, h->msg_status);
	ASSERT_EQ(0, h->host_status);
	ASSERT_EQ(0, h->driver_status);
	ASSERT_EQ(0, h->sb_len_wr);
	ASSERT_EQ(0, h->resid);
	ASSERT_EQ(info, h->info);
	ASSERT_GE(SLACK_MS, h->duration);
	ASSERT_EQ(SENSE_POISON, r->sense[i][0]);
	return i;
}

/* Reap n completions by poll() and RSG_IOGET, all good; then none is left. */
static void reap_good(struct __test_metadata *_metadata, int fd,
		      struct reqs *r, unsigned int n)
{
	struct sg_io_hdr h;
	unsigned int k;

	for (k = 0; k < n; k++) {
		ASSERT_EQ(0, reap(fd, &h, SLACK_MS)) {
			TH_LOG("completion %u of %u", k + 1, n);
		}
		reqs_good(_metadata, r, &h, 0);
	}
	ASSERT_EQ(-EAGAIN, qget(fd, &h));
}

/* Reap n completions with RSG_IOGET_BATCH and RSG_BATCH_WAIT, per at most. */
static void reap_batches(struct __test_metadata *_metadata, int fd,
			 struct reqs *r, unsigned int n, unsigned int per)
{
	struct sg_io_hdr *out = calloc(per, sizeof(*out));
	unsigned int got = 0, done, k;

	ASSERT_NE(NULL, out);
	while (got < n) {
		memset(out, 0x5a, per * sizeof(*out));
		ASSERT_EQ(0, gbatch(fd, out, per, RSG_BATCH_WAIT, SLACK_MS,
				    &done)) {
			TH_LOG("after %u of %u", got, n);
		}
		ASSERT_LT(0, done);
		ASSERT_GE(per, done);
		ASSERT_GE(n - got, done);
		for (k = 0; k < done; k++)
			reqs_good(_metadata, r, &out[k], 0);
		got += done;
	}
	free(out);
	ASSERT_EQ(-EAGAIN, gbatch(fd, out, 1, 0, 0, &done));
}

/* Synchronous READ(10)/WRITE(10) through SG_IO: the SCSI status, or -errno. */
static int sg_rw(int fd, uint8_t op, uint32_t lba, unsigned int nblk,
		 void *buf, unsigned int len)
{
	struct sg_io_hdr h;
	uint8_t cdb[10];

	rw10(cdb, op, lba, nblk);
	hdr_init(&h, cdb, 10, op == WRITE_10 ? SG_DXFER_TO_DEV :
		 SG_DXFER_FROM_DEV, buf, len, NULL, 0);
	if (ioctl(fd, SG_IO, &h) < 0)
		return -errno;
	return h.status | h.host_status | h.driver_status;
}

/* The /dev node of class cls ("scsi_rsg", "scsi_generic") of the LU hctl. */
static int node_of(const char *hctl, const char *cls, char *out, size_t len)
{
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int ret = -1;

	snprintf(dir, sizeof(dir), "/sys/class/scsi_device/%s/device/%s",
		 hctl, cls);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(out, len, "/dev/%s", e->d_name);
		ret = 0;
		break;
	}
	closedir(d);
	return ret;
}

static int lu_hctl(const char *dev, char *hctl, size_t len)
{
	const char *env = getenv("RSG_HCTL");
	struct lu lu;

	if (env) {
		snprintf(hctl, len, "%s", env);
		return 0;
	}
	if (lu_info(dev, &lu))
		return -1;
	snprintf(hctl, len, "%d:%d:%d:%d", lu.host, lu.chan, lu.id, lu.lun);
	return 0;
}

FIXTURE(queue)
{
	int fd;				/* the rsg node, O_RDWR */
	int sgfd;			/* the sg node of the same LU */
	unsigned int bs;
	char hctl[32];
	struct sdebug sd;
	char depth[32];			/* queue_depth, when changed */
	char dio[8];			/* allow_dio, when changed */
	pid_t owner;			/* the process the fds belong to */
};

FIXTURE_SETUP(queue)
{
	long long sz;

	self->fd = -1;
	self->sgfd = -1;
	self->owner = getpid();
	if (atoi(getenv("RSG_SELF_TEST") ?: "0"))
		SKIP(return, "the queue interface is rsg's own");
	ASSERT_EQ(0, lu_hctl(dev_path(RSG), self->hctl, sizeof(self->hctl)));
	sz = sdebug_param("sector_size");
	ASSERT_LT(0, sz);
	self->bs = sz;
	ASSERT_EQ(0, clear_ua(dev_path(SG)));
	self->fd = open(dev_path(RSG), O_RDWR);
	ASSERT_LE(0, self->fd) {
		TH_LOG("open %s: %s", dev_path(RSG), strerror(errno));
	}
	self->sgfd = open(dev_path(SG), O_RDWR);
	ASSERT_LE(0, self->sgfd) {
		TH_LOG("open %s: %s", dev_path(SG), strerror(errno));
	}
}

/*
 * In the parent: a failed ASSERT may skip the teardown of the test's own
 * process, and the settings must come back whatever happened.
 */
FIXTURE_TEARDOWN_PARENT(queue)
{
	if (self->owner == getpid()) {
		if (self->fd >= 0)
			close(self->fd);
		if (self->sgfd >= 0)
			close(self->sgfd);
	}
	if (self->depth[0]) {
		EXPECT_EQ(0, write_attr(DEPTH_PARAM, self->depth));
	}
	if (self->dio[0]) {
		EXPECT_EQ(0, write_attr(ALLOW_DIO, self->dio));
	}
	EXPECT_EQ(0, sdebug_restore(&self->sd));
}

static int set_depth_param(FIXTURE_DATA(queue) *self, const char *v)
{
	if (!self->depth[0] &&
	    read_str(self->depth, sizeof(self->depth), DEPTH_PARAM))
		return -1;
	return write_attr(DEPTH_PARAM, v);
}

/* The depth is the module parameter, 256 unless rsg was loaded otherwise. */
TEST_F(queue, depth_default)
{
	ASSERT_EQ(DEF_DEPTH, attr_num(DEPTH_PARAM));
	ASSERT_EQ(DEF_DEPTH, qdepth(self->fd));
	ASSERT_EQ(0, queue_tur(self->fd, 0));
	ASSERT_EQ(DEF_DEPTH, qdepth(self->fd));
}

/* Neither RSG_IOGET nor RSG_IOGET_BATCH without RSG_BATCH_WAIT ever waits. */
TEST_F(queue, eagain_empty)
{
	struct sg_io_hdr h, out[4];
	unsigned int done;
	long t0;

	t0 = now_ms();
	ASSERT_EQ(-EAGAIN, qget(self->fd, &h));
	ASSERT_EQ(-EAGAIN, gbatch(self->fd, out, 4, 0, 0, &done));
	/* A timeout without RSG_BATCH_WAIT means nothing. */
	ASSERT_EQ(-EAGAIN, gbatch(self->fd, out, 4, 0, 1000, &done));
	ASSERT_GT(500, now_ms() - t0);

	/* And again once the queue has been used. */
	ASSERT_EQ(0, queue_tur(self->fd, 0));
	ASSERT_EQ(0, reap(self->fd, &h, SLACK_MS));
	ASSERT_EQ(TAG(0), h.usr_ptr);
	ASSERT_EQ(-EAGAIN, qget(self->fd, &h));
	ASSERT_EQ(-EAGAIN, gbatch(self->fd, out, 4, 0, 0, &done));
}

/*
 * WRITE(10)s then READ(10)s through the queue, each with its own tag and
 * pack_id: every completion comes back once, good, with the inputs as
 * queued; data-in reaches the buffers at RSG_IOGET; what was written reads
 * back the same through the queue and through SG_IO on the sg node.
 */
#define NTAGS	32
#define TAG_BLK	8

TEST_F(queue, write_read_tags)
{
	unsigned int len = TAG_BLK * self->bs, i, k;
	struct reqs *w = reqs_new(NTAGS, len), *r = reqs_new(NTAGS, len);
	uint8_t *want = malloc(len), *sgbuf = malloc(len);
	struct sg_io_hdr h;
	bool poisoned;

	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, r);
	ASSERT_NE(NULL, want);
	ASSERT_NE(NULL, sgbuf);
	for (i = 0; i < NTAGS; i++) {
		reqs_rw(w, i, WRITE_10, LBA_TAGS + i * TAG_BLK, self->bs);
		pattern(reqs_buf(w, i), len, 300 + i);
		reqs_rw(r, i, READ_10, LBA_TAGS + i * TAG_BLK, self->bs);
	}
	ASSERT_EQ(0, reqs_queue(self->fd, w, 0, NTAGS));
	reap_good(_metadata, self->fd, w, NTAGS);
	for (i = 0; i < NTAGS; i++) {
		ASSERT_EQ(1, w->seen[i]);
	}

	ASSERT_EQ(0, reqs_queue(self->fd, r, 0, NTAGS));
	ASSERT_EQ(0, wait_idle(self->hctl));
	ASSERT_EQ(POLL_READY | POLL_ROOM, revents(self->fd, POLL_ALL, 0));
	/* Completed but not reaped: the data is not in the buffers yet. */
	poisoned = true;
	for (i = 0; i < NTAGS * len; i++)
		poisoned &= r->data[i] == POISON;
	ASSERT_TRUE(poisoned);
	for (k = 0; k < NTAGS; k++) {
		ASSERT_EQ(0, reap(self->fd, &h, SLACK_MS));
		i = reqs_good(_metadata, r, &h, 0);
		pattern(want, len, 300 + i);
		ASSERT_EQ(0, memcmp(want, reqs_buf(r, i), len)) {
			TH_LOG("READ tag %u: data differs from what was written",
			       i);
		}
	}
	ASSERT_EQ(-EAGAIN, qget(self->fd, &h));
	ASSERT_EQ(POLL_ROOM, revents(self->fd, POLL_ALL, 0));
	for (i = 0; i < NTAGS; i++) {
		ASSERT_EQ(1, r->seen[i]);
		memset(sgbuf, POISON, len);
		ASSERT_EQ(0, sg_rw(self->sgfd, READ_10, LBA_TAGS + i * TAG_BLK,
				   TAG_BLK, sgbuf, len));
		ASSERT_EQ(0, memcmp(reqs_buf(r, i), sgbuf, len)) {
			TH_LOG("block run %u reads differently through sg", i);
		}
	}
	reqs_free(w);
	reqs_free(r);
	free(want);
	free(sgbuf);
}

/*
 * Outputs of requests that do not go well are those SG_IO gives for the
 * same header on the sg node: sense data, CHECK CONDITION, resid.
 */
TEST_F(queue, outputs_as_sg_io)
{
	enum { INVALID, INVALID_NO_SENSE, OUT_OF_RANGE, SHORT_READ, INQ_RESID,
	       NCASE };
	uint8_t cdb[NCASE][10], sense[2][NCASE][64], data[2][NCASE][4096];
	struct sg_io_hdr q[NCASE], ref[NCASE], h;
	unsigned int i, c;

	memset(sense, SENSE_POISON, sizeof(sense));
	memset(data, POISON, sizeof(data));
	memcpy(cdb[INVALID], bad_cdb, 6);
	memcpy(cdb[INVALID_NO_SENSE], bad_cdb, 6);
	rw10(cdb[OUT_OF_RANGE], READ_10, 0xffffff00, 1);
	rw10(cdb[SHORT_READ], READ_10, LBA_OUTPUTS, 1);
	memcpy(cdb[INQ_RESID], inq_cdb, 6);
	for (i = 0; i < 2; i++) {
		struct sg_io_hdr *hs = i ? ref : q;

		hdr_init(&hs[INVALID], cdb[INVALID], 6, SG_DXFER_NONE, NULL, 0,
			 sense[i][INVALID], 32);
		hdr_init(&hs[INVALID_NO_SENSE], cdb[INVALID_NO_SENSE], 6,
			 SG_DXFER_NONE, NULL, 0, sense[i][INVALID_NO_SENSE], 0);
		hdr_init(&hs[OUT_OF_RANGE], cdb[OUT_OF_RANGE], 10,
			 SG_DXFER_FROM_DEV, data[i][OUT_OF_RANGE], self->bs,
			 sense[i][OUT_OF_RANGE], 64);
		/* Two blocks asked for, one sent. */
		hdr_init(&hs[SHORT_READ], cdb[SHORT_READ], 10,
			 SG_DXFER_FROM_DEV, data[i][SHORT_READ], 2 * self->bs,
			 sense[i][SHORT_READ], 32);
		hdr_init(&hs[INQ_RESID], cdb[INQ_RESID], 6, SG_DXFER_FROM_DEV,
			 data[i][INQ_RESID], 200, sense[i][INQ_RESID], 32);
		for (c = 0; c < NCASE; c++) {
			hs[c].pack_id = c;
			hs[c].usr_ptr = TAG(c);
		}
	}
	for (c = 0; c < NCASE; c++) {
		ASSERT_EQ(0, sg_io(self->sgfd, &ref[c]));
		ASSERT_EQ(0, qio(self->fd, &q[c])) {
			TH_LOG("case %u", c);
		}
	}
	for (i = 0; i < NCASE; i++) {
		ASSERT_EQ(0, reap(self->fd, &h, SLACK_MS));
		c = (uintptr_t)h.usr_ptr - TAG_BASE;
		ASSERT_GT(NCASE, c);
		ASSERT_TRUE(inputs_kept(&h, &q[c]));
		ASSERT_EQ(ref[c].status, h.status) {
			TH_LOG("case %u", c);
		}
		ASSERT_EQ(ref[c].masked_status, h.masked_status);
		ASSERT_EQ(ref[c].msg_status, h.msg_status);
		ASSERT_EQ(ref[c].sb_len_wr, h.sb_len_wr) {
			TH_LOG("case %u", c);
		}
		ASSERT_EQ(ref[c].host_status, h.host_status);
		ASSERT_EQ(ref[c].driver_status, h.driver_status) {
			TH_LOG("case %u", c);
		}
		ASSERT_EQ(ref[c].resid, h.resid) {
			TH_LOG("case %u", c);
		}
		ASSERT_EQ(ref[c].info, h.info) {
			TH_LOG("case %u", c);
		}
		ASSERT_GE(SLACK_MS, h.duration);
		ASSERT_EQ(0, memcmp(sense[0][c], sense[1][c], 64)) {
			TH_LOG("case %u: sense bytes differ", c);
		}
		/*
		 * What a failed command leaves, and bytes past dxfer_len -
		 * resid, are the driver's business.
		 */
		if (!ref[c].status) {
			ASSERT_EQ(0, memcmp(data[0][c], data[1][c],
					    ref[c].dxfer_len - ref[c].resid)) {
				TH_LOG("case %u: data differs", c);
			}
		}
	}
	/* The cases really are what they claim. */
	ASSERT_EQ(0x02, ref[INVALID].status);
	ASSERT_EQ(18, ref[INVALID].sb_len_wr);
	ASSERT_EQ(0x20, sense[1][INVALID][12]);
	ASSERT_EQ(0, ref[INVALID_NO_SENSE].sb_len_wr);
	ASSERT_EQ(0x21, sense[1][OUT_OF_RANGE][12]);
	ASSERT_EQ((int)self->bs, ref[SHORT_READ].resid);
	ASSERT_EQ(104, ref[INQ_RESID].resid);
}

/* Data as iovec lists, odd segment sizes, both directions. */
TEST_F(queue, iovec)
{
	static const unsigned int out_seg[] = { 700, 1348, 2048 };
	static const unsigned int in_seg[] = { 24, 2000, 1000, 1072 };
	unsigned int len = 4096, nblk = len / self->bs, i, off;
	uint8_t *out = malloc(len), *in = malloc(len), *ref = malloc(len);
	sg_iovec_t oiov[3], iiov[4];
	struct sg_io_hdr q, h;
	uint8_t cdb[10], sense[32];

	ASSERT_NE(NULL, out);
	ASSERT_NE(NULL, in);
	ASSERT_NE(NULL, ref);
	ASSERT_EQ(0, len % self->bs);

	/* Data out from three segments, read back through sg. */
	pattern(out, len, 41);
	for (i = 0, off = 0; i < 3; off += out_seg[i], i++) {
		oiov[i].iov_base = out + off;
		oiov[i].iov_len = out_seg[i];
	}
	ASSERT_EQ(len, off);
	rw10(cdb, WRITE_10, LBA_IOV, nblk);
	hdr_init(&q, cdb, 10, SG_DXFER_TO_DEV, oiov, len, sense, sizeof(sense));
	q.iovec_count = 3;
	ASSERT_EQ(0, qio(self->fd, &q));
	ASSERT_EQ(0, reap(self->fd, &h, SLACK_MS));
	ASSERT_TRUE(inputs_kept(&h, &q));
	ASSERT_EQ(0, h.status | h.host_status | h.driver_status);
	ASSERT_EQ(0, h.resid);
	memset(ref, POISON, len);
	ASSERT_EQ(0, sg_rw(self->sgfd, READ_10, LBA_IOV, nblk, ref, len));
	ASSERT_EQ(0, memcmp(out, ref, len));

	/* Data in to four segments, of what sg wrote. */
	pattern(ref, len, 42);
	ASSERT_EQ(0, sg_rw(self->sgfd, WRITE_10, LBA_IOV + nblk, nblk, ref,
			   len));
	memset(in, POISON, len);
	for (i = 0, off = 0; i < 4; off += in_seg[i], i++) {
		iiov[i].iov_base = in + off;
		iiov[i].iov_len = in_seg[i];
	}
	ASSERT_EQ(len, off);
	rw10(cdb, READ_10, LBA_IOV + nblk, nblk);
	hdr_init(&q, cdb, 10, SG_DXFER_FROM_DEV, iiov, len, sense,
		 sizeof(sense));
	q.iovec_count = 4;
	ASSERT_EQ(0, qio(self->fd, &q));
	ASSERT_EQ(0, reap(self->fd, &h, SLACK_MS));
	ASSERT_TRUE(inputs_kept(&h, &q));
	ASSERT_EQ(0, h.status | h.host_status | h.driver_status);
	ASSERT_EQ(0, h.resid);
	ASSERT_EQ(0, memcmp(ref, in, len));
	free(out);
	free(in);
	free(ref);
}

/*
 * SG_FLAG_DIRECT_IO with allow_dio: the caller's pages are used and
 * unpinned when the request is reaped.
 */
TEST_F(queue, direct_io)
{
	unsigned int len = 8192, nblk = len / self->bs;
	struct reqs *r = reqs_new(2, len);
	uint8_t *ref = malloc(len);
	struct sg_io_hdr h;

	ASSERT_NE(NULL, r);
	ASSERT_NE(NULL, ref);
	ASSERT_EQ(0, read_str(self->dio, sizeof(self->dio), ALLOW_DIO));
	ASSERT_EQ(0, write_attr(ALLOW_DIO, "1"));
	pattern(ref, len, 51);
	ASSERT_EQ(0, sg_rw(self->sgfd, WRITE_10, LBA_DIO, nblk, ref, len));
	reqs_rw(r, 0, READ_10, LBA_DIO, self->bs);
	r->q[0].flags = SG_FLAG_DIRECT_IO;
	ASSERT_EQ(0, qio(self->fd, &r->q[0]));
	ASSERT_EQ(0, reap(self->fd, &h, SLACK_MS));
	reqs_good(_metadata, r, &h, SG_INFO_DIRECT_IO);
	ASSERT_EQ(0, memcmp(ref, reqs_buf(r, 0), len));
	ASSERT_EQ(0, attr_num(PINNED_PAGES));

	/* Without allow_dio the flag is ignored. */
	ASSERT_EQ(0, write_attr(ALLOW_DIO, "0"));
	reqs_rw(r, 1, READ_10, LBA_DIO, self->bs);
	r->q[1].flags = SG_FLAG_DIRECT_IO;
	ASSERT_EQ(0, qio(self->fd, &r->q[1]));
	ASSERT_EQ(0, reap(self->fd, &h, SLACK_MS));
	reqs_good(_metadata, r, &h, 0);
	ASSERT_EQ(0, memcmp(ref, reqs_buf(r, 1), len));
	reqs_free(r);
	free(ref);
}

/* A batch queues every header; done says so; all come back. */
static void batch_n(struct __test_metadata *_metadata,
		    FIXTURE_DATA(queue) *self, unsigned int n)
{
	struct reqs *r = reqs_new(n, self->bs);
	uint8_t *ref = malloc((size_t)n * self->bs);
	unsigned int done, i;

	ASSERT_NE(NULL, r);
	ASSERT_NE(NULL, ref);
	pattern(ref, (size_t)n * self->bs, 61 + n);
	ASSERT_EQ(0, sg_rw(self->sgfd, WRITE_10, LBA_BATCH, n, ref,
			   n * self->bs));
	for (i = 0; i < n; i++)
		reqs_rw(r, i, READ_10, LBA_BATCH + i, self->bs);
	ASSERT_EQ(0, qbatch(self->fd, r->q, n, &done));
	ASSERT_EQ(n, done);
	reap_batches(_metadata, self->fd, r, n, n / 4 + 3);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(1, r->seen[i]);
	}
	ASSERT_EQ(0, memcmp(ref, r->data, (size_t)n * self->bs));
	reqs_free(r);
	free(ref);
}

TEST_F(queue, batch_64)
{
	batch_n(_metadata, self, 64);
}

/* The whole default depth in one call. */
TEST_F(queue, batch_256)
{
	unsigned int done;
	struct sg_io_hdr h;

	batch_n(_metadata, self, 256);
	/* All reaped: the next batch fits again. */
	hdr_init(&h, tur_cdb, 6, SG_DXFER_NONE, NULL, 0, NULL, 0);
	ASSERT_EQ(0, qbatch(self->fd, &h, 1, &done));
	ASSERT_EQ(1, done);
}

/* A bad fifth header: four are queued, and that is a success. */
TEST_F(queue, batch_bad_fifth)
{
	struct reqs *r = reqs_new(8, 0);
	unsigned int done, i;
	struct sg_io_hdr h;

	ASSERT_NE(NULL, r);
	for (i = 0; i < 8; i++)
		reqs_tur(r, i);
	r->q[4].interface_id = 'X';
	ASSERT_EQ(0, qbatch(self->fd, r->q, 8, &done));
	ASSERT_EQ(4, done);
	ASSERT_EQ(0, wait_idle(self->hctl));
	reap_good(_metadata, self->fd, r, 4);
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(i < 4, r->seen[i]) {
			TH_LOG("request %u", i);
		}
	}
	/* The rest of the batch can be queued on its own. */
	ASSERT_EQ(0, qbatch(self->fd, &r->q[5], 3, &done));
	ASSERT_EQ(3, done);
	reap_good(_metadata, self->fd, r, 3);
	ASSERT_EQ(-EAGAIN, qget(self->fd, &h));
	reqs_free(r);
}

/* A bad first header: nothing queued, that header's errno. */
TEST_F(queue, batch_bad_first)
{
	struct reqs *r = reqs_new(4, 0);
	unsigned int done, i;
	struct sg_io_hdr h;

	ASSERT_NE(NULL, r);
	for (i = 0; i < 4; i++)
		reqs_tur(r, i);
	r->q[0].interface_id = 'X';
	ASSERT_EQ(-ENOSYS, qbatch(self->fd, r->q, 4, &done));
	ASSERT_EQ(0, done);
	/* The errnos of SG_IO's checks: a CDB too short. */
	r->q[0].interface_id = 'S';
	r->q[0].cmd_len = 5;
	ASSERT_EQ(-EMSGSIZE, qbatch(self->fd, r->q, 4, &done));
	ASSERT_EQ(0, done);
	ASSERT_EQ(-EMSGSIZE, qio(self->fd, &r->q[0]));
	ASSERT_EQ(0, wait_idle(self->hctl));
	ASSERT_EQ(-EAGAIN, qget(self->fd, &h));
	/* An empty batch queues nothing and is no error. */
	ASSERT_EQ(0, qbatch(self->fd, r->q, 0, &done));
	ASSERT_EQ(0, done);
	reqs_free(r);
}

/* RSG_IOGET_BATCH returns at most count, oldest first, the rest stay. */
TEST_F(queue, get_batch_fewer)
{
	struct reqs *r = reqs_new(8, 0);
	struct sg_io_hdr out[4];
	unsigned int done, i, k, got = 0;
	static const unsigned int want[] = { 3, 3, 2 };

	ASSERT_NE(NULL, r);
	for (i = 0; i < 8; i++)
		reqs_tur(r, i);
	ASSERT_EQ(0, reqs_queue(self->fd, r, 0, 8));
	ASSERT_EQ(0, wait_idle(self->hctl));
	for (k = 0; k < ARRAY_SIZE(want); k++) {
		memset(out, 0x5a, sizeof(out));
		ASSERT_EQ(0, gbatch(self->fd, out, 3, 0, 0, &done));
		ASSERT_EQ(want[k], done);
		for (i = 0; i < done; i++)
			reqs_good(_metadata, r, &out[i], 0);
		/* Nothing written past done. */
		ASSERT_EQ(0x5a5a5a5a, out[done].interface_id);
		got += done;
	}
	ASSERT_EQ(8, got);
	ASSERT_EQ(-EAGAIN, gbatch(self->fd, out, 3, 0, 0, &done));
	reqs_free(r);
}

/* count 0 reaps nothing and loses nothing. */
TEST_F(queue, get_batch_zero)
{
	struct sg_io_hdr out[2];
	unsigned int done;
	int r;

	memset(out, 0x5a, sizeof(out));
	ASSERT_EQ(0, queue_tur(self->fd, 0));
	ASSERT_EQ(0, wait_idle(self->hctl));
	ASSERT_EQ(0, gbatch(self->fd, out, 0, 0, 0, &done));
	ASSERT_EQ(0, done);
	ASSERT_EQ(0x5a5a5a5a, out[0].interface_id);
	ASSERT_EQ(0, gbatch(self->fd, out, 0, RSG_BATCH_WAIT, 100, &done));
	ASSERT_EQ(0, done);
	ASSERT_EQ(POLLIN, revents(self->fd, POLLIN, 0));
	ASSERT_EQ(0, gbatch(self->fd, out, 2, 0, 0, &done));
	ASSERT_EQ(1, done);
	ASSERT_EQ(TAG(0), out[0].usr_ptr);
	/* Nothing ready: the document allows either answer. */
	r = gbatch(self->fd, out, 0, 0, 0, &done);
	ASSERT_TRUE(r == 0 || r == -EAGAIN) {
		TH_LOG("count 0, nothing ready: %d", r);
	}
	if (!r) {
		ASSERT_EQ(0, done);
	}
}

/* Unknown flags: EINVAL, nothing reaped. */
TEST_F(queue, get_batch_flags)
{
	static const unsigned int bad[] = { 0x2, 0x80000000, 0x3 };
	struct sg_io_hdr out[2];
	unsigned int done, i;

	ASSERT_EQ(0, queue_tur(self->fd, 0));
	ASSERT_EQ(0, wait_idle(self->hctl));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(-EINVAL, gbatch(self->fd, out, 2, bad[i], 100,
					  &done)) {
			TH_LOG("flags %#x", bad[i]);
		}
	}
	ASSERT_EQ(0, gbatch(self->fd, out, 2, 0, 0, &done));
	ASSERT_EQ(1, done);
	ASSERT_EQ(TAG(0), out[0].usr_ptr);
	/* And with nothing ready, EINVAL rather than EAGAIN. */
	ASSERT_EQ(-EINVAL, gbatch(self->fd, out, 2, 0x2, 0, &done));
}

/* The document makes unknown flags EINVAL whatever the count. */
TEST_F(queue, get_batch_flags_count_zero)
{
	struct sg_io_hdr out[1];
	unsigned int done;

	ASSERT_EQ(-EINVAL, gbatch(self->fd, out, 0, 0x2, 0, &done));
	ASSERT_EQ(0, queue_tur(self->fd, 0));
	ASSERT_EQ(0, wait_idle(self->hctl));
	ASSERT_EQ(-EINVAL, gbatch(self->fd, out, 0, 0x80000000, 0, &done));
}

/*
 * depth requests outstanding (completed and unreaped count too): the next
 * gets EAGAIN and POLLOUT goes; reaping one makes room for exactly one.
 */
TEST_F(queue, depth_full)
{
	int depth = qdepth(self->fd);
	struct reqs *r;
	struct sg_io_hdr h;
	int i;

	ASSERT_LT(0, depth);
	ASSERT_EQ(attr_num(DEPTH_PARAM), depth);
	r = reqs_new(depth + 2, 0);
	ASSERT_NE(NULL, r);
	for (i = 0; i < depth + 2; i++)
		reqs_tur(r, i);
	for (i = 0; i < depth; i++) {
		ASSERT_EQ(0, qio(self->fd, &r->q[i])) {
			TH_LOG("request %d of %d", i + 1, depth);
		}
	}
	ASSERT_EQ(-EAGAIN, qio(self->fd, &r->q[depth]));
	ASSERT_EQ(0, wait_idle(self->hctl));
	ASSERT_EQ(POLL_READY, revents(self->fd, POLL_ALL, 0));
	ASSERT_EQ(-EAGAIN, qio(self->fd, &r->q[depth]));

	ASSERT_EQ(0, reap(self->fd, &h, SLACK_MS));
	reqs_good(_metadata, r, &h, 0);
	ASSERT_EQ(POLL_READY | POLL_ROOM, revents(self->fd, POLL_ALL, 0));
	ASSERT_EQ(0, qio(self->fd, &r->q[depth]));
	ASSERT_EQ(POLL_READY, revents(self->fd, POLL_ALL, 0));
	ASSERT_EQ(-EAGAIN, qio(self->fd, &r->q[depth + 1]));
	reap_good(_metadata, self->fd, r, depth);
	ASSERT_EQ(POLL_ROOM, revents(self->fd, POLL_ALL, 0));
	reqs_free(r);
}

/* A batch stops at the depth: done is the room there was. */
TEST_F(queue, depth_batch)
{
	int depth = qdepth(self->fd);
	struct reqs *r;
	unsigned int done;
	int i;

	ASSERT_LE(8, depth);
	r = reqs_new(depth + 4, 0);
	ASSERT_NE(NULL, r);
	for (i = 0; i < depth + 4; i++)
		reqs_tur(r, i);
	ASSERT_EQ(0, reqs_queue(self->fd, r, 0, depth - 6));
	ASSERT_EQ(0, qbatch(self->fd, &r->q[depth - 6], 10, &done));
	ASSERT_EQ(6, done);
	ASSERT_EQ(-EAGAIN, qbatch(self->fd, &r->q[depth], 4, &done));
	ASSERT_EQ(0, done);
	reap_batches(_metadata, self->fd, r, depth, 100);
	for (i = 0; i < depth + 4; i++) {
		ASSERT_EQ(i < depth, r->seen[i]);
	}
	reqs_free(r);
}

/*
 * The parameter applies to files that have not queued yet; one that has
 * keeps its depth. Out of range values are refused.
 */
TEST_F(queue, depth_param)
{
	int old, fresh, i;

	old = open(dev_path(RSG), O_RDWR);
	ASSERT_LE(0, old);
	ASSERT_EQ(0, queue_tur(old, 0));
	ASSERT_EQ(0, set_depth_param(self, "8"));
	ASSERT_EQ(8, attr_num(DEPTH_PARAM));
	ASSERT_NE(0, write_attr(DEPTH_PARAM, "0"));
	ASSERT_NE(0, write_attr(DEPTH_PARAM, "65537"));
	ASSERT_NE(0, write_attr(DEPTH_PARAM, "-1"));
	ASSERT_EQ(8, attr_num(DEPTH_PARAM));

	/* Opened before the change, first queue after it. */
	ASSERT_EQ(8, qdepth(self->fd));
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, queue_tur(self->fd, i));
	}
	ASSERT_EQ(-EAGAIN, queue_tur(self->fd, 8));
	fresh = open(dev_path(RSG), O_RDWR);
	ASSERT_LE(0, fresh);
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, queue_tur(fresh, i));
	}
	ASSERT_EQ(-EAGAIN, queue_tur(fresh, 8));
	/* The old file still holds 256. */
	for (i = 1; i < DEF_DEPTH; i++) {
		ASSERT_EQ(0, queue_tur(old, i)) {
			TH_LOG("request %d on the file that queued first", i);
		}
	}
	ASSERT_EQ(-EAGAIN, queue_tur(old, DEF_DEPTH));
	/* Back to 256: files that queued keep 8. */
	ASSERT_EQ(0, write_attr(DEPTH_PARAM, self->depth));
	ASSERT_EQ(-EAGAIN, queue_tur(fresh, 8));
	ASSERT_EQ(0, wait_idle(self->hctl));
	close(old);
	close(fresh);
}

/* RSG_GET_QUEUE_DEPTH of a file is the depth it got at its first queue. */
TEST_F(queue, depth_param_reported)
{
	int d;

	ASSERT_EQ(0, queue_tur(self->fd, 0));
	ASSERT_EQ(DEF_DEPTH, qdepth(self->fd));
	ASSERT_EQ(0, set_depth_param(self, "8"));
	d = qdepth(self->fd);
	ASSERT_EQ(DEF_DEPTH, d) {
		TH_LOG("the file holds %d requests, RSG_GET_QUEUE_DEPTH says %d",
		       DEF_DEPTH, d);
	}
}

/* RSG_BATCH_WAIT with a timeout and nothing queued: EAGAIN, in time. */
TEST_F(queue, wait_timeout)
{
	struct sg_io_hdr out[2];
	unsigned int done;
	long t0, el;

	t0 = now_ms();
	ASSERT_EQ(-EAGAIN, gbatch(self->fd, out, 2, RSG_BATCH_WAIT, 100,
				  &done));
	el = now_ms() - t0;
	ASSERT_LE(90, el);
	ASSERT_GT(100 + SLACK_MS, el);
	TH_LOG("timeout_ms 100: EAGAIN after %ld ms", el);
}

/* RSG_BATCH_WAIT returns once a slow command completes. */
TEST_F(queue, wait_slow)
{
	struct reqs *r = reqs_new(3, 4096);
	struct sg_io_hdr out[4];
	unsigned int done;
	long t0, el;

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, sdebug_slow(&self->sd, 600));
	reqs_rw(r, 0, READ_10, LBA_SLOW, self->bs);
	reqs_rw(r, 1, READ_10, LBA_SLOW, self->bs);
	reqs_rw(r, 2, READ_10, LBA_SLOW, self->bs);

	/* Forever (0): returns with it. */
	t0 = now_ms();
	ASSERT_EQ(0, qio(self->fd, &r->q[0]));
	ASSERT_EQ(0, gbatch(self->fd, out, 4, RSG_BATCH_WAIT, 0, &done));
	el = now_ms() - t0;
	ASSERT_EQ(1, done);
	reqs_good(_metadata, r, &out[0], 0);
	ASSERT_LE(500, el);
	ASSERT_GT(600 + SLACK_MS, el);
	/* Loose: jiffies and the clock drift apart under emulation. */
	ASSERT_LE(300, out[0].duration);

	/* A timeout longer than the command. */
	ASSERT_EQ(0, qio(self->fd, &r->q[1]));
	ASSERT_EQ(0, gbatch(self->fd, out, 4, RSG_BATCH_WAIT, 2 * SLACK_MS,
			    &done));
	ASSERT_EQ(1, done);
	reqs_good(_metadata, r, &out[0], 0);

	/* A shorter one: EAGAIN, and the completion comes later. */
	t0 = now_ms();
	ASSERT_EQ(0, qio(self->fd, &r->q[2]));
	ASSERT_EQ(-EAGAIN, gbatch(self->fd, out, 4, RSG_BATCH_WAIT, 100,
				  &done));
	ASSERT_GT(500, now_ms() - t0);
	ASSERT_EQ(0, gbatch(self->fd, out, 4, RSG_BATCH_WAIT, 0, &done));
	ASSERT_EQ(1, done);
	reqs_good(_metadata, r, &out[0], 0);
	reqs_free(r);
}

static void on_alarm(int sig)
{
}

static void alarm_in(long ms, bool restart)
{
	struct itimerval it = { .it_value.tv_usec = ms * 1000 };
	struct sigaction sa = { .sa_handler = on_alarm };

	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

/* A signal ends the wait: EINTR, or with SA_RESTART the wait goes on. */
TEST_F(queue, wait_signal)
{
	struct reqs *r = reqs_new(1, 4096);
	struct sg_io_hdr out[2];
	unsigned int done;
	long t0, el;

	ASSERT_NE(NULL, r);
	t0 = now_ms();
	alarm_in(200, false);
	ASSERT_EQ(-EINTR, gbatch(self->fd, out, 2, RSG_BATCH_WAIT, 0, &done));
	el = now_ms() - t0;
	ASSERT_LE(150, el);
	ASSERT_GT(SLACK_MS, el);

	ASSERT_EQ(0, sdebug_slow(&self->sd, 800));
	reqs_rw(r, 0, READ_10, LBA_SLOW, self->bs);
	t0 = now_ms();
	ASSERT_EQ(0, qio(self->fd, &r->q[0]));
	alarm_in(200, true);
	ASSERT_EQ(0, gbatch(self->fd, out, 2, RSG_BATCH_WAIT, 0, &done));
	el = now_ms() - t0;
	ASSERT_EQ(1, done);
	reqs_good(_metadata, r, &out[0], 0);
	ASSERT_LE(700, el);
	reqs_free(r);
}

/*
 * RSG_IOCANCEL aborts one running request: it completes at once with an
 * error host_status and is reaped like any other; the others keep running.
 */
TEST_F_TIMEOUT(queue, cancel, 120)
{
	struct reqs *r = reqs_new(3, 4096);
	struct sg_io_hdr h;
	unsigned int i;
	long t0;

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, sdebug_slow(&self->sd, LONG_MS));
	for (i = 0; i < 3; i++)
		reqs_rw(r, i, READ_10, LBA_SLOW + 8 * i, self->bs);
	t0 = now_ms();
	ASSERT_EQ(0, reqs_queue(self->fd, r, 0, 3));
	sleep_ms(100);
	ASSERT_EQ(-EAGAIN, qget(self->fd, &h));

	ASSERT_EQ(0, qcancel(self->fd, TAG(1), 0, 0));
	ASSERT_EQ(0, reap(self->fd, &h, SLACK_MS));
	ASSERT_GT(LONG_MS / 2, now_ms() - t0);
	ASSERT_EQ(1, reqs_index(_metadata, r, &h));
	TH_LOG("cancelled: status %#x host_status %#x driver_status %#x info %#x duration %u",
	       h.status, h.host_status, h.driver_status, h.info, h.duration);
	ASSERT_NE(0, h.host_status);
	ASSERT_EQ(DID_TIME_OUT, h.host_status);
	ASSERT_EQ(SG_INFO_CHECK, h.info & SG_INFO_CHECK);
	ASSERT_GT(LONG_MS / 2, h.duration);
	/* The others still run. */
	sleep_ms(100);
	ASSERT_EQ(-EAGAIN, qget(self->fd, &h));
	ASSERT_EQ(0, revents(self->fd, POLLIN, 0));
	/* Gone: its tag names nothing any more. */
	ASSERT_EQ(-ENOENT, qcancel(self->fd, TAG(1), 0, 0));

	ASSERT_EQ(0, qcancel(self->fd, TAG(0), 0, 0));
	ASSERT_EQ(0, qcancel(self->fd, TAG(2), 0, 0));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, reap(self->fd, &h, SLACK_MS));
		reqs_index(_metadata, r, &h);
		ASSERT_NE(0, h.host_status);
	}
	ASSERT_GT(LONG_MS / 2, now_ms() - t0);
	ASSERT_EQ(-EAGAIN, qget(self->fd, &h));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(1, r->seen[i]);
		ASSERT_EQ(-ENOENT, qcancel(self->fd, TAG(i), 0, 0));
	}
	reqs_free(r);
}

/* Two requests with one tag: each cancel takes one of them. */
TEST_F_TIMEOUT(queue, cancel_same_tag, 120)
{
	struct reqs *r = reqs_new(2, 4096);
	struct sg_io_hdr h;
	long t0;

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, sdebug_slow(&self->sd, LONG_MS));
	reqs_rw(r, 0, READ_10, LBA_SLOW, self->bs);
	reqs_rw(r, 1, READ_10, LBA_SLOW, self->bs);
	r->q[1].usr_ptr = TAG(0);
	t0 = now_ms();
	ASSERT_EQ(0, reqs_queue(self->fd, r, 0, 2));
	sleep_ms(100);
	ASSERT_EQ(0, qcancel(self->fd, TAG(0), 0, 0));
	ASSERT_EQ(0, reap(self->fd, &h, SLACK_MS));
	ASSERT_EQ(TAG(0), h.usr_ptr);
	ASSERT_NE(0, h.host_status);
	sleep_ms(100);
	ASSERT_EQ(-EAGAIN, qget(self->fd, &h));
	ASSERT_EQ(0, qcancel(self->fd, TAG(0), 0, 0));
	ASSERT_EQ(0, reap(self->fd, &h, SLACK_MS));
	ASSERT_EQ(TAG(0), h.usr_ptr);
	ASSERT_NE(0, h.host_status);
	ASSERT_GT(LONG_MS / 2, now_ms() - t0);
	ASSERT_EQ(-ENOENT, qcancel(self->fd, TAG(0), 0, 0));
	reqs_free(r);
}

/*
 * ENOENT for a tag never queued or already completed (reaped or not),
 * EINVAL for non-zero flags or reserved, which cancel nothing.
 */
TEST_F_TIMEOUT(queue, cancel_errors, 120)
{
	struct reqs *r = reqs_new(2, 4096);
	struct sg_io_hdr h;

	ASSERT_NE(NULL, r);
	ASSERT_EQ(-ENOENT, qcancel(self->fd, TAG(0), 0, 0));
	ASSERT_EQ(-EINVAL, qcancel(self->fd, TAG(0), 1, 0));
	ASSERT_EQ(-EINVAL, qcancel(self->fd, TAG(0), 0, 1));

	/* Completed, not reaped; then reaped. */
	reqs_tur(r, 0);
	ASSERT_EQ(0, qio(self->fd, &r->q[0]));
	ASSERT_EQ(0, wait_idle(self->hctl));
	ASSERT_EQ(POLLIN, revents(self->fd, POLLIN, 0));
	ASSERT_EQ(-ENOENT, qcancel(self->fd, TAG(0), 0, 0));
	ASSERT_EQ(0, qget(self->fd, &h));
	reqs_good(_metadata, r, &h, 0);
	ASSERT_EQ(-ENOENT, qcancel(self->fd, TAG(0), 0, 0));

	/* Running: bad flags leave it alone; an unknown tag too. */
	ASSERT_EQ(0, sdebug_slow(&self->sd, 900));
	reqs_rw(r, 1, READ_10, LBA_SLOW, self->bs);
	ASSERT_EQ(0, qio(self->fd, &r->q[1]));
	ASSERT_EQ(-EINVAL, qcancel(self->fd, TAG(1), 1, 0));
	ASSERT_EQ(-EINVAL, qcancel(self->fd, TAG(1), 0x80000000, 0));
	ASSERT_EQ(-EINVAL, qcancel(self->fd, TAG(1), 0, 1));
	ASSERT_EQ(-ENOENT, qcancel(self->fd, TAG(7), 0, 0));
	ASSERT_EQ(0, reap(self->fd, &h, SLACK_MS));
	reqs_good(_metadata, r, &h, 0);
	/* It ran its course (loosely: emulated clocks drift). */
	ASSERT_LE(450, h.duration);
	ASSERT_EQ(-ENOENT, qcancel(self->fd, TAG(1), 0, 0));
	reqs_free(r);
}

/* A device that never answers: the cancelled request still comes back. */
TEST_F_TIMEOUT(queue, cancel_unanswered, 120)
{
	struct reqs *r = reqs_new(1, 4096);
	struct sg_io_hdr h;
	long t0;

	ASSERT_NE(NULL, r);
	reqs_rw(r, 0, READ_10, LBA_SLOW, self->bs);
	r->q[0].timeout = 60000;
	ASSERT_EQ(0, sdebug_deaf(&self->sd));
	t0 = now_ms();
	ASSERT_EQ(0, qio(self->fd, &r->q[0]));
	sleep_ms(300);
	ASSERT_EQ(1, lu_busy(self->hctl));
	ASSERT_EQ(-EAGAIN, qget(self->fd, &h));
	ASSERT_EQ(0, qcancel(self->fd, TAG(0), 0, 0));
	ASSERT_EQ(0, reap(self->fd, &h, 2 * SLACK_MS));
	ASSERT_GT(2 * SLACK_MS, now_ms() - t0);
	reqs_index(_metadata, r, &h);
	TH_LOG("cancelled on a deaf device: status %#x host_status %#x driver_status %#x",
	       h.status, h.host_status, h.driver_status);
	ASSERT_EQ(DID_TIME_OUT, h.host_status);
	ASSERT_EQ(SG_INFO_CHECK, h.info & SG_INFO_CHECK);
	reqs_free(r);
}

/*
 * A request waiting for the LU (its queue depth taken) is queued and not
 * completed, so it is cancellable too: it is aborted the moment it is sent
 * to the device, so once the request ahead of it goes, it ends at once with
 * an error instead of running its course.
 */
TEST_F_TIMEOUT(queue, cancel_not_dispatched, 120)
{
	struct reqs *r = reqs_new(2, 4096);
	struct sg_io_hdr h;
	long t0;
	int i, seen = 0;

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, sdebug_slow(&self->sd, LONG_MS));
	ASSERT_EQ(0, lu_qdepth(&self->sd, self->hctl, 1));
	reqs_rw(r, 0, READ_10, LBA_SLOW, self->bs);
	reqs_rw(r, 1, READ_10, LBA_SLOW + 8, self->bs);
	t0 = now_ms();
	ASSERT_EQ(0, reqs_queue(self->fd, r, 0, 2));
	sleep_ms(200);
	/* Only the first reached the LU. */
	ASSERT_EQ(1, lu_busy(self->hctl));
	ASSERT_EQ(0, qcancel(self->fd, TAG(1), 0, 0));
	/* Not sent yet, so still running after the cancel... */
	ASSERT_NE(0, reap(self->fd, &h, 500)) {
		TH_LOG("a request waiting for the LU completed at once");
	}
	/* ...until the one ahead of it goes. */
	ASSERT_EQ(0, qcancel(self->fd, TAG(0), 0, 0));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, reap(self->fd, &h, SLACK_MS));
		ASSERT_NE(0, h.host_status) {
			TH_LOG("tag %#lx was not aborted", (long)h.usr_ptr);
		}
		seen |= h.usr_ptr == TAG(0) ? 1 : h.usr_ptr == TAG(1) ? 2 : 4;
	}
	EXPECT_EQ(3, seen);
	EXPECT_GT(LONG_MS / 2, now_ms() - t0) {
		TH_LOG("the cancelled requests took %ld ms", now_ms() - t0);
	}
	reqs_free(r);
}
/* POLLOUT while there is room, POLLIN while a completion waits. */
TEST_F(queue, poll_bits)
{
	struct reqs *r = reqs_new(1, 4096);
	struct sg_io_hdr h;

	ASSERT_NE(NULL, r);
	ASSERT_EQ(POLL_ROOM, revents(self->fd, POLL_ALL, 0));
	ASSERT_EQ(0, sdebug_slow(&self->sd, 500));
	reqs_rw(r, 0, READ_10, LBA_SLOW, self->bs);
	ASSERT_EQ(0, qio(self->fd, &r->q[0]));
	/* Running: nothing to reap. */
	ASSERT_EQ(POLL_ROOM, revents(self->fd, POLL_ALL, 0));
	ASSERT_EQ(0, revents(self->fd, POLLIN, 100));
	ASSERT_EQ(POLLIN, revents(self->fd, POLLIN, SLACK_MS));
	ASSERT_EQ(POLL_READY | POLL_ROOM, revents(self->fd, POLL_ALL, 0));
	ASSERT_EQ(0, qget(self->fd, &h));
	reqs_good(_metadata, r, &h, 0);
	ASSERT_EQ(POLL_ROOM, revents(self->fd, POLL_ALL, 0));
	ASSERT_EQ(0, revents(self->fd, POLLIN, 100));
	reqs_free(r);
}

/* Edge-triggered epoll reports each completion once. */
TEST_F(queue, epoll_edge)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET }, got[2];
	struct sg_io_hdr h;
	int ep;

	ep = epoll_create1(0);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &ev));
	ASSERT_EQ(0, epoll_wait(ep, got, 2, 0));

	ASSERT_EQ(0, queue_tur(self->fd, 0));
	ASSERT_EQ(1, epoll_wait(ep, got, 2, SLACK_MS));
	ASSERT_EQ(EPOLLIN, got[0].events & (EPOLLIN | EPOLLOUT | EPOLLHUP));
	ASSERT_EQ(0, epoll_wait(ep, got, 2, 100));

	/* A second completion is a new edge, the first still unreaped. */
	ASSERT_EQ(0, queue_tur(self->fd, 1));
	ASSERT_EQ(1, epoll_wait(ep, got, 2, SLACK_MS));
	ASSERT_EQ(EPOLLIN, got[0].events & EPOLLIN);
	ASSERT_EQ(0, epoll_wait(ep, got, 2, 100));

	ASSERT_EQ(0, qget(self->fd, &h));
	ASSERT_EQ(0, qget(self->fd, &h));
	ASSERT_EQ(-EAGAIN, qget(self->fd, &h));
	ASSERT_EQ(0, epoll_wait(ep, got, 2, 100));

	/* Level-triggered: reported while it waits, not after. */
	ev.events = EPOLLIN;
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_MOD, self->fd, &ev));
	ASSERT_EQ(0, queue_tur(self->fd, 2));
	ASSERT_EQ(1, epoll_wait(ep, got, 2, SLACK_MS));
	ASSERT_EQ(1, epoll_wait(ep, got, 2, 0));
	ASSERT_EQ(0, qget(self->fd, &h));
	ASSERT_EQ(0, epoll_wait(ep, got, 2, 0));
	close(ep);
}

static int set_async(int fd, int sig)
{
	if (fcntl(fd, F_SETOWN, getpid()) || fcntl(fd, F_SETSIG, sig))
		return -errno;
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC) ? -errno : 0;
}

/* With a queued signal, one SIGIO per completion: POLL_IN, this fd. */
TEST_F(queue, sigio_per_completion)
{
	int sig = SIGRTMIN + 1, i, n = 0;
	struct timespec ts = { .tv_sec = SLACK_MS / 1000 };
	struct timespec short_ts = { .tv_nsec = 300 * 1000000 };
	siginfo_t si;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &set, NULL));
	ASSERT_EQ(0, set_async(self->fd, sig));
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, queue_tur(self->fd, i));
	}
	for (n = 0; n < 8; n++) {
		ASSERT_EQ(sig, sigtimedwait(&set, &si, &ts)) {
			TH_LOG("%d signals for 8 completions", n);
		}
		ASSERT_EQ(POLL_IN, si.si_code);
		ASSERT_EQ(self->fd, si.si_fd);
	}
	ASSERT_EQ(-1, sigtimedwait(&set, &si, &short_ts));
	ASSERT_EQ(EAGAIN, errno);

	/* Reaping sends none. */
	for (i = 0; i < 8; i++) {
		struct sg_io_hdr h;

		ASSERT_EQ(0, qget(self->fd, &h));
	}
	ASSERT_EQ(-1, sigtimedwait(&set, &si, &short_ts));
}

static volatile sig_atomic_t sigio_count;

static void on_sigio(int sig)
{
	sigio_count++;
}

/* Plain SIGIO with O_ASYNC. */
TEST_F(queue, sigio_plain)
{
	struct sigaction sa = { .sa_handler = on_sigio };
	struct sg_io_hdr h;
	long end;

	ASSERT_EQ(0, sigaction(SIGIO, &sa, NULL));
	ASSERT_EQ(0, set_async(self->fd, 0));
	sleep_ms(50);
	ASSERT_EQ(0, sigio_count);
	ASSERT_EQ(0, queue_tur(self->fd, 0));
	end = now_ms() + SLACK_MS;
	while (!sigio_count && now_ms() < end)
		sleep_ms(5);
	ASSERT_LE(1, sigio_count);
	ASSERT_EQ(0, qget(self->fd, &h));
	/* O_ASYNC off: none. */
	sigio_count = 0;
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL,
			   fcntl(self->fd, F_GETFL) & ~O_ASYNC));
	ASSERT_EQ(0, queue_tur(self->fd, 1));
	ASSERT_EQ(0, reap(self->fd, &h, SLACK_MS));
	sleep_ms(100);
	ASSERT_EQ(0, sigio_count);
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

/* What the child of perm_rdonly saw. */
struct perm_res {
	int caps, fd, rd, wr, bdone, bret, b1done, b1ret, reaped, info;
};

static void perm_child(struct perm_res *p, unsigned int bs)
{
	uint8_t rcdb[10], wcdb[10], buf[2][4096];
	struct sg_io_hdr rh, wh, b[2], h;
	unsigned int done;
	int fd;

	p->caps = drop_rawio();
	fd = open(dev_path(RSG), O_RDONLY);
	p->fd = fd < 0 ? -errno : 0;
	if (fd < 0)
		return;
	rw10(rcdb, READ_10, LBA_PERM, 4096 / bs);
	rw10(wcdb, WRITE_10, LBA_PERM, 4096 / bs);
	hdr_init(&rh, rcdb, 10, SG_DXFER_FROM_DEV, buf[0], 4096, NULL, 0);
	hdr_init(&wh, wcdb, 10, SG_DXFER_TO_DEV, buf[1], 4096, NULL, 0);
	memset(buf[1], 0x77, sizeof(buf[1]));
	p->rd = qio(fd, &rh);
	p->wr = qio(fd, &wh);
	b[0] = rh;
	b[1] = wh;
	p->bret = qbatch(fd, b, 2, &done);
	p->bdone = done;
	p->b1ret = qbatch(fd, &b[1], 1, &done);
	p->b1done = done;
	p->reaped = 0;
	while (!reap(fd, &h, 1000)) {
		p->reaped++;
		p->info |= h.info;
	}
	close(fd);
}

/*
 * Through a file not opened O_RDWR, WRITE(10) needs CAP_SYS_RAWIO as for
 * SG_IO: EPERM without it, alone or in a batch; READ(10) does not.
 */
TEST_F(queue, perm_rdonly)
{
	unsigned int len = 4096, nblk = len / self->bs;
	struct perm_res *p;
	uint8_t *ref = malloc(len), *now = malloc(len);
	struct sg_io_hdr h, wh;
	uint8_t wcdb[10];
	int status, fd;
	pid_t pid;

	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, now);
	p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	pattern(ref, len, 81);
	ASSERT_EQ(0, sg_rw(self->sgfd, WRITE_10, LBA_PERM, nblk, ref, len));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		perm_child(p, self->bs);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	ASSERT_EQ(0, p->caps);
	ASSERT_EQ(0, p->fd);
	ASSERT_EQ(0, p->rd);
	ASSERT_EQ(-EPERM, p->wr);
	ASSERT_EQ(0, p->bret);
	ASSERT_EQ(1, p->bdone);
	ASSERT_EQ(-EPERM, p->b1ret);
	ASSERT_EQ(0, p->b1done);
	ASSERT_EQ(2, p->reaped);
	ASSERT_EQ(0, p->info);
	/* Nothing was written. */
	memset(now, POISON, len);
	ASSERT_EQ(0, sg_rw(self->sgfd, READ_10, LBA_PERM, nblk, now, len));
	ASSERT_EQ(0, memcmp(ref, now, len));

	/* With CAP_SYS_RAWIO the same WRITE(10) is allowed. */
	fd = open(dev_path(RSG), O_RDONLY);
	ASSERT_LE(0, fd);
	memset(now, 0x77, len);
	rw10(wcdb, WRITE_10, LBA_PERM, nblk);
	hdr_init(&wh, wcdb, 10, SG_DXFER_TO_DEV, now, len, NULL, 0);
	ASSERT_EQ(0, qio(fd, &wh));
	ASSERT_EQ(0, reap(fd, &h, SLACK_MS));
	ASSERT_EQ(0, h.status | h.host_status | h.driver_status);
	close(fd);
	munmap(p, sizeof(*p));
	free(ref);
	free(now);
}

/*
 * sg's interface does not see this one's requests: more than sg's 16
 * outstanding, SG_GET_NUM_WAITING 0, read() has nothing; and sg's
 * write()/read() keep working alongside.
 */
TEST_F(queue, sg_interface_apart)
{
	struct reqs *r = reqs_new(20, 0);
	struct sg_io_hdr h;
	int i, nw = -1;

	ASSERT_NE(NULL, r);
	for (i = 0; i < 20; i++)
		reqs_tur(r, i);
	ASSERT_EQ(0, reqs_queue(self->fd, r, 0, 20));
	ASSERT_EQ(0, wait_idle(self->hctl));
	ASSERT_EQ(0, ioctl(self->fd, SG_GET_NUM_WAITING, &nw));
	ASSERT_EQ(0, nw);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(-EAGAIN, rv(read(self->fd, &h, sizeof(h))));

	hdr_init(&h, tur_cdb, 6, SG_DXFER_NONE, NULL, 0, NULL, 0);
	h.pack_id = 77;
	ASSERT_EQ(sizeof(h), write(self->fd, &h, sizeof(h)));
	ASSERT_EQ(POLL_READY | POLL_ROOM, revents(self->fd, POLL_ALL,
						    SLACK_MS));
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, ioctl(self->fd, SG_GET_NUM_WAITING, &nw));
		if (nw)
			break;
		sleep_ms(10);
	}
	ASSERT_EQ(1, nw);
	memset(&h, 0, sizeof(h));
	ASSERT_EQ(sizeof(h), read(self->fd, &h, sizeof(h)));
	ASSERT_EQ(77, h.pack_id);
	reap_good(_metadata, self->fd, r, 20);
	reqs_free(r);
}

/* Unreaped completions go with the close; a new open sees none. */
TEST_F(queue, close_unreaped)
{
	struct sg_io_hdr h;
	unsigned int done;
	int i;

	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, queue_tur(self->fd, i));
	}
	ASSERT_EQ(0, wait_idle(self->hctl));
	close(self->fd);
	self->fd = open(dev_path(RSG), O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(-EAGAIN, qget(self->fd, &h));
	ASSERT_EQ(-EAGAIN, gbatch(self->fd, &h, 1, RSG_BATCH_WAIT, 200,
				  &done));
	ASSERT_EQ(POLL_ROOM, revents(self->fd, POLL_ALL, 0));
}

/* Running ones finish on their own after the close; nobody sees them. */
TEST_F_TIMEOUT(queue, close_in_flight, 60)
{
	struct reqs *r = reqs_new(16, 4096);
	struct sg_io_hdr h;
	unsigned int done;
	int i;

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, sdebug_slow(&self->sd, 900));
	for (i = 0; i < 16; i++)
		reqs_rw(r, i, READ_10, LBA_SLOW + i, self->bs);
	ASSERT_EQ(0, reqs_queue(self->fd, r, 0, 16));
	close(self->fd);
	self->fd = open(dev_path(RSG), O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(-EAGAIN, qget(self->fd, &h));
	ASSERT_LT(0, lu_busy(self->hctl));
	ASSERT_EQ(-EAGAIN, gbatch(self->fd, &h, 1, RSG_BATCH_WAIT, 2000,
				  &done));
	ASSERT_EQ(0, wait_idle(self->hctl));
	ASSERT_EQ(-EAGAIN, qget(self->fd, &h));
	ASSERT_EQ(POLL_ROOM, revents(self->fd, POLL_ALL, 0));
	reqs_free(r);
}

/*
 * Removal of the LU. Each test deletes it and the teardown rescans it, so
 * nodes are looked up from RSG_HCTL each time.
 */
FIXTURE(removal)
{
	char hctl[32];
	char rsg[PATH_MAX], sg[PATH_MAX];
	int fd[2];
	struct sdebug sd;
	pid_t owner;
};

static int lu_present(const char *hctl)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/class/scsi_device/%s", hctl);
	return !stat(path, &st);
}

static int lu_delete(const char *hctl)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/class/scsi_device/%s/device/delete",
		 hctl);
	return write_attr(path, "1");
}

/* Rescan the LU's host; wait for both nodes. */
static int lu_rescan(const char *hctl, char *rsg, char *sg)
{
	char path[PATH_MAX];
	long end = now_ms() + 6 * SLACK_MS;
	struct stat st;

	snprintf(path, sizeof(path), "/sys/class/scsi_host/host%d/scan",
		 atoi(hctl));
	if (write_attr(path, "- - -"))
		return -1;
	while (now_ms() < end) {
		if (!node_of(hctl, "scsi_rsg", rsg, PATH_MAX) &&
		    !node_of(hctl, "scsi_generic", sg, PATH_MAX) &&
		    !stat(rsg, &st) && !stat(sg, &st))
			return clear_ua(sg);
		sleep_ms(50);
	}
	return -1;
}

FIXTURE_SETUP(removal)
{
	self->fd[0] = -1;
	self->fd[1] = -1;
	self->owner = getpid();
	if (atoi(getenv("RSG_SELF_TEST") ?: "0"))
		SKIP(return, "the queue interface is rsg's own");
	ASSERT_EQ(0, lu_hctl(dev_path(RSG), self->hctl, sizeof(self->hctl)));
	ASSERT_EQ(0, node_of(self->hctl, "scsi_rsg", self->rsg, PATH_MAX));
	ASSERT_EQ(0, node_of(self->hctl, "scsi_generic", self->sg, PATH_MAX));
	ASSERT_EQ(0, clear_ua(self->sg));
	self->fd[0] = open(self->rsg, O_RDWR);
	ASSERT_LE(0, self->fd[0]);
	self->fd[1] = open(self->rsg, O_RDWR);
	ASSERT_LE(0, self->fd[1]);
}

FIXTURE_TEARDOWN_PARENT(removal)
{
	int i;

	if (self->owner == getpid()) {
		for (i = 0; i < 2; i++)
			if (self->fd[i] >= 0)
				close(self->fd[i]);
	}
	/* A new LU gets the default queue depth. */
	if (!lu_present(self->hctl))
		self->sd.qdepth_path[0] = '\0';
	EXPECT_EQ(0, sdebug_restore(&self->sd));
	if (self->hctl[0] && !lu_present(self->hctl)) {
		EXPECT_EQ(0, lu_rescan(self->hctl, self->rsg, self->sg));
	}
}

/* A thread reaping with RSG_BATCH_WAIT until an error. */
struct waiter {
	pthread_t th;
	int fd;
	unsigned int timeout_ms;
	struct sg_io_hdr got[64];
	unsigned int n;
	int err;
	long end_ms;
	volatile bool finished;
};

static void *waiter_run(void *arg)
{
	struct waiter *w = arg;
	unsigned int done;
	int r;

	for (;;) {
		r = gbatch(w->fd, &w->got[w->n], 64 - w->n, RSG_BATCH_WAIT,
			   w->timeout_ms, &done);
		if (r) {
			w->err = r;
			break;
		}
		w->n += done;
		if (w->n >= 64) {
			w->err = 0;
			break;
		}
	}
	w->end_ms = now_ms();
	w->finished = true;
	return NULL;
}

/* A thread in poll() with no timeout. */
struct poller {
	pthread_t th;
	int fd;
	int revents;
	volatile bool finished;
};

static void *poller_run(void *arg)
{
	struct poller *p = arg;

	p->revents = revents(p->fd, POLLIN, -1);
	p->finished = true;
	return NULL;
}

static bool wait_flag(volatile bool *f, long ms)
{
	long end = now_ms() + ms;

	while (!*f && now_ms() < end)
		sleep_ms(5);
	return *f;
}

/*
 * Requests running when the LU goes are aborted and complete at once with
 * an error; a waiting RSG_IOGET_BATCH returns them, then ENODEV; POLLHUP
 * and SIGIO with POLL_HUP; RSG_IOQUEUE gives ENODEV.
 */
TEST_F_TIMEOUT(removal, in_flight, 120)
{
	struct reqs *r = reqs_new(8, 4096);
	struct waiter *w = calloc(1, sizeof(*w));
	int sig = SIGRTMIN + 2, fd = self->fd[0], i, hup = 0, in = 0;
	struct timespec ts = { .tv_nsec = 200 * 1000000 };
	struct sg_io_hdr h;
	unsigned int done;
	long long bs = sdebug_param("sector_size");
	long t0, el;
	siginfo_t si;
	sigset_t set;

	ASSERT_NE(NULL, r);
	ASSERT_NE(NULL, w);
	ASSERT_LT(0, bs);
	sigemptyset(&set);
	sigaddset(&set, sig);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &set, NULL));
	ASSERT_EQ(0, set_async(fd, sig));
	ASSERT_EQ(0, sdebug_slow(&self->sd, LONG_MS));
	for (i = 0; i < 8; i++)
		reqs_rw(r, i, READ_10, LBA_SLOW + 8 * i, bs);
	t0 = now_ms();
	ASSERT_EQ(0, reqs_queue(fd, r, 0, 8));
	w->fd = fd;
	ASSERT_EQ(0, pthread_create(&w->th, NULL, waiter_run, w));
	sleep_ms(300);
	ASSERT_FALSE(w->finished);

	ASSERT_EQ(0, lu_delete(self->hctl));
	el = now_ms() - t0;
	TH_LOG("delete took %ld ms with 8 requests running", el);
	ASSERT_TRUE(wait_flag(&w->finished, LONG_MS + SLACK_MS)) {
		TH_LOG("the waiter did not return; %u reaped", w->n);
	}
	pthread_join(w->th, NULL);
	TH_LOG("waiter: %u completions, then %d, %ld ms after queuing",
	       w->n, w->err, w->end_ms - t0);
	for (i = 0; i < (int)w->n; i++)
		TH_LOG("completion %d: tag %p status %#x host_status %#x driver_status %#x info %#x duration %u",
		       i, w->got[i].usr_ptr, w->got[i].status,
		       w->got[i].host_status, w->got[i].driver_status,
		       w->got[i].info, w->got[i].duration);
	ASSERT_GT(LONG_MS / 2, el);
	ASSERT_EQ(8, w->n);
	ASSERT_EQ(-ENODEV, w->err);
	ASSERT_GT(LONG_MS / 2, w->end_ms - t0);
	for (i = 0; i < 8; i++) {
		reqs_index(_metadata, r, &w->got[i]);
		ASSERT_NE(0, w->got[i].host_status | w->got[i].status);
		ASSERT_EQ(SG_INFO_CHECK, w->got[i].info & SG_INFO_CHECK);
		ASSERT_GT(LONG_MS / 2, w->got[i].duration);
	}

	ASSERT_EQ(-ENODEV, queue_tur(fd, 9));
	ASSERT_EQ(POLLHUP, revents(fd, POLLIN, 0) & POLLHUP);
	ASSERT_EQ(-EAGAIN, qget(fd, &h));
	ASSERT_EQ(-EAGAIN, gbatch(fd, &h, 1, 0, 0, &done));
	t0 = now_ms();
	ASSERT_EQ(-ENODEV, gbatch(fd, &h, 1, RSG_BATCH_WAIT, 2000, &done));
	ASSERT_GT(1000, now_ms() - t0);
	ASSERT_EQ(-ENODEV, gbatch(fd, &h, 1, RSG_BATCH_WAIT, 0, &done));
	ASSERT_EQ(-ENOENT, qcancel(fd, TAG(0), 0, 0));

	while (sigtimedwait(&set, &si, &ts) == sig) {
		ASSERT_EQ(fd, si.si_fd);
		if (si.si_code == POLL_HUP)
			hup++;
		else if (si.si_code == POLL_IN)
			in++;
	}
	TH_LOG("signals: %d POLL_IN, %d POLL_HUP", in, hup);
	ASSERT_LE(1, hup);
	ASSERT_EQ(8, in);
	reqs_free(r);
	free(w);
}

/*
 * Requests still waiting for the LU (its queue depth taken) when it goes
 * are queued and not completed: they are aborted too and complete at once.
 */
TEST_F_TIMEOUT(removal, not_dispatched, 180)
{
	struct reqs *r = reqs_new(3, 4096);
	struct waiter *w = calloc(1, sizeof(*w));
	long long bs = sdebug_param("sector_size");
	long t0, el;
	int i;

	ASSERT_NE(NULL, r);
	ASSERT_NE(NULL, w);
	ASSERT_LT(0, bs);
	ASSERT_EQ(0, sdebug_slow(&self->sd, LONG_MS));
	ASSERT_EQ(0, lu_qdepth(&self->sd, self->hctl, 1));
	for (i = 0; i < 3; i++)
		reqs_rw(r, i, READ_10, LBA_SLOW + 8 * i, bs);
	t0 = now_ms();
	ASSERT_EQ(0, reqs_queue(self->fd[0], r, 0, 3));
	w->fd = self->fd[0];
	ASSERT_EQ(0, pthread_create(&w->th, NULL, waiter_run, w));
	sleep_ms(300);
	ASSERT_EQ(1, lu_busy(self->hctl));

	ASSERT_EQ(0, lu_delete(self->hctl));
	el = now_ms() - t0;
	TH_LOG("delete took %ld ms with 1 request running and 2 waiting",
	       el);
	ASSERT_TRUE(wait_flag(&w->finished, 4 * LONG_MS + SLACK_MS)) {
		TH_LOG("the waiter did not return; %u reaped", w->n);
	}
	pthread_join(w->th, NULL);
	TH_LOG("waiter: %u completions, then %d, %ld ms after queuing",
	       w->n, w->err, w->end_ms - t0);
	for (i = 0; i < (int)w->n; i++)
		TH_LOG("completion %d: tag %p status %#x host_status %#x duration %u",
		       i, w->got[i].usr_ptr, w->got[i].status,
		       w->got[i].host_status, w->got[i].duration);
	ASSERT_EQ(3, w->n);
	ASSERT_EQ(-ENODEV, w->err);
	for (i = 0; i < 3; i++) {
		reqs_index(_metadata, r, &w->got[i]);
		ASSERT_NE(0, w->got[i].host_status | w->got[i].status);
	}
	ASSERT_GT(LONG_MS / 2, el);
	ASSERT_GT(LONG_MS / 2, w->end_ms - t0);
	reqs_free(r);
	free(w);
}

/*
 * Waiters with nothing running are woken by the removal: poll() with
 * POLLHUP, RSG_BATCH_WAIT with ENODEV. Completions still unreaped on
 * another file are returned first.
 */
TEST_F_TIMEOUT(removal, idle_waiters, 120)
{
	struct waiter *w = calloc(1, sizeof(*w));
	struct poller *p = calloc(1, sizeof(*p));
	struct sg_io_hdr out[8];
	unsigned int done;
	int i;

	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, queue_tur(self->fd[1], i));
	}
	ASSERT_EQ(0, wait_idle(self->hctl));
	w->fd = self->fd[0];
	p->fd = self->fd[0];
	ASSERT_EQ(0, pthread_create(&w->th, NULL, waiter_run, w));
	ASSERT_EQ(0, pthread_create(&p->th, NULL, poller_run, p));
	sleep_ms(300);
	ASSERT_FALSE(w->finished);
	ASSERT_FALSE(p->finished);

	ASSERT_EQ(0, lu_delete(self->hctl));
	ASSERT_TRUE(wait_flag(&w->finished, SLACK_MS));
	ASSERT_TRUE(wait_flag(&p->finished, SLACK_MS));
	pthread_join(w->th, NULL);
	pthread_join(p->th, NULL);
	ASSERT_EQ(0, w->n);
	ASSERT_EQ(-ENODEV, w->err);
	ASSERT_EQ(POLLHUP, p->revents & POLLHUP);
	ASSERT_EQ(0, p->revents & POLLIN);

	/* The other file: what was ready, then ENODEV. */
	ASSERT_EQ(POLLIN | POLLHUP, revents(self->fd[1], POLLIN, 0));
	ASSERT_EQ(0, gbatch(self->fd[1], out, 8, RSG_BATCH_WAIT, 0, &done));
	ASSERT_EQ(4, done);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, out[i].status | out[i].host_status);
	}
	ASSERT_EQ(-ENODEV, gbatch(self->fd[1], out, 8, RSG_BATCH_WAIT, 0,
				  &done));
	ASSERT_EQ(-ENODEV, queue_tur(self->fd[1], 5));
	free(w);
	free(p);
}

TEST_HARNESS_MAIN
