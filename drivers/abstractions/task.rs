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

/// Whether the current task has a user address space: `false` in a kernel
/// thread, where user memory must not be touched.
pub(crate) fn has_mm() -> bool {
    // SAFETY: Reads the current task's `mm`; no preconditions.
    unsafe { shim::rsg_current_has_mm() }
}
