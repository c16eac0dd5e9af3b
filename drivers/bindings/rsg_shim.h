/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What rsg's Rust code calls in C that the kernel crate's bindings lack:
 * exported SCSI and cdev functions, and wrappers for static inlines, macros
 * and struct fields. Only forward declarations and plain C types appear here,
 * so bindgen needs no kernel headers; rsg_shim.c includes the real headers
 * first, so the compiler checks every prototype below against them.
 */
#ifndef RSG_SHIM_H
#define RSG_SHIM_H

struct cdev;
struct class_interface;
struct device;
struct file;
struct module;
struct page;
struct request;
struct request_queue;
struct scsi_cmnd;
struct scsi_device;
struct sg_io_hdr;
struct spinlock;
struct poll_table_struct;
struct wait_queue_head;

/* Exported kernel functions outside the kernel crate's bindings. */
struct cdev *cdev_alloc(void);
int cdev_add(struct cdev *p, unsigned int dev, unsigned int count);
void cdev_del(struct cdev *p);
int scsi_register_interface(struct class_interface *intf);
int scsi_device_get(struct scsi_device *sdev);
void scsi_device_put(struct scsi_device *sdev);
int scsi_block_when_processing_errors(struct scsi_device *sdev);
int scsi_ioctl(struct scsi_device *sdev, bool open_for_write, int cmd,
	       void *arg);
int scsi_ioctl_block_when_processing_errors(struct scsi_device *sdev, int cmd,
					    bool ndelay);
struct request *scsi_alloc_request(struct request_queue *q, unsigned int opf,
				   unsigned int flags);
int get_sg_io_hdr(struct sg_io_hdr *hdr, const void *argp);
int put_sg_io_hdr(const struct sg_io_hdr *hdr, void *argp);
int rsg_put_sg_io_hdr_outputs(const struct sg_io_hdr *hdr, void *argp);
bool scsi_cmd_allowed(unsigned char *cmd, bool open_for_write);

void rsg_cdev_set_ops(struct cdev *cdev, const void *fops, struct module *owner);

/* A class whose devices, named sgN, get /dev nodes named rsgN. */
struct class;
void rsg_class_set_rsg_nodes(struct class *cls);

void rsg_poll_wait(struct file *file, struct wait_queue_head *wq,
		   struct poll_table_struct *pt);

/* /proc entries: a seq_file shown by show(), written through write(). */
struct seq_file;
struct proc_dir_entry;
struct rsg_proc_entry {
	int (*show)(struct seq_file *m, void *v);
	long (*write)(const char *ubuf, unsigned long count);
};

struct proc_dir_entry *rsg_proc_mkdir(const char *path);
struct proc_dir_entry *rsg_proc_create(const char *name, unsigned short mode,
				       struct proc_dir_entry *parent,
				       const struct rsg_proc_entry *entry);
void rsg_proc_remove(const char *path);
bool rsg_proc_symlink(const char *path, const char *dest);

/* Memory maps. */
struct vm_area_struct;
struct vm_fault;
unsigned long rsg_vma_start(struct vm_area_struct *vma);
unsigned long rsg_vma_end(struct vm_area_struct *vma);
unsigned long rsg_vma_pgoff(struct vm_area_struct *vma);
void rsg_vma_set_io(struct vm_area_struct *vma, const void *ops);
struct vm_area_struct *rsg_vmf_vma(struct vm_fault *vmf);
unsigned long rsg_vmf_pgoff(struct vm_fault *vmf);
void rsg_vmf_set_page(struct vm_fault *vmf, struct page *page,
		      unsigned long n);
struct file *rsg_vma_file(struct vm_area_struct *vma);

/* The driver's own workqueue. */
struct workqueue_struct;
struct workqueue_struct *rsg_alloc_workqueue(const char *name);

/* Locking. */
unsigned long rsg_spin_lock_irqsave(struct spinlock *lock);
void rsg_spin_unlock_irqrestore(struct spinlock *lock, unsigned long flags);
void rsg_table_lock(void);
void rsg_table_unlock(void);

/* Files and the calling task. */
bool rsg_file_cred_is_current(const struct file *file);
bool rsg_in_compat_syscall(void);
bool rsg_current_has_mm(void);
unsigned long rsg_msecs_to_jiffies(unsigned int ms);
unsigned int rsg_jiffies_msecs(void);
int rsg_user_hz(void);
int rsg_hz(void);
int rsg_put_user_int(int *uptr, int val);

/* SCSI devices. */
struct scsi_device *rsg_to_scsi_device(struct device *dev);
struct device *rsg_sdev_gendev(struct scsi_device *sdev);
struct request_queue *rsg_sdev_queue(struct scsi_device *sdev);
unsigned int rsg_sdev_host_no(struct scsi_device *sdev);
unsigned int rsg_sdev_channel(struct scsi_device *sdev);
unsigned int rsg_sdev_id(struct scsi_device *sdev);
unsigned long long rsg_sdev_lun(struct scsi_device *sdev);
int rsg_sdev_type(struct scsi_device *sdev);
short rsg_sdev_cmd_per_lun(struct scsi_device *sdev);
short rsg_sdev_queue_depth(struct scsi_device *sdev);
int rsg_sdev_emulated(struct scsi_device *sdev);
int rsg_sdev_busy(struct scsi_device *sdev);
bool rsg_sdev_online(struct scsi_device *sdev);
const char *rsg_sdev_vendor(struct scsi_device *sdev);
const char *rsg_sdev_model(struct scsi_device *sdev);
const char *rsg_sdev_rev(struct scsi_device *sdev);
void rsg_sdev_set_changed(struct scsi_device *sdev);
bool rsg_sdev_removable(struct scsi_device *sdev);

/* Request queues. */
unsigned int rsg_queue_max_segments(struct request_queue *q);
unsigned int rsg_queue_max_sectors(struct request_queue *q);
bool rsg_queue_aligned(struct request_queue *q, unsigned long addr,
		       unsigned int len);
int rsg_blktrace_ioctl(struct request_queue *q, const char *name,
		       unsigned int devt, unsigned int cmd, void *arg);
void rsg_blktrace_remove(struct request_queue *q);
bool rsg_queue_get(struct request_queue *q);
void rsg_queue_put(struct request_queue *q);

/* Block requests carrying SCSI commands. */
#define RSG_SENSE_BUFFERSIZE 96
#define RSG_MAX_CDB 32
void rsg_rq_abort(struct request *rq);
void rsg_rq_execute(struct request *rq, bool at_head);
int rsg_rq_set_cdb(struct request *rq, const unsigned char *cdb,
		   unsigned int len);
void rsg_rq_set_retries(struct request *rq, int retries);
const unsigned char *rsg_rq_outcome(struct request *rq, int *result,
				    unsigned int *resid);

/* io_uring commands (IORING_OP_URING_CMD). */
struct io_uring_cmd;
struct iov_iter;
#define RSG_URING_F_NONBLOCK 0x80000000U
#define RSG_URING_F_SQE128 0x100
#define RSG_URING_F_COMPAT 0x1000
#define RSG_URING_F_CANCEL 0x800
#define RSG_URING_F_TASK_DEAD 0x2000
#define RSG_URING_CMD_FIXED 0x1
#define RSG_URING_PDU_SIZE 32
#define RSG_URING_CMD_SIZE 80
void io_uring_cmd_done(struct io_uring_cmd *cmd, long ret, unsigned long long res2,
		       unsigned int issue_flags);
void io_uring_cmd_mark_cancelable(struct io_uring_cmd *cmd,
				  unsigned int issue_flags);
int io_uring_cmd_import_fixed(unsigned long long ubuf, unsigned long len,
			      int rw, struct iov_iter *iter, void *ioucmd);
unsigned int rsg_uring_cmd_op(struct io_uring_cmd *cmd);
unsigned int rsg_uring_cmd_flags(struct io_uring_cmd *cmd);
struct file *rsg_uring_cmd_file(struct io_uring_cmd *cmd);
const void *rsg_uring_cmd_payload(struct io_uring_cmd *cmd);
void *rsg_uring_cmd_pdu(struct io_uring_cmd *cmd);
void rsg_uring_cmd_complete_in_task(struct io_uring_cmd *cmd,
				    void (*cb)(struct io_uring_cmd *cmd,
					       unsigned int issue_flags));

/* Pages. */
struct page *rsg_alloc_pages(unsigned int gfp, unsigned int order);
void *rsg_page_address(struct page *page);
unsigned int rsg_gfp_buffer(void);
void rsg_clear_pages(struct page *page, unsigned int first, unsigned int n);
unsigned int rsg_page_order(struct page *page);

/* Module parameters (the Rust `module!` of 6.12 has none). */
int rsg_param_major(void);
int rsg_param_def_reserved_size(void);
int rsg_param_scatter_elem_sz(void);
int rsg_param_allow_dio(void);
int rsg_param_queue_depth(void);
int rsg_param_kept_buffer_kb(void);
void rsg_param_set_allow_dio(int val);

#endif
