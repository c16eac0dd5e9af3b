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

#endif /* _UAPI_SCSI_RSG_H */
