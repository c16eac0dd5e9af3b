// SPDX-License-Identifier: GPL-2.0

//! The state of one open file (sg's `Sg_fd`).

use super::buffer::{Buffer, Clear, KeptBuffers};
use super::device::Device;
use super::queue::Queues;
use super::request::{Kind, Request, Spare, Stage};
use super::table::RequestTable;
use crate::abstractions::module::ModuleRef;
use crate::abstractions::scsi::OpenRef;
use crate::abstractions::sync::{new_spinlock_irq, SpinLockIrq, SpinLockIrqBackend};
use crate::abstractions::time;
use crate::abstractions::wait::{new_wait_queue, Fasync, WaitQueue};
use crate::uapi::{SG_DEFAULT_TIMEOUT_USER, SG_MAX_QUEUE};
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::prelude::*;
use kernel::sync::lock::Guard;
use kernel::sync::{new_mutex, Arc, Mutex};

/// Holds a file's [`FileInner`] lock.
pub(crate) type InnerGuard<'a> = Guard<'a, FileInner, SpinLockIrqBackend>;

/// What completions share with process context, under an irq-safe lock.
pub(crate) struct FileInner {
    /// Requests of sg's interfaces, in submission order.
    pub(crate) requests: RequestTable,
    /// Slots held by submissions still being built.
    pending: usize,
    /// More than one request may be outstanding (`SG_SET_COMMAND_Q`).
    pub(crate) cmd_q: bool,
    /// Interrupted `SG_IO` results stay readable when non-zero
    /// (`SG_SET_KEEP_ORPHAN`; a `char` in sg, so 256 is off).
    pub(crate) keep_orphan: u8,
    /// `read()` returns the request whose `pack_id` it names.
    pub(crate) force_packid: bool,
    /// The last close happened; completions clean up after themselves.
    pub(crate) closed: bool,
    /// The queue interface's requests.
    pub(crate) queues: Queues,
    /// io_uring commands running or being completed.
    pub(crate) uring: Queues,
    /// A retired request, to be filled in again by the next submission.
    spare: Option<Spare>,
}

impl FileInner {
    fn queues_of(&mut self, kind: Kind) -> &mut Queues {
        match kind {
            Kind::Uring => &mut self.uring,
            _ => &mut self.queues,
        }
    }

    /// Requests listed or being built (sg's `rq_list` length).
    pub(crate) fn outstanding(&self) -> usize {
        self.requests.len() + self.pending
    }

    /// Whether no request of any interface is listed, being built or
    /// running.
    #[inline]
    fn is_idle(&self) -> bool {
        self.outstanding() == 0 && self.queues.outstanding() == 0 && self.uring.outstanding() == 0
    }

    /// Whether the file was closed and nothing of it is left running.
    pub(crate) fn is_drained(&self) -> bool {
        self.closed && self.is_idle()
    }

    /// Completed responses `read()` may return, oldest first.
    pub(crate) fn readable(&self) -> impl Iterator<Item = &Arc<Request>> {
        self.requests
            .iter()
            .filter(move |r| r.stage(self) == Stage::Ready && !r.sg_io_owned(self))
    }

    /// Claims the oldest readable response matching `pack_id` (-1: any).
    /// Also says whether a matching request is still active (sg's
    /// `sg_get_rq_mark`).
    pub(crate) fn take_readable(&mut self, pack_id: i32) -> (Option<Arc<Request>>, bool) {
        let mut busy = false;
        let found = self
            .requests
            .iter()
            .find(|req| {
                if req.sg_io_owned(self) || (pack_id != -1 && req.hdr.pack_id != pack_id) {
                    return false;
                }
                match req.stage(self) {
                    Stage::Active => busy = true,
                    Stage::Ready => return true,
                    Stage::Taken => {}
                }
                false
            })
            .cloned();
        if let Some(req) = &found {
            req.take_if_ready(self);
        }
        (found, busy)
    }
}

/// State changed only from process context (sg's `f_mutex`).
pub(crate) struct FileState {
    /// The per-file reserve buffer, shared with requests, `mmap()` faults
    /// and v2 reads, which use it without this lock.
    pub(crate) reserve: Arc<Reserve>,
    /// The v2 timeout in jiffies, and as the user set it (`USER_HZ`).
    pub(crate) timeout: i32,
    pub(crate) timeout_user: i32,
    /// `mmap()` was called; the reserve cannot be resized.
    pub(crate) mmap_called: bool,
    /// The CDB length of the next v2 `write()` (`SG_NEXT_CMD_LEN`), or 0.
    pub(crate) next_cmd_len: u8,
    /// Buffers of retired requests, for the next ones.
    kept: KeptBuffers,
}

/// A file's reserve buffer, and whether a request holds it (sg's
/// `res_in_use`). Claims are made under the state lock, under which a resize
/// checks that there is none: a claimed reserve stays the file's.
pub(crate) struct Reserve {
    buf: Buffer,
    claimed: AtomicBool,
}

impl Reserve {
    /// `buf` as a reserve, unclaimed.
    pub(crate) fn new(buf: Buffer) -> Self {
        Self {
            buf,
            claimed: AtomicBool::new(false),
        }
    }

    /// Whether a request holds it. Under the state lock a `false` stays so.
    pub(crate) fn is_claimed(&self) -> bool {
        self.claimed.load(Ordering::Acquire)
    }

    /// Claims it for a request, unless one holds it; under the state lock.
    fn claim(this: &Arc<Self>) -> Option<ReserveClaim> {
        if this.is_claimed() {
            return None;
        }
        this.claimed.store(true, Ordering::Relaxed);
        Some(ReserveClaim(this.clone()))
    }
}

impl core::ops::Deref for Reserve {
    type Target = Buffer;

    fn deref(&self) -> &Buffer {
        &self.buf
    }
}

/// The file's reserve buffer, claimed by one request until this is dropped,
/// in process context.
pub(crate) struct ReserveClaim(Arc<Reserve>);

impl ReserveClaim {
    /// The claimed buffer.
    pub(crate) fn buffer(&self) -> &Buffer {
        &self.0
    }
}

impl Drop for ReserveClaim {
    fn drop(&mut self) {
        // Claims are made under the state lock; giving one back needs none.
        self.0.claimed.store(false, Ordering::Release);
    }
}

/// The buffer [`OpenFile::claim_buffer`] found for a request.
pub(crate) enum Claimed {
    /// The file's reserve buffer.
    Reserve(ReserveClaim),
    /// A buffer the file kept, ready for the request.
    Kept(KBox<Buffer>),
    /// Neither: the request builds its own.
    None,
}

/// An open file of an rsg device.
#[pin_data]
pub(crate) struct OpenFile {
    /// The device.
    pub(crate) dev: Arc<Device>,
    /// The adapter's scatter/gather limit, read at open.
    pub(crate) sg_tablesize: u32,
    #[pin]
    pub(crate) inner: SpinLockIrq<FileInner>,
    /// Woken when a request completes or the device goes away.
    #[pin]
    pub(crate) read_wait: WaitQueue,
    /// `SIGIO` subscribers.
    pub(crate) fasync: Fasync,
    #[pin]
    pub(crate) state: Mutex<FileState>,
    _open_ref: OpenRef,
    _module: ModuleRef,
}

/// Room held for a request while it is built, with the file's spare
/// request, if any; both are given back on drop.
pub(crate) struct Slot<'a> {
    file: &'a OpenFile,
    kind: Kind,
    held: bool,
    spare: Option<Spare>,
}

impl Slot<'_> {
    /// Which interface the request belongs to.
    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// The file's spare request, to build the request in.
    pub(crate) fn take_spare(&mut self) -> Option<Spare> {
        self.spare.take()
    }
}

impl Drop for Slot<'_> {
    #[inline]
    fn drop(&mut self) {
        // Listing the request empties the slot: nothing to give back then.
        if self.held || self.spare.is_some() {
            self.give_back();
        }
    }
}

impl Slot<'_> {
    /// Gives back the room held and the spare: the request was not listed.
    #[inline(never)]
    fn give_back(&mut self) {
        let mut inner = self.file.inner.lock();
        if self.held {
            match self.kind {
                Kind::Sg => inner.pending -= 1,
                kind => inner.queues_of(kind).unreserve(),
            }
        }
        // The file's only spare was this one, and the file cannot have
        // been released while a submission on it runs.
        if inner.spare.is_none() {
            inner.spare = self.spare.take();
        }
    }
}

/// A request taken off its file's list, with what is left to do once the
/// file's lock is released: [`OpenFile::unlist`].
#[must_use]
pub(crate) struct Unlisted<'a> {
    file: &'a OpenFile,
    unkept: Option<Spare>,
    drained: bool,
}

impl Unlisted<'_> {
    /// Frees the request if the file did not keep it, wakes readers waiting
    /// for a detaching device's requests to go, and lets the device forget
    /// a file closed and drained.
    #[inline(always)]
    pub(crate) fn done(self) {
        drop(self.unkept);
        if self.file.dev.is_detaching() {
            self.file.read_wait.notify_all();
        }
        if self.drained {
            self.file.dev.forget(self.file);
        }
    }
}

impl OpenFile {
    /// A new open file of `dev`, with its reserve buffer.
    pub(crate) fn new(dev: Arc<Device>, open_ref: OpenRef) -> Result<Arc<Self>> {
        let q = dev.sdev.queue();
        let sg_tablesize = q.max_segments();
        let size = (crate::interface::proc::reserve_size_for_open() as usize)
            .min(max_sectors_bytes(&dev) as usize);
        let reserve = Arc::new(
            Reserve::new(Buffer::build_reserve(size, sg_tablesize as usize)),
            GFP_KERNEL,
        )?;
        Arc::pin_init(
            try_pin_init!(OpenFile {
                dev,
                sg_tablesize,
                inner <- new_spinlock_irq!(
                    FileInner {
                        requests: RequestTable::new(),
                        pending: 0,
                        cmd_q: false,
                        keep_orphan: 0,
                        force_packid: false,
                        closed: false,
                        queues: Queues::new(),
                        uring: Queues::new(),
                        spare: None,
                    },
                    "rsg::OpenFile::inner"
                ),
                read_wait <- new_wait_queue!("rsg::OpenFile::read_wait"),
                fasync: Fasync::new(),
                state <- new_mutex!(FileState {
                    reserve,
                    timeout: (i64::from(SG_DEFAULT_TIMEOUT_USER) * time::hz() / time::user_hz()) as i32,
                    timeout_user: SG_DEFAULT_TIMEOUT_USER,
                    mmap_called: false,
                    next_cmd_len: 0,
                    kept: KeptBuffers::new(),
                }),
                _open_ref: open_ref,
                _module: ModuleRef::new(&crate::THIS_MODULE),
            }),
            GFP_KERNEL,
        )
    }

    /// A buffer for `len` bytes, under one lock: the reserve if it is free
    /// and large enough, else a kept buffer made ready as `clear` says, else
    /// none (the caller builds one). For `mmap_io`, which has no other
    /// buffer, `ENOMEM` when the reserve is too small and `EBUSY` when in
    /// use.
    pub(crate) fn claim_buffer(&self, len: usize, mmap_io: bool, clear: Clear) -> Result<Claimed> {
        let kept = {
            let mut st = self.state.lock();
            if len <= st.reserve.len() {
                if let Some(claim) = Reserve::claim(&st.reserve) {
                    return Ok(Claimed::Reserve(claim));
                }
            }
            if mmap_io {
                return Err(if len > st.reserve.len() {
                    ENOMEM
                } else {
                    EBUSY
                });
            }
            // A v2 response returns whole runs: a kept buffer may have more.
            if clear == Clear::All {
                return Ok(Claimed::None);
            }
            st.kept.take(len)
        };
        // Clearing can take a while: not under the lock.
        Ok(kept
            .and_then(|mut buf| buf.ready(len, clear).then_some(buf))
            .map_or(Claimed::None, Claimed::Kept))
    }

    /// Keeps a retired request's own buffer for the next requests, if the
    /// file keeps less than the `kept_buffer_kb` parameter. After the last
    /// close they go with the file, once its last request has.
    pub(crate) fn keep(&self, buf: KBox<Buffer>) {
        let limit = crate::abstractions::module::kept_buffer_bytes();
        let unkept = self.state.lock().kept.put(buf, limit);
        // Freed unlocked.
        drop(unkept);
    }

    /// Holds a request slot: `EDOM` when all are taken, or one is and
    /// command queuing is off. A v3 request turns command queuing on first
    /// (`cmd_q`), as in sg.
    pub(crate) fn reserve_slot(&self, cmd_q: bool) -> Result<Slot<'_>> {
        let mut inner = self.inner.lock();
        inner.cmd_q |= cmd_q;
        let used = inner.outstanding();
        if (used > 0 && !inner.cmd_q) || used >= SG_MAX_QUEUE {
            return Err(EDOM);
        }
        inner.pending += 1;
        Ok(Slot {
            file: self,
            kind: Kind::Sg,
            held: true,
            spare: inner.spare.take(),
        })
    }

    /// Holds room in the queue interface's queues, made on first use with
    /// the `queue_depth` parameter; `EAGAIN` when they are full.
    pub(crate) fn reserve_queued(&self) -> Result<Slot<'_>> {
        self.reserve_in(Kind::Queued)
    }

    /// Holds room for an io_uring command, as [`OpenFile::reserve_queued`]
    /// does for the queue interface, in queues of its own.
    pub(crate) fn reserve_uring(&self) -> Result<Slot<'_>> {
        self.reserve_in(Kind::Uring)
    }

    fn reserve_in(&self, kind: Kind) -> Result<Slot<'_>> {
        // One lock once the queues exist; their storage is made unlocked,
        // on first use.
        let (first_use, spare) = {
            let mut inner = self.inner.lock();
            let queues = inner.queues_of(kind);
            if queues.depth() > 0 {
                queues.reserve()?;
            }
            (queues.depth() == 0, inner.spare.take())
        };
        if first_use {
            let storage = Queues::storage(crate::abstractions::module::queue_depth())?;
            let (unused, reserved) = {
                let mut inner = self.inner.lock();
                let queues = inner.queues_of(kind);
                (queues.install(storage), queues.reserve())
            };
            drop(unused);
            reserved?;
        }
        Ok(Slot {
            file: self,
            kind,
            held: true,
            spare,
        })
    }

    /// Lists `req` in the room `slot` held.
    pub(crate) fn insert(&self, mut slot: Slot<'_>, req: Arc<Request>) {
        let mut inner = self.inner.lock();
        self.list(&mut inner, &mut slot, req);
        // `slot` is dropped after the lock is released.
    }

    /// Lists `req` in the room `slot` held, under the file's lock, which
    /// the caller holds; `slot` is left empty, to be dropped unlocked.
    #[inline(always)]
    pub(crate) fn list(&self, inner: &mut FileInner, slot: &mut Slot<'_>, req: Arc<Request>) {
        slot.held = false;
        match slot.kind {
            Kind::Sg => {
                inner.pending -= 1;
                inner.requests.push(req);
            }
            kind => Self::activate(inner, kind, req),
        }
    }

    /// Lists `req` among the active requests of the queue interface or of
    /// io_uring, as `kind` says.
    #[inline(never)]
    fn activate(inner: &mut FileInner, kind: Kind, req: Arc<Request>) {
        let index = inner.queues_of(kind).activate(req.clone());
        req.set_slot(inner, index);
    }

    /// Whether no request is listed, being built or running.
    pub(crate) fn is_idle(&self) -> bool {
        self.inner.lock().is_idle()
    }

    /// Aborts every request of the queue interface and of io_uring still
    /// running, so that they complete (with an error status) now.
    pub(crate) fn abort_queued(&self) {
        let inner = self.inner.lock();
        for req in Iterator::chain(inner.queues.active(), inner.uring.active()) {
            req.abort();
        }
    }

    /// Takes `req`, one of this file's requests, off its list (sg's table,
    /// or io_uring's active set) under the file's lock, which the caller
    /// holds, and keeps it as the file's spare if the caller held its last
    /// reference. The caller calls [`Unlisted::done`] once the lock is
    /// released.
    #[inline(always)]
    pub(crate) fn unlist(&self, inner: &mut FileInner, req: Arc<Request>) -> Unlisted<'_> {
        let removed = match req.kind {
            Kind::Sg => inner.requests.remove(&req),
            Kind::Uring => {
                let slot = req.slot(inner);
                inner.uring.take_active(slot)
            }
            Kind::Queued => None,
        };
        // The list's reference to `req`, never the last: the caller's is
        // another.
        drop(removed);
        let mut unkept = Spare::from_last(req);
        if !inner.closed && inner.spare.is_none() {
            inner.spare = unkept.take();
        }
        Unlisted {
            file: self,
            unkept,
            drained: inner.is_drained(),
        }
    }

    /// Wakes everyone waiting on this file: the device is going away.
    pub(crate) fn device_gone(&self) {
        self.abort_queued();
        self.read_wait.notify_all();
        self.fasync.kill(kernel::bindings::POLL_HUP);
    }

    /// The last close: unread responses are dropped, requests in flight
    /// clean up after themselves when they complete.
    pub(crate) fn release(&self) {
        let (finished, spare) = {
            let mut inner = self.inner.lock();
            inner.closed = true;
            let done = inner
                .requests
                .iter()
                .enumerate()
                .filter(|(_, req)| req.stage(&inner) != Stage::Active)
                .fold(0u32, |mask, (i, _)| mask | 1 << i);
            // The spare refers to the file: dropped here, the cycle ends.
            (
                inner.requests.take_marked(|i| done & 1 << i != 0),
                inner.spare.take(),
            )
        };
        drop(spare);
        let kept = self.state.lock().kept.take_all();
        drop(kept);
        for req in finished.into_iter().flatten() {
            Request::retire_later(req);
        }
        // Unreaped completions go. Running requests of the queue interface
        // become abandoned: `closed` makes them free themselves when they end.
        loop {
            let req = self.inner.lock().queues.pop_done();
            match req {
                Some(req) => Request::retire_later(req),
                None => break,
            }
        }
    }
}

/// The largest transfer the queue takes, in bytes (sg's `max_sectors_bytes`).
pub(crate) fn max_sectors_bytes(dev: &Device) -> i32 {
    let sectors = dev.sdev.queue().max_sectors().min(i32::MAX as u32 >> 9);
    (sectors << 9) as i32
}
