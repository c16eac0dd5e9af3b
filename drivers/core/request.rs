// SPDX-License-Identifier: GPL-2.0

//! One SCSI command from submission to the moment its response is read
//! (sg's `Sg_request`).

use super::buffer::Buffer;
use super::file::{FileInner, OpenFile, ReserveClaim};
use super::stats::Transfer;
use crate::abstractions::block::{
    AbortHandle, Completed, Completion, UserMapping, SENSE_BUFFERSIZE,
};
use crate::abstractions::pages::PAGE_SIZE;
use crate::abstractions::pin::unpinned_field_mut;
use crate::abstractions::time;
use crate::uapi::{sg_io_hdr, SG_DXFER_NONE, SG_DXFER_TO_DEV};
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow, LockedBy, UniqueArc};
use kernel::workqueue::{new_work, Work, WorkItem};

/// Where a request is in its life (sg's `done` 0, 1, 2).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Submitted, not completed.
    Active,
    /// Completed, response not yet read.
    Ready,
    /// A reader is returning the response.
    Taken,
}

/// What the device and the mid-layer reported.
#[derive(Clone, Copy)]
pub(crate) struct Response {
    pub(crate) status: u8,
    pub(crate) masked_status: u8,
    pub(crate) msg_status: u8,
    pub(crate) host_status: u16,
    pub(crate) driver_status: u16,
    pub(crate) resid: i32,
    /// Milliseconds from submission to completion.
    pub(crate) duration: u32,
    /// The first byte of the sense data (its response code), 0 without any.
    pub(crate) sense_code: u8,
    /// The device returned sense data, kept with the request rather than
    /// here: [`Request::sense`].
    sense_kept: bool,
}

impl Response {
    const fn new() -> Self {
        Self {
            status: 0,
            masked_status: 0,
            msg_status: 0,
            host_status: 0,
            driver_status: 0,
            resid: 0,
            duration: 0,
            sense_code: 0,
            sense_kept: false,
        }
    }

    /// Decodes a completion as sg's `sg_rq_end_io` does.
    #[inline(always)]
    fn from_completion(done: &Completed<'_>) -> Self {
        let mut resp = Self::new();
        let result = done.result();
        resp.resid = done.resid() as i32;
        if result != 0 {
            resp.status = (result & 0xff) as u8;
            resp.masked_status = ((result >> 1) & 0x7f) as u8;
            resp.msg_status = 0;
            resp.host_status = ((result >> 16) & 0xff) as u16;
            resp.driver_status = ((result >> 24) & 0xff) as u16;
        }
        if let Some(sense) = done.sense() {
            resp.sense_code = sense[0];
            resp.sense_kept = true;
        }
        resp
    }

    /// Whether the sense buffer holds sense data (response code 0x7x).
    pub(crate) fn has_sense(&self) -> bool {
        self.sense_code & 0x70 == 0x70
    }
}

/// Which buffer a request's data moves through.
pub(crate) enum DataBuffer {
    /// No data, or a registered io_uring buffer.
    None,
    /// The caller's own pages (direct I/O), counted while pinned.
    Direct { _pinned: Pinned },
    /// Its own pages, boxed: a request's data side is moved whole on its
    /// way through, so it is kept small.
    Own(KBox<Buffer>),
    /// The file's reserve buffer, claimed until the request is done with it.
    Reserve(ReserveClaim),
}

impl DataBuffer {
    /// The kernel buffer, if the data bounces through one.
    fn buffer(&self) -> Option<&Buffer> {
        match self {
            Self::None | Self::Direct { .. } => None,
            Self::Own(buf) => Some(buf),
            Self::Reserve(claim) => Some(claim.buffer()),
        }
    }
}

/// Pages of user memory pinned for direct I/O, across all files.
static PINNED_PAGES: AtomicUsize = AtomicUsize::new(0);

/// The number of user pages rsg has pinned for direct I/O now.
pub(crate) fn pinned_pages() -> usize {
    PINNED_PAGES.load(Ordering::Relaxed)
}

/// Accounts for the pages of one direct I/O mapping while it exists.
pub(crate) struct Pinned(usize);

impl Drop for Pinned {
    fn drop(&mut self) {
        PINNED_PAGES.fetch_sub(self.0, Ordering::Relaxed);
    }
}

/// The data side of a request, undone in process context when it retires.
pub(crate) struct RequestIo {
    mapping: Option<UserMapping>,
    /// Declared after `mapping`: direct I/O's count drops once its pages
    /// are unpinned.
    pub(crate) buffer: DataBuffer,
    /// Bytes of the buffer the data uses, for reporting.
    pub(crate) len: usize,
}

impl RequestIo {
    /// No data moves.
    pub(crate) fn none() -> Self {
        Self {
            mapping: None,
            buffer: DataBuffer::None,
            len: 0,
        }
    }

    /// The caller's pages at `addr`, `len` bytes, are mapped directly.
    pub(crate) fn direct(mapping: UserMapping, addr: usize, len: usize) -> Self {
        let pages = (addr + len).div_ceil(PAGE_SIZE) - addr / PAGE_SIZE;
        PINNED_PAGES.fetch_add(pages, Ordering::Relaxed);
        Self {
            mapping: Some(mapping),
            buffer: DataBuffer::Direct {
                _pinned: Pinned(pages),
            },
            len: 0,
        }
    }

    /// Data moves through `len` bytes of the claimed reserve buffer.
    pub(crate) fn reserve(mapping: UserMapping, claim: ReserveClaim, len: usize) -> Self {
        Self {
            mapping: Some(mapping),
            buffer: DataBuffer::Reserve(claim),
            len,
        }
    }

    /// A registered io_uring buffer is mapped directly: nothing to pin or
    /// give back but the mapping.
    pub(crate) fn fixed(mapping: UserMapping) -> Self {
        Self {
            mapping: Some(mapping),
            buffer: DataBuffer::None,
            len: 0,
        }
    }

    /// Data moves through the request's own buffer.
    pub(crate) fn own(mapping: UserMapping, buf: KBox<Buffer>) -> Self {
        Self {
            mapping: Some(mapping),
            len: buf.len(),
            buffer: DataBuffer::Own(buf),
        }
    }

    /// Whether the caller's pages are mapped directly.
    pub(crate) fn is_direct(&self) -> bool {
        matches!(self.buffer, DataBuffer::Direct { .. })
    }

    /// Page runs of the buffer the data uses, for reporting.
    pub(crate) fn runs(&self) -> usize {
        self.buffer.buffer().map_or(0, |buf| buf.runs_for(self.len))
    }

    /// Whether anything is mapped or held: all but [`RequestIo::none`].
    fn moves_data(&self) -> bool {
        self.mapping.is_some() || !matches!(self.buffer, DataBuffer::None)
    }

    /// Undoes the data side of a completed request in process context:
    /// bounced data-in is copied out (unmapped before the buffer goes: a
    /// reserve claim ends with it, an own buffer is kept by `file`, the
    /// request's file; either keeps its bio).
    #[inline(always)]
    pub(crate) fn finish(self, file: &OpenFile) -> Result {
        let mut ret = Ok(());
        if let Some(mapping) = self.mapping {
            ret = mapping.unmap(self.buffer.buffer().map(Buffer::bio));
        }
        if let DataBuffer::Own(buf) = self.buffer {
            file.keep(buf);
        }
        ret
    }
}

/// What a reader takes out of a claimed request: [`Request::take`].
pub(crate) struct Taken {
    pub(crate) response: Response,
    pub(crate) io: Option<RequestIo>,
}

/// Which interface a request came through.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// sg's: `SG_IO`, `write()`/`read()`; at most 16 per file.
    Sg,
    /// The queue interface; up to the queue depth, reaped in completion
    /// order.
    Queued,
    /// io_uring commands; up to the queue depth, completed through io_uring.
    Uring,
}

/// Request state that completions change, under the file's lock.
pub(crate) struct RequestState {
    stage: Stage,
    /// An interrupted `SG_IO` left the request behind.
    orphan: bool,
    /// Only `SG_IO` may return the response.
    sg_io_owned: bool,
    response: Response,
    io: Option<RequestIo>,
    /// Where a queued request sits among the active ones.
    slot: usize,
}

/// A retired request, kept by its file to be filled in again by
/// [`Request::new`]: sg keeps a fixed table of requests per file; this
/// spares the allocation in the common case.
///
/// # Invariants
///
/// Nothing else refers to the request. Since a queued work item and a
/// started block request each hold a reference, its work item is not
/// queued and its abort handle holds no block request.
pub(crate) struct Spare(Pin<UniqueArc<Request>>);

impl Spare {
    /// `req` as a spare if the caller held its last reference; otherwise
    /// drops that reference, which then never frees it.
    pub(crate) fn from_last(req: Arc<Request>) -> Option<Spare> {
        // INVARIANT: The reference is unique.
        Arc::into_unique_or_drop(req).map(Spare)
    }
}

/// A request.
#[pin_data]
pub(crate) struct Request {
    /// The file it was submitted on.
    pub(crate) file: Arc<OpenFile>,
    /// The header as submitted, with `info` as set at submission (other
    /// outputs come from the response).
    pub(crate) hdr: sg_io_hdr,
    /// The command's first byte.
    pub(crate) opcode: u8,
    /// When it was submitted, in ms of jiffies.
    start_ms: u32,
    /// The interface it came through.
    pub(crate) kind: Kind,
    state: LockedBy<RequestState, FileInner>,
    /// The sense data of the last completion that returned any. Apart from
    /// the response, so that responses stay small and a reused request
    /// does not clear it: [`Request::sense`] reads it.
    sense: LockedBy<[u8; SENSE_BUFFERSIZE], FileInner>,
    /// Reaches the running block request, for cancellation.
    #[pin]
    abort: AbortHandle,
    #[pin]
    work: Work<Request>,
}

kernel::impl_has_work! {
    impl HasWork<Self> for Request { self.work }
}

impl Request {
    /// A request for `file` with header `hdr` and its `info`, not yet
    /// listed or started, made in `spare` (a retired request of the same
    /// file) when there is one.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        file: ArcBorrow<'_, OpenFile>,
        hdr: &sg_io_hdr,
        info: u32,
        opcode: u8,
        start_ms: u32,
        kind: Kind,
        sg_io_owned: bool,
        io: RequestIo,
        spare: Option<Spare>,
    ) -> Result<Arc<Self>> {
        let state = LockedBy::new(
            &file.inner,
            RequestState {
                stage: Stage::Active,
                orphan: false,
                sg_io_owned,
                response: Response::new(),
                io: Some(io),
                slot: 0,
            },
        );
        if let Some(Spare(mut req)) = spare.filter(|s| core::ptr::eq(&*s.0.file, &*file)) {
            // Its work item and abort handle are idle (type invariant):
            // only the fields below change.
            let stored = unpinned_field_mut!(req.as_mut(), hdr);
            *stored = *hdr;
            stored.info = info;
            *unpinned_field_mut!(req.as_mut(), opcode) = opcode;
            *unpinned_field_mut!(req.as_mut(), start_ms) = start_ms;
            *unpinned_field_mut!(req.as_mut(), kind) = kind;
            *unpinned_field_mut!(req.as_mut(), state) = state;
            return Ok(req.into());
        }
        Arc::pin_init(
            pin_init!(Request {
                file: file.into(),
                hdr: sg_io_hdr { info, ..*hdr },
                opcode,
                start_ms,
                kind,
                state,
                sense: LockedBy::new(&file.inner, [0; SENSE_BUFFERSIZE]),
                abort <- AbortHandle::new(),
                work <- new_work!("rsg::Request::work"),
            }),
            GFP_KERNEL,
        )
    }

    /// Records where a queued request sits among the active ones.
    pub(crate) fn set_slot(&self, inner: &mut FileInner, slot: usize) {
        self.state.access_mut(inner).slot = slot;
    }

    /// Reaches the running block request.
    pub(crate) fn abort_handle(&self) -> &AbortHandle {
        &self.abort
    }

    /// Where a request sits among the active ones.
    pub(crate) fn slot(&self, inner: &FileInner) -> usize {
        self.state.access(inner).slot
    }

    /// Aborts the request if it is running; it then completes with an
    /// error status. `false` if it is not running.
    pub(crate) fn abort(&self) -> bool {
        self.abort.abort()
    }

    /// Its stage.
    pub(crate) fn stage(&self, inner: &FileInner) -> Stage {
        self.state.access(inner).stage
    }

    /// Whether its response belongs to `SG_IO`.
    pub(crate) fn sg_io_owned(&self, inner: &FileInner) -> bool {
        self.state.access(inner).sg_io_owned
    }

    /// Whether `SG_IO` gave up on it.
    pub(crate) fn orphan(&self, inner: &FileInner) -> bool {
        self.state.access(inner).orphan
    }

    /// Its response, once completed.
    pub(crate) fn response(&self, inner: &FileInner) -> Response {
        self.state.access(inner).response
    }

    /// Its sense buffer as sg's would read once completed: the device's
    /// sense data, or zeros when it returned none.
    pub(crate) fn sense(&self, inner: &FileInner) -> [u8; SENSE_BUFFERSIZE] {
        if self.state.access(inner).response.sense_kept {
            *self.sense.access(inner)
        } else {
            [0; SENSE_BUFFERSIZE]
        }
    }

    /// Records the response of a completion, keeping its sense data.
    fn set_response(&self, inner: &mut FileInner, response: Response, done: &Completed<'_>) {
        if let Some(sense) = done.sense() {
            *self.sense.access_mut(inner) = *sense;
        }
        self.state.access_mut(inner).response = response;
    }

    /// Whether the request's data goes through the reserve buffer.
    pub(crate) fn uses_reserve(&self, inner: &FileInner) -> bool {
        matches!(
            self.state.access(inner).io,
            Some(RequestIo {
                buffer: DataBuffer::Reserve(_),
                ..
            })
        )
    }

    /// Bytes of buffer the request's data uses.
    pub(crate) fn buffer_len(&self, inner: &FileInner) -> usize {
        self.state.access(inner).io.as_ref().map_or(0, |io| io.len)
    }

    /// Page runs the request's data uses.
    pub(crate) fn buffer_runs(&self, inner: &FileInner) -> usize {
        self.state
            .access(inner)
            .io
            .as_ref()
            .map_or(0, RequestIo::runs)
    }

    /// Milliseconds since submission (while active).
    pub(crate) fn elapsed_ms(&self) -> u32 {
        self.elapsed_ms_at(time::now_ms())
    }

    /// Milliseconds from submission to `now_ms` (ms of jiffies).
    fn elapsed_ms_at(&self, now_ms: u32) -> u32 {
        now_ms.saturating_sub(self.start_ms)
    }

    /// When it was submitted, in ms of jiffies.
    pub(crate) fn start_ms(&self) -> u32 {
        self.start_ms
    }

    /// Claims a completed response for a reader; `false` if not ready.
    pub(crate) fn take_if_ready(&self, inner: &mut FileInner) -> bool {
        let st = self.state.access_mut(inner);
        if st.stage == Stage::Ready {
            st.stage = Stage::Taken;
            true
        } else {
            false
        }
    }

    /// Marks an `SG_IO` request whose caller was interrupted.
    pub(crate) fn set_orphan(&self, inner: &mut FileInner) {
        self.state.access_mut(inner).orphan = true;
    }

    /// Ends the request's life in process context: copies bounced data-in to
    /// the calling process (none from a kernel thread), gives buffers back,
    /// and takes it off its file's list.
    pub(crate) fn retire(self: Arc<Self>) -> Result {
        let io = self.take_io();
        self.finish(io)
    }

    /// Takes the data side out, to read v2 data-in from its pages before
    /// [`Request::finish`].
    pub(crate) fn take_io(&self) -> Option<RequestIo> {
        self.state.access_mut(&mut self.file.inner.lock()).io.take()
    }

    /// A reader's share of a request it claimed: the response and the
    /// data side, taken under the file's lock, which the caller holds. A
    /// request that moved no data has nothing to undo: its data side is
    /// left in place rather than moved out.
    pub(crate) fn take(&self, inner: &mut FileInner) -> Taken {
        let st = self.state.access_mut(inner);
        let io = if st.io.as_ref().is_some_and(RequestIo::moves_data) {
            st.io.take()
        } else {
            None
        };
        Taken {
            response: st.response,
            io,
        }
    }

    /// Puts back the data side taken by [`Request::take_io`], leaving the
    /// request listed.
    pub(crate) fn restore_io(&self, io: Option<RequestIo>) {
        self.state.access_mut(&mut self.file.inner.lock()).io = io;
    }

    /// Retires the request with its data side taken by [`Request::take_io`].
    /// The file keeps it for its next request if this was the last
    /// reference.
    pub(crate) fn finish(self: Arc<Self>, io: Option<RequestIo>) -> Result {
        // After the last close the request may hold its file's last
        // reference; this one keeps the file until its lock is released.
        let file = self.file.clone();
        self.finish_in(&file, io)
    }

    /// [`Request::finish`] for a caller that holds a reference to `file`,
    /// the request's file, for as long as this runs.
    pub(crate) fn finish_in(self: Arc<Self>, file: &OpenFile, io: Option<RequestIo>) -> Result {
        let ret = io.map_or(Ok(()), |io| io.finish(&self.file));
        if !core::ptr::eq(file, &*self.file) {
            // Not the caller's file after all: let the request keep its own.
            return ret.and(self.finish(None));
        }
        let unlisted = file.unlist(&mut file.inner.lock(), self);
        unlisted.done();
        ret
    }

    /// Retires `req` from a kernel thread, so no user memory is touched.
    pub(crate) fn retire_later(req: Arc<Self>) {
        // A request is queued at most once: from its completion or from the
        // final close, never both.
        let _ = crate::abstractions::workqueue::queue().enqueue(req);
    }
}

impl WorkItem for Request {
    type Pointer = Arc<Request>;

    fn run(this: Arc<Request>) {
        let _ = this.retire();
    }
}

impl Request {
    /// A queue-interface request ended: it moves from the active set to the
    /// done queue, or, abandoned by the final close, frees itself.
    fn complete_queued(req: Arc<Request>, response: Response, done: &Completed<'_>) {
        let abandoned = {
            let mut inner = req.file.inner.lock();
            req.set_response(&mut inner, response, done);
            let st = req.state.access_mut(&mut inner);
            st.stage = Stage::Ready;
            let slot = st.slot;
            let queued = inner.queues.take_active(slot);
            if inner.closed {
                // The completion's own reference outlives this one.
                drop(queued);
                true
            } else {
                if let Some(queued) = queued {
                    inner.queues.push_done(queued);
                }
                req.file.read_wait.notify_all_if_queued();
                req.file.fasync.kill(kernel::bindings::POLL_IN);
                false
            }
        };
        if abandoned {
            Request::retire_later(req);
        } else if let Some(last) = Arc::into_unique_or_drop(req) {
            Request::retire_later(last.into());
        }
    }
}

impl Request {
    /// Decodes and accounts a completion; any context.
    #[inline(always)]
    fn decode(&self, done: &Completed<'_>) -> Response {
        let mut response = Response::from_completion(done);
        let now = time::now_ms();
        response.duration = self.elapsed_ms_at(now);
        self.account(&response, now);
        // CHECK CONDITION or COMMAND TERMINATED, as sg logs them.
        if self.file.dev.debug() > 0 && matches!(response.masked_status, 0x01 | 0x11) {
            let sense = done.sense().map_or([0; SENSE_BUFFERSIZE], |s| *s);
            pr_info!(
                "rsg{}: command 0x{:02x} failed, sense {:02x?}\n",
                self.file.dev.index,
                self.opcode,
                &sense[..18]
            );
        }
        response
    }

    /// Records the completion of a request whose completion is delivered
    /// elsewhere (io_uring); any context, and nothing is dropped.
    pub(crate) fn record(&self, done: &Completed<'_>) {
        let response = self.decode(done);
        let mut inner = self.file.inner.lock();
        self.set_response(&mut inner, response, done);
        self.state.access_mut(&mut inner).stage = Stage::Ready;
    }

    /// Adds the finished command to its device's statistics.
    fn account(&self, resp: &Response, now_ms: u32) {
        let moved = u64::from(self.hdr.dxfer_len).saturating_sub(resp.resid.max(0) as u64);
        let transfer = match self.hdr.dxfer_direction {
            _ if self.hdr.dxfer_len == 0 => Transfer::None,
            SG_DXFER_NONE => Transfer::None,
            SG_DXFER_TO_DEV => Transfer::Write(moved),
            _ => Transfer::Read(moved),
        };
        let error = resp.status != 0 || resp.host_status != 0 || resp.driver_status != 0;
        self.file.dev.stats.done(now_ms, transfer, error);
    }
}

impl Completion for Request {
    type Data = Arc<Request>;

    fn with_abort_handle(req: ArcBorrow<'_, Request>, f: &mut dyn FnMut(&AbortHandle)) {
        // Only the queue interface cancels; sg's requests skip the handle's
        // lock on start and completion.
        if req.kind != Kind::Sg {
            f(&req.abort);
        }
    }

    fn complete(req: Arc<Request>, done: &Completed<'_>) {
        let response = req.decode(done);
        if req.kind == Kind::Queued {
            return Request::complete_queued(req, response, done);
        }
        let deliver = {
            let mut inner = req.file.inner.lock();
            let keep_orphan = inner.keep_orphan != 0;
            let closed = inner.closed;
            req.set_response(&mut inner, response, done);
            let st = req.state.access_mut(&mut inner);
            let mut deliver = !closed;
            if st.orphan {
                if keep_orphan {
                    st.sg_io_owned = false;
                } else {
                    deliver = false;
                }
            }
            if deliver {
                st.stage = Stage::Ready;
                req.file.read_wait.notify_all_if_queued();
                req.file.fasync.kill(kernel::bindings::POLL_IN);
            }
            deliver
        };
        if !deliver {
            Request::retire_later(req);
        } else if let Some(last) = Arc::into_unique_or_drop(req) {
            // The reader retired it already; its final drop must not run in
            // interrupt context.
            Request::retire_later(last.into());
        }
    }
}
