/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * rsg's asynchronous queue/get interface, after FreeBSD pass(4)'s
 * CAMIOQUEUE/CAMIOGET: queue many SCSI commands on an rsg file, reap their
 * completions in any order, in batches, and cancel one by its tag.
 *
 * Requests are sg v3 headers (struct sg_io_hdr from <scsi/sg.h>), with data
 * as one buffer or an iovec list (iovec_count), either direction. The
 * caller's usr_ptr is the request's tag: it comes back unchanged with the
 * completion and names the request to RSG_IOCANCEL. pack_id also comes back.
 *
 * See Documentation/rsg-queue.rst.
 */
#ifndef _UAPI_SCSI_RSG_H
#define _UAPI_SCSI_RSG_H

#include <linux/ioctl.h>
#include <linux/types.h>
#include <scsi/sg.h>

/* A batch of headers at `hdrs` (an array of struct sg_io_hdr). */
struct rsg_batch {
	__u64 hdrs;	/* user address of the array */
	__u32 count;	/* in: entries in the array */
	__u32 flags;	/* RSG_BATCH_* */
	__u32 done;	/* out: entries queued, or completions returned */
	__u32 timeout_ms; /* RSG_BATCH_WAIT: longest wait; 0 waits forever */
};

/* RSG_IOGET_BATCH: wait until at least one completion is ready. */
#define RSG_BATCH_WAIT		0x1

/* A request to cancel, named by the usr_ptr it was queued with. */
struct rsg_cancel {
	__u64 tag;
	__u32 flags;	/* none defined; must be 0 */
	__u32 reserved;
};

#define RSG_IOC_TYPE		0x22	/* SCSI generic's, past sg's numbers */

/* Queue one request; returns once it is started. */
#define RSG_IOQUEUE		_IOW(RSG_IOC_TYPE, 0xa0, struct sg_io_hdr)
/* Return one completion; EAGAIN when none is ready. */
#define RSG_IOGET		_IOR(RSG_IOC_TYPE, 0xa1, struct sg_io_hdr)
/* Queue `count` requests; `done` says how many were queued before an error. */
#define RSG_IOQUEUE_BATCH	_IOWR(RSG_IOC_TYPE, 0xa2, struct rsg_batch)
/* Return up to `count` completions; EAGAIN when none is ready. */
#define RSG_IOGET_BATCH		_IOWR(RSG_IOC_TYPE, 0xa3, struct rsg_batch)
/* Abort the queued request tagged `tag`; ENOENT when none is outstanding. */
#define RSG_IOCANCEL		_IOW(RSG_IOC_TYPE, 0xa4, struct rsg_cancel)
/* The queue depth: requests this file may have outstanding (int). */
#define RSG_GET_QUEUE_DEPTH	_IOR(RSG_IOC_TYPE, 0xa5, int)

/*
 * io_uring passthrough: IORING_OP_URING_CMD on an rsg file, cmd_op
 * RSG_URING_CMD_IO, on a ring set up with IORING_SETUP_SQE128 (the payload
 * below fills the 80 bytes from sqe->cmd). With IORING_SETUP_CQE32 the
 * first extra CQE word carries the SCSI result (RSG_URING_* accessors
 * below); cqe->res is 0 or -errno. See Documentation/rsg-uring.rst.
 */
struct rsg_uring_cmd {
	__u64 cdb;		/* user address of the CDB */
	__u64 data;		/* data buffer, or iovec array when iovec_count;
				 * with IORING_URING_CMD_FIXED, an address in
				 * the registered buffer sqe->buf_index */
	__u64 sense;		/* sense buffer, or 0 */
	__u64 tag;		/* caller's tag: RSG_URING_CMD_CANCEL names it */
	__u64 resp;		/* struct rsg_uring_resp to fill, or 0 */
	__u32 data_len;		/* bytes of data (total of the iovecs) */
	__u32 timeout_ms;	/* 0: the queue's default */
	__u32 flags;		/* RSG_URING_F_* */
	__u16 iovec_count;	/* entries at `data`; 0: one buffer */
	__u8 cdb_len;		/* 6..32 */
	__u8 dir;		/* RSG_URING_DIR_* */
	__u8 sense_len;		/* bytes at `sense` */
	__u8 pad[7];		/* must be 0 */
	__u64 reserved[2];	/* must be 0 */
};

#define RSG_URING_DIR_NONE	0
#define RSG_URING_DIR_TO_DEV	1	/* data-out (WRITE) */
#define RSG_URING_DIR_FROM_DEV	2	/* data-in (READ) */

/* Plain buffers only: map the caller's pages, as SG_FLAG_DIRECT_IO. */
#define RSG_URING_F_DIRECT_IO	0x1
/* Queue at the tail, as SG_FLAG_Q_AT_TAIL (the default is the head). */
#define RSG_URING_F_Q_AT_TAIL	0x10

/* Cancel the running command tagged `tag` (cmd_op RSG_URING_CMD_CANCEL);
 * 16 bytes, so 64-byte SQEs carry it too. cqe->res: 0 or -ENOENT. */
struct rsg_uring_cancel {
	__u64 tag;
	__u32 flags;		/* none defined; must be 0 */
	__u32 reserved;		/* must be 0 */
};

/* The full response, written before the CQE when rsg_uring_cmd.resp != 0. */
struct rsg_uring_resp {
	__u64 tag;
	__s32 resid;
	__u32 duration;		/* ms from submission to completion */
	__u32 info;		/* SG_INFO_* */
	__u16 host_status;
	__u16 driver_status;
	__u8 status;
	__u8 masked_status;
	__u8 msg_status;
	__u8 sb_len_wr;		/* sense bytes written */
	__u32 reserved;
};

#define RSG_URING_CMD_IO	_IOWR(RSG_IOC_TYPE, 0xb0, struct rsg_uring_cmd)
#define RSG_URING_CMD_CANCEL	_IOW(RSG_IOC_TYPE, 0xb1, struct rsg_uring_cancel)

/*
 * The first extra word of a 32-byte CQE: bits 0-7 SCSI status, 8-15 host
 * status, 16-23 driver status, 24-31 sense bytes written, 32-63 resid.
 * Linux 6.12 carries only one extra word; duration is in rsg_uring_resp.
 */
#define RSG_URING_STATUS(x)		((__u8)(x))
#define RSG_URING_MASKED_STATUS(x)	(((__u8)(x) >> 1) & 0x7f)
#define RSG_URING_HOST_STATUS(x)	((__u8)((x) >> 8))
#define RSG_URING_DRIVER_STATUS(x)	((__u8)((x) >> 16))
#define RSG_URING_SB_LEN_WR(x)		((__u8)((x) >> 24))
#define RSG_URING_RESID(x)		((__s32)((__u64)(x) >> 32))

#endif /* _UAPI_SCSI_RSG_H */
