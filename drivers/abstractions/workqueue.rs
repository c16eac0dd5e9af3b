// SPDX-License-Identifier: GPL-2.0

//! The driver's own workqueue, which module unload drains.
//!
//! Work that may drop the last reference on the module (a request retiring
//! after its file closed) runs here rather than on the system queue:
//! destroying this queue at unload waits for such work to return, so no code
//! of the module runs after it is freed.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h)

use crate::bindings as shim;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::bindings;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::workqueue::{self, Queue};

/// The published queue, or null outside the module's life.
static QUEUE: AtomicPtr<bindings::workqueue_struct> = AtomicPtr::new(core::ptr::null_mut());

/// Ownership of the driver's workqueue.
///
/// # Invariants
///
/// While this value exists, `QUEUE` points to a live workqueue it created.
pub(crate) struct DriverQueue(());

impl DriverQueue {
    /// Creates and publishes the queue.
    pub(crate) fn new(name: &'static CStr) -> Result<Self> {
        // SAFETY: `name` is a valid C string, copied into the queue's name.
        let wq = unsafe { shim::rsg_alloc_workqueue(name.as_char_ptr()) };
        if wq.is_null() {
            return Err(ENOMEM);
        }
        QUEUE.store(wq, Ordering::Release);
        Ok(Self(()))
    }
}

impl Drop for DriverQueue {
    fn drop(&mut self) {
        let wq = QUEUE.swap(core::ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: `wq` was created by `new` (type invariant) and is no longer
        // published; destroying it waits for queued and running work.
        unsafe { bindings::destroy_workqueue(wq) };
    }
}

/// The driver's queue; the system queue outside the module's life, which
/// no caller reaches since work only exists while files do.
pub(crate) fn queue() -> &'static Queue {
    let wq = QUEUE.load(Ordering::Acquire);
    if wq.is_null() {
        return workqueue::system();
    }
    // SAFETY: A published queue lives until `DriverQueue` is dropped at
    // module unload, after every file and request is gone.
    unsafe { Queue::from_raw(wq) }
}
