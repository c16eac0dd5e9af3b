// SPDX-License-Identifier: GPL-2.0

//! Kernel buffers that indirect I/O moves through, built as sg builds them so
//! that sizes and limits match.

use crate::abstractions::module;
use crate::abstractions::pages::{Order, PageRuns, PAGE_SIZE};
use kernel::prelude::*;

/// The granule buffers are rounded up to.
const SECTOR_SIZE: usize = 512;

/// A buffer of equally sized page runs (sg's `Sg_scatter_hold`).
#[derive(Default)]
pub(crate) struct Buffer {
    runs: PageRuns,
    len: usize,
}

impl Buffer {
    /// No buffer.
    pub(crate) const fn empty() -> Self {
        Self {
            runs: PageRuns::new(),
            len: 0,
        }
    }

    /// Builds a buffer of at least `size` bytes from at most `max_runs` runs
    /// of `scatter_elem_sz` bytes, falling back to smaller runs when memory
    /// is fragmented. `ENOMEM` when it cannot be had within `max_runs`.
    ///
    /// Runs are as large as sg's even for a short command, since the block
    /// layer's limits (and so its errnos) depend on them. Only the pages
    /// holding the first `size` bytes are cleared, unless `clear_all`: those
    /// are all a transfer can show the caller.
    pub(crate) fn build(size: usize, max_runs: usize, clear_all: bool) -> Result<Self> {
        let len = size.max(1).next_multiple_of(SECTOR_SIZE);
        let zero = if clear_all { usize::MAX } else { len };
        let mut order = Order::for_bytes(module::scatter_elem_sz() as usize);
        let mut runs = PageRuns::new();
        loop {
            let count = len.div_ceil(order.bytes());
            if count > max_runs {
                return Err(ENOMEM);
            }
            if runs.fill(order, count, zero)? {
                return Ok(Self { runs, len });
            }
            order = order.smaller().ok_or(ENOMEM)?;
        }
    }

    /// Builds a reserve buffer: `size` if possible, else halves down to a
    /// page; empty when not even that succeeds (sg's `sg_build_reserve`).
    pub(crate) fn build_reserve(size: usize, max_runs: usize) -> Self {
        let mut size = size;
        loop {
            size = size.max(PAGE_SIZE);
            if let Ok(buf) = Self::build(size, max_runs, true) {
                return buf;
            }
            size >>= 1;
            if size <= PAGE_SIZE / 2 {
                return Self::empty();
            }
        }
    }

    /// Bytes the buffer holds.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes in each page run.
    pub(crate) fn run_bytes(&self) -> usize {
        self.runs.order().bytes()
    }

    /// How many runs hold the first `len` bytes (sg's `k_use_sg` for a
    /// request linked to the reserve).
    pub(crate) fn runs_for(&self, len: usize) -> usize {
        len.div_ceil(self.run_bytes())
    }

    /// The page runs.
    pub(crate) fn runs(&self) -> &PageRuns {
        &self.runs
    }
}
