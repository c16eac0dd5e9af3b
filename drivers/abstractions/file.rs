// SPDX-License-Identifier: GPL-2.0

//! Open files and the operations a character device implements on them.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use super::mm::{Fault, Vma, VM_FAULT_SIGBUS};
use super::uring::{self, Call, IssueFlags, Queued, UringCmd, UringCmdRef};
use core::marker::PhantomData;
use kernel::bindings;
use kernel::error::from_result;
use kernel::prelude::*;
use kernel::types::{ForeignOwnable, Opaque};

/// `FMODE_WRITE`.
const FMODE_WRITE: u32 = 0x2;

/// A `struct file` the kernel is calling rsg about.
///
/// # Invariants
///
/// Wraps a live `struct file` for the duration of the borrow.
#[repr(transparent)]
pub(crate) struct File(Opaque<bindings::file>);

impl File {
    /// Borrows a C `struct file`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a live file for the lifetime `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::file) -> &'a Self {
        // SAFETY: `File` is a transparent wrapper, and the caller guarantees
        // the file lives for `'a`.
        unsafe { &*ptr.cast() }
    }

    pub(crate) fn raw(&self) -> *mut bindings::file {
        self.0.get()
    }

    /// The open flags (`O_*`).
    pub(crate) fn flags(&self) -> u32 {
        // SAFETY: The file is live (type invariant); `f_flags` is a plain
        // field that may change under `fcntl()`, so read it once.
        unsafe { core::ptr::read_volatile(&(*self.raw()).f_flags) }
    }

    /// Whether `O_NONBLOCK` is set now.
    pub(crate) fn is_nonblocking(&self) -> bool {
        self.flags() & bindings::O_NONBLOCK != 0
    }

    /// Whether the file was opened with both read and write access.
    pub(crate) fn is_rdwr(&self) -> bool {
        self.flags() & bindings::O_ACCMODE == bindings::O_RDWR
    }

    /// Whether the file was opened for writing (`FMODE_WRITE`).
    pub(crate) fn can_write(&self) -> bool {
        // SAFETY: The file is live; `f_mode` does not change after open.
        unsafe { (*self.raw()).f_mode & FMODE_WRITE != 0 }
    }

    /// Whether the calling task still has the credentials the file was
    /// opened with (sg's guard against read/write through SUID programs).
    pub(crate) fn cred_is_current(&self) -> bool {
        // SAFETY: The file is live.
        unsafe { crate::bindings::rsg_file_cred_is_current(self.raw()) }
    }
}

/// The table a `poll()` in progress registers wait queues with.
///
/// The VFS passes NULL when it only wants the current mask, so this holds
/// the pointer rather than a reference to the table.
///
/// # Invariants
///
/// `ptr` is null or points to a `poll_table` live for `'a`.
pub(crate) struct PollTable<'a> {
    ptr: *mut bindings::poll_table_struct,
    _p: PhantomData<&'a ()>,
}

impl PollTable<'_> {
    pub(crate) fn raw(&self) -> *mut bindings::poll_table_struct {
        self.ptr
    }
}

/// Poll bits (`EPOLL*`).
pub(crate) mod poll {
    pub(crate) const EPOLLIN: u32 = 0x1;
    pub(crate) const EPOLLOUT: u32 = 0x4;
    pub(crate) const EPOLLHUP: u32 = 0x10;
    pub(crate) const EPOLLRDNORM: u32 = 0x40;
    pub(crate) const EPOLLWRNORM: u32 = 0x100;
}

/// The operations of a character device, with per-open state of type
/// [`FileOperations::Data`].
#[vtable]
pub(crate) trait FileOperations: Sized + 'static {
    /// What each open file carries.
    type Data: ForeignOwnable + Send + Sync;

    /// What an io_uring command keeps in its pdu while it runs.
    type UringData: ForeignOwnable + Send + Sync + 'static;

    /// Opens device minor `minor`.
    fn open(minor: u32, file: &File) -> Result<Self::Data>;

    /// The last reference to the file is gone.
    fn release(data: Self::Data, file: &File);

    /// `ioctl(2)`; the result is the system call's return value.
    fn ioctl(
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _file: &File,
        _cmd: u32,
        _arg: usize,
    ) -> Result<isize> {
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `read(2)` into user memory at `buf`.
    fn read(
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _file: &File,
        _buf: usize,
        _count: usize,
    ) -> Result<usize> {
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `write(2)` from user memory at `buf`.
    fn write(
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _file: &File,
        _buf: usize,
        _count: usize,
    ) -> Result<usize> {
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `poll(2)`: registers wait queues with `table`, returns `EPOLL*` bits.
    fn poll(
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _file: &File,
        _table: &PollTable<'_>,
    ) -> u32 {
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `mmap(2)`: checks and accepts `vma`; its pages are then supplied
    /// one by one through [`FileOperations::fault`].
    fn mmap(
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _file: &File,
        _vma: &Vma,
    ) -> Result {
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// A page fault in a VMA `mmap` accepted; `false` sends `SIGBUS`.
    fn fault(_data: <Self::Data as ForeignOwnable>::Borrowed<'_>, _fault: &Fault) -> bool {
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `fcntl(F_SETFL, FASYNC)` and friends.
    fn fasync(
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _fd: i32,
        _file: &File,
        _on: bool,
    ) -> Result {
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// An io_uring command (`IORING_OP_URING_CMD`): fail it (giving the
    /// right to complete back) or hand it on.
    fn uring_cmd(
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _file: &File,
        _cmd: UringCmd<Self::UringData>,
        _flags: IssueFlags,
    ) -> core::result::Result<Queued, (UringCmd<Self::UringData>, Error)> {
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// io_uring cancels a command [`FileOperations::uring_cmd`] handed on
    /// and marked cancelable (the ring or its task is going away).
    fn uring_cmd_cancel(
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _cmd: &UringCmdRef<'_, Self::UringData>,
        _flags: IssueFlags,
    ) {
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}

/// The `struct file_operations` for `T`.
pub(crate) struct OperationsVtable<T>(PhantomData<T>);

impl<T: FileOperations> OperationsVtable<T> {
    const VTABLE: bindings::file_operations = bindings::file_operations {
        open: Some(Self::open),
        release: Some(Self::release),
        unlocked_ioctl: if T::HAS_IOCTL {
            Some(Self::ioctl)
        } else {
            None
        },
        compat_ioctl: if T::HAS_IOCTL {
            Some(bindings::compat_ptr_ioctl)
        } else {
            None
        },
        read: if T::HAS_READ { Some(Self::read) } else { None },
        write: if T::HAS_WRITE {
            Some(Self::write)
        } else {
            None
        },
        poll: if T::HAS_POLL { Some(Self::poll) } else { None },
        mmap: if T::HAS_MMAP { Some(Self::mmap) } else { None },
        fasync: if T::HAS_FASYNC {
            Some(Self::fasync)
        } else {
            None
        },
        uring_cmd: if T::HAS_URING_CMD {
            Some(Self::uring_cmd)
        } else {
            None
        },
        // SAFETY: All-zero is a valid `file_operations`: every other member
        // is an optional callback or the owner, which `Cdev` sets.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    /// The table, with static lifetime.
    pub(crate) fn build() -> &'static bindings::file_operations {
        &Self::VTABLE
    }

    /// # Safety
    ///
    /// Called by the VFS with a live inode and a file being opened.
    unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> i32 {
        from_result(|| {
            // SAFETY: The VFS passes live pointers.
            let devt = unsafe { (*inode).i_rdev };
            // SAFETY: As above.
            super::to_result(unsafe { bindings::nonseekable_open(inode, file) })?;
            // SAFETY: The file is live for this call.
            let data = T::open(super::chrdev::minor(devt), unsafe { File::from_raw(file) })?;
            // SAFETY: Nothing else uses `private_data` of our files; `release`
            // takes the value back.
            unsafe { (*file).private_data = data.into_foreign() as *mut _ };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the VFS once per successful `open`, with the same file.
    unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> i32 {
        // SAFETY: `open` stored the value from `into_foreign`; this is the
        // one place that takes it back.
        let data = unsafe { T::Data::from_foreign((*file).private_data) };
        // SAFETY: The file is live for this call.
        T::release(data, unsafe { File::from_raw(file) });
        0
    }

    /// # Safety
    ///
    /// Called by the VFS on a file `open` succeeded on.
    unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: u32, arg: usize) -> isize {
        // SAFETY: `private_data` holds the value `open` stored, which lives
        // until `release`, and `release` cannot run during this call.
        let data = unsafe { T::Data::borrow((*file).private_data) };
        // SAFETY: The file is live for this call.
        match T::ioctl(data, unsafe { File::from_raw(file) }, cmd, arg) {
            Ok(ret) => ret,
            Err(err) => err.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// As for `ioctl`.
    unsafe extern "C" fn read(
        file: *mut bindings::file,
        buf: *mut kernel::ffi::c_char,
        count: usize,
        _pos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: As in `ioctl`.
        let data = unsafe { T::Data::borrow((*file).private_data) };
        // SAFETY: The file is live for this call.
        match T::read(data, unsafe { File::from_raw(file) }, buf as usize, count) {
            Ok(n) => n as isize,
            Err(err) => err.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// As for `ioctl`.
    unsafe extern "C" fn write(
        file: *mut bindings::file,
        buf: *const kernel::ffi::c_char,
        count: usize,
        _pos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: As in `ioctl`.
        let data = unsafe { T::Data::borrow((*file).private_data) };
        // SAFETY: The file is live for this call.
        match T::write(data, unsafe { File::from_raw(file) }, buf as usize, count) {
            Ok(n) => n as isize,
            Err(err) => err.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// As for `ioctl`; `table` is live or null.
    unsafe extern "C" fn poll(
        file: *mut bindings::file,
        table: *mut bindings::poll_table_struct,
    ) -> bindings::__poll_t {
        // SAFETY: As in `ioctl`.
        let data = unsafe { T::Data::borrow((*file).private_data) };
        // SAFETY: The file is live for this call.
        let file = unsafe { File::from_raw(file) };
        // INVARIANT: The VFS passes a table live for this call, or NULL.
        let table = PollTable {
            ptr: table,
            _p: PhantomData,
        };
        T::poll(data, file, &table)
    }

    /// # Safety
    ///
    /// As for `ioctl`.
    unsafe extern "C" fn fasync(fd: i32, file: *mut bindings::file, on: i32) -> i32 {
        // SAFETY: As in `ioctl`; the VFS calls this before `release`.
        let data = unsafe { T::Data::borrow((*file).private_data) };
        // SAFETY: The file is live for this call.
        match T::fasync(data, fd, unsafe { File::from_raw(file) }, on != 0) {
            Ok(()) => 0,
            Err(err) => err.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by io_uring on a file `open` succeeded on, which the command
    /// holds open; `cmd` is live for the call.
    unsafe extern "C" fn uring_cmd(cmd: *mut bindings::io_uring_cmd, flags: u32) -> i32 {
        // SAFETY: Every command on this file goes through this function, so
        // pdus only ever hold `T::UringData`, and cancel calls only come for
        // commands `T::uring_cmd` handed on.
        let Some((call, flags)) = (unsafe { uring::call::<T::UringData>(cmd, flags) }) else {
            return EINVAL.to_errno();
        };
        // SAFETY: The command holds a reference on its file, which is live.
        let file = unsafe { crate::bindings::rsg_uring_cmd_file(cmd) };
        // SAFETY: As in `ioctl`: the file is open until the command ends.
        let data = unsafe { T::Data::borrow((*file).private_data) };
        match call {
            Call::Issue(cmd) => {
                // SAFETY: The file is live for this call.
                match T::uring_cmd(data, unsafe { File::from_raw(file) }, cmd, flags) {
                    Ok(_queued) => -(bindings::EIOCBQUEUED as i32),
                    Err((cmd, err)) => {
                        cmd.fail();
                        err.to_errno()
                    }
                }
            }
            Call::Cancel(cmd) => {
                T::uring_cmd_cancel(data, &cmd, flags);
                0
            }
        }
    }

    const VM_OPS: bindings::vm_operations_struct = bindings::vm_operations_struct {
        fault: Some(Self::fault),
        // SAFETY: All-zero is a valid `vm_operations_struct`: every other
        // member is an optional callback.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    /// # Safety
    ///
    /// As for `ioctl`; `vma` is live and being set up for this file.
    unsafe extern "C" fn mmap(
        file: *mut bindings::file,
        vma: *mut bindings::vm_area_struct,
    ) -> i32 {
        // SAFETY: As in `ioctl`.
        let data = unsafe { T::Data::borrow((*file).private_data) };
        // SAFETY: The file and VMA are live for this call.
        let (f, v) = unsafe { (File::from_raw(file), Vma::from_raw(vma)) };
        match T::mmap(data, f, v) {
            Ok(()) => {
                // SAFETY: The VMA is being set up under the mmap lock; the
                // operations table is static.
                unsafe {
                    crate::bindings::rsg_vma_set_io(
                        vma,
                        (&Self::VM_OPS as *const bindings::vm_operations_struct).cast(),
                    )
                };
                0
            }
            Err(err) => err.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the MM for a VMA `mmap` set up, with a live `vmf`.
    unsafe extern "C" fn fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: The VMA holds a reference on its file, so the file and the
        // value `open` stored in it stay alive until the VMA is gone.
        let data = unsafe {
            let file = crate::bindings::rsg_vma_file(crate::bindings::rsg_vmf_vma(vmf));
            T::Data::borrow((*file).private_data)
        };
        // SAFETY: `vmf` is live for this call.
        let fault = unsafe { Fault::new(vmf) };
        if T::fault(data, &fault) {
            0
        } else {
            VM_FAULT_SIGBUS
        }
    }
}
