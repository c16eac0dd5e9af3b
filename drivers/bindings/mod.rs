// SPDX-License-Identifier: GPL-2.0

//! Generated bindings for the C shim (`rsg_shim.h`).
//!
//! Only the abstraction layer uses these; driver logic never does.

#![allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    dead_code,
    improper_ctypes,
    unreachable_pub,
    clippy::all,
    clippy::undocumented_unsafe_blocks
)]

pub(crate) use crate::uapi::sg_io_hdr;

mod generated {
    include!("generated.rs");
}

pub(crate) use generated::*;
