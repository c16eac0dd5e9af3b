// SPDX-License-Identifier: GPL-2.0

//! Wait queues that both sleepers and `poll()` can use (6.12's `CondVar`
//! keeps its queue private, so `poll_wait()` cannot reach it).
//!
//! C header: [`include/linux/wait.h`](srctree/include/linux/wait.h)

use super::file::{File, PollTable};
use crate::bindings as shim;
use kernel::bindings;
use kernel::init::PinInit;
use kernel::prelude::*;
use kernel::sync::lock::{Backend, Guard, Lock};
use kernel::sync::LockClassKey;
use kernel::types::Opaque;

/// Creates a [`WaitQueue`] with a lockdep class of its own.
macro_rules! new_wait_queue {
    ($name:literal) => {
        $crate::abstractions::wait::WaitQueue::new(
            kernel::c_str!($name),
            kernel::static_lock_class!(),
        )
    };
}
pub(crate) use new_wait_queue;

/// A `wait_queue_head_t`.
///
/// # Invariants
///
/// `wq` is initialised and, being pinned, never moves.
#[pin_data]
pub(crate) struct WaitQueue {
    #[pin]
    wq: Opaque<bindings::wait_queue_head>,
}

// SAFETY: Wait queues are built for use from any thread; their own spinlock
// serialises access.
unsafe impl Send for WaitQueue {}
// SAFETY: As above.
unsafe impl Sync for WaitQueue {}

impl WaitQueue {
    /// An empty queue.
    pub(crate) fn new(name: &'static CStr, key: &'static LockClassKey) -> impl PinInit<Self> {
        // `LockClassKey` is a transparent wrapper of the C key, which lockdep
        // updates through its own synchronisation.
        let key = (key as *const LockClassKey)
            .cast_mut()
            .cast::<bindings::lock_class_key>();
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; `name` and `key` are static.
            wq <- Opaque::ffi_init(|slot| unsafe {
                bindings::__init_waitqueue_head(slot, name.as_char_ptr(), key)
            }),
        })
    }

    fn raw(&self) -> *mut bindings::wait_queue_head {
        self.wq.get()
    }

    /// Wakes every interruptible sleeper and poller (`wake_up_interruptible_all`).
    /// Callable from interrupt context.
    pub(crate) fn notify_all(&self) {
        // SAFETY: The queue is initialised (type invariant).
        unsafe {
            bindings::__wake_up(
                self.raw(),
                bindings::TASK_INTERRUPTIBLE,
                0,
                core::ptr::null_mut(),
            )
        };
    }

    /// [`WaitQueue::notify_all`], skipped when nobody is queued, for a
    /// caller that changed the awaited condition under a lock which every
    /// waiter holds from checking the condition to queueing itself (a
    /// sleeper), or takes after queueing itself and before checking (a
    /// poller): an empty queue seen under that lock holds nobody who could
    /// miss the change. Sparing the wake-up's own lock matters on the
    /// completion path.
    #[inline(always)]
    pub(crate) fn notify_all_if_queued(&self) {
        let raw = self.raw();
        // `head.next` changes only under the queue's lock; one volatile read,
        // as `list_empty()`'s `READ_ONCE()`, sees an old or new value whole.
        // SAFETY: `raw` is the initialised, unmoving queue (type invariant),
        // so its field addresses are valid; `next` is compared, not followed.
        let empty = unsafe {
            let head = core::ptr::addr_of_mut!((*raw).head);
            core::ptr::read_volatile(core::ptr::addr_of!((*head).next)) == head
        };
        if !empty {
            self.notify_all();
        }
    }

    /// Releases `guard`, sleeps until woken or signalled, and retakes `lock`.
    /// Returns the new guard and whether a signal is pending.
    ///
    /// `guard` must be `lock`'s: the caller rechecks its condition after.
    pub(crate) fn wait_interruptible<'a, T: ?Sized, B: Backend>(
        &self,
        lock: &'a Lock<T, B>,
        guard: Guard<'a, T, B>,
    ) -> (Guard<'a, T, B>, bool) {
        let (guard, signalled, _) = self.wait_interruptible_timeout(lock, guard, None);
        (guard, signalled)
    }

    /// As [`WaitQueue::wait_interruptible`], for at most `timeout` jiffies
    /// when given; also returns the jiffies left (0: timed out).
    #[inline(always)]
    pub(crate) fn wait_interruptible_timeout<'a, T: ?Sized, B: Backend>(
        &self,
        lock: &'a Lock<T, B>,
        guard: Guard<'a, T, B>,
        timeout: Option<u64>,
    ) -> (Guard<'a, T, B>, bool, u64) {
        let mut left = timeout.unwrap_or(0);
        let entry = Opaque::<bindings::wait_queue_entry>::uninit();
        // SAFETY: `entry` lives on this stack frame until `finish_wait`
        // below removes it from the queue; the queue is initialised.
        unsafe {
            bindings::init_wait_entry(entry.get(), 0);
            bindings::prepare_to_wait(self.raw(), entry.get(), bindings::TASK_INTERRUPTIBLE as i32);
        }
        // Being on the queue before unlocking means no wake-up is lost.
        drop(guard);
        // A signal already pending needs no check here: the scheduler does
        // not put an interruptible sleeper with one to sleep.
        // SAFETY: Sleeping is allowed, as the guard, the only lock held, is
        // released; `entry` was put on this queue above and is still live.
        unsafe {
            match timeout {
                Some(t) => {
                    let t = t.min(i64::MAX as u64 - 1) as i64;
                    left = bindings::schedule_timeout(t as _).max(0) as u64;
                }
                None => bindings::schedule(),
            }
            bindings::finish_wait(self.raw(), entry.get());
        }
        // SAFETY: The current task is live while it runs, and reading its
        // signal state has no other precondition.
        let signalled = unsafe { bindings::signal_pending(bindings::get_current()) } != 0;
        (lock.lock(), signalled, left)
    }

    /// Registers the queue with a `poll()` in progress.
    pub(crate) fn poll_wait(&self, file: &File, table: &PollTable<'_>) {
        // The queue belongs to the file's state, which outlives the file's
        // poll registrations: `poll_freewait()` runs before it is released.
        // SAFETY: The file is live, the table live or null (its invariant),
        // which `poll_wait()` accepts.
        unsafe { shim::rsg_poll_wait(file.raw(), self.raw(), table.raw()) };
    }
}

/// A file's list of `SIGIO` subscribers (`struct fasync_struct *`).
///
/// # Invariants
///
/// `head` is only changed by `fasync_helper()` and read by `kill_fasync()`,
/// which synchronise between themselves, and by [`Fasync::kill`]'s check for
/// an empty list, a single read as `READ_ONCE()` makes.
pub(crate) struct Fasync {
    head: Opaque<*mut bindings::fasync_struct>,
}

// SAFETY: The fasync calls do their own locking (`fasync_lock`, RCU).
unsafe impl Send for Fasync {}
// SAFETY: As above.
unsafe impl Sync for Fasync {}

impl Fasync {
    /// No subscribers.
    pub(crate) fn new() -> Self {
        Self {
            head: Opaque::new(core::ptr::null_mut()),
        }
    }

    /// Adds or removes `file`'s subscription (the `fasync` file operation).
    pub(crate) fn update(&self, fd: i32, file: &File, on: bool) -> Result {
        // SAFETY: `head` is a valid list head (type invariant); the file is
        // live.
        let ret = unsafe { bindings::fasync_helper(fd, file.raw(), on as i32, self.head.get()) };
        if ret < 0 {
            Err(Error::from_errno(ret))
        } else {
            Ok(())
        }
    }

    /// Sends `SIGIO` with `band` (`POLL_IN`, `POLL_HUP`) to the subscribers.
    /// Callable from interrupt context.
    #[inline]
    pub(crate) fn kill(&self, band: u32) {
        // An empty list is the common case: seen here, as `kill_fasync()`
        // would see it first, it costs no call. A subscriber added meanwhile
        // races with the event either way.
        // SAFETY: `head` is valid for reads; it is a pointer-sized word that
        // `fasync_helper()` updates with a single store, read once here as
        // `READ_ONCE()` would (type invariant).
        if unsafe { core::ptr::read_volatile(self.head.get()) }.is_null() {
            return;
        }
        // SAFETY: `head` is a valid list head.
        unsafe { bindings::kill_fasync(self.head.get(), bindings::SIGIO as i32, band as i32) };
    }
}

impl Drop for Fasync {
    fn drop(&mut self) {
        // The VFS unsubscribes a file before its release, so by now the list
        // is empty; nothing to free.
    }
}
