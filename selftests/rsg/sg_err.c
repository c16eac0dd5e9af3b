// SPDX-License-Identifier: GPL-2.0
/*
 * Send one SCSI command through an sg/rsg node and print every output
 * field the driver reports, so that the error paths of two drivers can be
 * compared byte for byte (sg_raw shows neither resid nor the v2 header).
 *
 * usage: sg_err [-m io|async|v2] [-r LEN] [-w LEN] [-s MX_SB_LEN]
 *               [-t TIMEOUT_MS] [-o FILE] [-p LBA] DEV CDB-BYTE...
 *
 *   -m io     ioctl(SG_IO) with a v3 header (default)
 *   -m async  v3 header through write() and read()
 *   -m v2     struct sg_header through write() and read()
 *   -r LEN    data in: LEN bytes, pre-filled with 0xa5 so that bytes the
 *             driver leaves alone stay visible
 *   -w LEN    data out: LEN bytes of a fixed pattern
 *   -s N      mx_sb_len (v3 only, default 32)
 *   -t MS     timeout (v3 only, default 60000)
 *   -o FILE   write the whole data-in buffer to FILE
 *   -p LBA    first WRITE(10) the -r length of 0x3c bytes at LBA through
 *             SG_IO on the same fd, so that a reused kernel buffer holds
 *             known bytes
 *
 * Output (duration left out, it differs from run to run):
 *   ret=<syscall result or -errno>
 *   v3: status masked_status msg_status host_status driver_status
 *       sb_len_wr resid info pack_id, then mx_sb_len sense bytes
 *   v2: read count, result, target_status, host_status, driver_status,
 *       then the 16 sense bytes
 * Exit status: 0 when the syscalls succeeded, 1 otherwise, 2 on usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <scsi/sg.h>

#define MAX_CDB 32
#define MAX_SENSE 255

static void usage(void)
{
	fprintf(stderr,
		"usage: sg_err [-m io|async|v2] [-r LEN] [-w LEN] [-s MX_SB_LEN]\n"
		"              [-t TIMEOUT_MS] [-o FILE] [-p LBA] DEV CDB-BYTE...\n");
	exit(2);
}

static void hex(const char *name, const unsigned char *p, int n)
{
	int i;

	printf("%s=", name);
	for (i = 0; i < n; i++)
		printf("%s%02x", i ? " " : "", p[i]);
	printf("\n");
}

static int save(const char *file, const unsigned char *p, size_t n)
{
	FILE *f;

	if (!file)
		return 0;
	f = fopen(file, "w");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(file);
		return 1;
	}
	return 0;
}

static int prime(int fd, unsigned int lba, int len)
{
	unsigned char cdb[10] = { 0x2a }, sense[32], *buf;
	struct sg_io_hdr h;
	int r;

	buf = malloc(len);
	if (!buf)
		return 1;
	memset(buf, 0x3c, len);
	cdb[2] = lba >> 24;
	cdb[3] = lba >> 16;
	cdb[4] = lba >> 8;
	cdb[5] = lba;
	cdb[7] = (len / 512) >> 8;
	cdb[8] = len / 512;
	memset(&h, 0, sizeof(h));
	h.interface_id = 'S';
	h.cmdp = cdb;
	h.cmd_len = sizeof(cdb);
	h.sbp = sense;
	h.mx_sb_len = sizeof(sense);
	h.timeout = 60000;
	h.dxfer_direction = SG_DXFER_TO_DEV;
	h.dxfer_len = len;
	h.dxferp = buf;
	r = ioctl(fd, SG_IO, &h);
	printf("prime=%d status=0x%02x host_status=0x%04x\n",
	       r < 0 ? -errno : r, h.status, h.host_status);
	free(buf);
	return r < 0;
}

static int v3(int fd, int async, unsigned char *cdb, int cdb_len,
	      unsigned char *data, int din, int dout, int mx_sb_len,
	      unsigned int timeout)
{
	unsigned char sense[MAX_SENSE];
	struct sg_io_hdr h;
	int r;

	memset(sense, 0, sizeof(sense));
	memset(&h, 0, sizeof(h));
	h.interface_id = 'S';
	h.cmdp = cdb;
	h.cmd_len = cdb_len;
	h.sbp = sense;
	h.mx_sb_len = mx_sb_len;
	h.timeout = timeout;
	h.pack_id = 7;
	if (din) {
		h.dxfer_direction = SG_DXFER_FROM_DEV;
		h.dxfer_len = din;
		h.dxferp = data;
	} else if (dout) {
		h.dxfer_direction = SG_DXFER_TO_DEV;
		h.dxfer_len = dout;
		h.dxferp = data;
	} else {
		h.dxfer_direction = SG_DXFER_NONE;
	}

	if (!async) {
		r = ioctl(fd, SG_IO, &h);
	} else {
		r = write(fd, &h, sizeof(h));
		if (r >= 0)
			r = read(fd, &h, sizeof(h));
	}
	printf("ret=%d\n", r < 0 ? -errno : r);
	if (r < 0)
		return 1;
	printf("status=0x%02x masked_status=0x%02x msg_status=0x%02x\n",
	       h.status, h.masked_status, h.msg_status);
	printf("host_status=0x%04x driver_status=0x%04x\n",
	       h.host_status, h.driver_status);
	printf("sb_len_wr=%d resid=%d info=0x%x pack_id=%d\n",
	       h.sb_len_wr, h.resid, h.info, h.pack_id);
	/* Bytes past sb_len_wr too: a driver must not write there. */
	hex("sense", sense, mx_sb_len > 0 ? mx_sb_len : 0);
	return 0;
}

static int v2(int fd, unsigned char *cdb, int cdb_len, unsigned char *data,
	      int din, int dout)
{
	size_t hl = sizeof(struct sg_header);
	unsigned char *wbuf, *rbuf;
	struct sg_header *h;
	int r;

	wbuf = calloc(1, hl + cdb_len + dout);
	rbuf = malloc(hl + din);
	if (!wbuf || !rbuf)
		return 1;
	h = (struct sg_header *)wbuf;
	h->reply_len = hl + din;
	h->pack_id = 7;
	memcpy(wbuf + hl, cdb, cdb_len);
	memcpy(wbuf + hl + cdb_len, data, dout);
	r = write(fd, wbuf, hl + cdb_len + dout);
	printf("write=%d\n", r < 0 ? -errno : r);
	if (r < 0)
		return 1;
	memset(rbuf, 0xa5, hl + din);
	r = read(fd, rbuf, hl + din);
	printf("ret=%d\n", r < 0 ? -errno : r);
	if (r < 0)
		return 1;
	h = (struct sg_header *)rbuf;
	printf("pack_len=%d reply_len=%d pack_id=%d result=%d twelve_byte=%d\n",
	       h->pack_len, h->reply_len, h->pack_id, h->result,
	       h->twelve_byte);
	printf("target_status=0x%02x host_status=0x%02x driver_status=0x%02x\n",
	       h->target_status, h->host_status, h->driver_status);
	hex("sense", h->sense_buffer, sizeof(h->sense_buffer));
	memcpy(data, rbuf + hl, din);
	return 0;
}

int main(int argc, char **argv)
{
	int din = 0, dout = 0, mx_sb_len = 32, cdb_len = 0, fd, c, rc, i;
	unsigned int timeout = 60000, prime_lba = 0;
	int do_prime = 0;
	unsigned char cdb[MAX_CDB], *data;
	const char *mode = "io", *out = NULL;
	char *end;

	while ((c = getopt(argc, argv, "m:r:w:s:t:o:p:")) != -1) {
		switch (c) {
		case 'm':
			mode = optarg;
			break;
		case 'r':
			din = atoi(optarg);
			break;
		case 'w':
			dout = atoi(optarg);
			break;
		case 's':
			mx_sb_len = atoi(optarg);
			break;
		case 't':
			timeout = strtoul(optarg, NULL, 0);
			break;
		case 'o':
			out = optarg;
			break;
		case 'p':
			prime_lba = strtoul(optarg, NULL, 0);
			do_prime = 1;
			break;
		default:
			usage();
		}
	}
	if (optind + 2 > argc || (din && dout) || din < 0 || dout < 0 ||
	    mx_sb_len < 0 || mx_sb_len > MAX_SENSE)
		usage();
	for (i = optind + 1; i < argc; i++) {
		if (cdb_len == MAX_CDB)
			usage();
		cdb[cdb_len++] = strtoul(argv[i], &end, 16);
		if (*end)
			usage();
	}

	data = malloc(din + dout + 1);
	if (!data)
		return 1;
	memset(data, 0xa5, din);
	for (i = 0; i < dout; i++)
		data[i] = i * 7 + 3;

	fd = open(argv[optind], O_RDWR);
	if (fd < 0) {
		printf("open=%d\n", -errno);
		return 1;
	}
	if (do_prime && (din < 512 || prime(fd, prime_lba, din)))
		return 1;
	if (!strcmp(mode, "io"))
		rc = v3(fd, 0, cdb, cdb_len, data, din, dout, mx_sb_len,
			timeout);
	else if (!strcmp(mode, "async"))
		rc = v3(fd, 1, cdb, cdb_len, data, din, dout, mx_sb_len,
			timeout);
	else if (!strcmp(mode, "v2"))
		rc = v2(fd, cdb, cdb_len, data, din, dout);
	else
		usage();
	if (!rc && din)
		rc = save(out, data, din);
	close(fd);
	return rc;
}
