// SPDX-License-Identifier: GPL-2.0

//! What user space sees: the file operations, sg's ioctls and the v3
//! `SG_IO` protocol.

mod errno;
pub(crate) mod fops;
pub(crate) mod ioctl;
pub(crate) mod proc;
pub(crate) mod queue;
pub(crate) mod rw;
pub(crate) mod uring;
pub(crate) mod v2;
pub(crate) mod v3;
