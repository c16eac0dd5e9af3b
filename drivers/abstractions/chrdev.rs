// SPDX-License-Identifier: GPL-2.0

//! Character device numbers, `cdev`s, device classes and class devices.
//!
//! C headers: [`include/linux/cdev.h`](srctree/include/linux/cdev.h),
//! [`include/linux/device/class.h`](srctree/include/linux/device/class.h)

use super::file::{FileOperations, OperationsVtable};
use super::pages::PAGE_SIZE;
use super::to_result;
use crate::bindings as shim;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::c_str;
use kernel::error::from_err_ptr;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;
use kernel::types::ForeignOwnable;

/// Bits of a `dev_t` that hold the minor number (`MINORBITS`).
pub(crate) const MINOR_BITS: u32 = 20;

/// Makes a `dev_t` (`MKDEV`).
pub(crate) fn mkdev(major: u32, minor: u32) -> u32 {
    (major << MINOR_BITS) | minor
}

/// The minor number of a `dev_t` (`MINOR`).
pub(crate) fn minor(devt: u32) -> u32 {
    devt & ((1 << MINOR_BITS) - 1)
}

/// A registered range of device numbers.
///
/// # Invariants
///
/// `[base, base + count)` is registered to this value until it is dropped.
pub(crate) struct Region {
    base: u32,
    count: u32,
}

impl Region {
    /// Registers `count` minors of `major`.
    pub(crate) fn new_fixed(major: u32, count: u32, name: &'static CStr) -> Result<Self> {
        let base = mkdev(major, 0);
        // SAFETY: `name` is a static C string, as the kernel keeps a pointer.
        to_result(unsafe { bindings::register_chrdev_region(base, count, name.as_char_ptr()) })?;
        Ok(Self { base, count })
    }

    /// Registers `count` minors of a dynamically chosen major.
    pub(crate) fn new_dynamic(count: u32, name: &'static CStr) -> Result<Self> {
        let mut base = 0;
        // SAFETY: `base` is a valid out-pointer; `name` is static.
        to_result(unsafe {
            bindings::alloc_chrdev_region(&mut base, 0, count, name.as_char_ptr())
        })?;
        Ok(Self { base, count })
    }

    /// The major number.
    pub(crate) fn major(&self) -> u32 {
        self.base >> MINOR_BITS
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: The range is registered to us (type invariant).
        unsafe { bindings::unregister_chrdev_region(self.base, self.count) };
    }
}

/// A live `cdev` that routes one device number to `T`'s file operations.
///
/// # Invariants
///
/// `cdev` came from `cdev_alloc()` and was added with `cdev_add()`; this value
/// owns that reference and deletes it on drop.
pub(crate) struct Cdev {
    cdev: NonNull<bindings::cdev>,
}

// SAFETY: `cdev_del()` may be called from any thread.
unsafe impl Send for Cdev {}
// SAFETY: `&Cdev` exposes nothing.
unsafe impl Sync for Cdev {}

impl Cdev {
    /// Makes `devt` open files through `T`.
    pub(crate) fn add<T: FileOperations>(devt: u32, module: &'static ThisModule) -> Result<Self> {
        // SAFETY: No preconditions; NULL is handled.
        let cdev = NonNull::new(unsafe { shim::cdev_alloc() }).ok_or(ENOMEM)?;
        // SAFETY: `cdev` is a fresh cdev not yet visible to anyone; the
        // operations table is static and the module outlives the cdev.
        unsafe {
            shim::rsg_cdev_set_ops(
                cdev.as_ptr(),
                (OperationsVtable::<T>::build() as *const bindings::file_operations).cast(),
                module.as_ptr(),
            )
        };
        // SAFETY: `cdev` is initialised; on failure the kobject reference
        // from `cdev_alloc()` is dropped with `kobject_put()`.
        let ret = unsafe { shim::cdev_add(cdev.as_ptr(), devt, 1) };
        if ret != 0 {
            // SAFETY: The cdev was never added, so deleting it only drops the
            // allocation's reference.
            unsafe { shim::cdev_del(cdev.as_ptr()) };
            return Err(Error::from_errno(ret));
        }
        Ok(Self { cdev })
    }
}

impl Drop for Cdev {
    fn drop(&mut self) {
        // SAFETY: The cdev was added and is ours to delete (type invariant).
        // Files already open keep their own reference.
        unsafe { shim::cdev_del(self.cdev.as_ptr()) };
    }
}

/// A device class (`/sys/class/NAME`).
///
/// # Invariants
///
/// `class` came from `class_create()` and is destroyed on drop.
pub(crate) struct Class {
    class: NonNull<bindings::class>,
}

// SAFETY: Class creation and destruction may happen on any thread.
unsafe impl Send for Class {}
// SAFETY: `&Class` only creates devices, which the driver core serialises.
unsafe impl Sync for Class {}

impl Class {
    /// Creates the class `name`.
    pub(crate) fn new(name: &'static CStr) -> Result<Self> {
        // SAFETY: `name` is static, as the class keeps the pointer.
        let class = from_err_ptr(unsafe { bindings::class_create(name.as_char_ptr()) })?;
        NonNull::new(class)
            .map(|class| Self { class })
            .ok_or(ENOMEM)
    }

    /// Creates the class `name` whose devices, named `sgN`, get nodes
    /// named `rsgN`.
    pub(crate) fn new_rsg_nodes(name: &'static CStr) -> Result<Self> {
        let this = Self::new(name)?;
        // SAFETY: The class is live and has no devices, so nothing reads the
        // field as it is set; its callback, in this module's text, outlives
        // the class, which drop destroys before unload.
        unsafe { shim::rsg_class_set_rsg_nodes(this.class.as_ptr()) };
        Ok(this)
    }
}

impl Drop for Class {
    fn drop(&mut self) {
        // SAFETY: Created in `new` and destroyed only here.
        unsafe { bindings::class_destroy(self.class.as_ptr()) };
    }
}

/// A read-only sysfs attribute of a class device, shown from its data.
pub(crate) trait Attribute: Send + Sync + 'static {
    /// The file name.
    const NAME: &'static CStr;

    /// Writes the value, at most a page.
    fn show(&self, out: &mut SysfsBuf<'_>) -> core::fmt::Result;
}

/// The page a sysfs `show` fills.
///
/// # Invariants
///
/// `buf` is the `PAGE_SIZE` buffer of a `show` call; `len` bytes are used.
pub(crate) struct SysfsBuf<'a> {
    buf: *mut u8,
    len: usize,
    _p: PhantomData<&'a mut [u8]>,
}

impl core::fmt::Write for SysfsBuf<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(PAGE_SIZE - self.len);
        // SAFETY: `buf` has `PAGE_SIZE` bytes (type invariant) and `len + n`
        // stays within them; the source is a distinct Rust string.
        unsafe { core::ptr::copy_nonoverlapping(s.as_ptr(), self.buf.add(self.len), n) };
        self.len += n;
        if n < s.len() {
            Err(core::fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// A read-only `struct attribute` named `name`.
const fn read_only_attribute(name: &'static CStr) -> bindings::attribute {
    // SAFETY: All-zero is valid for every member; lockdep's, present in some
    // configurations, is unused for an attribute in static memory.
    let mut attr: bindings::attribute = unsafe { core::mem::MaybeUninit::zeroed().assume_init() };
    attr.name = name.as_char_ptr();
    attr.mode = 0o444;
    attr
}

/// The `device_attribute` of `T`, with a static address.
struct AttributeTable<T>(PhantomData<T>);

impl<T: Attribute> AttributeTable<T> {
    const ATTR: bindings::device_attribute = bindings::device_attribute {
        attr: read_only_attribute(T::NAME),
        show: Some(show::<T>),
        store: None,
    };
}

/// # Safety
///
/// Called by sysfs for a device made by [`ClassDevice::new`] with data of
/// type `Arc<T>`, with a page-sized `buf`.
unsafe extern "C" fn show<T: Attribute>(
    dev: *mut bindings::device,
    _attr: *mut bindings::device_attribute,
    buf: *mut kernel::ffi::c_char,
) -> isize {
    // SAFETY: The driver data is the `Arc<T>` that `ClassDevice` holds until
    // after the device (and so this attribute) is gone.
    let data = unsafe { <Arc<T> as ForeignOwnable>::borrow((*dev).driver_data) };
    let mut out = SysfsBuf {
        buf: buf.cast(),
        len: 0,
        _p: PhantomData,
    };
    // A value cut at the page end is still shown.
    let _ = data.show(&mut out);
    out.len as isize
}

/// A class device with a `dev` attribute (so devtmpfs makes its node), an
/// attribute shown from its data, and a link to it from its parent.
///
/// # Invariants
///
/// `dev` came from `device_create()` in `class` with `data` as its driver
/// data; the link named `link` under `parent` exists when `linked`. This
/// value holds references on `class`, `parent` and `data`, and removes the
/// device and the link on drop.
pub(crate) struct ClassDevice {
    class: Arc<Class>,
    parent: NonNull<bindings::device>,
    devt: u32,
    link: &'static CStr,
    linked: bool,
    data: *const kernel::ffi::c_void,
    drop_data: unsafe fn(*const kernel::ffi::c_void),
}

// SAFETY: The driver core allows removal from any thread; `data` is an
// `Arc` of a `Send + Sync` type.
unsafe impl Send for ClassDevice {}
// SAFETY: `&ClassDevice` exposes nothing.
unsafe impl Sync for ClassDevice {}

/// # Safety
///
/// `ptr` must come from `Arc::<T>::into_foreign` and not be used after.
unsafe fn drop_arc<T: Attribute>(ptr: *const kernel::ffi::c_void) {
    // SAFETY: As the caller guarantees.
    drop(unsafe { <Arc<T> as ForeignOwnable>::from_foreign(ptr) });
}

impl ClassDevice {
    /// Creates `name` in `class` under `parent` with number `devt`, the
    /// attribute `T::NAME` shown from `data`, and the link `link` to it in
    /// `parent`'s directory.
    pub(crate) fn new<T: Attribute>(
        class: &Arc<Class>,
        parent: &super::scsi::ScsiDevice,
        devt: u32,
        name: &CStr,
        link: &'static CStr,
        data: Arc<T>,
    ) -> Result<Self> {
        let parent = parent.gendev();
        let data = data.into_foreign();
        // SAFETY: `class` and `parent` are live; "%s" consumes `name`, a
        // valid C string; `data` stays valid until `drop` below.
        let dev = from_err_ptr(unsafe {
            bindings::device_create(
                class.class.as_ptr(),
                parent.as_ptr(),
                devt,
                data as *mut _,
                c_str!("%s").as_char_ptr(),
                name.as_char_ptr(),
            )
        });
        let dev = match dev {
            Ok(dev) => dev,
            Err(e) => {
                // SAFETY: `data` came from `into_foreign` and was not kept.
                unsafe { drop_arc::<T>(data) };
                return Err(e);
            }
        };
        // SAFETY: `parent` is live; the reference is put on drop.
        unsafe { bindings::get_device(parent.as_ptr()) };
        // INVARIANT: From here on, drop undoes what exists.
        let mut this = Self {
            class: class.clone(),
            parent,
            devt,
            link,
            linked: false,
            data,
            drop_data: drop_arc::<T>,
        };
        // SAFETY: `dev` is live; the attribute table is static.
        to_result(unsafe { bindings::device_create_file(dev, &AttributeTable::<T>::ATTR) })?;
        // SAFETY: Both kobjects are live; failure only loses the link, as
        // for sg.
        this.linked = unsafe {
            bindings::sysfs_create_link(
                &mut (*parent.as_ptr()).kobj,
                &mut (*dev).kobj,
                link.as_char_ptr(),
            )
        } == 0;
        Ok(this)
    }
}

impl Drop for ClassDevice {
    fn drop(&mut self) {
        if self.linked {
            // SAFETY: We made the link (type invariant); the parent is live.
            unsafe {
                bindings::sysfs_remove_link(
                    &mut (*self.parent.as_ptr()).kobj,
                    self.link.as_char_ptr(),
                )
            };
        }
        // SAFETY: The device was created in this class with this number;
        // destroying it waits for running `show` calls and removes the
        // attribute with it.
        unsafe { bindings::device_destroy(self.class.class.as_ptr(), self.devt) };
        // SAFETY: The device, the only user of `data`, is gone; `data` came
        // from `into_foreign` of the type `drop_data` was made for.
        unsafe { (self.drop_data)(self.data) };
        // SAFETY: Balances the `get_device` in `new`.
        unsafe { bindings::put_device(self.parent.as_ptr()) };
    }
}
