// SPDX-License-Identifier: GPL-2.0

//! Locks 6.12 lacks: an interrupt-safe spinlock and a statically allocated
//! mutex.
//!
//! C header: [`include/linux/spinlock.h`](srctree/include/linux/spinlock.h)

use crate::bindings as shim;
use core::cell::UnsafeCell;
use kernel::bindings;
use kernel::sync::lock::{Backend, Lock};

/// A spinlock taken with interrupts disabled, for state that request
/// completions (which run in interrupt context) share with process context.
pub(crate) type SpinLockIrq<T> = Lock<T, SpinLockIrqBackend>;

/// Creates a [`SpinLockIrq`] with a lockdep class of its own.
macro_rules! new_spinlock_irq {
    ($inner:expr, $name:literal) => {
        kernel::sync::lock::Lock::<_, $crate::abstractions::sync::SpinLockIrqBackend>::new(
            $inner,
            kernel::c_str!($name),
            kernel::static_lock_class!(),
        )
    };
}
pub(crate) use new_spinlock_irq;

/// The [`Backend`] of [`SpinLockIrq`]: `spin_lock_irqsave()`.
pub(crate) struct SpinLockIrqBackend;

// SAFETY: `spin_lock_irqsave()` gives mutual exclusion, and the saved flags
// are handed back to the matching `spin_unlock_irqrestore()`. `relock` uses
// the default implementation, which calls `lock` again.
unsafe impl Backend for SpinLockIrqBackend {
    type State = bindings::spinlock_t;
    type GuardState = kernel::ffi::c_ulong;

    unsafe fn init(
        ptr: *mut Self::State,
        name: *const kernel::ffi::c_char,
        key: *mut bindings::lock_class_key,
    ) {
        // SAFETY: The caller guarantees `ptr` is valid for writes and that
        // `name` and `key` live forever.
        unsafe { bindings::__spin_lock_init(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: The caller guarantees `ptr` is an initialised spinlock.
        unsafe { shim::rsg_spin_lock_irqsave(ptr) }
    }

    unsafe fn unlock(ptr: *mut Self::State, flags: &Self::GuardState) {
        // SAFETY: The caller owns the lock, taken by `lock`, which returned
        // `flags`.
        unsafe { shim::rsg_spin_unlock_irqrestore(ptr, *flags) }
    }
}

/// Data behind the statically allocated mutex of the C shim
/// (`rsg_table_mutex`), usable before any allocation exists.
///
/// Every instance shares that one mutex: locking two instances at once
/// deadlocks, so the driver keeps a single one.
///
/// # Invariants
///
/// `data` is only reached through a [`GlobalGuard`], which holds the mutex.
pub(crate) struct GlobalMutex<T> {
    data: UnsafeCell<T>,
}

// SAFETY: Access to `data` is serialised by the mutex (type invariant), so
// sharing the wrapper across threads is sound when `T` may move between them.
unsafe impl<T: Send> Sync for GlobalMutex<T> {}

impl<T> GlobalMutex<T> {
    /// Wraps `data`.
    pub(crate) const fn new(data: T) -> Self {
        Self {
            data: UnsafeCell::new(data),
        }
    }

    /// Takes the mutex; it may sleep.
    pub(crate) fn lock(&self) -> GlobalGuard<'_, T> {
        // SAFETY: The mutex is statically initialised in the shim.
        unsafe { shim::rsg_table_lock() };
        GlobalGuard { lock: self }
    }
}

/// Proof that the global mutex is held.
pub(crate) struct GlobalGuard<'a, T> {
    lock: &'a GlobalMutex<T>,
}

impl<T> core::ops::Deref for GlobalGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: The guard holds the mutex, so no one else reaches `data`.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> core::ops::DerefMut for GlobalGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: The guard holds the mutex, so no one else reaches `data`.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for GlobalGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: This guard took the mutex in `GlobalMutex::lock`.
        unsafe { shim::rsg_table_unlock() };
    }
}
