// SPDX-License-Identifier: GPL-2.0
/*
 * rsg must be indistinguishable from sg in user space. Each test runs the
 * same operation on an rsg node and an sg node of one scsi_debug LU and
 * requires identical results, and also checks the values sg defines so that
 * a mistake shared by both still fails.
 *
 * RSG_DEV and SG_DEV name the nodes (default /dev/rsg0 and /dev/sg0).
 * In failure messages "expected" is what sg did and "seen" what rsg did.
 *
 * ASSERT_*() expand to more than one statement, so loops and ifs around them
 * always take braces.
 */

#include <sys/mman.h>
#include <scsi/scsi.h>

#include "kselftest_harness.h"
#include "rsg_test.h"

#ifndef SCSI_IOCTL_SEND_COMMAND
#define SCSI_IOCTL_SEND_COMMAND 1
#endif
#ifndef SCSI_IOCTL_PROBE_HOST
#define SCSI_IOCTL_PROBE_HOST 0x5385
#endif

#define BUF_SZ		(512 * 1024)
#define SENSE_SZ	256	/* mx_sb_len is a u8 */
#define MAX_CDB		256

#define SG_VERSION	30536
#define SZ_256M		(256u << 20)
#define USER_HZ		100
#define DEF_TIMEOUT	(60 * USER_HZ)
#define DEF_RESERVED	32768
/* Handled neither by the VFS, sg nor the SCSI midlayer. */
#define UNKNOWN_IOCTL	_IO(0x22, 0x99)

/* Scratch LBAs, one range per test so that tests do not see each other. */
#define LBA_WR		1000
#define LBA_SAME	3000
#define LBA_LARGE	4000
#define LBA_REJECT	6000
#define LBA_NULL	7000
#define LBA_TAIL	8000

FIXTURE(sg)
{
	int fd[NDRV];
	const char *path[NDRV];
	struct lu lu;
	unsigned int bs;		/* logical block size */
	uint64_t blocks;		/* capacity in blocks */
	uint8_t *buf[NDRV];
	uint8_t sense[NDRV][SENSE_SZ];
	struct sg_io_hdr in[NDRV];	/* header as submitted */
	struct sg_io_hdr h[NDRV];	/* header as returned */
	int err[NDRV];			/* errno of SG_IO, 0 on success */
};

/* Build the header for driver d in in[d]; the caller prepares buf[d]. */
static void prep(FIXTURE_DATA(sg) *self, int d, const uint8_t *cdb,
		 int cdb_len, int dir, unsigned int len, int mx_sb_len)
{
	memset(self->sense[d], SENSE_POISON, SENSE_SZ);
	hdr_init(&self->in[d], cdb, cdb_len, dir, self->buf[d], len,
		 self->sense[d], mx_sb_len);
}

/* Submit in[d] from a copy in h[d], which receives the results. */
static void submit(FIXTURE_DATA(sg) *self, int d)
{
	self->h[d] = self->in[d];
	self->err[d] = sg_io(self->fd[d], &self->h[d]);
}

static void issue(FIXTURE_DATA(sg) *self, int d, const uint8_t *cdb,
		  int cdb_len, int dir, unsigned int len, int mx_sb_len)
{
	prep(self, d, cdb, cdb_len, dir, len, mx_sb_len);
	submit(self, d);
}

/* Prepare both drivers, data buffers preset to POISON. */
static void prep2(FIXTURE_DATA(sg) *self, const uint8_t *cdb, int cdb_len,
		  int dir, unsigned int len, int mx_sb_len)
{
	int d;

	for (d = 0; d < NDRV; d++) {
		memset(self->buf[d], POISON, BUF_SZ);
		prep(self, d, cdb, cdb_len, dir, len, mx_sb_len);
	}
}

static void submit2(FIXTURE_DATA(sg) *self)
{
	submit(self, RSG);
	submit(self, SG);
}

static void issue2(FIXTURE_DATA(sg) *self, const uint8_t *cdb, int cdb_len,
		   int dir, unsigned int len, int mx_sb_len)
{
	prep2(self, cdb, cdb_len, dir, len, mx_sb_len);
	submit2(self);
}

/*
 * Both drivers must report the same errno, header outputs (duration aside),
 * sense buffer (including the bytes past sb_len_wr, which must stay as they
 * were) and, if data is set, the same transferred data.
 */
static void assert_same(struct __test_metadata *_metadata,
			FIXTURE_DATA(sg) *self, bool data)
{
	const struct sg_io_hdr *a = &self->h[RSG], *b = &self->h[SG];
	int d;

	ASSERT_EQ(self->err[SG], self->err[RSG]);
	for (d = 0; d < NDRV; d++) {
		ASSERT_TRUE(inputs_kept(&self->h[d], &self->in[d])) {
			TH_LOG("%s changed an input field of the header",
			       drv_name[d]);
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
	ASSERT_EQ(0, memcmp(self->sense[SG], self->sense[RSG], SENSE_SZ));
	if (data && b->dxferp && b->dxfer_direction != SG_DXFER_TO_DEV &&
	    b->dxfer_len > (unsigned int)b->resid) {
		size_t n = b->dxfer_len - b->resid;

		ASSERT_LE(n, BUF_SZ);
		ASSERT_EQ(0, memcmp(self->buf[SG], self->buf[RSG], n));
	}
}

/* Both succeeded with GOOD status and nothing to report. */
static void assert_good(struct __test_metadata *_metadata,
			FIXTURE_DATA(sg) *self)
{
	const struct sg_io_hdr *h = &self->h[SG];

	assert_same(_metadata, self, true);
	ASSERT_EQ(0, self->err[SG]);
	ASSERT_EQ(0, h->status);
	ASSERT_EQ(0, h->masked_status);
	ASSERT_EQ(0, h->msg_status);
	ASSERT_EQ(0, h->sb_len_wr);
	ASSERT_EQ(0, h->host_status);
	ASSERT_EQ(0, h->driver_status);
	ASSERT_EQ(0, h->info);
	ASSERT_EQ(SENSE_POISON, self->sense[SG][0]);
}

FIXTURE_SETUP(sg)
{
	struct lu other;
	struct sg_io_hdr h;
	uint8_t sense[32];
	long long sz, vgb;
	int d, i;

	self->path[RSG] = getenv("RSG_DEV") ?: "/dev/rsg0";
	self->path[SG] = getenv("SG_DEV") ?: "/dev/sg0";
	for (d = 0; d < NDRV; d++) {
		self->fd[d] = open(self->path[d], O_RDWR);
		ASSERT_LE(0, self->fd[d]) {
			TH_LOG("open %s: %s", self->path[d], strerror(errno));
		}
		self->buf[d] = malloc(BUF_SZ);
		ASSERT_NE(NULL, self->buf[d]);
	}
	ASSERT_EQ(0, lu_info(self->path[SG], &self->lu));
	ASSERT_EQ(0, lu_info(self->path[RSG], &other)) {
		TH_LOG("no sysfs device behind %s", self->path[RSG]);
	}
	ASSERT_EQ(0, memcmp(&self->lu, &other, sizeof(other))) {
		TH_LOG("%s and %s are not the same LU", self->path[RSG],
		       self->path[SG]);
	}

	sz = sdebug_param("sector_size");
	ASSERT_LT(0, sz);
	self->bs = sz;
	vgb = sdebug_param("virtual_gb");
	if (vgb > 0)
		self->blocks = (1073741824ULL / self->bs) * vgb;
	else
		self->blocks = (uint64_t)sdebug_param("dev_size_mb") *
			       1048576 / self->bs;
	ASSERT_LT(0, self->blocks);

	/* A fresh LU has a unit attention pending; consume it through sg. */
	for (i = 0; i < 5; i++) {
		hdr_init(&h, tur_cdb, 6, SG_DXFER_NONE, NULL, 0, sense,
			 sizeof(sense));
		ASSERT_EQ(0, sg_io(self->fd[SG], &h));
		if (!h.status)
			break;
	}
	ASSERT_EQ(0, h.status);
}

FIXTURE_TEARDOWN(sg)
{
	int d;

	for (d = 0; d < NDRV; d++) {
		if (self->fd[d] >= 0)
			close(self->fd[d]);
		free(self->buf[d]);
	}
}

/* ioctls */

TEST_F(sg, version_num)
{
	int v[NDRV] = { -1, -1 }, d;

	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, ioctl(self->fd[d], SG_GET_VERSION_NUM, &v[d]));
	}
	ASSERT_EQ(SG_VERSION, v[SG]);
	ASSERT_EQ(v[SG], v[RSG]);
}

TEST_F(sg, scsi_id)
{
	struct sg_scsi_id v[NDRV];
	int d;

	for (d = 0; d < NDRV; d++) {
		/* sg zeroes the whole struct, unused words included. */
		memset(&v[d], 0xff, sizeof(v[d]));
		ASSERT_EQ(0, ioctl(self->fd[d], SG_GET_SCSI_ID, &v[d]));
	}
	ASSERT_EQ(self->lu.host, v[SG].host_no);
	ASSERT_EQ(self->lu.chan, v[SG].channel);
	ASSERT_EQ(self->lu.id, v[SG].scsi_id);
	ASSERT_EQ(self->lu.lun, v[SG].lun);
	ASSERT_EQ(self->lu.type, v[SG].scsi_type);
	ASSERT_EQ(self->lu.cmd_per_lun, v[SG].h_cmd_per_lun);
	ASSERT_EQ(self->lu.queue_depth, v[SG].d_queue_depth);
	ASSERT_EQ(0, v[SG].unused[0]);
	ASSERT_EQ(0, v[SG].unused[1]);
	ASSERT_EQ(0, memcmp(&v[SG], &v[RSG], sizeof(v[SG])));
}

TEST_F(sg, emulated_host)
{
	int v[NDRV] = { -1, -1 }, d;

	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, ioctl(self->fd[d], SG_EMULATED_HOST, &v[d]));
	}
	/* scsi_debug's host template does not set 'emulated'. */
	ASSERT_EQ(0, v[SG]);
	ASSERT_EQ(v[SG], v[RSG]);
}

TEST_F(sg, get_idlun)
{
	struct { int dev_id, host_unique_id; } v[NDRV];
	const struct lu *lu = &self->lu;
	int d;

	for (d = 0; d < NDRV; d++) {
		memset(&v[d], 0xff, sizeof(v[d]));
		ASSERT_EQ(0, ioctl(self->fd[d], SCSI_IOCTL_GET_IDLUN, &v[d]));
	}
	ASSERT_EQ((lu->id & 0xff) | (lu->lun & 0xff) << 8 |
		  (lu->chan & 0xff) << 16 | (lu->host & 0xff) << 24,
		  v[SG].dev_id);
	ASSERT_EQ(lu->unique_id, v[SG].host_unique_id);
	ASSERT_EQ(v[SG].dev_id, v[RSG].dev_id);
	ASSERT_EQ(v[SG].host_unique_id, v[RSG].host_unique_id);
}

TEST_F(sg, get_bus_number)
{
	int v[NDRV] = { -1, -1 }, d;

	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, ioctl(self->fd[d], SCSI_IOCTL_GET_BUS_NUMBER,
				   &v[d]));
	}
	ASSERT_EQ(self->lu.host, v[SG]);
	ASSERT_EQ(v[SG], v[RSG]);
}

TEST_F(sg, timeout_default)
{
	int r[NDRV], d;

	/* SG_GET_TIMEOUT answers in the return value, in USER_HZ ticks. */
	for (d = 0; d < NDRV; d++)
		r[d] = ioctl(self->fd[d], SG_GET_TIMEOUT, 0);
	ASSERT_EQ(DEF_TIMEOUT, r[SG]);
	ASSERT_EQ(r[SG], r[RSG]);
}

TEST_F(sg, timeout_set_get)
{
	static const int vals[] = { 1234, 0, 1, 6000, 100000 };
	unsigned int i;
	int d;

	for (i = 0; i < ARRAY_SIZE(vals); i++) {
		for (d = 0; d < NDRV; d++) {
			ASSERT_EQ(0, ioctl(self->fd[d], SG_SET_TIMEOUT,
					   &vals[i]));
			ASSERT_EQ(vals[i], ioctl(self->fd[d], SG_GET_TIMEOUT,
						 0)) {
				TH_LOG("%s", drv_name[d]);
			}
		}
	}
}

TEST_F(sg, timeout_negative)
{
	int v = 4321, neg = -1, r[NDRV], e[NDRV], d;

	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, ioctl(self->fd[d], SG_SET_TIMEOUT, &v));
		r[d] = ioctl(self->fd[d], SG_SET_TIMEOUT, &neg);
		e[d] = errno;
		/* The old value stays. */
		ASSERT_EQ(v, ioctl(self->fd[d], SG_GET_TIMEOUT, 0)) {
			TH_LOG("%s", drv_name[d]);
		}
	}
	ASSERT_EQ(-1, r[SG]);
	ASSERT_EQ(EIO, e[SG]);
	ASSERT_EQ(r[SG], r[RSG]);
	ASSERT_EQ(e[SG], e[RSG]);
}

TEST_F(sg, timeout_clamp)
{
	static const int hz[] = { 100, 250, 300, 1000 };
	int v = INT_MAX, r[NDRV], d;
	unsigned int i;
	bool known = false;

	/* sg caps the value so that it still fits in jiffies. */
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, ioctl(self->fd[d], SG_SET_TIMEOUT, &v));
		r[d] = ioctl(self->fd[d], SG_GET_TIMEOUT, 0);
	}
	for (i = 0; i < ARRAY_SIZE(hz); i++)
		if (r[SG] == (long long)INT_MAX * USER_HZ / hz[i])
			known = true;
	ASSERT_TRUE(known) {
		TH_LOG("sg returned %d for INT_MAX", r[SG]);
	}
	ASSERT_EQ(r[SG], r[RSG]);
}

TEST_F(sg, reserved_size)
{
	int v[NDRV] = { -1, -1 }, d;

	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, ioctl(self->fd[d], SG_GET_RESERVED_SIZE, &v[d]));
	}
	ASSERT_EQ(DEF_RESERVED, v[SG]);
	ASSERT_EQ(v[SG], v[RSG]);
}

/* sg refuses ioctls it does not know on fds that are not O_RDWR. */
TEST_F(sg, unknown_ioctl_not_rdwr)
{
	static const int modes[] = { O_RDONLY, O_WRONLY };
	int fd, r, e[NDRV], d;
	unsigned int m;

	for (m = 0; m < ARRAY_SIZE(modes); m++) {
		for (d = 0; d < NDRV; d++) {
			fd = open(self->path[d], modes[m]);
			ASSERT_LE(0, fd);
			r = ioctl(fd, UNKNOWN_IOCTL, 0);
			e[d] = errno;
			close(fd);
			ASSERT_EQ(-1, r);
		}
		ASSERT_EQ(EPERM, e[SG]);
		ASSERT_EQ(e[SG], e[RSG]);
	}
}

/* ...but the ones it lists pass through on a read-only fd. */
TEST_F(sg, known_ioctl_rdonly)
{
	static const unsigned long cmds[] = {
		SG_GET_VERSION_NUM, SG_GET_SCSI_ID, SG_EMULATED_HOST,
		SCSI_IOCTL_GET_IDLUN, SCSI_IOCTL_GET_BUS_NUMBER,
		SG_GET_RESERVED_SIZE,
	};
	uint8_t out[NDRV][64];
	unsigned int i;
	int fd, d;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		for (d = 0; d < NDRV; d++) {
			memset(out[d], 0, sizeof(out[d]));
			fd = open(self->path[d], O_RDONLY);
			ASSERT_LE(0, fd);
			ASSERT_EQ(0, ioctl(fd, cmds[i], out[d])) {
				TH_LOG("%s: ioctl 0x%lx: %s", drv_name[d],
				       cmds[i], strerror(errno));
			}
			close(fd);
		}
		ASSERT_EQ(0, memcmp(out[SG], out[RSG], sizeof(out[SG])));
	}
}

/*
 * On O_RDWR sg hands unknown ioctls to scsi_ioctl(), which ends in the host
 * template's ioctl hook; scsi_debug's answers EINVAL.
 */
TEST_F(sg, unknown_ioctl_rdwr)
{
	int r[NDRV], e[NDRV], d;

	for (d = 0; d < NDRV; d++) {
		r[d] = ioctl(self->fd[d], UNKNOWN_IOCTL, 0);
		e[d] = errno;
	}
	ASSERT_EQ(-1, r[SG]);
	ASSERT_EQ(EINVAL, e[SG]);
	ASSERT_EQ(r[SG], r[RSG]);
	ASSERT_EQ(e[SG], e[RSG]);
}

/* An address no access can succeed on; kept mapped so it is not reused. */
static void *hole(void)
{
	void *p = mmap(NULL, sysconf(_SC_PAGESIZE), PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

TEST_F(sg, ioctl_bad_pointer)
{
	static const unsigned long cmds[] = {
		SG_GET_VERSION_NUM, SG_GET_SCSI_ID, SG_EMULATED_HOST,
		SCSI_IOCTL_GET_IDLUN, SCSI_IOCTL_GET_BUS_NUMBER,
		SG_GET_RESERVED_SIZE, SG_SET_TIMEOUT,
	};
	void *p = hole();
	unsigned int i;
	int r, e[NDRV], d;

	ASSERT_NE(NULL, p);
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		for (d = 0; d < NDRV; d++) {
			r = ioctl(self->fd[d], cmds[i], p);
			e[d] = errno;
			ASSERT_EQ(-1, r);
		}
		ASSERT_EQ(EFAULT, e[SG]) {
			TH_LOG("ioctl 0x%lx", cmds[i]);
		}
		ASSERT_EQ(e[SG], e[RSG]) {
			TH_LOG("ioctl 0x%lx", cmds[i]);
		}
	}
}

/*
 * ioctls sg hands to the SCSI mid-layer and the block layer: the deprecated
 * SCSI_IOCTL_SEND_COMMAND, PROBE_HOST, the ide-scsi relic GET_TRANSFORM and
 * blktrace (not configured in the test kernel). Same result on both.
 */
TEST_F(sg, passthrough_ioctls)
{
	struct {
		unsigned int inlen, outlen;
		unsigned char data[64];
	} sc[NDRV];
	struct {
		int len;
		char buf[128];
	} probe[NDRV];
	uint8_t trace[NDRV][72];
	static const unsigned long simple[] = {
		SG_GET_TRANSFORM, 0x1274 /* BLKTRACESTART */,
		0x1275 /* BLKTRACESTOP */, 0x1276 /* BLKTRACETEARDOWN */,
	};
	int r[NDRV], e[NDRV], d;
	unsigned int i;

	/* TEST UNIT READY, no data. */
	for (d = 0; d < NDRV; d++) {
		memset(&sc[d], 0, sizeof(sc[d]));
		r[d] = ioctl(self->fd[d], SCSI_IOCTL_SEND_COMMAND, &sc[d]);
		e[d] = r[d] < 0 ? errno : 0;
	}
	EXPECT_EQ(0, r[SG]);
	EXPECT_EQ(r[SG], r[RSG]);
	EXPECT_EQ(e[SG], e[RSG]);

	for (d = 0; d < NDRV; d++) {
		memset(&probe[d], 0, sizeof(probe[d]));
		probe[d].len = sizeof(probe[d].buf);
		r[d] = ioctl(self->fd[d], SCSI_IOCTL_PROBE_HOST, &probe[d]);
		e[d] = r[d] < 0 ? errno : 0;
	}
	EXPECT_EQ(r[SG], r[RSG]);
	EXPECT_EQ(e[SG], e[RSG]);
	EXPECT_EQ(0, memcmp(&probe[SG], &probe[RSG], sizeof(probe[SG])));

	for (d = 0; d < NDRV; d++) {
		memset(trace[d], 0, sizeof(trace[d]));
		r[d] = ioctl(self->fd[d], _IOWR(0x12, 115, uint8_t[72]), trace[d]);
		e[d] = r[d] < 0 ? errno : 0;
	}
	EXPECT_EQ(r[SG], r[RSG]);
	EXPECT_EQ(e[SG], e[RSG]);

	for (i = 0; i < ARRAY_SIZE(simple); i++) {
		for (d = 0; d < NDRV; d++) {
			r[d] = ioctl(self->fd[d], simple[i], 0);
			e[d] = r[d] < 0 ? errno : 0;
		}
		EXPECT_EQ(r[SG], r[RSG]) {
			TH_LOG("ioctl 0x%lx", simple[i]);
		}
		EXPECT_EQ(e[SG], e[RSG]) {
			TH_LOG("ioctl 0x%lx: sg %d rsg %d", simple[i], e[SG], e[RSG]);
		}
	}
}

/* SG_IO: commands that succeed */

TEST_F(sg, test_unit_ready)
{
	issue2(self, tur_cdb, 6, SG_DXFER_NONE, 0, 32);
	assert_good(_metadata, self);
	ASSERT_EQ(0, self->h[SG].resid);
}

TEST_F(sg, inquiry)
{
	uint8_t cdb[6] = { 0x12, 0, 0, 0, 96, 0 };
	const uint8_t *b = self->buf[SG];
	char s[17];

	issue2(self, cdb, 6, SG_DXFER_FROM_DEV, 96, 32);
	assert_good(_metadata, self);
	ASSERT_EQ(0, self->h[SG].resid);
	ASSERT_EQ(self->lu.type, b[0] & 0x1f);
	ASSERT_EQ(96, b[4] + 5);
	memcpy(s, b + 8, 8);
	s[8] = '\0';
	trim(s);
	ASSERT_STREQ(self->lu.vendor, s);
	memcpy(s, b + 16, 16);
	s[16] = '\0';
	trim(s);
	ASSERT_STREQ(self->lu.model, s);
}

TEST_F(sg, inquiry_vpd_serial)
{
	uint8_t cdb[6] = { 0x12, 1, 0x80, 0, 252, 0 };
	const uint8_t *b = self->buf[SG];

	issue2(self, cdb, 6, SG_DXFER_FROM_DEV, 252, 32);
	assert_good(_metadata, self);
	ASSERT_EQ(0x80, b[1]);
	ASSERT_LT(0, b[3]);
	ASSERT_EQ(252 - 4 - get_be16(b + 2), self->h[SG].resid);
}

TEST_F(sg, inquiry_vpd_devid)
{
	uint8_t cdb[6] = { 0x12, 1, 0x83, 1, 0, 0 };
	const uint8_t *b = self->buf[SG];

	issue2(self, cdb, 6, SG_DXFER_FROM_DEV, 256, 32);
	assert_good(_metadata, self);
	ASSERT_EQ(0x83, b[1]);
	ASSERT_LT(0, get_be16(b + 2));
	ASSERT_EQ(256 - 4 - (int)get_be16(b + 2), self->h[SG].resid);
}

TEST_F(sg, read_capacity10)
{
	uint8_t cdb[10] = { 0x25 };
	const uint8_t *b = self->buf[SG];

	issue2(self, cdb, 10, SG_DXFER_FROM_DEV, 8, 32);
	assert_good(_metadata, self);
	ASSERT_EQ(0, self->h[SG].resid);
	ASSERT_EQ(self->blocks - 1, get_be32(b));
	ASSERT_EQ(self->bs, get_be32(b + 4));
}

TEST_F(sg, read_capacity16)
{
	uint8_t cdb[16] = { 0x9e, 0x10 };
	const uint8_t *b = self->buf[SG];

	put_be32(cdb + 10, 32);
	issue2(self, cdb, 16, SG_DXFER_FROM_DEV, 32, 32);
	assert_good(_metadata, self);
	ASSERT_EQ(0, self->h[SG].resid);
	ASSERT_EQ(self->blocks - 1, get_be64(b));
	ASSERT_EQ(self->bs, get_be32(b + 8));
}

TEST_F(sg, mode_sense6)
{
	uint8_t cdb[6] = { 0x1a, 0, 0x3f, 0, 255, 0 };
	const uint8_t *b = self->buf[SG];

	issue2(self, cdb, 6, SG_DXFER_FROM_DEV, 255, 32);
	assert_good(_metadata, self);
	/* Mode data length counts the bytes after itself. */
	ASSERT_EQ(255 - (b[0] + 1), self->h[SG].resid);
	ASSERT_LT(4, b[0]);
}

TEST_F(sg, mode_sense10)
{
	uint8_t cdb[10] = { 0x5a, 0, 0x3f, 0, 0, 0, 0, 0x04, 0, 0 };
	const uint8_t *b = self->buf[SG];

	issue2(self, cdb, 10, SG_DXFER_FROM_DEV, 1024, 32);
	assert_good(_metadata, self);
	ASSERT_EQ(1024 - (int)(get_be16(b) + 2), self->h[SG].resid);
	ASSERT_LT(8, get_be16(b));
}

TEST_F(sg, report_luns)
{
	uint8_t cdb[12] = { 0xa0 };
	const uint8_t *b = self->buf[SG];
	long long luns = sdebug_param("max_luns");

	if (sdebug_param("no_lun_0") > 0)
		luns--;
	put_be32(cdb + 6, 1024);
	issue2(self, cdb, 12, SG_DXFER_FROM_DEV, 1024, 32);
	assert_good(_metadata, self);
	ASSERT_EQ(8 * luns, get_be32(b));
	ASSERT_EQ(1024 - 8 - (int)get_be32(b), self->h[SG].resid);
}

/*
 * Each driver writes its own pattern at its own LBA, and both patterns
 * are then read back through both drivers.
 */
static void write_read(struct __test_metadata *_metadata,
		       FIXTURE_DATA(sg) *self, uint32_t lba0,
		       unsigned int nblk)
{
	unsigned int len = nblk * self->bs;
	uint32_t lba[NDRV] = { lba0, lba0 + nblk };
	uint8_t cdb[10];
	uint8_t *want = malloc(len);
	int d, w;

	ASSERT_NE(NULL, want);
	ASSERT_LE(len, BUF_SZ);
	for (d = 0; d < NDRV; d++) {
		pattern(self->buf[d], len, lba[d]);
		rw10(cdb, 0x2a, lba[d], nblk);
		issue(self, d, cdb, 10, SG_DXFER_TO_DEV, len, 32);
	}
	assert_good(_metadata, self);
	ASSERT_EQ(0, self->h[SG].resid);

	for (w = 0; w < NDRV; w++) {
		rw10(cdb, 0x28, lba[w], nblk);
		issue2(self, cdb, 10, SG_DXFER_FROM_DEV, len, 32);
		assert_good(_metadata, self);
		ASSERT_EQ(0, self->h[SG].resid);
		pattern(want, len, lba[w]);
		for (d = 0; d < NDRV; d++) {
			ASSERT_EQ(0, memcmp(want, self->buf[d], len)) {
				TH_LOG("%s read back what %s wrote wrongly",
				       drv_name[d], drv_name[w]);
			}
		}
	}
	free(want);
}

TEST_F(sg, write_read)
{
	write_read(_metadata, self, LBA_WR, 8);
}

/* Larger than the 32 KiB reserve buffer: sg builds a separate one. */
TEST_F(sg, write_read_large)
{
	write_read(_metadata, self, LBA_LARGE, BUF_SZ / 2 / self->bs);
}

/* One LBA, written by one driver and read by the other, then the reverse. */
TEST_F(sg, write_read_same_lba)
{
	unsigned int len = 4 * self->bs;
	uint8_t cdb[10];
	int w, r;

	for (w = 0; w < NDRV; w++) {
		r = !w;
		pattern(self->buf[w], len, 77 + w);
		rw10(cdb, 0x2a, LBA_SAME, 4);
		issue(self, w, cdb, 10, SG_DXFER_TO_DEV, len, 32);
		ASSERT_EQ(0, self->err[w]);
		ASSERT_EQ(0, self->h[w].status);

		memset(self->buf[r], POISON, len);
		rw10(cdb, 0x28, LBA_SAME, 4);
		issue(self, r, cdb, 10, SG_DXFER_FROM_DEV, len, 32);
		ASSERT_EQ(0, self->err[r]);
		ASSERT_EQ(0, self->h[r].status);
		ASSERT_EQ(0, self->h[r].resid);
		ASSERT_EQ(0, memcmp(self->buf[w], self->buf[r], len)) {
			TH_LOG("%s did not read what %s wrote", drv_name[r],
			       drv_name[w]);
		}
	}
}

/* A NULL dxferp moves the data but copies nothing to user space. */
TEST_F(sg, dxferp_null)
{
	uint8_t cdb[10];
	int d;

	rw10(cdb, 0x28, LBA_NULL, 1);
	prep2(self, cdb, 10, SG_DXFER_FROM_DEV, self->bs, 32);
	for (d = 0; d < NDRV; d++)
		self->in[d].dxferp = NULL;
	submit2(self);
	assert_good(_metadata, self);
	ASSERT_EQ(0, self->h[SG].resid);
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(POISON, self->buf[d][0]);
	}
}

/* SG_IO: errors reported in the header */

static const uint8_t bad_op_cdb[6] = { 0xc0 };

static void assert_invalid_opcode(struct __test_metadata *_metadata,
				  FIXTURE_DATA(sg) *self, int mx_sb_len,
				  int sense_len)
{
	const struct sg_io_hdr *h = &self->h[SG];
	const uint8_t *s = self->sense[SG];

	assert_same(_metadata, self, true);
	ASSERT_EQ(0, self->err[SG]);
	ASSERT_EQ(0x02, h->status);		/* CHECK CONDITION */
	ASSERT_EQ(0x01, h->masked_status);
	ASSERT_EQ(0, h->msg_status);
	ASSERT_EQ(0, h->host_status);
	ASSERT_EQ(SG_INFO_CHECK, h->info);
	ASSERT_EQ(0, h->resid);
	if (!mx_sb_len || !h->sbp) {
		/* No sense asked for: none copied and no DRIVER_SENSE. */
		ASSERT_EQ(0, h->sb_len_wr);
		ASSERT_EQ(0, h->driver_status);
		ASSERT_EQ(SENSE_POISON, s[0]);
		return;
	}
	ASSERT_EQ(DRIVER_SENSE, h->driver_status);
	ASSERT_EQ(sense_len, h->sb_len_wr);
	ASSERT_EQ(0x70, s[0] & 0x7f);		/* fixed format, current */
	if (sense_len > 2) {
		ASSERT_EQ(0x05, s[2] & 0x0f);	/* ILLEGAL REQUEST */
	}
	if (sense_len > 13) {
		ASSERT_EQ(0x20, s[12]);		/* INVALID COMMAND OPCODE */
		ASSERT_EQ(0x00, s[13]);
		ASSERT_EQ(18, 8 + s[7]);
	}
	/* Nothing past sb_len_wr is touched. */
	ASSERT_EQ(SENSE_POISON, s[sense_len]);
}

TEST_F(sg, invalid_opcode)
{
	issue2(self, bad_op_cdb, 6, SG_DXFER_NONE, 0, 32);
	assert_invalid_opcode(_metadata, self, 32, 18);
}

/* mx_sb_len beyond the sense length: only the sense itself is copied. */
TEST_F(sg, sense_mx_large)
{
	issue2(self, bad_op_cdb, 6, SG_DXFER_NONE, 0, 255);
	assert_invalid_opcode(_metadata, self, 255, 18);
}

/* mx_sb_len smaller than the sense: truncated to mx_sb_len. */
TEST_F(sg, sense_truncated)
{
	static const int mx[] = { 1, 8, 17 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mx); i++) {
		issue2(self, bad_op_cdb, 6, SG_DXFER_NONE, 0, mx[i]);
		assert_invalid_opcode(_metadata, self, mx[i], mx[i]);
	}
}

TEST_F(sg, sense_not_wanted)
{
	int d;

	issue2(self, bad_op_cdb, 6, SG_DXFER_NONE, 0, 0);
	assert_invalid_opcode(_metadata, self, 0, 0);

	/* A NULL sbp with room asked for is the same as no room. */
	prep2(self, bad_op_cdb, 6, SG_DXFER_NONE, 0, 32);
	for (d = 0; d < NDRV; d++)
		self->in[d].sbp = NULL;
	submit2(self);
	assert_invalid_opcode(_metadata, self, 32, 0);
}

/* SG_IO: transfer lengths and directions */

/*
 * INQUIRY allocation length 36 into a 96 byte buffer: resid is the part not
 * transferred. sg copies its whole bounce buffer back, so the tail is
 * overwritten too (zeroes, as the reserve buffer of a new fd is zeroed).
 */
TEST_F(sg, resid)
{
	uint8_t cdb[6] = { 0x12, 0, 0, 0, 36, 0 };
	uint8_t tail[60];
	int d;

	issue2(self, cdb, 6, SG_DXFER_FROM_DEV, 96, 32);
	assert_good(_metadata, self);
	ASSERT_EQ(60, self->h[SG].resid);
	ASSERT_EQ(self->lu.type, self->buf[SG][0] & 0x1f);
	memset(tail, 0, sizeof(tail));
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, memcmp(tail, self->buf[d] + 36, 60)) {
			TH_LOG("%s: buffer past the response is not zero",
			       drv_name[d]);
		}
	}
}

/*
 * The same beyond the reserve buffer, after a WRITE and after a READ of
 * that size on the file: sg builds and clears a new buffer for each, so the
 * tail past a short response is zeroes however the file's earlier commands
 * used their buffers. rsg reuses those (kept_buffer_kb) and must show the
 * same.
 */
TEST_F(sg, resid_large_after_io)
{
	unsigned int len = 256 * 1024, nblk = len / self->bs;
	uint8_t inq[6] = { 0x12, 0, 0, 0, 36, 0 };
	uint8_t cdb[10];
	int d, step;

	ASSERT_LE(len, BUF_SZ);
	for (step = 0; step < 2; step++) {
		for (d = 0; d < NDRV; d++) {
			/* Earlier I/O through a buffer of this size. */
			pattern(self->buf[d], len, 4242 + d);
			if (step == 0) {
				rw10(cdb, 0x2a, LBA_TAIL + d * nblk, nblk);
				issue(self, d, cdb, 10, SG_DXFER_TO_DEV, len, 32);
			} else {
				rw10(cdb, 0x28, LBA_TAIL + d * nblk, nblk);
				issue(self, d, cdb, 10, SG_DXFER_FROM_DEV, len, 32);
			}
			ASSERT_EQ(0, self->err[d]);
			ASSERT_EQ(0, self->h[d].status);
		}
		issue2(self, inq, 6, SG_DXFER_FROM_DEV, len, 32);
		assert_good(_metadata, self);
		ASSERT_EQ((int)len - 36, self->h[SG].resid);
		for (d = 0; d < NDRV; d++) {
			unsigned int i;

			for (i = 36; i < len && !self->buf[d][i]; i++)
				;
			ASSERT_EQ(len, i) {
				TH_LOG("%s, after a %s: byte %u past the response is %#x, not 0",
				       drv_name[d], step ? "READ" : "WRITE", i,
				       self->buf[d][i]);
			}
		}
	}
}

/*
 * Data beyond the reserve buffer, in commands of changing sizes, reaches
 * the device and comes back intact: rsg keeps such buffers, with the bio
 * that maps them, from one command to the next and maps each afresh. Each
 * driver writes its own blocks; a model of them checks every read.
 */
TEST_F(sg, own_buffer_data)
{
	static const unsigned int kib[] = { 256, 64, 200, 40, 128, 256 };
	unsigned int max = 256 * 1024, nblk = max / self->bs, i, len;
	uint8_t *model[NDRV];
	uint8_t cdb[10];
	int d;

	ASSERT_LE(max, BUF_SZ);
	for (d = 0; d < NDRV; d++) {
		model[d] = malloc(max);
		ASSERT_NE(NULL, model[d]);
		memset(model[d], 0, max);
		/* The blocks start out as the model says. */
		rw10(cdb, 0x2a, LBA_TAIL + d * nblk, nblk);
		memset(self->buf[d], 0, max);
		issue(self, d, cdb, 10, SG_DXFER_TO_DEV, max, 32);
		ASSERT_EQ(0, self->err[d]);
		ASSERT_EQ(0, self->h[d].status);
	}
	for (i = 0; i < ARRAY_SIZE(kib); i++) {
		len = kib[i] * 1024;
		for (d = 0; d < NDRV; d++) {
			pattern(self->buf[d], len, 77 * i + d);
			memcpy(model[d], self->buf[d], len);
			rw10(cdb, 0x2a, LBA_TAIL + d * nblk, len / self->bs);
			issue(self, d, cdb, 10, SG_DXFER_TO_DEV, len, 32);
			ASSERT_EQ(0, self->err[d]);
			ASSERT_EQ(0, self->h[d].status);
		}
		/* Read back a different length than was written. */
		len = kib[(i + 1) % ARRAY_SIZE(kib)] * 1024;
		for (d = 0; d < NDRV; d++) {
			rw10(cdb, 0x28, LBA_TAIL + d * nblk, len / self->bs);
			memset(self->buf[d], POISON, BUF_SZ);
			issue(self, d, cdb, 10, SG_DXFER_FROM_DEV, len, 32);
			ASSERT_EQ(0, self->err[d]);
			ASSERT_EQ(0, self->h[d].status);
			ASSERT_EQ(0, self->h[d].resid);
			ASSERT_EQ(0, memcmp(model[d], self->buf[d], len)) {
				TH_LOG("%s: step %u, a %u KiB READ differs from what was written",
				       drv_name[d], i, len / 1024);
			}
			ASSERT_EQ(POISON, self->buf[d][len]);
		}
	}
	for (d = 0; d < NDRV; d++)
		free(model[d]);
}

/*
 * SG_DXFER_TO_FROM_DEV is FROM_DEV with the user buffer copied in first, so
 * the part the device does not write keeps the caller's bytes. In 6.12 sg
 * fails it with ENOMEM instead: bio_copy_user_iov() copies the data in but
 * does not advance the iterator, so blk_rq_map_user_iov() keeps mapping
 * until the reserve buffer runs out. rsg has to do the same.
 */
TEST_F(sg, to_from_dev)
{
	uint8_t cdb[6] = { 0x12, 0, 0, 0, 36, 0 };
	uint8_t tail[60];
	int d;

	issue2(self, cdb, 6, SG_DXFER_TO_FROM_DEV, 96, 32);
	assert_same(_metadata, self, true);
	if (self->err[SG] == ENOMEM) {
		TH_LOG("sg fails SG_DXFER_TO_FROM_DEV with ENOMEM");
		for (d = 0; d < NDRV; d++) {
			ASSERT_EQ(POISON, self->buf[d][0]);
		}
		/* The fds are still usable. */
		issue2(self, tur_cdb, 6, SG_DXFER_NONE, 0, 32);
		assert_good(_metadata, self);
		return;
	}
	assert_good(_metadata, self);
	ASSERT_EQ(60, self->h[SG].resid);
	ASSERT_EQ(self->lu.type, self->buf[SG][0] & 0x1f);
	ASSERT_EQ(31, self->buf[SG][4]);
	memset(tail, POISON, sizeof(tail));
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, memcmp(tail, self->buf[d] + 36, 60)) {
			TH_LOG("%s: caller's bytes past the response lost",
			       drv_name[d]);
		}
	}
}

/* The same with a NULL dxferp: nothing to copy in from. */
TEST_F(sg, to_from_dev_null)
{
	uint8_t cdb[6] = { 0x12, 0, 0, 0, 36, 0 };
	int d;

	prep2(self, cdb, 6, SG_DXFER_TO_FROM_DEV, 96, 32);
	for (d = 0; d < NDRV; d++)
		self->in[d].dxferp = NULL;
	submit2(self);
	assert_same(_metadata, self, false);
	if (self->err[SG]) {
		/* 6.12: the copy-in from NULL faults. */
		ASSERT_EQ(EFAULT, self->err[SG]);
		return;
	}
	assert_good(_metadata, self);
	ASSERT_EQ(60, self->h[SG].resid);
}

/* dxfer_len 0 with a direction: no data phase, the buffer is untouched. */
TEST_F(sg, dxfer_len_zero)
{
	static const int dirs[] = {
		SG_DXFER_FROM_DEV, SG_DXFER_TO_DEV, SG_DXFER_TO_FROM_DEV,
	};
	uint8_t inq[6] = { 0x12, 0, 0, 0, 36, 0 };
	uint8_t wr[10];
	unsigned int i;
	int d;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		issue2(self, inq, 6, dirs[i], 0, 32);
		assert_good(_metadata, self);
		ASSERT_EQ(0, self->h[SG].resid);
		for (d = 0; d < NDRV; d++) {
			ASSERT_EQ(POISON, self->buf[d][0]);
		}
	}
	/* A zero block WRITE(10) has no data either. */
	rw10(wr, 0x2a, LBA_WR, 0);
	issue2(self, wr, 10, SG_DXFER_TO_DEV, 0, 32);
	assert_good(_metadata, self);
}

/* SG_IO: malformed requests, refused before anything reaches the device */

enum bad {
	BAD_IFACE,		/* interface_id != 'S' */
	BAD_CMDP_NULL,
	BAD_CMD_LEN_0,
	BAD_CMD_LEN_5,
	BAD_CMD_LEN_253,
	BAD_CMD_LEN_255,
	BAD_CMD_LEN_33,		/* longer than scsi_cmnd's CDB */
	BAD_CMD_LEN_252,
	BAD_DXFER_256M,
	BAD_DXFER_MAX,
	BAD_HDR_UNMAPPED,
	BAD_HDR_STRADDLE,	/* header runs into an unmapped page */
	BAD_CMDP_UNMAPPED,
	BAD_DXFERP_UNMAPPED,	/* data-out buffer */
	/* Order of the checks, as sg makes them. */
	BAD_IFACE_AND_CMDP,	/* ENOSYS before EMSGSIZE */
	BAD_CMDP_AND_DXFER,	/* EMSGSIZE before EINVAL */
	BAD_CMDP_AND_LEN,	/* cmdp copied (EFAULT) before EINVAL */
	BAD_DXFER_AND_DATA,	/* EINVAL before the data is copied */
	BAD_CMD_LEN_33_DATA,	/* EINVAL before the data is copied */
};

/*
 * Submit a WRITE(10) of one block to a scratch LBA through both drivers,
 * spoiled as 'bad' says. Both must fail with 'expect', leave the header
 * as it was and the block unwritten, and the fds must still work.
 */
static void check_rejected(struct __test_metadata *_metadata,
			   FIXTURE_DATA(sg) *self, enum bad bad, int expect)
{
	static uint8_t cdb[MAX_CDB];
	long pg = sysconf(_SC_PAGESIZE);
	struct sg_io_hdr *hp;
	uint8_t rd[10], *page;
	int d;

	page = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	ASSERT_EQ(0, mprotect(page + pg, pg, PROT_NONE));

	/* Zero the scratch block first. */
	memset(self->buf[SG], 0, self->bs);
	rw10(cdb, 0x2a, LBA_REJECT, 1);
	issue(self, SG, cdb, 10, SG_DXFER_TO_DEV, self->bs, 32);
	ASSERT_EQ(0, self->err[SG]);
	ASSERT_EQ(0, self->h[SG].status);

	for (d = 0; d < NDRV; d++) {
		hp = &self->h[d];
		memset(self->buf[d], 0x77, BUF_SZ);
		memset(self->sense[d], SENSE_POISON, SENSE_SZ);
		hdr_init(hp, cdb, 10, SG_DXFER_TO_DEV, self->buf[d], self->bs,
			 self->sense[d], 32);
		switch (bad) {
		case BAD_IFACE:
			hp->interface_id = 'Q';
			break;
		case BAD_CMDP_NULL:
			hp->cmdp = NULL;
			break;
		case BAD_CMD_LEN_0:
			hp->cmd_len = 0;
			break;
		case BAD_CMD_LEN_5:
			hp->cmd_len = 5;
			break;
		case BAD_CMD_LEN_253:
			hp->cmd_len = 253;
			break;
		case BAD_CMD_LEN_255:
			hp->cmd_len = 255;
			break;
		case BAD_CMD_LEN_33:
			hp->cmd_len = 33;
			break;
		case BAD_CMD_LEN_252:
			hp->cmd_len = 252;
			break;
		case BAD_DXFER_256M:
			hp->dxfer_len = SZ_256M;
			break;
		case BAD_DXFER_MAX:
			hp->dxfer_len = UINT_MAX;
			break;
		case BAD_HDR_UNMAPPED:
			hp = (struct sg_io_hdr *)(page + pg);
			break;
		case BAD_HDR_STRADDLE:
			hp = (struct sg_io_hdr *)(page + pg - 16);
			memcpy(hp, &self->h[d], 16);
			break;
		case BAD_CMDP_UNMAPPED:
			hp->cmdp = page + pg;
			break;
		case BAD_DXFERP_UNMAPPED:
			hp->dxferp = page + pg;
			break;
		case BAD_IFACE_AND_CMDP:
			hp->interface_id = 'Q';
			hp->cmdp = NULL;
			break;
		case BAD_CMDP_AND_DXFER:
			hp->cmdp = NULL;
			hp->dxfer_len = SZ_256M;
			break;
		case BAD_CMDP_AND_LEN:
			hp->cmdp = page + pg;
			hp->cmd_len = 40;
			break;
		case BAD_DXFER_AND_DATA:
			hp->dxferp = page + pg;
			hp->dxfer_len = SZ_256M;
			break;
		case BAD_CMD_LEN_33_DATA:
			hp->dxferp = page + pg;
			hp->cmd_len = 33;
			break;
		}
		if (hp == &self->h[d])
			self->in[d] = *hp;
		self->err[d] = sg_io(self->fd[d], hp);
		/* Nothing is written back on these errors. */
		if (hp == &self->h[d]) {
			ASSERT_EQ(0, memcmp(hp, &self->in[d], sizeof(*hp))) {
				TH_LOG("%s wrote the header back",
				       drv_name[d]);
			}
		}
		ASSERT_EQ(SENSE_POISON, self->sense[d][0]);
	}
	ASSERT_EQ(expect, self->err[SG]);
	ASSERT_EQ(self->err[SG], self->err[RSG]) {
		TH_LOG("sg: %s, rsg: %s", strerror(self->err[SG]),
		       strerror(self->err[RSG]));
	}
	munmap(page, 2 * pg);

	/* The block was not written. */
	rw10(rd, 0x28, LBA_REJECT, 1);
	issue2(self, rd, 10, SG_DXFER_FROM_DEV, self->bs, 32);
	assert_good(_metadata, self);
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, self->buf[d][0]);
		ASSERT_EQ(0, memcmp(self->buf[d], self->buf[d] + 1,
				    self->bs - 1));
	}
}

TEST_F(sg, bad_interface_id)
{
	check_rejected(_metadata, self, BAD_IFACE, ENOSYS);
}

TEST_F(sg, bad_cmdp_null)
{
	check_rejected(_metadata, self, BAD_CMDP_NULL, EMSGSIZE);
}

TEST_F(sg, bad_cmd_len_0)
{
	check_rejected(_metadata, self, BAD_CMD_LEN_0, EMSGSIZE);
}

TEST_F(sg, bad_cmd_len_5)
{
	check_rejected(_metadata, self, BAD_CMD_LEN_5, EMSGSIZE);
}

TEST_F(sg, bad_cmd_len_253)
{
	check_rejected(_metadata, self, BAD_CMD_LEN_253, EMSGSIZE);
}

TEST_F(sg, bad_cmd_len_255)
{
	check_rejected(_metadata, self, BAD_CMD_LEN_255, EMSGSIZE);
}

TEST_F(sg, bad_cmd_len_33)
{
	check_rejected(_metadata, self, BAD_CMD_LEN_33, EINVAL);
}

TEST_F(sg, bad_cmd_len_252)
{
	check_rejected(_metadata, self, BAD_CMD_LEN_252, EINVAL);
}

TEST_F(sg, bad_dxfer_len_256m)
{
	check_rejected(_metadata, self, BAD_DXFER_256M, EINVAL);
}

TEST_F(sg, bad_dxfer_len_max)
{
	check_rejected(_metadata, self, BAD_DXFER_MAX, EINVAL);
}

TEST_F(sg, bad_hdr_unmapped)
{
	check_rejected(_metadata, self, BAD_HDR_UNMAPPED, EFAULT);
}

TEST_F(sg, bad_hdr_straddle)
{
	check_rejected(_metadata, self, BAD_HDR_STRADDLE, EFAULT);
}

TEST_F(sg, bad_cmdp_unmapped)
{
	check_rejected(_metadata, self, BAD_CMDP_UNMAPPED, EFAULT);
}

TEST_F(sg, bad_dxferp_unmapped_out)
{
	check_rejected(_metadata, self, BAD_DXFERP_UNMAPPED, EFAULT);
}

TEST_F(sg, check_order)
{
	check_rejected(_metadata, self, BAD_IFACE_AND_CMDP, ENOSYS);
	check_rejected(_metadata, self, BAD_CMDP_AND_DXFER, EMSGSIZE);
	check_rejected(_metadata, self, BAD_CMDP_AND_LEN, EFAULT);
	check_rejected(_metadata, self, BAD_DXFER_AND_DATA, EINVAL);
	check_rejected(_metadata, self, BAD_CMD_LEN_33_DATA, EINVAL);
}

/*
 * A data-in buffer that cannot be written: the command runs, the header is
 * filled in, and SG_IO fails with EFAULT when the data is copied out.
 */
TEST_F(sg, bad_dxferp_unmapped_in)
{
	uint8_t cdb[6] = { 0x12, 0, 0, 0, 96, 0 };
	void *p = hole();
	int d;

	ASSERT_NE(NULL, p);
	prep2(self, cdb, 6, SG_DXFER_FROM_DEV, 96, 32);
	for (d = 0; d < NDRV; d++)
		self->in[d].dxferp = p;
	submit2(self);
	assert_same(_metadata, self, false);
	ASSERT_EQ(EFAULT, self->err[SG]);
	ASSERT_EQ(0, self->h[SG].status);
	ASSERT_EQ(0, self->h[SG].resid);
	ASSERT_EQ(0, self->h[SG].info);

	issue2(self, tur_cdb, 6, SG_DXFER_NONE, 0, 32);
	assert_good(_metadata, self);
}

/*
 * A refused request must give its slot back: sg allows 16 per fd and
 * answers EDOM beyond that.
 */
TEST_F(sg, rejects_do_not_leak)
{
	static const int n = 3 * SG_MAX_QUEUE;
	uint8_t cdb[40] = { 0 };
	struct sg_io_hdr h;
	int i, d;

	for (d = 0; d < NDRV; d++) {
		for (i = 0; i < n; i++) {
			hdr_init(&h, cdb, 5, SG_DXFER_NONE, NULL, 0, NULL, 0);
			ASSERT_EQ(EMSGSIZE, sg_io(self->fd[d], &h));
			h.cmd_len = 33;
			ASSERT_EQ(EINVAL, sg_io(self->fd[d], &h));
			h.cmd_len = 6;
			h.dxfer_len = SZ_256M;
			ASSERT_EQ(EINVAL, sg_io(self->fd[d], &h));
			h.interface_id = 'Q';
			ASSERT_EQ(ENOSYS, sg_io(self->fd[d], &h));
		}
	}
	issue2(self, tur_cdb, 6, SG_DXFER_NONE, 0, 32);
	assert_good(_metadata, self);
}

TEST_HARNESS_MAIN
