// SPDX-License-Identifier: GPL-2.0

//! Single values to user memory, as `put_user()` stores them: all or
//! nothing, where a copy (`UserSlice`) may stop part way at a fault.
//!
//! C header: [`include/linux/uaccess.h`](srctree/include/linux/uaccess.h)

use super::to_result;
use crate::bindings as shim;
use kernel::prelude::*;

/// Stores `val` at the user address `addr`; `EFAULT` leaves memory as it
/// was.
pub(crate) fn put_user_i32(addr: usize, val: i32) -> Result {
    // SAFETY: `put_user` checks the user address and handles faults; any
    // value of `addr` is acceptable.
    to_result(unsafe { shim::rsg_put_user_int(addr as *mut _, val) })
}
