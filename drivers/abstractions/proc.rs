// SPDX-License-Identifier: GPL-2.0

//! `/proc` files backed by `seq_file`.
//!
//! C headers: [`include/linux/proc_fs.h`](srctree/include/linux/proc_fs.h),
//! [`include/linux/seq_file.h`](srctree/include/linux/seq_file.h)

use crate::bindings as shim;
use core::marker::PhantomData;
use kernel::bindings;
use kernel::prelude::*;
use kernel::str::CStr;

/// Text being shown in a `/proc` file.
///
/// # Invariants
///
/// `m` is the live `seq_file` of a `show` call.
pub(crate) struct SeqFile<'a> {
    m: *mut bindings::seq_file,
    _p: PhantomData<&'a mut ()>,
}

impl core::fmt::Write for SeqFile<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        // SAFETY: `m` is live (type invariant); `s` is readable. Overflow is
        // recorded by the seq_file, which retries with a larger buffer.
        unsafe { bindings::seq_write(self.m, s.as_ptr().cast(), s.len()) };
        Ok(())
    }
}

/// A `/proc` file's contents and, optionally, what writing it does.
pub(crate) trait ProcFile {
    /// Writes the contents.
    fn show(m: &mut SeqFile<'_>) -> Result;

    /// Takes a number written to the file (parsed as `kstrtoul` does).
    fn write(_value: u64) -> Result {
        Err(EIO)
    }

    /// Whether the file is writable.
    const WRITABLE: bool = false;
}

/// The C-side description of `T`, for `rsg_proc_create`.
pub(crate) struct EntryTable<T>(PhantomData<T>);

impl<T: ProcFile> EntryTable<T> {
    const ENTRY: shim::rsg_proc_entry = shim::rsg_proc_entry {
        show: Some(show::<T>),
        write: if T::WRITABLE { Some(write::<T>) } else { None },
    };
}

/// # Safety
///
/// Called by `seq_read()` with a live seq_file.
unsafe extern "C" fn show<T: ProcFile>(
    m: *mut bindings::seq_file,
    _v: *mut core::ffi::c_void,
) -> i32 {
    let mut file = SeqFile { m, _p: PhantomData };
    match T::show(&mut file) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by `proc_write` with a user buffer of `count` bytes.
unsafe extern "C" fn write<T: ProcFile>(ubuf: *const kernel::ffi::c_char, count: usize) -> isize {
    let mut value: kernel::ffi::c_ulong = 0;
    // SAFETY: The user buffer is checked by `kstrtoul_from_user`; `value` is
    // a valid destination.
    let ret = unsafe { bindings::kstrtoul_from_user(ubuf, count, 0, &mut value) };
    if ret != 0 {
        return ret as isize;
    }
    match T::write(value as u64) {
        Ok(()) => count as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// A directory under `/proc`, removed with everything in it on drop.
///
/// # Invariants
///
/// `dir` was created by `proc_mkdir(path)`; `path` is static.
pub(crate) struct ProcDir {
    dir: *mut shim::proc_dir_entry,
    path: &'static CStr,
}

// SAFETY: procfs entries may be removed from any process context.
unsafe impl Send for ProcDir {}
// SAFETY: `&ProcDir` only adds entries, which procfs serialises.
unsafe impl Sync for ProcDir {}

impl ProcDir {
    /// Creates `/proc/PATH`.
    pub(crate) fn new(path: &'static CStr) -> Result<Self> {
        // SAFETY: `path` is a valid C string.
        let dir = unsafe { shim::rsg_proc_mkdir(path.as_char_ptr()) };
        if dir.is_null() {
            return Err(ENOMEM);
        }
        Ok(Self { dir, path })
    }

    /// Adds the file `name` showing `T`.
    pub(crate) fn add<T: ProcFile>(&self, name: &'static CStr) -> Result {
        let mode = if T::WRITABLE { 0o644 } else { 0o444 };
        // SAFETY: The directory is live (type invariant); `name` and the
        // entry table are static, as procfs keeps both pointers.
        let entry = unsafe {
            shim::rsg_proc_create(name.as_char_ptr(), mode, self.dir, &EntryTable::<T>::ENTRY)
        };
        if entry.is_null() {
            return Err(ENOMEM);
        }
        Ok(())
    }
}

/// A symbolic link in `/proc`, removed on drop.
///
/// # Invariants
///
/// `path` names a link this value created.
pub(crate) struct ProcLink {
    path: &'static CStr,
}

impl ProcLink {
    /// Creates `/proc/PATH` pointing to `dest`.
    pub(crate) fn new(path: &'static CStr, dest: &'static CStr) -> Result<Self> {
        // SAFETY: Both are valid C strings; `dest` is copied.
        if unsafe { shim::rsg_proc_symlink(path.as_char_ptr(), dest.as_char_ptr()) } {
            Ok(Self { path })
        } else {
            Err(EEXIST)
        }
    }
}

impl Drop for ProcLink {
    fn drop(&mut self) {
        // SAFETY: Removes the link `new` made (type invariant).
        unsafe { shim::rsg_proc_remove(self.path.as_char_ptr()) };
    }
}

impl Drop for ProcDir {
    fn drop(&mut self) {
        // SAFETY: Removes what `new` and `add` made; open files keep their
        // own references, and procfs waits for running handlers.
        unsafe { shim::rsg_proc_remove(self.path.as_char_ptr()) };
    }
}

/// Whether the caller has capability `cap` (`CAP_*`).
pub(crate) fn capable(cap: u32) -> bool {
    // SAFETY: Checks the current task's credentials; no preconditions.
    unsafe { bindings::capable(cap as i32) }
}
