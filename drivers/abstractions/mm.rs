// SPDX-License-Identifier: GPL-2.0

//! Memory maps of a driver's pages into user space, faulted in page by page.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h)

use super::pages::PageRun;
use crate::bindings as shim;
use kernel::bindings;
use kernel::types::Opaque;

/// `VM_FAULT_SIGBUS`.
pub(crate) const VM_FAULT_SIGBUS: u32 = 0x0002;

/// A `vm_area_struct` being set up by `mmap()`.
///
/// # Invariants
///
/// Wraps a live VMA for the borrow.
#[repr(transparent)]
pub(crate) struct Vma(Opaque<bindings::vm_area_struct>);

impl Vma {
    /// # Safety
    ///
    /// `ptr` must be live for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::vm_area_struct) -> &'a Self {
        // SAFETY: Transparent wrapper; the caller guarantees liveness.
        unsafe { &*ptr.cast() }
    }

    pub(crate) fn raw(&self) -> *mut bindings::vm_area_struct {
        self.0.get()
    }

    /// Bytes the mapping covers.
    pub(crate) fn len(&self) -> usize {
        // SAFETY: The VMA is live (type invariant).
        unsafe { (shim::rsg_vma_end(self.raw()) - shim::rsg_vma_start(self.raw())) as usize }
    }

    /// The file offset, in pages.
    pub(crate) fn pgoff(&self) -> usize {
        // SAFETY: The VMA is live.
        unsafe { shim::rsg_vma_pgoff(self.raw()) as usize }
    }
}

/// A page fault in a VMA the driver maps.
///
/// # Invariants
///
/// `vmf` is the live `vm_fault` of a `fault` call.
pub(crate) struct Fault {
    vmf: *mut bindings::vm_fault,
}

impl Fault {
    /// # Safety
    ///
    /// `vmf` must be live for the returned value's life.
    pub(crate) unsafe fn new(vmf: *mut bindings::vm_fault) -> Self {
        Self { vmf }
    }

    /// The faulting page's offset in the file, in pages.
    pub(crate) fn pgoff(&self) -> usize {
        // SAFETY: `vmf` is live (type invariant).
        unsafe { shim::rsg_vmf_pgoff(self.vmf) as usize }
    }

    /// Bytes the faulting VMA covers.
    pub(crate) fn vma_len(&self) -> usize {
        // SAFETY: `vmf` is live, and so is its VMA.
        unsafe { Vma::from_raw(shim::rsg_vmf_vma(self.vmf)) }.len()
    }

    /// Answers the fault with page `index` of `run`; the mapping takes its
    /// own reference on the page. `false` if `index` is outside the run.
    pub(crate) fn provide(&self, run: &PageRun, index: usize) -> bool {
        if index >= run.pages() {
            return false;
        }
        // SAFETY: `index` is within the run (checked), whose pages are live
        // while `run` is borrowed; the reference taken keeps the page for
        // the mapping after the driver frees the run.
        unsafe { shim::rsg_vmf_set_page(self.vmf, run.as_ptr(), index as _) };
        true
    }
}
