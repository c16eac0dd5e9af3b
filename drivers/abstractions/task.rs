// SPDX-License-Identifier: GPL-2.0

//! Facts about the calling task.
//!
//! C header: [`include/linux/compat.h`](srctree/include/linux/compat.h)

use crate::bindings as shim;

/// Whether the current system call comes from a 32-bit process.
pub(crate) fn in_compat_syscall() -> bool {
    // SAFETY: Reads the current task's state; no preconditions.
    unsafe { shim::rsg_in_compat_syscall() }
}
