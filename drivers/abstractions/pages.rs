// SPDX-License-Identifier: GPL-2.0

//! Physically contiguous runs of pages (order-N allocations), the unit in
//! which sg-style buffers are built.
//!
//! C header: [`include/linux/gfp.h`](srctree/include/linux/gfp.h)

use crate::bindings as shim;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::prelude::*;
use kernel::uaccess::UserSliceWriter;

/// `PAGE_SIZE`.
pub(crate) const PAGE_SIZE: usize = 4096;

/// An owned, zeroed allocation of `2^order` contiguous pages.
///
/// # Invariants
///
/// `page` came from `alloc_pages(.., order)`, is owned by this value, and is
/// freed exactly once, on drop.
#[repr(transparent)]
pub(crate) struct PageRun {
    page: NonNull<bindings::page>,
}

// SAFETY: The pages are plain memory owned by this value; any thread may free
// them.
unsafe impl Send for PageRun {}
// SAFETY: `&PageRun` only exposes the page pointer.
unsafe impl Sync for PageRun {}

/// The order of a [`PageRun`], kept beside a set of runs of equal size.
///
/// # Invariants
///
/// At most [`Order::MAX`], so that a run's size is a shift that cannot
/// overflow.
#[derive(Clone, Copy, Default)]
pub(crate) struct Order(u32);

impl Order {
    /// The page allocator's largest order (`MAX_PAGE_ORDER` on x86).
    const MAX: u32 = 10;

    /// The smallest order whose run holds `bytes` (`get_order()`), at most
    /// [`Order::MAX`].
    pub(crate) fn for_bytes(bytes: usize) -> Self {
        let mut order = 0;
        while order < Self::MAX && (PAGE_SIZE << order) < bytes {
            order += 1;
        }
        Self(order)
    }

    /// One order smaller, if there is one.
    pub(crate) fn smaller(self) -> Option<Self> {
        self.0.checked_sub(1).map(Self)
    }

    /// Bytes in a run of this order.
    pub(crate) fn bytes(self) -> usize {
        // The `min` is the invariant, spelled out for the compiler.
        PAGE_SIZE << self.0.min(Self::MAX)
    }

    /// The raw order.
    pub(crate) fn get(self) -> u32 {
        self.0
    }
}

impl PageRun {
    /// Allocates a run without warning on failure, its first `zero` pages
    /// cleared (all of them when `zero` is larger); `None` when memory is
    /// short, so callers can retry with a smaller order.
    pub(crate) fn new(order: Order, zero: usize) -> Option<Self> {
        // SAFETY: Returns a constant.
        let gfp = unsafe { shim::rsg_gfp_buffer() };
        // SAFETY: Any order and these flags are valid; a NULL return is
        // handled below.
        let page = NonNull::new(unsafe { shim::rsg_alloc_pages(gfp, order.get()) })?;
        let zero = zero.min(1 << order.get());
        if zero > 0 {
            // SAFETY: `page` heads a compound run of `1 << order` pages, so
            // the `zero` pages from it are one contiguous allocation; it was
            // allocated just now and nothing else can reach it yet.
            unsafe { shim::rsg_clear_pages(page.as_ptr(), 0, zero as u32) };
        }
        Some(Self { page })
    }

    /// The number of pages in the run.
    pub(crate) fn pages(&self) -> usize {
        1 << compound_order(self.page.as_ptr())
    }

    /// The first page, as the block layer's `struct page *`.
    pub(crate) fn as_ptr(&self) -> *mut bindings::page {
        self.page.as_ptr()
    }
}

/// A list of equally sized page runs (sg's `Sg_scatter_hold`).
///
/// # Invariants
///
/// Every run in `runs` has order `order`.
#[derive(Default)]
pub(crate) struct PageRuns {
    runs: KVec<PageRun>,
    order: Order,
}

impl PageRuns {
    /// An empty list.
    pub(crate) const fn new() -> Self {
        Self {
            runs: KVec::new(),
            order: Order(0),
        }
    }

    /// Allocates `count` runs of `order` whose first `zero` bytes are
    /// cleared (in whole pages); `Ok(false)` when a run could not be had
    /// (the list is then empty), `Err` when the list itself could not.
    pub(crate) fn fill(&mut self, order: Order, count: usize, zero: usize) -> Result<bool> {
        self.runs = KVec::with_capacity(count, GFP_KERNEL)?;
        self.order = order;
        let mut left = zero.div_ceil(PAGE_SIZE);
        for _ in 0..count {
            let run_zero = left.min(1 << order.get());
            left -= run_zero;
            match PageRun::new(order, run_zero) {
                Some(run) => self.runs.push(run, GFP_KERNEL)?,
                None => {
                    self.runs = KVec::new();
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// The number of runs.
    pub(crate) fn len(&self) -> usize {
        self.runs.len()
    }

    /// The runs.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &PageRun> {
        self.runs.iter()
    }

    /// The order of each run.
    pub(crate) fn order(&self) -> Order {
        self.order
    }

    /// Copies the first `len` bytes to user memory.
    ///
    /// Only for buffers no device is transferring into: those of completed
    /// requests, which is the only time the driver reads them.
    pub(crate) fn copy_to_user(&self, writer: &mut UserSliceWriter, len: usize) -> Result {
        let mut left = len;
        for run in self.runs.iter() {
            if left == 0 {
                break;
            }
            let n = left.min(self.order.bytes());
            // SAFETY: The run is `order.bytes()` bytes of memory we own, in
            // the kernel's direct map (no highmem on 64-bit), and `&self`
            // keeps it from being freed; no transfer is in progress (above).
            let bytes = unsafe {
                core::slice::from_raw_parts(shim::rsg_page_address(run.as_ptr()).cast::<u8>(), n)
            };
            writer.write_slice(bytes)?;
            left -= n;
        }
        Ok(())
    }

    /// Clears the pages from page `first` up to page `end` (exclusive),
    /// counted over the runs in order.
    ///
    /// Only for buffers no device is transferring into, as for
    /// [`PageRuns::copy_to_user`].
    pub(crate) fn clear(&mut self, first: usize, end: usize) {
        let per_run = 1usize << self.order.get();
        for (i, run) in self.runs.iter().enumerate().take(end.div_ceil(per_run)) {
            let start = first.max(i * per_run);
            let stop = end.min((i + 1) * per_run);
            if start >= stop {
                continue;
            }
            // SAFETY: By the type invariant the run has `per_run` pages, and
            // `start - i * per_run + (stop - start)` is at most that; the
            // pages are ours and nothing transfers into them (above).
            unsafe {
                shim::rsg_clear_pages(
                    run.as_ptr(),
                    (start - i * per_run) as u32,
                    (stop - start) as u32,
                )
            };
        }
    }

    /// The `i`-th page over the runs in order, if there is one.
    pub(crate) fn page(&self, i: usize) -> Option<*mut bindings::page> {
        let order = self.order.get();
        let run = self.runs.get(i >> order)?;
        // SAFETY: A run is one compound allocation of `1 << order` pages
        // (type invariant), whose `struct page`s are consecutive, and the
        // offset is below that count.
        Some(unsafe { run.as_ptr().add(i & ((1 << order) - 1)) })
    }

    /// The runs as the `struct page **` array `rq_map_data` takes.
    pub(crate) fn as_page_array(&self) -> *mut *mut bindings::page {
        // `PageRun` is a transparent non-null page pointer, so a slice of
        // runs has the layout of an array of `struct page *`.
        self.runs.as_ptr() as *mut *mut bindings::page
    }
}

impl Drop for PageRun {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the run is ours and freed only here.
        // The order is recovered from the compound page, which `__GFP_COMP`
        // guarantees for every order above zero.
        unsafe { bindings::__free_pages(self.page.as_ptr(), compound_order(self.page.as_ptr())) }
    }
}

/// The order a compound page was allocated with.
fn compound_order(page: *mut bindings::page) -> u32 {
    // SAFETY: `page` is a live page owned by the caller.
    unsafe { shim::rsg_page_order(page) }
}
