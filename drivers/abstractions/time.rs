// SPDX-License-Identifier: GPL-2.0

//! Jiffies and clock-tick conversions.
//!
//! C header: [`include/linux/jiffies.h`](srctree/include/linux/jiffies.h)

use crate::bindings as shim;

/// The current time in milliseconds of jiffies, wrapping as sg's does.
pub(crate) fn now_ms() -> u32 {
    // SAFETY: Reads a global counter; no preconditions.
    unsafe { shim::rsg_jiffies_msecs() }
}

/// Converts milliseconds to jiffies, saturating like `msecs_to_jiffies()`.
pub(crate) fn ms_to_jiffies(ms: u32) -> u64 {
    // SAFETY: Pure arithmetic; no preconditions.
    unsafe { shim::rsg_msecs_to_jiffies(ms) as u64 }
}

/// The kernel's tick rate (`HZ`).
pub(crate) fn hz() -> i64 {
    // SAFETY: Returns a constant.
    let hz = i64::from(unsafe { shim::rsg_hz() });
    // Never 0; said so that divisions by it need no check.
    hz.max(1)
}

/// The tick rate user space sees (`USER_HZ`).
pub(crate) fn user_hz() -> i64 {
    // SAFETY: Returns a constant.
    let hz = i64::from(unsafe { shim::rsg_user_hz() });
    hz.max(1)
}
