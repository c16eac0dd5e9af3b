// SPDX-License-Identifier: GPL-2.0
//! sg's and rsg's user-space interface, as the project's Rust programs
//! (rsgdd, rsgfuzz, the io_uring tests) use it: sg's v3 header and ioctl
//! numbers, rsg's queue interface and io_uring command layout
//! (`include/uapi/scsi/rsg.h`), and the seeded generator they share.

#[cfg(not(target_pointer_width = "64"))]
compile_error!("rsg's interfaces are laid out here for 64-bit processes only");

pub mod rng;
pub mod sg;
pub mod uring;
