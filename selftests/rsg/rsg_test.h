/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the rsg suites: which nodes to test, what sysfs says
 * about the LU behind them, CDB and v3 header construction.
 *
 * RSG_DEV and SG_DEV name the nodes (default /dev/rsg0 and /dev/sg0).
 */
#ifndef RSG_TEST_H
#define RSG_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <scsi/sg.h>

/* The result of a syscall, or -errno. */
static inline long rv(long r)
{
	return r < 0 ? -errno : r;
}

static inline long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* usleep() is unusable from 32-bit code on the test kernel (no 32-bit time). */
static inline void sleep_ms(long ms)
{
	usleep(ms * 1000);
}

#define RSG		0
#define SG		1
#define NDRV		2

#define POISON		0xa5
#define SENSE_POISON	0xaa
#define DRIVER_SENSE	0x08

static const char *const drv_name[NDRV] = { "rsg", "sg" };

static const uint8_t tur_cdb[6];

/* sg must give 'want'; rsg must give what sg gave. */
#define ASSERT_SG(want, v)						\
	do {								\
		ASSERT_EQ(want, (v)[SG]) {				\
			TH_LOG("sg: %s", #v);				\
		}							\
		ASSERT_EQ((v)[SG], (v)[RSG]) {				\
			TH_LOG("rsg differs from sg: %s", #v);		\
		}							\
	} while (0)

static const uint8_t inq_cdb[6] = { 0x12, 0, 0, 0, 96, 0 };
static const uint8_t bad_cdb[6] = { 0xc0 };	/* unsupported opcode */

static inline const char *dev_path(int d)
{
	if (d == RSG)
		return getenv("RSG_DEV") ?: "/dev/rsg0";
	return getenv("SG_DEV") ?: "/dev/sg0";
}

/* What sysfs says about the LU behind a node. */
struct lu {
	int host, chan, id, lun;
	int type, queue_depth, cmd_per_lun, unique_id;
	char vendor[9], model[17];
};

static inline int read_str(char *out, size_t len, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	FILE *f;
	char *nl;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(out, len, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	nl = strchr(out, '\n');
	if (nl)
		*nl = '\0';
	return 0;
}

static inline long long read_num(const char *fmt, const char *arg)
{
	char s[64];

	if (read_str(s, sizeof(s), fmt, arg))
		return -1;
	return strtoll(s, NULL, 0);
}

/* scsi_debug's driver attributes (delay, ndelay, opts, ...). */
#define SDEBUG_DRV	"/sys/bus/pseudo/drivers/scsi_debug/"

/* Writes VAL to the attribute at PATH: 0, or -errno. */
static inline int write_attr(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	long n;

	if (fd < 0)
		return -errno;
	n = rv(write(fd, val, strlen(val)));
	close(fd);
	return n < 0 ? n : 0;
}

/*
 * Sets scsi_debug's ATTR. delay and ndelay refuse (EBUSY) to change while
 * commands are queued, so this retries for up to WAIT_MS.
 */
static inline int sdebug_set_within(const char *attr, const char *val,
				    long wait_ms)
{
	char path[PATH_MAX];
	long end = now_ms() + wait_ms;
	int r;

	snprintf(path, sizeof(path), SDEBUG_DRV "%s", attr);
	do {
		r = write_attr(path, val);
		if (r != -EBUSY)
			return r;
		sleep_ms(10);
	} while (now_ms() < end);
	return r;
}

/* Sets module parameter NAME of DRV: 0, or -errno. */
static inline int set_param(const char *drv, const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", drv, name);
	return write_attr(path, val);
}

/* sysfs attributes are space padded; compare the trimmed text. */
static inline void trim(char *s)
{
	size_t n = strlen(s);

	while (n && s[n - 1] == ' ')
		s[--n] = '\0';
}

static inline int lu_info(const char *dev, struct lu *lu)
{
	char sys[PATH_MAX], link[PATH_MAX], host[64];
	struct stat st;
	ssize_t n;

	memset(lu, 0, sizeof(*lu));
	if (stat(dev, &st) || !S_ISCHR(st.st_mode))
		return -1;
	snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u/device",
		 major(st.st_rdev), minor(st.st_rdev));
	n = readlink(sys, link, sizeof(link) - 1);
	if (n < 0)
		return -1;
	link[n] = '\0';
	if (sscanf(basename(link), "%d:%d:%d:%d", &lu->host, &lu->chan,
		   &lu->id, &lu->lun) != 4)
		return -1;
	lu->type = read_num("%s/type", sys);
	lu->queue_depth = read_num("%s/queue_depth", sys);
	snprintf(host, sizeof(host), "%d", lu->host);
	lu->cmd_per_lun = read_num("/sys/class/scsi_host/host%s/cmd_per_lun",
				   host);
	lu->unique_id = read_num("/sys/class/scsi_host/host%s/unique_id",
				 host);
	if (read_str(lu->vendor, sizeof(lu->vendor), "%s/vendor", sys) ||
	    read_str(lu->model, sizeof(lu->model), "%s/model", sys))
		return -1;
	trim(lu->vendor);
	trim(lu->model);
	return 0;
}

static inline long long sdebug_param(const char *name)
{
	return read_num("/sys/module/scsi_debug/parameters/%s", name);
}

static inline void put_be16(uint8_t *p, unsigned int v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static inline unsigned int get_be16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static inline uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static inline void rw10(uint8_t *cdb, uint8_t op, uint32_t lba,
			unsigned int nblk)
{
	memset(cdb, 0, 10);
	cdb[0] = op;
	put_be32(cdb + 2, lba);
	put_be16(cdb + 7, nblk);
}

/* Every block different and every LBA different: misplaced data shows. */
static inline void pattern(uint8_t *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (i * 31 + (i >> 9) * 7 + seed * 101) & 0xff;
}

static inline void hdr_init(struct sg_io_hdr *h, const uint8_t *cdb,
			    int cdb_len, int dir, void *buf, unsigned int len,
			    uint8_t *sense, int mx_sb_len)
{
	memset(h, 0, sizeof(*h));
	h->interface_id = 'S';
	h->dxfer_direction = dir;
	h->cmd_len = cdb_len;
	h->mx_sb_len = mx_sb_len;
	h->dxfer_len = len;
	h->dxferp = buf;
	h->cmdp = (unsigned char *)cdb;
	h->sbp = sense;
	h->timeout = 20000;
	h->pack_id = 0x1234;
	h->usr_ptr = (void *)0x5a5a5a5aUL;
	/* Junk in the outputs, so that a field the driver forgets shows. */
	h->status = 0xee;
	h->masked_status = 0xee;
	h->msg_status = 0xee;
	h->sb_len_wr = 0xee;
	h->host_status = 0xeeee;
	h->driver_status = 0xeeee;
	h->resid = -2;
	h->info = 0xeeeeeeee;
}

static inline int sg_io(int fd, struct sg_io_hdr *h)
{
	return ioctl(fd, SG_IO, h) < 0 ? errno : 0;
}

/* SG_IO only writes the output fields back; the rest must be as given. */
static inline int inputs_kept(const struct sg_io_hdr *h,
			      const struct sg_io_hdr *in)
{
	return h->interface_id == in->interface_id &&
	       h->dxfer_direction == in->dxfer_direction &&
	       h->cmd_len == in->cmd_len && h->mx_sb_len == in->mx_sb_len &&
	       h->iovec_count == in->iovec_count &&
	       h->dxfer_len == in->dxfer_len && h->dxferp == in->dxferp &&
	       h->cmdp == in->cmdp && h->sbp == in->sbp &&
	       h->timeout == in->timeout && h->flags == in->flags &&
	       h->pack_id == in->pack_id && h->usr_ptr == in->usr_ptr;
}

/* A fresh LU reports a unit attention first; take it through this node. */
static inline int clear_ua(const char *path)
{
	struct sg_io_hdr h;
	uint8_t sense[32];
	int fd, i, ret = -1;

	fd = open(path, O_RDWR);
	if (fd < 0)
		return -1;
	for (i = 0; i < 5; i++) {
		hdr_init(&h, tur_cdb, 6, SG_DXFER_NONE, NULL, 0, sense,
			 sizeof(sense));
		if (sg_io(fd, &h))
			break;
		if (!h.status) {
			ret = 0;
			break;
		}
	}
	close(fd);
	return ret;
}

#endif /* RSG_TEST_H */
