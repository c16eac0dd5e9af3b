// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers over the kernel interfaces rsg needs that Linux 6.12's
//! `kernel` crate does not provide yet, shaped like their later upstream
//! counterparts. All of rsg's `unsafe` code lives below this module.

pub(crate) mod bio;
pub(crate) mod block;
pub(crate) mod chrdev;
pub(crate) mod file;
pub(crate) mod mm;
pub(crate) mod module;
pub(crate) mod pages;
pub(crate) mod pin;
pub(crate) mod proc;
pub(crate) mod scsi;
pub(crate) mod sync;
pub(crate) mod task;
pub(crate) mod time;
pub(crate) mod uaccess;
pub(crate) mod uring;
pub(crate) mod wait;
pub(crate) mod workqueue;

/// A C return value as a `Result`, as `kernel::error::to_result` makes it;
/// that one is a call away from every hot path that checks one.
#[inline(always)]
pub(crate) fn to_result(ret: core::ffi::c_int) -> kernel::error::Result {
    if ret < 0 {
        Err(kernel::error::Error::from_errno(ret))
    } else {
        Ok(())
    }
}
