// SPDX-License-Identifier: GPL-2.0

//! Block-layer passthrough requests carrying SCSI commands: allocation,
//! mapping user memory through kernel pages, submission and completion.
//!
//! C headers: [`include/linux/blk-mq.h`](srctree/include/linux/blk-mq.h),
//! [`include/scsi/scsi_cmnd.h`](srctree/include/scsi/scsi_cmnd.h)

use super::bio::{user_iter, BounceBio, BounceBioSlot};
use super::pages::{PageRuns, PAGE_SIZE};
use super::sync::{new_spinlock_irq, SpinLockIrq};
use super::task;
use super::to_result;
use super::uring::FixedBuffer;
use crate::bindings as shim;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::types::{ForeignOwnable, Opaque};

/// Sense bytes a SCSI command can return (`SCSI_SENSE_BUFFERSIZE`).
pub(crate) const SENSE_BUFFERSIZE: usize = shim::RSG_SENSE_BUFFERSIZE as usize;

/// The longest CDB a `scsi_cmnd` holds.
pub(crate) const MAX_CDB: usize = shim::RSG_MAX_CDB as usize;

/// A request queue.
///
/// # Invariants
///
/// Wraps a live `struct request_queue` for the borrow's lifetime.
#[repr(transparent)]
pub(crate) struct Queue(Opaque<bindings::request_queue>);

impl Queue {
    /// Borrows a C request queue.
    ///
    /// # Safety
    ///
    /// `ptr` must be live for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::request_queue) -> &'a Self {
        // SAFETY: Transparent wrapper; the caller guarantees liveness.
        unsafe { &*ptr.cast() }
    }

    fn raw(&self) -> *mut bindings::request_queue {
        self.0.get()
    }

    /// `queue_max_segments()`.
    pub(crate) fn max_segments(&self) -> u32 {
        // SAFETY: The queue is live.
        unsafe { shim::rsg_queue_max_segments(self.raw()) }
    }

    /// Whether user memory at `addr` of `len` bytes meets the queue's DMA
    /// alignment, so it can be mapped directly (`blk_rq_aligned()`).
    pub(crate) fn dma_aligned(&self, addr: usize, len: u32) -> bool {
        // SAFETY: The queue is live; only the numbers are inspected.
        unsafe { shim::rsg_queue_aligned(self.raw(), addr as _, len) }
    }

    /// sg's blktrace ioctls (`BLKTRACESETUP` and friends) on this queue,
    /// naming the trace `name` and `devt`; `None` for other numbers.
    pub(crate) fn blktrace_ioctl(
        &self,
        name: &CStr,
        devt: u32,
        cmd: u32,
        arg: usize,
    ) -> Option<Result<isize>> {
        // SAFETY: The queue is live; `name` is a C string copied by the
        // call; `arg` is a user pointer the trace code checks.
        let ret = unsafe {
            shim::rsg_blktrace_ioctl(self.raw(), name.as_char_ptr(), devt, cmd, arg as *mut _)
        };
        if ret == -(bindings::ENOIOCTLCMD as i32) {
            None
        } else if ret < 0 {
            Some(Err(Error::from_errno(ret)))
        } else {
            Some(Ok(ret as isize))
        }
    }

    /// Stops and frees any trace set up on the queue.
    pub(crate) fn blktrace_remove(&self) {
        // SAFETY: The queue is live.
        unsafe { shim::rsg_blktrace_remove(self.raw()) }
    }

    /// `queue_max_sectors()`.
    pub(crate) fn max_sectors(&self) -> u32 {
        // SAFETY: The queue is live.
        unsafe { shim::rsg_queue_max_sectors(self.raw()) }
    }
}

/// Which way data moves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// To the device (a WRITE).
    ToDevice,
    /// From the device, or none.
    FromDevice,
}

impl Direction {
    /// The passthrough operation moving data this way.
    fn op(self) -> u32 {
        match self {
            Direction::ToDevice => bindings::req_op_REQ_OP_DRV_OUT,
            Direction::FromDevice => bindings::req_op_REQ_OP_DRV_IN,
        }
    }
}

/// Kernel pages a request's data moves through, and how.
pub(crate) struct Bounce<'a> {
    /// The pages.
    pub(crate) pages: &'a PageRuns,
    /// How many of their runs the request may use (sg's `k_use_sg`).
    pub(crate) runs: usize,
    /// Copy user data into the pages before a data-in command, too
    /// (`SG_DXFER_TO_FROM_DEV`).
    pub(crate) copy_in_for_read: bool,
    /// Where a bio over these pages is kept between commands, for pages
    /// that one command at a time uses.
    pub(crate) bio: Option<&'a BounceBioSlot>,
}

/// Why [`ScsiRequest::map_kept`] did not map.
enum NotKept {
    /// The transfer needs more than one bio: the block layer's mapping
    /// splits it.
    Split(BounceBio),
    /// A user copy faulted, as the block layer's would have.
    Fault(BounceBio),
}

/// A SCSI passthrough request not yet started.
///
/// # Invariants
///
/// `rq` is an allocated, unstarted request owned by this value; dropped
/// unstarted, it is freed.
pub(crate) struct ScsiRequest {
    rq: NonNull<bindings::request>,
}

// SAFETY: An unstarted request may be freed or started from any thread.
unsafe impl Send for ScsiRequest {}

impl ScsiRequest {
    /// Allocates a request on `queue`; it may sleep until a tag is free.
    pub(crate) fn new(queue: &Queue, dir: Direction) -> Result<Self> {
        Self::alloc(queue, dir, 0)
    }

    /// Allocates a request on `queue` without sleeping for a tag: `EAGAIN`
    /// when none is free.
    pub(crate) fn new_nowait(queue: &Queue, dir: Direction) -> Result<Self> {
        Self::alloc(queue, dir, bindings::BLK_MQ_REQ_NOWAIT)
    }

    fn alloc(queue: &Queue, dir: Direction, flags: u32) -> Result<Self> {
        let op = dir.op();
        // SAFETY: `queue` is live; the result is a request or an ERR_PTR.
        let rq = kernel::error::from_err_ptr(unsafe {
            shim::scsi_alloc_request(queue.raw(), op, flags)
        })?;
        NonNull::new(rq).map(|rq| Self { rq }).ok_or(ENOMEM)
    }

    /// Maps a registered buffer range into the request: its pages directly
    /// (nothing is pinned), or through a kernel copy when the queue's
    /// alignment rules refuse them.
    pub(crate) fn map_fixed(&mut self, buf: &FixedBuffer<'_>) -> Result<UserMapping> {
        // SAFETY: The request is ours and unstarted; `buf` describes pages
        // that stay registered until the command completes, after the
        // mapping is undone.
        to_result(unsafe {
            bindings::blk_rq_map_user_iov(
                (*self.rq.as_ptr()).q,
                self.rq.as_ptr(),
                core::ptr::null_mut(),
                buf.raw(),
                bindings::GFP_KERNEL,
            )
        })?;
        Ok(self.mapping())
    }

    /// The mapping a successful `blk_rq_map_user*()` call made.
    fn mapping(&self) -> UserMapping {
        // SAFETY: The request is ours; mapping set its first bio.
        let bio = unsafe { (*self.rq.as_ptr()).bio };
        // INVARIANT: The chain of a successful mapping, not yet undone.
        UserMapping {
            mapped: match NonNull::new(bio) {
                Some(bio) => Mapped::Block(bio),
                None => Mapped::None,
            },
        }
    }

    /// Sets the CDB; `EINVAL` when it does not fit a `scsi_cmnd`.
    pub(crate) fn set_cdb(&mut self, cdb: &[u8]) -> Result {
        // SAFETY: The request is ours and unstarted; `cdb` is readable for
        // its length.
        to_result(unsafe { shim::rsg_rq_set_cdb(self.rq.as_ptr(), cdb.as_ptr(), cdb.len() as u32) })
    }

    /// Sets how often the mid-layer may retry.
    pub(crate) fn set_retries(&mut self, retries: i32) {
        // SAFETY: The request is ours and unstarted.
        unsafe { shim::rsg_rq_set_retries(self.rq.as_ptr(), retries) }
    }

    /// Maps `len` bytes of user memory at `ubuf` (an iovec array of
    /// `iov_count` entries when non-zero) into the request.
    ///
    /// With `bounce`, data moves through those pages: copied in now for
    /// data-out, out at [`UserMapping::unmap`] for data-in. Without, the user
    /// pages are pinned and mapped directly. A null `ubuf` with bounce pages
    /// moves no user data. A plain buffer (no iovec) through pages with a
    /// kept bio is mapped in that bio, saving the block layer's allocations.
    pub(crate) fn map_user(
        &mut self,
        bounce: Option<Bounce<'_>>,
        ubuf: usize,
        len: u32,
        iov_count: u16,
        dir: Direction,
    ) -> Result<UserMapping> {
        if let Some(b) = bounce.as_ref().filter(|_| iov_count == 0) {
            if let Some(slot) = b.bio {
                if let Some(bio) = slot.take() {
                    match self.map_kept(bio, b, ubuf, len, dir) {
                        Ok(mapping) => return Ok(mapping),
                        Err(NotKept::Fault(bio)) => {
                            slot.put(bio);
                            return Err(EFAULT);
                        }
                        // The block layer maps it below.
                        Err(NotKept::Split(bio)) => slot.put(bio),
                    }
                }
            }
        }
        let mut md = bounce.as_ref().map(|b| bindings::rq_map_data {
            pages: b.pages.as_page_array(),
            offset: 0,
            page_order: b.pages.order().get() as u16,
            nr_entries: b.runs.min(b.pages.len()) as u16,
            null_mapped: ubuf == 0,
            from_user: b.copy_in_for_read,
        });
        let md_ptr = md
            .as_mut()
            .map_or(core::ptr::null_mut(), |md| md as *mut bindings::rq_map_data);
        let rw = match dir {
            Direction::ToDevice => bindings::ITER_SOURCE,
            Direction::FromDevice => bindings::ITER_DEST,
        };
        // SAFETY: The request is ours and unstarted; `md` (if any) describes
        // pages the caller keeps alive until `UserMapping` is undone; the
        // block layer validates the user range itself.
        to_result(unsafe {
            bindings::blk_rq_map_user_io(
                self.rq.as_ptr(),
                md_ptr,
                ubuf as *mut core::ffi::c_void,
                len as usize,
                bindings::GFP_KERNEL,
                iov_count != 0,
                iov_count.into(),
                iov_count != 0,
                rw as i32,
            )
        })?;
        Ok(self.mapping())
    }

    /// `map_user` of a plain user buffer through `bounce` in a kept bio, as
    /// the block layer maps it (`bio_copy_user_iov()`), page by page with
    /// the same limits, but without allocating. A transfer those limits
    /// split over several bios is left to the block layer.
    fn map_kept(
        &mut self,
        mut bio: BounceBio,
        bounce: &Bounce<'_>,
        ubuf: usize,
        len: u32,
        dir: Direction,
    ) -> core::result::Result<UserMapping, NotKept> {
        let rq = self.rq.as_ptr();
        let len = len as usize;
        // `SG_DXFER_TO_FROM_DEV` takes the block layer's path, whose copy-in
        // of data-in (6.12) does not advance and so fails it with ENOMEM.
        if dir == Direction::FromDevice && bounce.copy_in_for_read {
            return Err(NotKept::Split(bio));
        }
        // The block layer checks the user range first.
        let Ok(mut iter) = user_iter(ubuf, len, dir == Direction::FromDevice) else {
            return Err(NotKept::Fault(bio));
        };
        bio.reset(dir.op());
        let pages = bounce.runs.min(bounce.pages.len()) << bounce.pages.order().get();
        let mut left = len;
        let mut i = 0;
        while left > 0 {
            // Past the runs the block layer fails with ENOMEM.
            let Some(page) = bounce.pages.page(i).filter(|_| i < pages) else {
                return Err(NotKept::Split(bio));
            };
            let n = left.min(PAGE_SIZE);
            let added = {
                // SAFETY: The page is the caller's, alive until the mapping is
                // undone; the request is ours and unstarted, the bio ours.
                unsafe { bindings::bio_add_pc_page((*rq).q, bio.as_ptr(), page, n as u32, 0) }
            };
            if (added as usize) < n {
                return Err(NotKept::Split(bio));
            }
            left -= n;
            i += 1;
        }
        let null_mapped = ubuf == 0;
        if dir == Direction::ToDevice
            && !null_mapped
            && bio.copy_iter(&mut iter, len, false).is_err()
        {
            return Err(NotKept::Fault(bio));
        }
        // SAFETY: The request is ours, unstarted and has no bio yet; the bio
        // stays alive, in the mapping, until the request is done with it.
        if unsafe { bindings::blk_rq_append_bio(rq, bio.as_ptr()) } != 0 {
            return Err(NotKept::Split(bio));
        }
        // INVARIANT: The bio is the request's, which uses it until it
        // completes, before the mapping is undone.
        Ok(UserMapping {
            mapped: Mapped::Kept {
                bio,
                ubuf,
                len,
                copy_out: !null_mapped && dir == Direction::FromDevice,
            },
        })
    }

    /// Starts the request; `T::complete` runs when it ends, possibly in
    /// interrupt context and possibly before this returns.
    pub(crate) fn start<T: Completion>(self, data: T::Data, timeout: u32, at_head: bool) {
        let nn = self.rq;
        let rq = nn.as_ptr();
        core::mem::forget(self);
        let ptr = data.into_foreign();
        // SAFETY: `ptr` came from `into_foreign` and is taken back only in
        // `end_io`, after this borrow ends.
        T::with_abort_handle(unsafe { T::Data::borrow(ptr) }, &mut |handle| {
            *handle.rq.lock() = Some(RqPtr(nn));
        });
        // SAFETY: The request is ours and unstarted; ownership passes to the
        // block layer, which calls `end_io` exactly once, where `data` is
        // taken back.
        unsafe {
            (*rq).timeout = timeout;
            (*rq).end_io_data = ptr as *mut _;
            (*rq).end_io = Some(end_io::<T>);
            shim::rsg_rq_execute(rq, at_head);
        }
    }
}

impl Drop for ScsiRequest {
    fn drop(&mut self) {
        // SAFETY: Owned and never started (type invariant).
        unsafe { bindings::blk_mq_free_request(self.rq.as_ptr()) };
    }
}

/// A started request, as its abort handle holds it.
struct RqPtr(NonNull<bindings::request>);

// SAFETY: Only used under the handle's lock, from any thread.
unsafe impl Send for RqPtr {}

/// Lets the owner of a request's completion data abort it while it runs.
///
/// # Invariants
///
/// `rq` holds the request only between its start and its completion: `end_io`
/// clears it, under the lock, before the request is freed.
#[pin_data]
pub(crate) struct AbortHandle {
    #[pin]
    rq: SpinLockIrq<Option<RqPtr>>,
}

impl AbortHandle {
    /// A handle with no request.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            rq <- new_spinlock_irq!(None, "rsg::AbortHandle"),
        })
    }

    /// Asks the SCSI mid-layer to abort the request now, as if it timed out;
    /// it then completes through error handling. `false` when not running.
    pub(crate) fn abort(&self) -> bool {
        let guard = self.rq.lock();
        match &*guard {
            Some(rq) => {
                // SAFETY: Under the lock, a request held here has not been
                // freed (type invariant).
                unsafe { shim::rsg_rq_abort(rq.0.as_ptr()) };
                true
            }
            None => false,
        }
    }
}

/// What a mapping made.
enum Mapped {
    /// Nothing.
    None,
    /// The head of a chain of bios the block layer built.
    Block(NonNull<bindings::bio>),
    /// A kept bio over bounce pages, and the user memory it bounces.
    Kept {
        bio: BounceBio,
        ubuf: usize,
        len: usize,
        /// Data-in is copied to `ubuf` when the mapping is undone.
        copy_out: bool,
    },
}

/// The bios `map_user` built; undone with [`UserMapping::unmap`] in process
/// context, which copies data-in to the user when bounced.
///
/// # Invariants
///
/// `mapped` holds what a successful mapping made, not yet undone, its bios
/// used by the request until it completes.
pub(crate) struct UserMapping {
    mapped: Mapped,
}

// SAFETY: The mapping may be undone from any process context.
unsafe impl Send for UserMapping {}
// SAFETY: `&UserMapping` exposes nothing.
unsafe impl Sync for UserMapping {}

impl UserMapping {
    /// Undoes the mapping once the request has completed, copying bounced
    /// data-in to the user memory of the calling process (nothing is copied
    /// from a kernel thread, which gets `EINTR`, as from the block layer).
    /// A kept bio goes back to `keep`, or is freed without one.
    pub(crate) fn unmap(mut self, keep: Option<&BounceBioSlot>) -> Result {
        self.undo(keep)
    }

    fn undo(&mut self, keep: Option<&BounceBioSlot>) -> Result {
        match core::mem::replace(&mut self.mapped, Mapped::None) {
            // SAFETY: The bio chain is ours (type invariant), its request has
            // completed, and this runs once.
            Mapped::Block(bio) => to_result(unsafe { bindings::blk_rq_unmap_user(bio.as_ptr()) }),
            Mapped::Kept {
                bio,
                ubuf,
                len,
                copy_out,
            } => {
                // A null `ubuf` names no user memory.
                let ret = if ubuf == 0 {
                    Ok(())
                } else if !task::has_mm() {
                    Err(EINTR)
                } else if copy_out {
                    bio.copy_user(ubuf, len, true)
                } else {
                    Ok(())
                };
                if let Some(slot) = keep {
                    slot.put(bio);
                }
                ret
            }
            Mapped::None => Ok(()),
        }
    }
}

impl Drop for UserMapping {
    fn drop(&mut self) {
        // Failures here can only be a data-in copy nobody is waiting for.
        let _ = self.undo(None);
    }
}

/// What a finished request reports, read once when it completes.
pub(crate) struct Completed<'a> {
    result: i32,
    resid: u32,
    sense: Option<&'a [u8; SENSE_BUFFERSIZE]>,
}

impl<'a> Completed<'a> {
    /// Reads what `rq` reports.
    ///
    /// # Safety
    ///
    /// `rq` is a finished SCSI request that outlives `'a`.
    unsafe fn read(rq: *mut bindings::request) -> Self {
        let (mut result, mut resid) = (0, 0);
        // SAFETY: `rq` is a finished SCSI request (the caller's promise).
        let sense = unsafe { shim::rsg_rq_outcome(rq, &mut result, &mut resid) };
        Self {
            result,
            resid,
            // SAFETY: Non-null, it is the command's `SENSE_BUFFERSIZE`-byte
            // sense buffer, which lives as long as the request: past `'a`.
            sense: (!sense.is_null()).then(|| unsafe { &*sense.cast() }),
        }
    }

    /// The mid-layer's result word (status, host and driver bytes).
    pub(crate) fn result(&self) -> i32 {
        self.result
    }

    /// Bytes not transferred.
    pub(crate) fn resid(&self) -> u32 {
        self.resid
    }

    /// The sense data, when the device returned any.
    pub(crate) fn sense(&self) -> Option<&'a [u8; SENSE_BUFFERSIZE]> {
        self.sense
    }
}

/// The end of a started request.
pub(crate) trait Completion {
    /// What `start` hands over for the completion.
    type Data: ForeignOwnable;

    /// Called once, possibly in interrupt context: must not sleep, and must
    /// not drop anything whose drop sleeps.
    fn complete(data: Self::Data, done: &Completed<'_>);

    /// Passes the handle through which the request may be aborted, if it
    /// has one, to `f`.
    fn with_abort_handle(
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _f: &mut dyn FnMut(&AbortHandle),
    ) {
    }
}

/// # Safety
///
/// Called by the block layer once for a request started by `start::<T>`.
unsafe extern "C" fn end_io<T: Completion>(
    rq: *mut bindings::request,
    _status: bindings::blk_status_t,
) -> bindings::rq_end_io_ret {
    // SAFETY: `start` stored the foreign value; this runs once, and the
    // borrow ends before the value is taken back below.
    T::with_abort_handle(
        unsafe { T::Data::borrow((*rq).end_io_data) },
        &mut |handle| {
            // INVARIANT: Cleared before the request is freed.
            *handle.rq.lock() = None;
        },
    );
    // SAFETY: `start` stored the foreign value; this runs once.
    let data = unsafe { T::Data::from_foreign((*rq).end_io_data) };
    // SAFETY: The request has finished, and is freed only below.
    T::complete(data, &unsafe { Completed::read(rq) });
    // SAFETY: The request is done and `complete` no longer refers to it; its
    // bios are kept for `UserMapping::unmap`, as the block layer allows.
    unsafe { bindings::blk_mq_free_request(rq) };
    bindings::rq_end_io_ret_RQ_END_IO_NONE
}
