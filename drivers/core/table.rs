// SPDX-License-Identifier: GPL-2.0

//! The requests of sg's interfaces on one file (`SG_IO`, `write()`/`read()`),
//! in submission order: sg's `rq_list`, as a fixed array kept packed, so
//! that `read()`, `poll()` and the request table walk only what is listed.

use super::request::Request;
use crate::uapi::SG_MAX_QUEUE;
use kernel::sync::Arc;

/// At most [`SG_MAX_QUEUE`] requests, oldest first.
///
/// # Invariants
///
/// `reqs[..len]` are all `Some`, in the order they were pushed;
/// `reqs[len..]` are all `None`.
pub(crate) struct RequestTable {
    reqs: [Option<Arc<Request>>; SG_MAX_QUEUE],
    len: usize,
}

impl RequestTable {
    pub(crate) const fn new() -> Self {
        Self {
            reqs: [const { None }; SG_MAX_QUEUE],
            len: 0,
        }
    }

    /// How many requests are listed.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Lists `req` as the newest; the caller held room for it, so a full
    /// table is a caller's bug and drops `req`.
    pub(crate) fn push(&mut self, req: Arc<Request>) {
        if let Some(free @ None) = self.reqs.get_mut(self.len) {
            // Matched empty: nothing to drop, and forgetting the `None`
            // spares a call that would find that out.
            core::mem::forget(free.replace(req));
            self.len += 1;
        }
    }

    /// The listed requests, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Request>> {
        self.reqs.get(..self.len).unwrap_or(&[]).iter().flatten()
    }

    /// Takes `req` off the list, keeping the others in order.
    pub(crate) fn remove(&mut self, req: &Arc<Request>) -> Option<Arc<Request>> {
        let listed = self.reqs.get(..self.len)?;
        let i = listed
            .iter()
            .position(|r| r.as_ref().is_some_and(|r| Arc::ptr_eq(r, req)))?;
        self.take_at(i)
    }

    /// Takes off the requests at the positions `marked` picks (0: the
    /// oldest), keeping the others in order.
    pub(crate) fn take_marked(
        &mut self,
        marked: impl Fn(usize) -> bool,
    ) -> [Option<Arc<Request>>; SG_MAX_QUEUE] {
        let mut taken = [const { None }; SG_MAX_QUEUE];
        let (mut n, mut kept) = (0, 0);
        for i in 0..self.len {
            let Some(req) = self.reqs.get_mut(i).and_then(Option::take) else {
                continue;
            };
            let to = if marked(i) {
                n += 1;
                taken.get_mut(n - 1)
            } else {
                kept += 1;
                self.reqs.get_mut(kept - 1)
            };
            if let Some(to) = to {
                *to = Some(req);
            }
        }
        self.len = kept;
        taken
    }

    fn take_at(&mut self, i: usize) -> Option<Arc<Request>> {
        let listed = self.reqs.get_mut(i..self.len)?;
        let req = listed.first_mut()?.take();
        // Close the gap: the `None` moves to the end of the listed part,
        // swapped along, which costs nothing for the newest request.
        for j in 1..listed.len() {
            listed.swap(j - 1, j);
        }
        self.len -= 1;
        req
    }
}
