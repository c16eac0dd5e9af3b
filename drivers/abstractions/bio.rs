// SPDX-License-Identifier: GPL-2.0

//! A bio kept from one bounced command to the next.
//!
//! The block layer's own bounce mapping (`blk_rq_map_user_io()` with
//! `rq_map_data`) allocates a bio and a copy of the user iterator for every
//! command and frees both when it is unmapped. A buffer used by one command
//! at a time, such as a file's reserve buffer, can keep one bio instead and
//! fill it in again each time.
//!
//! C header: [`include/linux/bio.h`](srctree/include/linux/bio.h)

use super::pages::{PageRuns, PAGE_SIZE};
use super::to_result;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::bindings;
use kernel::prelude::*;

/// The most vectors a bio holds (`BIO_MAX_VECS`).
const BIO_MAX_VECS: usize = 256;

/// A bio with inline vectors, owned by its holder.
///
/// # Invariants
///
/// `bio` came from `bio_kmalloc()`, has been `bio_init()`ed, and is owned by
/// this value, which frees it on drop. While a request refers to it, the
/// value is held by the [`super::block::UserMapping`] that mapped it, which
/// outlives that use.
pub(crate) struct BounceBio {
    bio: NonNull<bindings::bio>,
}

// SAFETY: A bio no request is using may be filled in or freed by any thread.
unsafe impl Send for BounceBio {}
// SAFETY: `&BounceBio` exposes nothing.
unsafe impl Sync for BounceBio {}

impl BounceBio {
    /// A bio with room for `vecs` vectors (at most `BIO_MAX_VECS`); `None`
    /// when memory is short.
    fn new(vecs: usize) -> Option<Self> {
        let vecs = vecs.clamp(1, BIO_MAX_VECS) as u16;
        // SAFETY: Any count up to `BIO_MAX_VECS` is valid; NULL is handled.
        let bio = NonNull::new(unsafe { bindings::bio_kmalloc(vecs, bindings::GFP_KERNEL) })?;
        // SAFETY: `bio` was just allocated with `vecs` inline vectors.
        unsafe {
            let raw = bio.as_ptr();
            bindings::bio_init(
                raw,
                core::ptr::null_mut(),
                (*raw).bi_inline_vecs.as_mut_ptr(),
                vecs,
                0,
            )
        };
        // INVARIANT: Allocated and initialised above.
        Some(Self { bio })
    }

    /// The raw bio, for the block layer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::bio {
        self.bio.as_ptr()
    }

    /// Starts the bio afresh as an empty bio for operation `opf`
    /// (`bio_reset()`, which keeps its vector table).
    pub(crate) fn reset(&mut self, opf: u32) {
        // SAFETY: The bio is initialised and ours, and no request refers to
        // it (`&mut`, type invariant).
        unsafe { bindings::bio_reset(self.bio.as_ptr(), core::ptr::null_mut(), opf) };
    }

    /// Copies between the first `len` bytes of the bio's pages and user
    /// memory at `ubuf`, into the user memory when `to_user`, as the block
    /// layer copies a bounced bio (`bio_copy_from_iter()`,
    /// `bio_copy_to_iter()`): page by page, `EFAULT` at the first short copy.
    ///
    /// The pages must be ones the caller owns and no device is transferring
    /// to or from: before the command starts, or after it completes.
    pub(crate) fn copy_user(&self, ubuf: usize, len: usize, to_user: bool) -> Result {
        self.copy_iter(&mut user_iter(ubuf, len, to_user)?, len, to_user)
    }

    /// [`BounceBio::copy_user`] through an iterator from [`user_iter`] over
    /// `len` bytes, made for the same direction.
    pub(crate) fn copy_iter(
        &self,
        iter: &mut bindings::iov_iter,
        len: usize,
        to_user: bool,
    ) -> Result {
        let raw = self.bio.as_ptr();
        // SAFETY: The bio is ours; its vector table is not changed by a
        // completion, which only advances the bio's iterator.
        let (table, count) = unsafe { ((*raw).bi_io_vec, usize::from((*raw).bi_vcnt)) };
        let mut left = len;
        for i in 0..count {
            // SAFETY: `i` is below the number of vectors in use.
            let bv = unsafe { &*table.add(i) };
            let (start, end) = (bv.bv_offset as usize, (bv.bv_offset + bv.bv_len) as usize);
            let mut at = start;
            while at < end {
                let n = (PAGE_SIZE - at % PAGE_SIZE).min(end - at);
                // A vector only grows by the page after its last one in the
                // memmap (`bio_add_pc_page()`, `bvec_try_merge_page()`).
                // SAFETY: So this page, and `n` bytes at `at % PAGE_SIZE` in
                // it, are the vector's; the caller owns them, no device uses them.
                let copied = unsafe {
                    let page = bv.bv_page.add(at / PAGE_SIZE);
                    if to_user {
                        bindings::copy_page_to_iter(page, at % PAGE_SIZE, n, iter)
                    } else {
                        bindings::copy_page_from_iter(page, at % PAGE_SIZE, n, iter)
                    }
                };
                left -= copied.min(left);
                if left == 0 {
                    return Ok(());
                }
                if copied < n {
                    return Err(EFAULT);
                }
                at += n;
            }
        }
        Ok(())
    }
}

/// An iterator over `len` bytes of user memory at `ubuf`, to copy into when
/// `dest` (`import_ubuf()`): `EFAULT` when the range is not user memory.
pub(crate) fn user_iter(ubuf: usize, len: usize, dest: bool) -> Result<bindings::iov_iter> {
    let rw = if dest {
        bindings::ITER_DEST
    } else {
        bindings::ITER_SOURCE
    };
    let mut iter = core::mem::MaybeUninit::<bindings::iov_iter>::uninit();
    // SAFETY: `iter` is valid for writes; the call checks the user range.
    to_result(unsafe { bindings::import_ubuf(rw as i32, ubuf as *mut _, len, iter.as_mut_ptr()) })?;
    // SAFETY: Initialised by the successful call.
    Ok(unsafe { iter.assume_init() })
}

impl Drop for BounceBio {
    fn drop(&mut self) {
        // SAFETY: Ours and initialised (type invariant), and no request
        // refers to it any more; freed only here.
        unsafe {
            bindings::bio_uninit(self.bio.as_ptr());
            bindings::kfree(self.bio.as_ptr().cast());
        }
    }
}

/// Keeps one [`BounceBio`] for a set of pages between commands.
///
/// # Invariants
///
/// `bio`, when non-null, is the pointer of a [`BounceBio`] this value owns.
pub(crate) struct BounceBioSlot {
    bio: AtomicPtr<bindings::bio>,
    vecs: usize,
}

impl BounceBioSlot {
    /// An empty slot for bios over `pages`.
    pub(crate) fn new(pages: &PageRuns) -> Self {
        Self {
            bio: AtomicPtr::new(core::ptr::null_mut()),
            vecs: (pages.len() << pages.order().get()).min(BIO_MAX_VECS),
        }
    }

    /// The kept bio, or a new one; `None` when none can be had.
    pub(crate) fn take(&self) -> Option<BounceBio> {
        match NonNull::new(self.bio.swap(core::ptr::null_mut(), Ordering::Acquire)) {
            // INVARIANT: The slot owned it and now holds nothing.
            Some(bio) => Some(BounceBio { bio }),
            None => BounceBio::new(self.vecs),
        }
    }

    /// Keeps `bio` for the next command.
    pub(crate) fn put(&self, bio: BounceBio) {
        let bio = core::mem::ManuallyDrop::new(bio);
        // INVARIANT: Ownership of `bio` passes to the slot.
        let old = self.bio.swap(bio.as_ptr(), Ordering::AcqRel);
        if let Some(old) = NonNull::new(old) {
            // The slot owned it (type invariant).
            drop(BounceBio { bio: old });
        }
    }
}

impl Drop for BounceBioSlot {
    fn drop(&mut self) {
        if let Some(bio) = NonNull::new(*self.bio.get_mut()) {
            // The slot owned it (type invariant).
            drop(BounceBio { bio });
        }
    }
}
