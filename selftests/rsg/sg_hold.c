// SPDX-License-Identifier: GPL-2.0
/*
 * Hold an sg/rsg node open across an event, then report how the fd behaves.
 *
 * usage: sg_hold [-w] DEV
 *
 * Opens DEV O_RDWR and prints "open". With -w it then waits for SIGUSR1
 * (the caller removes the device meanwhile). It then prints one line per
 * operation, "NAME ERRNO" with 0 for success:
 *
 *	SG_IO <errno>		TEST UNIT READY
 *	SG_GET_SCSI_ID <errno>
 *	SG_EMULATED_HOST <errno>
 *	SCSI_IOCTL_GET_IDLUN <errno>
 *	SG_GET_VERSION_NUM <errno>
 *	close <errno>
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <scsi/scsi.h>
#include <scsi/sg.h>

static int result(int r)
{
	return r < 0 ? errno : 0;
}

int main(int argc, char **argv)
{
	unsigned char cdb[6] = { 0 }, sense[32], buf[64];
	struct sg_io_hdr h;
	int wait = 0, fd, sig;
	sigset_t set;

	if (argc > 1 && !strcmp(argv[1], "-w")) {
		wait = 1;
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: sg_hold [-w] DEV\n");
		return 2;
	}

	/* Block the signal before announcing, so none is lost. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);

	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		printf("open %d\n", errno);
		return 1;
	}
	printf("open\n");
	fflush(stdout);
	if (wait && sigwait(&set, &sig))
		return 1;

	memset(&h, 0, sizeof(h));
	h.interface_id = 'S';
	h.dxfer_direction = SG_DXFER_NONE;
	h.cmd_len = sizeof(cdb);
	h.cmdp = cdb;
	h.mx_sb_len = sizeof(sense);
	h.sbp = sense;
	h.timeout = 20000;
	printf("SG_IO %d\n", result(ioctl(fd, SG_IO, &h)));
	printf("SG_GET_SCSI_ID %d\n", result(ioctl(fd, SG_GET_SCSI_ID, buf)));
	printf("SG_EMULATED_HOST %d\n",
	       result(ioctl(fd, SG_EMULATED_HOST, buf)));
	printf("SCSI_IOCTL_GET_IDLUN %d\n",
	       result(ioctl(fd, SCSI_IOCTL_GET_IDLUN, buf)));
	printf("SG_GET_VERSION_NUM %d\n",
	       result(ioctl(fd, SG_GET_VERSION_NUM, buf)));
	printf("close %d\n", result(close(fd)));
	return 0;
}
