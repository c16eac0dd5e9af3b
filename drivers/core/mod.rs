// SPDX-License-Identifier: GPL-2.0

//! The driver core, in safe Rust: devices, open files, requests and their
//! buffers. The user-space interfaces in [`crate::interface`] sit on top.

pub(crate) mod buffer;
pub(crate) mod device;
pub(crate) mod file;
pub(crate) mod queue;
pub(crate) mod request;
pub(crate) mod stats;
pub(crate) mod table;
