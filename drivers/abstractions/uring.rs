// SPDX-License-Identifier: GPL-2.0

//! io_uring commands addressed to a file (`IORING_OP_URING_CMD`).
//!
//! A command reaches the driver through the `uring_cmd` file operation as a
//! [`UringCmd`], the one right to complete it. The driver either fails it at
//! once (io_uring then posts the error) or hands the right on, typically to a
//! block request, and finally completes it from task context with
//! [`UringCmd::done`]. While it runs, the command's pdu keeps one
//! [`ForeignOwnable`] value of the driver's.
//!
//! C header: [`include/linux/io_uring/cmd.h`](srctree/include/linux/io_uring/cmd.h)

use super::block::Direction;
use crate::bindings as shim;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use kernel::bindings;
use kernel::prelude::*;
use kernel::types::{ForeignOwnable, FromBytes};

/// Bytes of payload a 128-byte SQE carries (`sqe->cmd`).
pub(crate) const PAYLOAD_SIZE: usize = shim::RSG_URING_CMD_SIZE as usize;

/// Bytes of payload a 64-byte SQE carries.
pub(crate) const PAYLOAD_SIZE_SQE64: usize = 16;

/// The flags io_uring issues a call with (`IO_URING_F_*`); passed back
/// unchanged when completing from that call.
#[derive(Clone, Copy)]
pub(crate) struct IssueFlags(u32);

impl IssueFlags {
    fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }

    /// The caller prefers `EAGAIN` to blocking; it then retries from a
    /// worker that may block.
    pub(crate) fn nonblock(self) -> bool {
        self.has(shim::RSG_URING_F_NONBLOCK)
    }

    /// The ring has 128-byte SQEs.
    pub(crate) fn sqe128(self) -> bool {
        self.has(shim::RSG_URING_F_SQE128)
    }

    /// The ring was set up by a 32-bit process.
    pub(crate) fn compat(self) -> bool {
        self.has(shim::RSG_URING_F_COMPAT)
    }

    /// A task callback runs where user memory must not be touched: the task
    /// is exiting or the ring is being torn down.
    pub(crate) fn task_dead(self) -> bool {
        self.has(shim::RSG_URING_F_TASK_DEAD)
    }

    fn is_cancel(self) -> bool {
        self.has(shim::RSG_URING_F_CANCEL)
    }
}

/// What the driver keeps in a command's pdu while it runs.
#[repr(C)]
struct Pdu {
    /// Null, or the driver's value from `ForeignOwnable::into_foreign`.
    data: AtomicPtr<c_void>,
    /// A word of the driver's.
    word: AtomicU64,
    /// io_uring has asked to cancel the command.
    cancelled: AtomicBool,
}

const _: () = assert!(core::mem::size_of::<Pdu>() <= shim::RSG_URING_PDU_SIZE as usize);

impl Pdu {
    /// Borrows the driver's value, if one is kept.
    ///
    /// # Safety
    ///
    /// `data` is null or comes from `D::into_foreign`, and the value is not
    /// taken back (`from_foreign`) while the borrow lasts.
    unsafe fn borrow<'a, D: ForeignOwnable>(&self) -> Option<D::Borrowed<'a>> {
        let ptr = self.data.load(Ordering::Acquire);
        // SAFETY: Non-null, so from `into_foreign`, and kept for `'a`, both
        // by the caller's guarantee.
        (!ptr.is_null()).then(|| unsafe { D::borrow(ptr) })
    }
}

/// The pdu of `cmd`.
///
/// # Safety
///
/// `cmd` must be a live `io_uring_cmd` whose pdu was initialised by
/// [`UringCmd::issued`].
unsafe fn pdu<'a>(cmd: NonNull<bindings::io_uring_cmd>) -> &'a Pdu {
    // SAFETY: The pdu is 32 bytes, 8-aligned (checked in the shim) and
    // initialised as a `Pdu`, whose members are atomics, so shared
    // references are fine; the caller keeps the command live.
    unsafe { &*shim::rsg_uring_cmd_pdu(cmd.as_ptr()).cast::<Pdu>() }
}

/// The right to complete one issued io_uring command, whose pdu holds an
/// optional `D`.
///
/// # Invariants
///
/// `ptr` is a live, issued `io_uring_cmd` not yet completed, and this is
/// the only `UringCmd` for it. Its pdu is a `Pdu` whose `data` is null or
/// comes from `D::into_foreign`.
pub(crate) struct UringCmd<D: ForeignOwnable> {
    ptr: NonNull<bindings::io_uring_cmd>,
    _p: PhantomData<D>,
}

// SAFETY: A command may be completed from any thread; the data it carries
// is `Send` too.
unsafe impl<D: ForeignOwnable + Send> Send for UringCmd<D> {}

/// Proof that a [`UringCmd`] was handed on, so the issuing call returns
/// `-EIOCBQUEUED`.
pub(crate) struct Queued(());

impl<D: ForeignOwnable> UringCmd<D> {
    /// Takes the right to complete a command being issued, with an empty
    /// pdu.
    ///
    /// # Safety
    ///
    /// `ptr` is a command io_uring is issuing to this driver now (not a
    /// cancel call), and no other `UringCmd` exists for it.
    unsafe fn issued(ptr: NonNull<bindings::io_uring_cmd>) -> Self {
        // SAFETY: The pdu is 32 bytes, 8-aligned (both checked at build
        // time), large enough for a `Pdu`; it is ours while the command is
        // issued, and nothing else reads it before this returns.
        unsafe {
            shim::rsg_uring_cmd_pdu(ptr.as_ptr())
                .cast::<Pdu>()
                .write(Pdu {
                    data: AtomicPtr::new(core::ptr::null_mut()),
                    word: AtomicU64::new(0),
                    cancelled: AtomicBool::new(false),
                })
        };
        // INVARIANT: Issued, not completed, pdu initialised and empty.
        Self {
            ptr,
            _p: PhantomData,
        }
    }

    fn pdu(&self) -> &Pdu {
        // SAFETY: Live, pdu initialised (type invariant).
        unsafe { pdu(self.ptr) }
    }

    /// The command number (`sqe->cmd_op`).
    pub(crate) fn op(&self) -> u32 {
        // SAFETY: The command is live.
        unsafe { shim::rsg_uring_cmd_op(self.ptr.as_ptr()) }
    }

    /// Whether the data is in a registered buffer (`IORING_URING_CMD_FIXED`),
    /// chosen by `sqe->buf_index`.
    pub(crate) fn is_fixed(&self) -> bool {
        // SAFETY: The command is live.
        unsafe { shim::rsg_uring_cmd_flags(self.ptr.as_ptr()) & shim::RSG_URING_CMD_FIXED != 0 }
    }

    /// A copy of the SQE's payload as a `T`, taken once (user space may still
    /// write the SQE), and how many bytes the ring's SQEs carry; bytes past
    /// those read as zero. `None` if a `T` is larger than the payload. Only
    /// meaningful while the command is being issued: user space may reuse
    /// the SQE once it is.
    pub(crate) fn payload<T: FromBytes>(&self, flags: IssueFlags) -> Option<(T, usize)> {
        if core::mem::size_of::<T>() > PAYLOAD_SIZE {
            return None;
        }
        let (bytes, len) = self.payload_bytes(flags);
        // SAFETY: `bytes` holds at least `size_of::<T>()` bytes, and any bit
        // pattern is a valid `T` (`FromBytes`).
        let value = unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) };
        Some((value, len))
    }

    fn payload_bytes(&self, flags: IssueFlags) -> ([u8; PAYLOAD_SIZE], usize) {
        let len = if flags.sqe128() {
            PAYLOAD_SIZE
        } else {
            PAYLOAD_SIZE_SQE64
        };
        let mut out = [0u8; PAYLOAD_SIZE];
        // SAFETY: The command is live; its SQE (or io_uring's copy of it)
        // stays readable while it is issued and holds `len` payload bytes.
        let src = unsafe { shim::rsg_uring_cmd_payload(self.ptr.as_ptr()) }.cast::<u8>();
        // Read once, volatile, since user space may write the SQE
        // concurrently; by words where aligned (the payload sits at offset
        // 48 of a 64-byte SQE), and both sizes are whole words.
        if src as usize % core::mem::align_of::<u64>() == 0 {
            let words = src.cast::<u64>();
            for (i, chunk) in out.chunks_exact_mut(8).take(len / 8).enumerate() {
                // SAFETY: In bounds as above, and aligned.
                let word = unsafe { core::ptr::read_volatile(words.add(i)) };
                chunk.copy_from_slice(&word.to_ne_bytes());
            }
        } else {
            for (i, b) in out.iter_mut().take(len).enumerate() {
                // SAFETY: In bounds as above.
                *b = unsafe { core::ptr::read_volatile(src.add(i)) };
            }
        }
        (out, len)
    }

    /// Keeps `data` in the pdu until [`UringCmd::take_data`]; a value left
    /// there before is given back.
    pub(crate) fn set_data(&mut self, data: D) -> Option<D> {
        let old = self
            .pdu()
            .data
            .swap(data.into_foreign() as *mut c_void, Ordering::AcqRel);
        // SAFETY: `old` is null or from `into_foreign` (type invariant), now
        // out of the pdu; `&mut self` excludes borrows through this owner,
        // and before the command is handed on nothing else borrows it.
        unsafe { D::try_from_foreign(old) }
    }

    /// Takes the pdu's value back.
    pub(crate) fn take_data(&mut self) -> Option<D> {
        let old = self
            .pdu()
            .data
            .swap(core::ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: As in `set_data`; `&mut self` excludes `data()` borrows,
        // and io_uring runs no cancel call (`UringCmdRef`) concurrently.
        unsafe { D::try_from_foreign(old) }
    }

    /// Borrows the pdu's value.
    pub(crate) fn data(&self) -> Option<D::Borrowed<'_>> {
        // SAFETY: The pdu holds a `D` or nothing (type invariant); taking it
        // back needs `&mut self`, which this borrow excludes.
        unsafe { self.pdu().borrow::<D>() }
    }

    /// Keeps a word for the completion (0 until set).
    pub(crate) fn set_word(&self, word: u64) {
        self.pdu().word.store(word, Ordering::Relaxed);
    }

    /// The word [`UringCmd::set_word`] kept.
    pub(crate) fn word(&self) -> u64 {
        self.pdu().word.load(Ordering::Relaxed)
    }

    /// Lets io_uring's cancellation (ring or task teardown) reach the command
    /// through the `uring_cmd` hook with a [`UringCmdRef`]. Call it only once
    /// nothing can fail before handing the command on: io_uring must not see
    /// the command completed while it is listed.
    pub(crate) fn mark_cancelable(&self, flags: IssueFlags) {
        // SAFETY: Live and issued; `flags` are the issuing call's.
        unsafe { shim::io_uring_cmd_mark_cancelable(self.ptr.as_ptr(), flags.0) }
    }

    /// Imports `len` bytes at `addr` of the registered buffer the SQE names,
    /// for data moving in `dir`. The pages stay registered until the command
    /// completes.
    pub(crate) fn import_fixed(
        &self,
        addr: u64,
        len: usize,
        dir: Direction,
    ) -> Result<FixedBuffer<'_>> {
        let rw = match dir {
            Direction::ToDevice => bindings::ITER_SOURCE,
            Direction::FromDevice => bindings::ITER_DEST,
        };
        // SAFETY: All-zero is a valid, empty `iov_iter`.
        let mut iter: bindings::iov_iter = unsafe { core::mem::zeroed() };
        // SAFETY: The command is live and issued with `IORING_URING_CMD_FIXED`
        // (io_uring checked the buffer index at prep); `iter` is writable.
        super::to_result(unsafe {
            shim::io_uring_cmd_import_fixed(
                addr,
                len as _,
                rw as i32,
                &mut iter,
                self.ptr.as_ptr().cast(),
            )
        })?;
        Ok(FixedBuffer {
            iter,
            _p: PhantomData,
        })
    }

    /// Gives up a command the issuing call fails: io_uring posts the error.
    /// Any pdu value is dropped.
    pub(super) fn fail(mut self) {
        drop(self.take_data());
        core::mem::forget(self);
    }

    /// Hands the command on through `f`, which must store it where it is
    /// eventually completed (a block request's completion data, say).
    pub(crate) fn hand_off(self, f: impl FnOnce(Self)) -> Queued {
        f(self);
        Queued(())
    }

    /// Runs `C::run` with the command in the issuing task's context, where
    /// user memory may be touched. Any context, including interrupts.
    pub(crate) fn complete_in_task<C: InTask<Data = D>>(self) {
        let ptr = self.ptr.as_ptr();
        core::mem::forget(self);
        // SAFETY: The command is live and ours; the callback takes the right
        // to complete it back (it runs once).
        unsafe { shim::rsg_uring_cmd_complete_in_task(ptr, Some(task_work::<C>)) }
    }

    /// Posts the completion: `ret` becomes `cqe->res` (0 or `-errno`), `res2`
    /// the first extra word of a 32-byte CQE. The pdu must be empty by now.
    pub(crate) fn done(self, ret: Result, res2: u64, flags: IssueFlags) {
        let ret = match ret {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        };
        let ptr = self.ptr.as_ptr();
        core::mem::forget(self);
        // SAFETY: The command is live and not yet completed (type
        // invariant); `flags` come from the call this runs in; the command
        // is not used after this.
        unsafe { shim::io_uring_cmd_done(ptr, ret as _, res2, flags.0) }
    }
}

impl<D: ForeignOwnable> Drop for UringCmd<D> {
    fn drop(&mut self) {
        // A right dropped unused leaves the command pending until the ring
        // goes; nothing here can complete it without issue flags.
        pr_warn!("rsg: io_uring command dropped without completion\n");
    }
}

/// A command io_uring asks the driver to cancel (`IO_URING_F_CANCEL`). It
/// has been handed on and not completed; io_uring holds the ring's lock,
/// so its completion in task context does not run meanwhile.
///
/// # Invariants
///
/// `ptr` is a live command issued to this driver, marked cancelable (so its
/// pdu is initialised), for the borrow's lifetime; the completion path does
/// not take the pdu's value during it.
pub(crate) struct UringCmdRef<'a, D: ForeignOwnable> {
    ptr: NonNull<bindings::io_uring_cmd>,
    _p: PhantomData<(&'a (), D)>,
}

impl<D: ForeignOwnable> UringCmdRef<'_, D> {
    /// Whether this is io_uring's first request to cancel the command: it
    /// asks again and again until the command completes.
    pub(crate) fn first_cancel(&self) -> bool {
        // SAFETY: Live, pdu initialised (type invariant).
        !unsafe { pdu(self.ptr) }
            .cancelled
            .swap(true, Ordering::AcqRel)
    }

    /// Borrows the pdu's value.
    pub(crate) fn data(&self) -> Option<D::Borrowed<'_>> {
        // SAFETY: Live, pdu initialised with a `D` or nothing, and the
        // completion path does not take it back during this borrow (type
        // invariant).
        unsafe { pdu(self.ptr).borrow::<D>() }
    }
}

/// A [`UringCmd`] held as a block request's completion data, borrowed.
///
/// # Invariants
///
/// `ptr` is the command of a `UringCmd` turned into a foreign value, which
/// outlives the borrow.
pub(crate) struct UringCmdBorrow<'a, D: ForeignOwnable> {
    ptr: NonNull<bindings::io_uring_cmd>,
    _p: PhantomData<(&'a (), D)>,
}

impl<D: ForeignOwnable> UringCmdBorrow<'_, D> {
    /// Borrows the pdu's value.
    pub(crate) fn data(&self) -> Option<D::Borrowed<'_>> {
        // SAFETY: The owning `UringCmd` outlives this borrow, so the command
        // is live with its pdu holding a `D` or nothing; the value is taken
        // back only through the owner, which cannot happen meanwhile.
        unsafe { pdu(self.ptr).borrow::<D>() }
    }
}

impl<D: ForeignOwnable + 'static> ForeignOwnable for UringCmd<D> {
    type Borrowed<'a> = UringCmdBorrow<'a, D>;

    fn into_foreign(self) -> *const c_void {
        let ptr = self.ptr.as_ptr();
        core::mem::forget(self);
        ptr.cast()
    }

    unsafe fn borrow<'a>(ptr: *const c_void) -> UringCmdBorrow<'a, D> {
        // INVARIANT: The caller keeps the foreign value for `'a`.
        UringCmdBorrow {
            // SAFETY: `ptr` came from `into_foreign`, so it is non-null.
            ptr: unsafe { NonNull::new_unchecked(ptr as *mut bindings::io_uring_cmd) },
            _p: PhantomData,
        }
    }

    unsafe fn from_foreign(ptr: *const c_void) -> Self {
        // INVARIANT: `ptr` came from `into_foreign` of the one `UringCmd`
        // for the command, which is given back once.
        Self {
            // SAFETY: As in `borrow`.
            ptr: unsafe { NonNull::new_unchecked(ptr as *mut bindings::io_uring_cmd) },
            _p: PhantomData,
        }
    }
}

/// Work a command does in the issuing task's context before it completes.
pub(crate) trait InTask {
    /// The pdu's value.
    type Data: ForeignOwnable;

    /// Called once, in task context, with the right to complete.
    fn run(cmd: UringCmd<Self::Data>, flags: IssueFlags);
}

/// # Safety
///
/// Called by io_uring once for a command `complete_in_task::<C>` queued.
unsafe extern "C" fn task_work<C: InTask>(cmd: *mut bindings::io_uring_cmd, flags: u32) {
    // INVARIANT: `complete_in_task` gave up its right to complete, so this is
    // the only one; the command is live and its pdu initialised.
    let cmd = UringCmd {
        // SAFETY: io_uring passes the command `complete_in_task` queued.
        ptr: unsafe { NonNull::new_unchecked(cmd) },
        _p: PhantomData,
    };
    C::run(cmd, IssueFlags(flags));
}

/// How a `uring_cmd` call is dispatched.
pub(crate) enum Call<'a, D: ForeignOwnable> {
    /// A new command.
    Issue(UringCmd<D>),
    /// Cancellation of one handed on earlier.
    Cancel(UringCmdRef<'a, D>),
}

/// Classifies a `uring_cmd` call.
///
/// # Safety
///
/// `ptr` is the command io_uring passes to the `uring_cmd` file operation of
/// a file whose commands all carry a `D` (or nothing) in their pdu, with
/// `flags`; cancel calls only come for commands issued and marked
/// cancelable through [`UringCmd`].
pub(crate) unsafe fn call<'a, D: ForeignOwnable>(
    ptr: *mut bindings::io_uring_cmd,
    flags: u32,
) -> Option<(Call<'a, D>, IssueFlags)> {
    let ptr = NonNull::new(ptr)?;
    let flags = IssueFlags(flags);
    if flags.is_cancel() {
        // INVARIANT: io_uring cancels only commands marked cancelable and
        // not yet completed, under the ring lock the completion takes.
        return Some((
            Call::Cancel(UringCmdRef {
                ptr,
                _p: PhantomData,
            }),
            flags,
        ));
    }
    // SAFETY: A new command being issued, per the caller.
    Some((Call::Issue(unsafe { UringCmd::issued(ptr) }), flags))
}

/// A range of a registered buffer, imported for one command.
///
/// # Invariants
///
/// `iter` describes pages of a registered buffer that stay registered until
/// the command it was imported for completes.
pub(crate) struct FixedBuffer<'a> {
    iter: bindings::iov_iter,
    _p: PhantomData<&'a ()>,
}

impl FixedBuffer<'_> {
    /// The iterator, for mapping into a block request.
    pub(crate) fn raw(&self) -> *const bindings::iov_iter {
        &self.iter
    }
}
