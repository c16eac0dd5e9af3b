// SPDX-License-Identifier: GPL-2.0
/*
 * Thin C wrappers for rsg: static inlines, macros and struct fields that Rust
 * cannot reach. No logic lives here.
 */
#include <linux/blkdev.h>
#include <linux/blktrace_api.h>
#include <linux/blk-mq.h>
#include <linux/cdev.h>
#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/io_uring/cmd.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_driver.h>
#include <scsi/scsi_eh.h>
#include <scsi/scsi_host.h>
#include <scsi/scsi_ioctl.h>
#include <scsi/sg.h>

#include "rsg_shim.h"

static_assert(SCSI_SENSE_BUFFERSIZE == RSG_SENSE_BUFFERSIZE);
static_assert(sizeof_field(struct scsi_cmnd, cmnd) == RSG_MAX_CDB);
static_assert(sizeof(struct sg_io_hdr) == 88);

/*
 * Writes the output fields of a v3 header (status to info), which follow
 * every input field, to the header at argp: for SG_IO, whose header there
 * still holds the inputs it was read from. A 32-bit caller's is written
 * whole, converted.
 */
int rsg_put_sg_io_hdr_outputs(const struct sg_io_hdr *hdr, void __user *argp)
{
	const size_t from = offsetof(struct sg_io_hdr, status);

	if (in_compat_syscall())
		return put_sg_io_hdr(hdr, argp);
	if (copy_to_user(argp + from, (const void *)hdr + from, sizeof(*hdr) - from))
		return -EFAULT;
	return 0;
}

void rsg_cdev_set_ops(struct cdev *cdev, const void *fops, struct module *owner)
{
	cdev->ops = fops;
	cdev->owner = owner;
}

static char *rsg_node_name(const struct device *dev, umode_t *mode)
{
	return kasprintf(GFP_KERNEL, "r%s", dev_name(dev));
}

/*
 * In sg's class the devices carry sg's names, which tools that walk sysfs
 * look for, while their nodes keep rsg's.
 */
void rsg_class_set_rsg_nodes(struct class *cls)
{
	cls->devnode = rsg_node_name;
}

void rsg_poll_wait(struct file *file, struct wait_queue_head *wq,
		   struct poll_table_struct *pt)
{
	poll_wait(file, wq, pt);
}

struct proc_dir_entry *rsg_proc_mkdir(const char *path)
{
	return proc_mkdir(path, NULL);
}

static int rsg_proc_open(struct inode *inode, struct file *file)
{
	const struct rsg_proc_entry *entry = pde_data(inode);

	return single_open(file, entry->show, NULL);
}

static ssize_t rsg_proc_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *off)
{
	const struct rsg_proc_entry *entry = pde_data(file_inode(file));

	if (!entry->write)
		return -EIO;
	return entry->write(ubuf, count);
}

static const struct proc_ops rsg_proc_ops = {
	.proc_open = rsg_proc_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_write = rsg_proc_write,
	.proc_release = single_release,
};

struct proc_dir_entry *rsg_proc_create(const char *name, unsigned short mode,
				       struct proc_dir_entry *parent,
				       const struct rsg_proc_entry *entry)
{
	return proc_create_data(name, mode, parent, &rsg_proc_ops,
				(void *)entry);
}

bool rsg_proc_symlink(const char *path, const char *dest)
{
	return proc_symlink(path, NULL, dest);
}

void rsg_proc_remove(const char *path)
{
	remove_proc_subtree(path, NULL);
}

unsigned long rsg_vma_start(struct vm_area_struct *vma)
{
	return vma->vm_start;
}

unsigned long rsg_vma_end(struct vm_area_struct *vma)
{
	return vma->vm_end;
}

unsigned long rsg_vma_pgoff(struct vm_area_struct *vma)
{
	return vma->vm_pgoff;
}

void rsg_vma_set_io(struct vm_area_struct *vma, const void *ops)
{
	vm_flags_set(vma, VM_IO | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = ops;
}

struct vm_area_struct *rsg_vmf_vma(struct vm_fault *vmf)
{
	return vmf->vma;
}

unsigned long rsg_vmf_pgoff(struct vm_fault *vmf)
{
	return vmf->pgoff;
}

void rsg_vmf_set_page(struct vm_fault *vmf, struct page *page,
		      unsigned long n)
{
	struct page *p = nth_page(page, n);

	get_page(p);
	vmf->page = p;
}

struct file *rsg_vma_file(struct vm_area_struct *vma)
{
	return vma->vm_file;
}

struct workqueue_struct *rsg_alloc_workqueue(const char *name)
{
	return alloc_workqueue("%s", WQ_MEM_RECLAIM, 0, name);
}

unsigned long rsg_spin_lock_irqsave(struct spinlock *lock)
{
	unsigned long flags;

	spin_lock_irqsave(lock, flags);
	return flags;
}

void rsg_spin_unlock_irqrestore(struct spinlock *lock, unsigned long flags)
{
	spin_unlock_irqrestore(lock, flags);
}

static DEFINE_MUTEX(rsg_table_mutex);

void rsg_table_lock(void)
{
	mutex_lock(&rsg_table_mutex);
}

void rsg_table_unlock(void)
{
	mutex_unlock(&rsg_table_mutex);
}

bool rsg_file_cred_is_current(const struct file *file)
{
	return file->f_cred == current_real_cred();
}

bool rsg_in_compat_syscall(void)
{
	return in_compat_syscall();
}

bool rsg_current_has_mm(void)
{
	return current->mm;
}

unsigned long rsg_msecs_to_jiffies(unsigned int ms)
{
	return msecs_to_jiffies(ms);
}

unsigned int rsg_jiffies_msecs(void)
{
	return jiffies_to_msecs(jiffies);
}

int rsg_user_hz(void)
{
	return USER_HZ;
}

int rsg_hz(void)
{
	return HZ;
}

/* One store: a value straddling into an unmapped page is not half written. */
int rsg_put_user_int(int __user *uptr, int val)
{
	return put_user(val, uptr);
}

struct scsi_device *rsg_to_scsi_device(struct device *dev)
{
	return to_scsi_device(dev);
}

struct device *rsg_sdev_gendev(struct scsi_device *sdev)
{
	return &sdev->sdev_gendev;
}

struct request_queue *rsg_sdev_queue(struct scsi_device *sdev)
{
	return sdev->request_queue;
}

unsigned int rsg_sdev_host_no(struct scsi_device *sdev)
{
	return sdev->host->host_no;
}

unsigned int rsg_sdev_channel(struct scsi_device *sdev)
{
	return sdev->channel;
}

unsigned int rsg_sdev_id(struct scsi_device *sdev)
{
	return sdev->id;
}

unsigned long long rsg_sdev_lun(struct scsi_device *sdev)
{
	return sdev->lun;
}

int rsg_sdev_type(struct scsi_device *sdev)
{
	return sdev->type;
}

short rsg_sdev_cmd_per_lun(struct scsi_device *sdev)
{
	return sdev->host->cmd_per_lun;
}

short rsg_sdev_queue_depth(struct scsi_device *sdev)
{
	return sdev->queue_depth;
}

int rsg_sdev_emulated(struct scsi_device *sdev)
{
	return sdev->host->hostt->emulated;
}

int rsg_sdev_busy(struct scsi_device *sdev)
{
	return scsi_device_busy(sdev);
}

bool rsg_sdev_online(struct scsi_device *sdev)
{
	return scsi_device_online(sdev);
}

const char *rsg_sdev_vendor(struct scsi_device *sdev)
{
	return sdev->vendor;
}

const char *rsg_sdev_model(struct scsi_device *sdev)
{
	return sdev->model;
}

const char *rsg_sdev_rev(struct scsi_device *sdev)
{
	return sdev->rev;
}

void rsg_sdev_set_changed(struct scsi_device *sdev)
{
	sdev->changed = 1;
}

bool rsg_sdev_removable(struct scsi_device *sdev)
{
	return sdev->removable;
}

unsigned int rsg_queue_max_segments(struct request_queue *q)
{
	return queue_max_segments(q);
}

unsigned int rsg_queue_max_sectors(struct request_queue *q)
{
	return queue_max_sectors(q);
}

bool rsg_queue_aligned(struct request_queue *q, unsigned long addr,
		       unsigned int len)
{
	return blk_rq_aligned(q, addr, len);
}

/* sg's blktrace ioctls on the device's queue; -ENOIOCTLCMD for others. */
int rsg_blktrace_ioctl(struct request_queue *q, const char *name,
		       unsigned int devt, unsigned int cmd, void *arg)
{
	char buf[BDEVNAME_SIZE];

	switch (cmd) {
	case BLKTRACESETUP:
		strscpy(buf, name, sizeof(buf));
		return blk_trace_setup(q, buf, devt, NULL, arg);
	case BLKTRACESTART:
		return blk_trace_startstop(q, 1);
	case BLKTRACESTOP:
		return blk_trace_startstop(q, 0);
	case BLKTRACETEARDOWN:
		return blk_trace_remove(q);
	}
	return -ENOIOCTLCMD;
}

void rsg_blktrace_remove(struct request_queue *q)
{
	blk_trace_remove(q);
}

bool rsg_queue_get(struct request_queue *q)
{
	return blk_get_queue(q);
}

void rsg_queue_put(struct request_queue *q)
{
	blk_put_queue(q);
}

int rsg_rq_set_cdb(struct request *rq, const unsigned char *cdb,
		   unsigned int len)
{
	struct scsi_cmnd *scmd = blk_mq_rq_to_pdu(rq);

	if (len > sizeof(scmd->cmnd))
		return -EINVAL;
	memcpy(scmd->cmnd, cdb, len);
	scmd->cmd_len = len;
	return 0;
}

/*
 * Abort a running request. One not yet dispatched to the LLD is not in flight
 * yet; its timer is armed at dispatch from rq->timeout, so make that expire
 * at once too.
 */
void rsg_rq_abort(struct request *rq)
{
	WRITE_ONCE(rq->timeout, 1);
	blk_abort_request(rq);
}

/*
 * Starts a passthrough request. A command the LLD finished during dispatch
 * (scsi_debug with delay=0, a rejected command) has raised the block
 * softirq; running it here completes the command in this task instead of
 * leaving it to ksoftirqd while the submitter sleeps.
 */
void rsg_rq_execute(struct request *rq, bool at_head)
{
	blk_execute_rq_nowait(rq, at_head);
	local_bh_disable();
	local_bh_enable();
}

void rsg_rq_set_retries(struct request *rq, int retries)
{
	struct scsi_cmnd *scmd = blk_mq_rq_to_pdu(rq);

	scmd->allowed = retries;
}

/*
 * What a finished command reports, in one call from the completion: its
 * result word and residue, and its sense buffer if the device returned
 * sense data (NULL otherwise).
 */
const unsigned char *rsg_rq_outcome(struct request *rq, int *result,
				    unsigned int *resid)
{
	struct scsi_cmnd *scmd = blk_mq_rq_to_pdu(rq);

	*result = scmd->result;
	*resid = scmd->resid_len;
	return scmd->sense_len ? scmd->sense_buffer : NULL;
}

static_assert((unsigned int)IO_URING_F_NONBLOCK == RSG_URING_F_NONBLOCK);
static_assert(IO_URING_F_SQE128 == RSG_URING_F_SQE128);
static_assert(IO_URING_F_COMPAT == RSG_URING_F_COMPAT);
static_assert(IO_URING_F_CANCEL == RSG_URING_F_CANCEL);
static_assert(IO_URING_F_TASK_DEAD == RSG_URING_F_TASK_DEAD);
static_assert(IORING_URING_CMD_FIXED == RSG_URING_CMD_FIXED);
static_assert(sizeof_field(struct io_uring_cmd, pdu) == RSG_URING_PDU_SIZE);
static_assert(offsetof(struct io_uring_cmd, pdu) % 8 == 0);
/* The payload of a 128-byte SQE: the SQE less its first 48 bytes. */
static_assert(2 * sizeof(struct io_uring_sqe) -
	      offsetof(struct io_uring_sqe, cmd) == RSG_URING_CMD_SIZE);

unsigned int rsg_uring_cmd_op(struct io_uring_cmd *cmd)
{
	return cmd->cmd_op;
}

unsigned int rsg_uring_cmd_flags(struct io_uring_cmd *cmd)
{
	return cmd->flags;
}

struct file *rsg_uring_cmd_file(struct io_uring_cmd *cmd)
{
	return cmd->file;
}

const void *rsg_uring_cmd_payload(struct io_uring_cmd *cmd)
{
	return io_uring_sqe_cmd(cmd->sqe);
}

void *rsg_uring_cmd_pdu(struct io_uring_cmd *cmd)
{
	return cmd->pdu;
}

void rsg_uring_cmd_complete_in_task(struct io_uring_cmd *cmd,
				    void (*cb)(struct io_uring_cmd *cmd,
					       unsigned int issue_flags))
{
	io_uring_cmd_complete_in_task(cmd, cb);
}

struct page *rsg_alloc_pages(unsigned int gfp, unsigned int order)
{
	return alloc_pages((__force gfp_t)gfp, order);
}

void *rsg_page_address(struct page *page)
{
	return page_address(page);
}

/* Not zeroed: callers clear what a transfer can show (rsg_clear_pages). */
unsigned int rsg_gfp_buffer(void)
{
	return (__force unsigned int)(GFP_KERNEL | __GFP_COMP | __GFP_NOWARN);
}

void rsg_clear_pages(struct page *page, unsigned int first, unsigned int n)
{
	unsigned int i;

	for (i = first; i < first + n; i++)
		clear_highpage(page + i);
}

unsigned int rsg_page_order(struct page *page)
{
	return compound_order(page);
}

static int rsg_major = -1;
module_param_named(major, rsg_major, int, 0444);
MODULE_PARM_DESC(major, "char major: -1 takes 21 when free, else dynamic (default); 0 dynamic");

/* Sets the int parameter at kp->arg to val if it lies in [min, max]. */
static int rsg_param_set_range(const char *val, const struct kernel_param *kp,
			       int min, int max)
{
	int v, ret;

	ret = kstrtoint(val, 0, &v);
	if (ret)
		return ret;
	if (v < min || v > max)
		return -ERANGE;
	*(int *)kp->arg = v;
	return 0;
}

/* A writable int parameter that takes only values in [min, max]. */
#define RSG_PARAM_RANGE(name, var, min, max)					\
	static int name##_set(const char *val, const struct kernel_param *kp)	\
	{									\
		return rsg_param_set_range(val, kp, min, max);			\
	}									\
	static const struct kernel_param_ops name##_ops = {			\
		.set = name##_set,						\
		.get = param_get_int,						\
	};									\
	module_param_cb(name, &name##_ops, &(var), 0644)

static int rsg_def_reserved_size = 32768;
/* sg's limit: at most 1 MiB. */
RSG_PARAM_RANGE(def_reserved_size, rsg_def_reserved_size, 0, 1048576);
MODULE_PARM_DESC(def_reserved_size, "size of buffer reserved for each fd");

static int rsg_scatter_elem_sz = 32768;
module_param_named(scatter_elem_sz, rsg_scatter_elem_sz, int, 0644);
MODULE_PARM_DESC(scatter_elem_sz, "scatter gather element size (default: max(SG_SCATTER_SZ, PAGE_SIZE))");

static int rsg_allow_dio;
module_param_named(allow_dio, rsg_allow_dio, int, 0644);
MODULE_PARM_DESC(allow_dio, "allow direct I/O (default: 0 (disallow))");

MODULE_VERSION("3.5.36");

static int rsg_queue_depth = 256;

RSG_PARAM_RANGE(queue_depth, rsg_queue_depth, 1, 65536);
MODULE_PARM_DESC(queue_depth, "requests each fd may have outstanding through RSG_IOQUEUE (default 256, 1..65536)");

int rsg_param_queue_depth(void)
{
	return READ_ONCE(rsg_queue_depth);
}

static int rsg_kept_buffer_kb = 4096;

RSG_PARAM_RANGE(kept_buffer_kb, rsg_kept_buffer_kb, 0, 1048576);
MODULE_PARM_DESC(kept_buffer_kb, "KiB of retired requests' buffers each fd keeps for reuse (default 4096, 0 keeps none)");

int rsg_param_kept_buffer_kb(void)
{
	return READ_ONCE(rsg_kept_buffer_kb);
}

int rsg_param_major(void)
{
	return READ_ONCE(rsg_major);
}

int rsg_param_def_reserved_size(void)
{
	return READ_ONCE(rsg_def_reserved_size);
}

int rsg_param_scatter_elem_sz(void)
{
	return max_t(int, READ_ONCE(rsg_scatter_elem_sz), PAGE_SIZE);
}

int rsg_param_allow_dio(void)
{
	return READ_ONCE(rsg_allow_dio);
}

void rsg_param_set_allow_dio(int val)
{
	WRITE_ONCE(rsg_allow_dio, val);
}
