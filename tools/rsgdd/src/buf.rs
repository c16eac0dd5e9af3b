//! Page-aligned data buffers, owned by one thread at a time: they move from
//! the reader to the writer with the data and back when it is written.

use std::alloc::{self, Layout};
use std::ptr::NonNull;

pub const ALIGN: usize = 4096;

pub struct Buf {
    ptr: NonNull<u8>,
    cap: usize,
}

// SAFETY: A Buf owns its memory outright; whichever thread holds it is the
// only one that reaches the bytes.
unsafe impl Send for Buf {}

impl Buf {
    /// A zeroed buffer of `cap` bytes (at least one).
    pub fn new(cap: usize) -> Self {
        let layout = Self::layout(cap);
        // SAFETY: The layout's size is non-zero.
        let p = unsafe { alloc::alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(p) else {
            alloc::handle_alloc_error(layout)
        };
        Buf { ptr, cap }
    }

    fn layout(cap: usize) -> Layout {
        match Layout::from_size_align(cap.max(1), ALIGN) {
            Ok(l) => l,
            Err(_) => panic!("buffer of {cap} bytes is too large"),
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// The buffer's address, for the kernel.
    pub fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `cap` initialised bytes owned by self, borrowed shared.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.cap) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `cap` initialised bytes owned by self, borrowed uniquely.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.cap) }
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        // SAFETY: Allocated in `new` with this layout.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), Self::layout(self.cap)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_zeroed() {
        let mut b = Buf::new(10000);
        assert_eq!(b.addr() % ALIGN, 0);
        assert!(b.as_slice().iter().all(|&x| x == 0));
        b.as_mut_slice()[9999] = 1;
        assert_eq!(b.as_slice()[9999], 1);
        assert_eq!(b.cap(), 10000);
    }
}
