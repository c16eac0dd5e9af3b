// SPDX-License-Identifier: GPL-2.0

//! Module references and parameters.
//!
//! C header: [`include/linux/module.h`](srctree/include/linux/module.h)

use crate::bindings as shim;
use kernel::bindings;
use kernel::prelude::*;

/// A reference on this module, keeping it loaded while state that outlives
/// every open file (requests still in flight after close) exists.
///
/// # Invariants
///
/// Holds one `__module_get()` on `module`.
pub(crate) struct ModuleRef {
    module: *mut bindings::module,
}

// SAFETY: `module_put()` may be called from any context.
unsafe impl Send for ModuleRef {}
// SAFETY: `&ModuleRef` exposes nothing.
unsafe impl Sync for ModuleRef {}

impl ModuleRef {
    /// Takes a reference; the caller already runs inside the module.
    pub(crate) fn new(module: &'static ThisModule) -> Self {
        // SAFETY: The module is live, as its code is running.
        unsafe { bindings::__module_get(module.as_ptr()) };
        Self {
            module: module.as_ptr(),
        }
    }
}

impl Drop for ModuleRef {
    fn drop(&mut self) {
        // SAFETY: Balances the get in `new`.
        unsafe { bindings::module_put(self.module) };
    }
}

/// The `major` parameter: -1 for 21 when free else dynamic, 0 for dynamic.
pub(crate) fn major() -> i32 {
    // SAFETY: Reads a module parameter.
    unsafe { shim::rsg_param_major() }
}

/// The `def_reserved_size` parameter, 0..=1 MiB.
pub(crate) fn def_reserved_size() -> i32 {
    // SAFETY: Reads a module parameter.
    unsafe { shim::rsg_param_def_reserved_size() }
}

/// The `scatter_elem_sz` parameter, at least a page.
pub(crate) fn scatter_elem_sz() -> i32 {
    // SAFETY: Reads a module parameter.
    unsafe { shim::rsg_param_scatter_elem_sz() }
}

/// The `allow_dio` parameter.
pub(crate) fn allow_dio() -> bool {
    // SAFETY: Reads a module parameter.
    unsafe { shim::rsg_param_allow_dio() != 0 }
}

/// Sets the `allow_dio` parameter (from `/proc/scsi/rsg/allow_dio`).
pub(crate) fn set_allow_dio(on: bool) {
    // SAFETY: Writes a module parameter.
    unsafe { shim::rsg_param_set_allow_dio(on as i32) }
}

/// The `kept_buffer_kb` parameter in bytes: how much of its retired
/// requests' buffers a file keeps for reuse.
pub(crate) fn kept_buffer_bytes() -> usize {
    // SAFETY: Reads a module parameter.
    let kb = unsafe { shim::rsg_param_kept_buffer_kb() };
    kb.max(0) as usize * 1024
}

/// The `queue_depth` parameter: outstanding queue-interface requests per
/// file, 1..=65536.
pub(crate) fn queue_depth() -> usize {
    // SAFETY: Reads a module parameter.
    unsafe { shim::rsg_param_queue_depth() as usize }
}
