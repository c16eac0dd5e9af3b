// SPDX-License-Identifier: GPL-2.0

//! The pass(4)-style queues of a file: requests started through the queue
//! interface (active), completed and waiting to be reaped (done), in
//! completion order. Lives inside the file's irq-safe state; completions
//! move requests from active to done without allocating.

use super::request::Request;
use kernel::prelude::*;
use kernel::sync::Arc;

/// A fixed number of places for requests.
pub(crate) type Slots = KVec<Option<Arc<Request>>>;

/// The queues; empty until the interface is first used.
///
/// # Invariants
///
/// `active` and `done` have the same length, the depth; `in_flight +
/// pending + done_len` never exceeds it, so `done` never overflows.
pub(crate) struct Queues {
    active: Slots,
    in_flight: usize,
    pending: usize,
    done: Slots,
    done_head: usize,
    done_len: usize,
}

impl Queues {
    /// No queues yet.
    pub(crate) const fn new() -> Self {
        Self {
            active: KVec::new(),
            in_flight: 0,
            pending: 0,
            done: KVec::new(),
            done_head: 0,
            done_len: 0,
        }
    }

    /// Storage for queues of `depth`, made in process context.
    pub(crate) fn storage(depth: usize) -> Result<(Slots, Slots)> {
        let mut active = KVec::with_capacity(depth, GFP_KERNEL)?;
        let mut done = KVec::with_capacity(depth, GFP_KERNEL)?;
        for _ in 0..depth {
            active.push(None, GFP_KERNEL)?;
            done.push(None, GFP_KERNEL)?;
        }
        Ok((active, done))
    }

    /// Installs storage from [`Queues::storage`] unless some is there;
    /// returns what was not used, for the caller to free unlocked.
    pub(crate) fn install(&mut self, storage: (Slots, Slots)) -> Option<(Slots, Slots)> {
        if self.depth() > 0 {
            return Some(storage);
        }
        (self.active, self.done) = storage;
        None
    }

    /// The depth, 0 before first use.
    pub(crate) fn depth(&self) -> usize {
        self.active.len()
    }

    /// Requests queued, running or waiting to be reaped.
    pub(crate) fn outstanding(&self) -> usize {
        self.in_flight + self.pending + self.done_len
    }

    /// Whether another request fits.
    pub(crate) fn has_room(&self) -> bool {
        self.depth() == 0 || self.outstanding() < self.depth()
    }

    /// Whether a completion waits to be reaped.
    pub(crate) fn has_done(&self) -> bool {
        self.done_len > 0
    }

    /// Whether requests are running.
    pub(crate) fn has_in_flight(&self) -> bool {
        self.in_flight > 0
    }

    /// Holds room for a request being built; `EAGAIN` when full.
    pub(crate) fn reserve(&mut self) -> Result {
        if self.outstanding() >= self.depth() {
            return Err(EAGAIN);
        }
        self.pending += 1;
        Ok(())
    }

    /// Gives back room held by [`Queues::reserve`].
    pub(crate) fn unreserve(&mut self) {
        self.pending -= 1;
    }

    /// Makes a request built in held room active; returns its slot.
    pub(crate) fn activate(&mut self, req: Arc<Request>) -> usize {
        self.pending -= 1;
        self.in_flight += 1;
        // Room was held, so a slot is free.
        let slot = self.active.iter().position(|r| r.is_none()).unwrap_or(0);
        self.active[slot] = Some(req);
        slot
    }

    /// Takes a completed request out of the active set.
    pub(crate) fn take_active(&mut self, slot: usize) -> Option<Arc<Request>> {
        let req = self.active.get_mut(slot).and_then(Option::take);
        if req.is_some() {
            self.in_flight -= 1;
        }
        req
    }

    /// Appends a completed request to the done queue.
    pub(crate) fn push_done(&mut self, req: Arc<Request>) {
        let depth = self.depth();
        let tail = (self.done_head + self.done_len) % depth;
        if let Some(slot) = self.done.get_mut(tail) {
            *slot = Some(req);
        }
        self.done_len += 1;
    }

    /// The oldest completion, if any.
    pub(crate) fn pop_done(&mut self) -> Option<Arc<Request>> {
        if self.done_len == 0 {
            return None;
        }
        let req = self.done.get_mut(self.done_head).and_then(Option::take);
        self.done_head = (self.done_head + 1) % self.depth();
        self.done_len -= 1;
        req
    }

    /// Aborts the running request tagged `tag`; `ENOENT` when none is
    /// running.
    pub(crate) fn abort_tagged(&self, tag: usize) -> Result {
        match self.active.iter().flatten().find(|r| r.hdr.usr_ptr == tag) {
            Some(req) if req.abort() => Ok(()),
            _ => Err(ENOENT),
        }
    }

    /// Every running request.
    pub(crate) fn active(&self) -> impl Iterator<Item = &Arc<Request>> {
        self.active.iter().flatten()
    }
}
