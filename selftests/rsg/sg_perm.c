// SPDX-License-Identifier: GPL-2.0
/*
 * Who may do what, on an rsg node and on an sg node of one LU: the nodes'
 * mode and owner; the command filter (scsi_cmd_allowed) for callers
 * without CAP_SYS_RAWIO through SG_IO, write() and rsg's RSG_IOQUEUE, per
 * open mode; SG_SCSI_RESET, which needs CAP_SYS_ADMIN and CAP_SYS_RAWIO;
 * and the writable /proc/scsi knobs, which need both too.
 *
 * Each credential set runs in a child: all capabilities, without
 * CAP_SYS_RAWIO, without CAP_SYS_ADMIN, and an unprivileged uid (nobody)
 * that opens copies of the nodes made accessible to everyone. The child
 * does the same list of operations through both drivers; every result
 * must be the one sg gives, and sg the one sg.c defines.
 *
 * RSG_IOQUEUE has no sg counterpart: its result must be sg's SG_IO result
 * for the same command on the same kind of fd.
 */

#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <scsi/scsi_ioctl.h>

#include "kselftest_harness.h"
#include "rsg_test.h"
#include "scsi/rsg.h"

#define LBA_PERM	110000
#define NOBODY		65534
#define SLACK_MS	10000
#define CHECK_CONDITION	0x02
/* Not in scsi_cmd_allowed()'s lists: vendor specific. */
#define VENDOR_OP	0xc0
#define SUBMITTED	(-1000)	/* a write() that took the whole header */

enum cred { C_ALL, C_NO_RAWIO, C_NO_ADMIN, C_NOBODY };

/* The operations, in the order the child does them. */
enum check {
	RO_OPEN, RO_INQUIRY, RO_READ, RO_WRITE, RO_VENDOR, RO_WRITE_SYSCALL,
	RO_QUEUE_WRITE, RO_QUEUE_READ, RO_RESET, RO_SEND_INQUIRY, RO_SEND_WRITE,
	WO_OPEN, WO_SEND_WRITE, WO_WRITE, WO_VENDOR, WO_WRITE_VENDOR, WO_QUEUE_VENDOR,
	WO_QUEUE_WRITE,
	RW_OPEN, RW_WRITE, RW_VENDOR, RW_WRITE_VENDOR, RW_READ_VENDOR,
	RW_QUEUE_WRITE, RW_QUEUE_VENDOR, RW_RESET,
	PROC_ALLOW_DIO, PROC_ALLOW_DIO_VALUE, PROC_DEF_RESERVED,
	PROC_DEF_RESERVED_VALUE,
	N_CHECKS
};

static const char *const check_name[N_CHECKS] = {
	"O_RDONLY: open", "O_RDONLY: SG_IO INQUIRY", "O_RDONLY: SG_IO READ(10)",
	"O_RDONLY: SG_IO WRITE(10)", "O_RDONLY: SG_IO vendor opcode",
	"O_RDONLY: write()", "O_RDONLY: RSG_IOQUEUE WRITE(10)",
	"O_RDONLY: RSG_IOQUEUE READ(10)", "O_RDONLY: SG_SCSI_RESET",
	"O_RDONLY: SCSI_IOCTL_SEND_COMMAND INQUIRY",
	"O_RDONLY: SCSI_IOCTL_SEND_COMMAND WRITE(10)",
	"O_WRONLY: open", "O_WRONLY: SCSI_IOCTL_SEND_COMMAND WRITE(10)", "O_WRONLY: SG_IO WRITE(10)",
	"O_WRONLY: SG_IO vendor opcode", "O_WRONLY: write() vendor opcode",
	"O_WRONLY: RSG_IOQUEUE vendor opcode",
	"O_WRONLY: RSG_IOQUEUE WRITE(10)",
	"O_RDWR: open", "O_RDWR: SG_IO WRITE(10)",
	"O_RDWR: SG_IO vendor opcode", "O_RDWR: write() vendor opcode",
	"O_RDWR: read() of it", "O_RDWR: RSG_IOQUEUE WRITE(10)",
	"O_RDWR: RSG_IOQUEUE vendor opcode", "O_RDWR: SG_SCSI_RESET",
	"allow_dio: write", "allow_dio: value after",
	"def_reserved_size: write", "def_reserved_size: value after",
};

/* For the RSG_IOQUEUE checks: the SG_IO check sg's result is taken from. */
static const int queue_twin[N_CHECKS] = {
	[RO_QUEUE_WRITE] = RO_WRITE, [RO_QUEUE_READ] = RO_READ,
	[WO_QUEUE_VENDOR] = WO_VENDOR, [WO_QUEUE_WRITE] = WO_WRITE,
	[RW_QUEUE_WRITE] = RW_WRITE, [RW_QUEUE_VENDOR] = RW_VENDOR,
};

static const char *const proc_dir[NDRV] = { "/proc/scsi/rsg",
					    "/proc/scsi/sg" };

struct results {
	int r[NDRV][N_CHECKS];
	int cred_err;
};

static int drop_caps(uint64_t caps)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct c[_LINUX_CAPABILITY_U32S_3];
	int i;

	if (syscall(SYS_capget, &h, c))
		return -errno;
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		c[i].effective &= ~(uint32_t)(caps >> (32 * i));
		c[i].permitted &= ~(uint32_t)(caps >> (32 * i));
		c[i].inheritable &= ~(uint32_t)(caps >> (32 * i));
	}
	return syscall(SYS_capset, &h, c) ? -errno : 0;
}

static int set_cred(enum cred cred)
{
	switch (cred) {
	case C_NO_RAWIO:
		return drop_caps(1ULL << CAP_SYS_RAWIO);
	case C_NO_ADMIN:
		return drop_caps(1ULL << CAP_SYS_ADMIN);
	case C_NOBODY:
		if (setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			return -errno;
		return 0;
	default:
		return 0;
	}
}

/* An SG_IO, RSG_IOQUEUE or write() of one command. */
struct cmd {
	uint8_t cdb[10];
	int cdb_len, dir;
	uint8_t buf[4096];
	uint8_t sense[32];
	struct sg_io_hdr h;
};

static void cmd_init(struct cmd *c, int op, unsigned int bs)
{
	memset(c, 0, sizeof(*c));
	switch (op) {
	case 0x12:
		memcpy(c->cdb, inq_cdb, 6);
		c->cdb_len = 6;
		c->dir = SG_DXFER_FROM_DEV;
		hdr_init(&c->h, c->cdb, 6, c->dir, c->buf, 96, c->sense, 32);
		return;
	case 0x28:
	case 0x2a:
		rw10(c->cdb, op, LBA_PERM, 1);
		c->dir = op == 0x28 ? SG_DXFER_FROM_DEV : SG_DXFER_TO_DEV;
		memset(c->buf, 0x3c, sizeof(c->buf));
		hdr_init(&c->h, c->cdb, 10, c->dir, c->buf, bs, c->sense, 32);
		return;
	default:
		c->cdb[0] = op;
		hdr_init(&c->h, c->cdb, 6, SG_DXFER_NONE, NULL, 0, c->sense, 32);
		return;
	}
}

/* The SCSI status of the reply, or -errno. */
static int sg_io_status(int fd, int op, unsigned int bs)
{
	struct cmd c;

	cmd_init(&c, op, bs);
	if (ioctl(fd, SG_IO, &c.h) < 0)
		return -errno;
	return c.h.status;
}

/* RSG_IOQUEUE, then the reply: its SCSI status, or -errno. */
static int queue_status(int fd, int op, unsigned int bs)
{
	struct sg_io_hdr out;
	struct rsg_batch b = {
		.hdrs = (uintptr_t)&out, .count = 1, .flags = RSG_BATCH_WAIT,
		.timeout_ms = SLACK_MS,
	};
	struct cmd c;

	cmd_init(&c, op, bs);
	if (ioctl(fd, RSG_IOQUEUE, &c.h) < 0)
		return -errno;
	if (ioctl(fd, RSG_IOGET_BATCH, &b) < 0)
		return -errno - 100;
	return out.status;
}

static int write_cmd(int fd, int op, unsigned int bs)
{
	struct cmd c;
	ssize_t n;

	cmd_init(&c, op, bs);
	n = write(fd, &c.h, sizeof(c.h));
	if (n < 0)
		return -errno;
	return n == sizeof(c.h) ? SUBMITTED : (int)n;
}

/* read() of the reply to a write(): its SCSI status, or -errno. */
static int read_status(int fd)
{
	struct sg_io_hdr h;

	memset(&h, 0, sizeof(h));
	h.interface_id = 'S';
	if (read(fd, &h, sizeof(h)) < 0)
		return -errno;
	return h.status;
}

/* The old SCSI_IOCTL_SEND_COMMAND: its result, or -errno. */
static int send_command(int fd, int op, unsigned int bs)
{
	struct {
		unsigned int inlen, outlen;
		uint8_t data[10 + 4096];
	} sc;
	int r;

	memset(&sc, 0, sizeof(sc));
	if (op == 0x12) {
		sc.outlen = 96;
		memcpy(sc.data, inq_cdb, 6);
	} else {
		sc.inlen = bs;
		rw10(sc.data, op, LBA_PERM, 1);
		memset(sc.data + 10, 0x3c, bs);
	}
	r = ioctl(fd, SCSI_IOCTL_SEND_COMMAND, &sc);
	return r < 0 ? -errno : r;
}

static int reset_nothing(int fd)
{
	int v = SG_SCSI_RESET_NOTHING;

	return ioctl(fd, SG_SCSI_RESET, &v) < 0 ? -errno : 0;
}

static int open_rv(const char *path, int flags)
{
	int fd = open(path, flags);

	return fd < 0 ? -errno : fd;
}

/* Write a knob: 0, or -errno from open() or write(). */
static int knob_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

static int knob_read(const char *path)
{
	char s[32];

	if (read_str(s, sizeof(s), "%s", path))
		return -1;
	return atoi(s);
}

/* The child's list of operations through one driver. */
static void ops(const char *path, int d, unsigned int bs, int *r,
		const int *knob)
{
	char knob_path[PATH_MAX], val[32];
	int fd;

	fd = open_rv(path, O_RDONLY);
	r[RO_OPEN] = fd < 0 ? fd : 0;
	if (fd >= 0) {
		r[RO_INQUIRY] = sg_io_status(fd, 0x12, bs);
		r[RO_READ] = sg_io_status(fd, 0x28, bs);
		r[RO_WRITE] = sg_io_status(fd, 0x2a, bs);
		r[RO_VENDOR] = sg_io_status(fd, VENDOR_OP, bs);
		r[RO_WRITE_SYSCALL] = write_cmd(fd, 0x12, bs);
		if (d == RSG) {
			r[RO_QUEUE_WRITE] = queue_status(fd, 0x2a, bs);
			r[RO_QUEUE_READ] = queue_status(fd, 0x28, bs);
		}
		r[RO_RESET] = reset_nothing(fd);
		r[RO_SEND_INQUIRY] = send_command(fd, 0x12, bs);
		r[RO_SEND_WRITE] = send_command(fd, 0x2a, bs);
		close(fd);
	}

	fd = open_rv(path, O_WRONLY);
	r[WO_OPEN] = fd < 0 ? fd : 0;
	if (fd >= 0) {
		r[WO_WRITE] = sg_io_status(fd, 0x2a, bs);
		r[WO_SEND_WRITE] = send_command(fd, 0x2a, bs);
		r[WO_VENDOR] = sg_io_status(fd, VENDOR_OP, bs);
		/* write() has no filter in sg: O_WRONLY is write access. */
		r[WO_WRITE_VENDOR] = write_cmd(fd, VENDOR_OP, bs);
		if (d == RSG) {
			r[WO_QUEUE_VENDOR] = queue_status(fd, VENDOR_OP, bs);
			r[WO_QUEUE_WRITE] = queue_status(fd, 0x2a, bs);
		}
		close(fd);
	}

	fd = open_rv(path, O_RDWR);
	r[RW_OPEN] = fd < 0 ? fd : 0;
	if (fd >= 0) {
		r[RW_WRITE] = sg_io_status(fd, 0x2a, bs);
		r[RW_VENDOR] = sg_io_status(fd, VENDOR_OP, bs);
		r[RW_WRITE_VENDOR] = write_cmd(fd, VENDOR_OP, bs);
		r[RW_READ_VENDOR] = r[RW_WRITE_VENDOR] == SUBMITTED ?
				    read_status(fd) : 0;
		if (d == RSG) {
			r[RW_QUEUE_WRITE] = queue_status(fd, 0x2a, bs);
			r[RW_QUEUE_VENDOR] = queue_status(fd, VENDOR_OP, bs);
		}
		r[RW_RESET] = reset_nothing(fd);
		close(fd);
	}

	/* Each knob set to another value than it has: took or not. */
	snprintf(knob_path, sizeof(knob_path), "%s/allow_dio", proc_dir[d]);
	snprintf(val, sizeof(val), "%d", !knob[0]);
	r[PROC_ALLOW_DIO] = knob_write(knob_path, val);
	r[PROC_ALLOW_DIO_VALUE] = knob_read(knob_path) != knob[0];
	snprintf(knob_path, sizeof(knob_path), "%s/def_reserved_size",
		 proc_dir[d]);
	snprintf(val, sizeof(val), "%d", knob[1] + 4096);
	r[PROC_DEF_RESERVED] = knob_write(knob_path, val);
	r[PROC_DEF_RESERVED_VALUE] = knob_read(knob_path) != knob[1];
}

FIXTURE(perm)
{
	const char *path[NDRV];
	char copy[NDRV][64];
	int knob[NDRV][2];	/* allow_dio, def_reserved_size */
	unsigned int bs;
	struct results *res;
};

FIXTURE_VARIANT(perm)
{
	enum cred cred;
};

FIXTURE_VARIANT_ADD(perm, all_caps) { .cred = C_ALL };
FIXTURE_VARIANT_ADD(perm, no_rawio) { .cred = C_NO_RAWIO };
FIXTURE_VARIANT_ADD(perm, no_admin) { .cred = C_NO_ADMIN };
FIXTURE_VARIANT_ADD(perm, nobody) { .cred = C_NOBODY };

static void knobs_restore(FIXTURE_DATA(perm) *self)
{
	char path[PATH_MAX], val[32];
	int d;

	for (d = 0; d < NDRV; d++) {
		snprintf(path, sizeof(path), "%s/allow_dio", proc_dir[d]);
		snprintf(val, sizeof(val), "%d", self->knob[d][0]);
		knob_write(path, val);
		snprintf(path, sizeof(path), "%s/def_reserved_size",
			 proc_dir[d]);
		snprintf(val, sizeof(val), "%d", self->knob[d][1]);
		knob_write(path, val);
	}
}

FIXTURE_SETUP(perm)
{
	char path[PATH_MAX];
	struct stat st;
	long long sz;
	int d;

	for (d = 0; d < NDRV; d++)
		self->path[d] = dev_path(d);
	if (!strcmp(self->path[RSG], self->path[SG]))
		SKIP(return, "rsg is not loaded");
	sz = sdebug_param("sector_size");
	ASSERT_LT(0, sz);
	ASSERT_GE(4096, sz);
	self->bs = sz;
	self->res = mmap(NULL, sizeof(*self->res), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->res);
	ASSERT_EQ(0, clear_ua(self->path[SG]));
	for (d = 0; d < NDRV; d++) {
		snprintf(path, sizeof(path), "%s/allow_dio", proc_dir[d]);
		self->knob[d][0] = knob_read(path);
		ASSERT_LE(0, self->knob[d][0]);
		snprintf(path, sizeof(path), "%s/def_reserved_size",
			 proc_dir[d]);
		self->knob[d][1] = knob_read(path);
		ASSERT_LE(0, self->knob[d][1]);
		/* A copy of the node that anyone may open. */
		ASSERT_EQ(0, stat(self->path[d], &st));
		snprintf(self->copy[d], sizeof(self->copy[d]),
			 "/tmp/sg_perm.%d.%s", getpid(), drv_name[d]);
		unlink(self->copy[d]);
		ASSERT_EQ(0, mknod(self->copy[d], S_IFCHR | 0666, st.st_rdev));
		ASSERT_EQ(0, chmod(self->copy[d], 0666));
	}
}

FIXTURE_TEARDOWN(perm)
{
	int d;

	if (!self->res || self->res == MAP_FAILED)
		return;
	knobs_restore(self);
	for (d = 0; d < NDRV; d++)
		unlink(self->copy[d]);
	munmap(self->res, sizeof(*self->res));
}

/* What sg.c gives for check c under cred; INT_MIN where it depends. */
static int sg_expected(enum cred cred, int c)
{
	bool rawio = cred == C_ALL || cred == C_NO_ADMIN;
	bool admin = cred == C_ALL || cred == C_NO_RAWIO;

	switch (c) {
	case RO_OPEN: case WO_OPEN: case RW_OPEN:
	case RO_INQUIRY: case RO_READ: case WO_WRITE: case RW_WRITE:
		return 0;
	case RO_WRITE:
		return rawio ? 0 : -EPERM;
	case RO_VENDOR: case WO_VENDOR:
		return rawio ? CHECK_CONDITION : -EPERM;
	case RW_VENDOR:
	case RW_READ_VENDOR:
		return CHECK_CONDITION;
	case RO_WRITE_SYSCALL:
		return -EBADF;
	case WO_WRITE_VENDOR: case RW_WRITE_VENDOR:
		return SUBMITTED;
	case RO_RESET: case RW_RESET:
		return rawio && admin ? 0 : -EACCES;
	case RO_SEND_INQUIRY: case WO_SEND_WRITE:
		return 0;
	case RO_SEND_WRITE:
		return rawio ? 0 : -EPERM;
	case PROC_ALLOW_DIO: case PROC_DEF_RESERVED:
		/* nobody cannot open the root-owned 0644 files for writing. */
		return rawio && admin ? 0 : -EACCES;
	case PROC_ALLOW_DIO_VALUE: case PROC_DEF_RESERVED_VALUE:
		return rawio && admin;
	default:
		return INT_MIN;
	}
}

TEST_F_TIMEOUT(perm, compared, 120)
{
	struct results *res = self->res;
	int status, d, c, want;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		res->cred_err = set_cred(variant->cred);
		if (res->cred_err)
			_exit(1);
		for (d = 0; d < NDRV; d++)
			ops(variant->cred == C_NOBODY ? self->copy[d] :
			    self->path[d], d, self->bs, res->r[d],
			    self->knob[d]);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	knobs_restore(self);
	ASSERT_EQ(0, res->cred_err);
	ASSERT_EQ(0, status);

	for (c = 0; c < N_CHECKS; c++) {
		int sg_r = queue_twin[c] ? res->r[SG][queue_twin[c]] :
			   res->r[SG][c];

		want = sg_expected(variant->cred, queue_twin[c] ?: c);
		if (want != INT_MIN) {
			EXPECT_EQ(want, sg_r) {
				TH_LOG("sg: %s", check_name[c]);
			}
		}
		EXPECT_EQ(sg_r, res->r[RSG][c]) {
			TH_LOG("%s: rsg %d, sg %d", check_name[c],
			       res->r[RSG][c], sg_r);
		}
	}
}

/* rsg's nodes: the mode and owner of sg's. */
TEST(node_mode)
{
	struct stat st[NDRV];
	int d;

	if (!strcmp(dev_path(RSG), dev_path(SG)))
		SKIP(return, "rsg is not loaded");
	for (d = 0; d < NDRV; d++) {
		ASSERT_EQ(0, stat(dev_path(d), &st[d])) {
			TH_LOG("%s", dev_path(d));
		}
		ASSERT_TRUE(S_ISCHR(st[d].st_mode));
	}
	ASSERT_EQ(0600, st[SG].st_mode & 07777);
	ASSERT_EQ(0, st[SG].st_uid);
	ASSERT_EQ(st[SG].st_mode, st[RSG].st_mode);
	ASSERT_EQ(st[SG].st_uid, st[RSG].st_uid);
	ASSERT_EQ(st[SG].st_gid, st[RSG].st_gid);
}

/* /proc/scsi/rsg: the files of /proc/scsi/sg, with the same modes. */
TEST(proc_modes)
{
	static const char *const name[] = {
		"allow_dio", "debug", "def_reserved_size", "device_hdr",
		"devices", "device_strs", "version",
	};
	char path[PATH_MAX];
	struct stat st[NDRV];
	unsigned int i;
	int d;

	if (!strcmp(dev_path(RSG), dev_path(SG)))
		SKIP(return, "rsg is not loaded");
	for (i = 0; i < sizeof(name) / sizeof(name[0]); i++) {
		for (d = 0; d < NDRV; d++) {
			snprintf(path, sizeof(path), "%s/%s", proc_dir[d],
				 name[i]);
			ASSERT_EQ(0, stat(path, &st[d])) {
				TH_LOG("%s", path);
			}
		}
		ASSERT_EQ(st[SG].st_mode, st[RSG].st_mode) {
			TH_LOG("%s: sg %o, rsg %o", name[i], st[SG].st_mode,
			       st[RSG].st_mode);
		}
		ASSERT_EQ(st[SG].st_uid, st[RSG].st_uid);
	}
}

TEST_HARNESS_MAIN
