// SPDX-License-Identifier: GPL-2.0

//! Kernel buffers that indirect I/O moves through, built as sg builds them so
//! that sizes and limits match.

use crate::abstractions::bio::BounceBioSlot;
use crate::abstractions::block::Bounce;
use crate::abstractions::module;
use crate::abstractions::pages::{Order, PageRuns, PAGE_SIZE};
use kernel::prelude::*;

/// The granule buffers are rounded up to.
const SECTOR_SIZE: usize = 512;

/// Which of a new buffer's pages are cleared before use: those a transfer
/// can show the caller, so that no stale kernel memory reaches user space.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clear {
    /// None: the buffer only carries data-out, which the caller wrote and
    /// which never comes back (a v3 WRITE).
    Nothing,
    /// The pages holding the transfer's bytes (a v3 data-in).
    Data,
    /// Every page (the reserve, which `mmap()` shows whole, and a v2
    /// response, which returns whole runs).
    All,
}

/// A buffer of equally sized page runs (sg's `Sg_scatter_hold`).
pub(crate) struct Buffer {
    runs: PageRuns,
    len: usize,
    /// The bio that maps the buffer, kept from one request to the next: a
    /// buffer serves one request at a time.
    bio: BounceBioSlot,
}

impl Buffer {
    /// No buffer.
    pub(crate) fn empty() -> Self {
        let runs = PageRuns::new();
        let bio = BounceBioSlot::new(&runs);
        Self { runs, len: 0, bio }
    }

    /// Builds a buffer of at least `size` bytes from at most `max_runs` runs
    /// of `scatter_elem_sz` bytes, falling back to smaller runs when memory
    /// is fragmented. `ENOMEM` when it cannot be had within `max_runs`.
    ///
    /// Runs are as large as sg's even for a short command, since the block
    /// layer's limits (and so its errnos) depend on them. `clear` says
    /// which pages are cleared (sg clears them all, always).
    pub(crate) fn build(size: usize, max_runs: usize, clear: Clear) -> Result<Self> {
        let len = size.max(1).next_multiple_of(SECTOR_SIZE);
        let zero = match clear {
            Clear::Nothing => 0,
            Clear::Data => len,
            Clear::All => usize::MAX,
        };
        let mut order = top_order();
        let mut runs = PageRuns::new();
        loop {
            let count = len.div_ceil(order.bytes());
            if count > max_runs {
                return Err(ENOMEM);
            }
            if runs.fill(order, count, zero)? {
                let bio = BounceBioSlot::new(&runs);
                return Ok(Self { runs, len, bio });
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
            if let Ok(buf) = Self::build(size, max_runs, Clear::All) {
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

    /// Bytes its runs hold, `len` rounded up to whole runs.
    fn capacity(&self) -> usize {
        self.runs.len() * self.run_bytes()
    }

    /// Makes a kept buffer ready for a transfer of `size` bytes, cleared as
    /// [`Buffer::build`] would have cleared a new one, so that the caller
    /// sees what a new one shows; `false` when it is too small (the caller
    /// builds a new one).
    pub(crate) fn ready(&mut self, size: usize, clear: Clear) -> bool {
        let len = size.max(1).next_multiple_of(SECTOR_SIZE);
        let capacity = self.capacity();
        if len > capacity {
            return false;
        }
        let zero = match clear {
            Clear::Nothing => 0,
            Clear::Data => len,
            Clear::All => capacity,
        };
        self.runs.clear(0, zero.div_ceil(PAGE_SIZE));
        self.len = len;
        true
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

    /// Where the bio that maps the buffer is kept between requests.
    pub(crate) fn bio(&self) -> &BounceBioSlot {
        &self.bio
    }

    /// The buffer's pages for a transfer of `len` bytes: the runs that hold
    /// them, with the buffer's kept bio when `kept_bio`.
    pub(crate) fn bounce(&self, len: usize, copy_in_for_read: bool, kept_bio: bool) -> Bounce<'_> {
        Bounce {
            pages: &self.runs,
            runs: self.runs_for(len),
            copy_in_for_read,
            bio: kept_bio.then_some(&self.bio),
        }
    }
}

/// Buffers of retired requests that a file keeps for its next ones, at most
/// the `kept_buffer_kb` parameter's worth: a command the reserve cannot take
/// then does not allocate its pages each time, as sg does.
///
/// Only buffers of the runs a new one would get are kept, and a reused one
/// is cleared where a new one would be, so it maps, counts, reports and
/// shows its contents as a new one does.
///
/// # Invariants
///
/// The first `n` slots hold a buffer and the others none; `bytes` is the
/// capacity of those `n`.
pub(crate) struct KeptBuffers {
    slots: KVec<Option<KBox<Buffer>>>,
    n: usize,
    bytes: usize,
}

impl KeptBuffers {
    /// None kept.
    pub(crate) const fn new() -> Self {
        Self {
            slots: KVec::new(),
            n: 0,
            bytes: 0,
        }
    }

    /// Takes a kept buffer that holds `size` bytes, the most recently kept
    /// first, if any. The caller makes it ready with [`Buffer::ready`],
    /// unlocked.
    pub(crate) fn take(&mut self, size: usize) -> Option<KBox<Buffer>> {
        let run_bytes = top_order().bytes();
        let slots = self.slots.as_mut_slice().get_mut(..self.n)?;
        let i = slots.iter().rposition(|b| {
            b.as_ref()
                .is_some_and(|b| b.run_bytes() == run_bytes && b.capacity() >= size)
        })?;
        // The last of the `n` moves into the hole: they stay in front.
        let last = slots.len() - 1;
        slots.swap(i, last);
        let buf = slots.get_mut(last)?.take()?;
        self.n = last;
        self.bytes -= buf.capacity();
        Some(buf)
    }

    /// Keeps `buf` if it has the runs a new buffer would have and fits
    /// within `limit` bytes with those kept; otherwise hands it back, to be
    /// freed once the caller's lock is released.
    pub(crate) fn put(&mut self, buf: KBox<Buffer>, limit: usize) -> Option<KBox<Buffer>> {
        let cap = buf.capacity();
        if cap == 0 || buf.run_bytes() != top_order().bytes() || self.bytes + cap > limit {
            return Some(buf);
        }
        if self.n == self.slots.len() && self.slots.push(None, GFP_KERNEL).is_err() {
            return Some(buf);
        }
        let Some(slot) = self.slots.as_mut_slice().get_mut(self.n) else {
            return Some(buf);
        };
        *slot = Some(buf);
        self.n += 1;
        self.bytes += cap;
        None
    }

    /// Empties the list, for the caller to free unlocked.
    pub(crate) fn take_all(&mut self) -> KVec<Option<KBox<Buffer>>> {
        self.n = 0;
        self.bytes = 0;
        core::mem::take(&mut self.slots)
    }
}

/// The order of the runs a new buffer gets, memory permitting.
fn top_order() -> Order {
    Order::for_bytes(module::scatter_elem_sz() as usize)
}
