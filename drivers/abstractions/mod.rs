// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers over the kernel interfaces rsg needs that Linux 6.12's
//! `kernel` crate does not provide yet, shaped like their later upstream
//! counterparts. All of rsg's `unsafe` code lives below this module.

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
