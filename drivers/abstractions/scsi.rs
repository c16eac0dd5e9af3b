// SPDX-License-Identifier: GPL-2.0

//! SCSI devices and the SCSI class interface, through which upper drivers
//! (sg, rsg) learn of devices coming and going.
//!
//! C headers: [`include/scsi/scsi_device.h`](srctree/include/scsi/scsi_device.h),
//! [`include/scsi/scsi_ioctl.h`](srctree/include/scsi/scsi_ioctl.h)

use super::block::Queue;
use super::to_result;
use crate::bindings as shim;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::prelude::*;
use kernel::types::Opaque;

/// A reference to a `struct scsi_device`.
///
/// # Invariants
///
/// `sdev` is live: this value holds a reference on its generic device,
/// dropped on drop. Its request queue lives as long.
pub(crate) struct ScsiDevice {
    sdev: NonNull<shim::scsi_device>,
}

// SAFETY: The reference may be dropped from any thread; the accessors read
// fields the SCSI core keeps valid while a reference is held.
unsafe impl Send for ScsiDevice {}
// SAFETY: As above; nothing here mutates through `&self` without the SCSI
// core's own locking.
unsafe impl Sync for ScsiDevice {}

impl ScsiDevice {
    /// Takes a reference on the SCSI device that is `dev`'s parent.
    ///
    /// # Safety
    ///
    /// `dev` must be a live class device of the SCSI device class.
    unsafe fn from_class_dev(dev: *mut bindings::device) -> Self {
        // SAFETY: The caller guarantees `dev` is a live `sdev_class` device,
        // whose parent is the scsi_device's generic device.
        let sdev = unsafe { shim::rsg_to_scsi_device((*dev).parent) };
        // SAFETY: `sdev` is live; the reference keeps it so.
        unsafe { bindings::get_device(shim::rsg_sdev_gendev(sdev)) };
        // INVARIANT: We hold a reference; `to_scsi_device` never yields NULL.
        Self {
            // SAFETY: `container_of` of a non-null pointer is non-null.
            sdev: unsafe { NonNull::new_unchecked(sdev) },
        }
    }

    fn raw(&self) -> *mut shim::scsi_device {
        self.sdev.as_ptr()
    }

    /// The generic device, parent of upper drivers' class devices.
    pub(crate) fn gendev(&self) -> NonNull<bindings::device> {
        // SAFETY: `sdev` is live (type invariant); the result is a field.
        unsafe { NonNull::new_unchecked(shim::rsg_sdev_gendev(self.raw())) }
    }

    /// The device's request queue.
    pub(crate) fn queue(&self) -> &Queue {
        // SAFETY: The queue lives as long as the device (type invariant).
        unsafe { Queue::from_raw(shim::rsg_sdev_queue(self.raw())) }
    }

    /// The host adapter number.
    pub(crate) fn host_no(&self) -> u32 {
        // SAFETY: `sdev` is live.
        unsafe { shim::rsg_sdev_host_no(self.raw()) }
    }

    /// The channel.
    pub(crate) fn channel(&self) -> u32 {
        // SAFETY: `sdev` is live.
        unsafe { shim::rsg_sdev_channel(self.raw()) }
    }

    /// The target id.
    pub(crate) fn id(&self) -> u32 {
        // SAFETY: `sdev` is live.
        unsafe { shim::rsg_sdev_id(self.raw()) }
    }

    /// The logical unit number.
    pub(crate) fn lun(&self) -> u64 {
        // SAFETY: `sdev` is live.
        unsafe { shim::rsg_sdev_lun(self.raw()) }
    }

    /// The peripheral device type (`TYPE_*`).
    pub(crate) fn device_type(&self) -> i32 {
        // SAFETY: `sdev` is live.
        unsafe { shim::rsg_sdev_type(self.raw()) }
    }

    /// The host's default queue depth per LU.
    pub(crate) fn cmd_per_lun(&self) -> i16 {
        // SAFETY: `sdev` is live.
        unsafe { shim::rsg_sdev_cmd_per_lun(self.raw()) }
    }

    /// The LU's current queue depth.
    pub(crate) fn queue_depth(&self) -> i16 {
        // SAFETY: `sdev` is live.
        unsafe { shim::rsg_sdev_queue_depth(self.raw()) }
    }

    /// Whether the host is emulated (`hostt->emulated`).
    pub(crate) fn emulated(&self) -> i32 {
        // SAFETY: `sdev` is live.
        unsafe { shim::rsg_sdev_emulated(self.raw()) }
    }

    /// Commands outstanding on the LU.
    pub(crate) fn busy(&self) -> i32 {
        // SAFETY: `sdev` is live.
        unsafe { shim::rsg_sdev_busy(self.raw()) }
    }

    /// Whether the LU is online.
    pub(crate) fn online(&self) -> bool {
        // SAFETY: `sdev` is live.
        unsafe { shim::rsg_sdev_online(self.raw()) }
    }

    /// Vendor, model and revision strings from INQUIRY.
    pub(crate) fn inquiry_strings(&self) -> [&[u8]; 3] {
        // SAFETY: The SCSI core points these at the device's INQUIRY data,
        // which lives as long as the device and is at least as long as the
        // field widths used here (8, 16, 4).
        unsafe {
            [
                core::slice::from_raw_parts(shim::rsg_sdev_vendor(self.raw()).cast(), 8),
                core::slice::from_raw_parts(shim::rsg_sdev_model(self.raw()).cast(), 16),
                core::slice::from_raw_parts(shim::rsg_sdev_rev(self.raw()).cast(), 4),
            ]
        }
    }

    /// Waits out error recovery; `false` when the device went offline.
    pub(crate) fn block_when_processing_errors(&self) -> bool {
        // SAFETY: `sdev` is live; the call may sleep, as callers allow.
        unsafe { shim::scsi_block_when_processing_errors(self.raw()) != 0 }
    }

    /// The mid-layer's ioctl gate: waits out recovery, or fails with
    /// `EAGAIN`/`ENODEV` when `ndelay`.
    pub(crate) fn ioctl_block_when_processing_errors(&self, cmd: u32, ndelay: bool) -> Result {
        // SAFETY: `sdev` is live.
        to_result(unsafe {
            shim::scsi_ioctl_block_when_processing_errors(self.raw(), cmd as i32, ndelay)
        })
    }

    /// The SCSI mid-layer's own ioctls (`scsi_ioctl()`), on user memory.
    pub(crate) fn scsi_ioctl(&self, open_for_write: bool, cmd: u32, arg: usize) -> Result<isize> {
        // SAFETY: `sdev` is live; `arg` is a user pointer the mid-layer
        // checks itself.
        let ret =
            unsafe { shim::scsi_ioctl(self.raw(), open_for_write, cmd as i32, arg as *mut _) };
        if ret < 0 {
            Err(Error::from_errno(ret))
        } else {
            Ok(ret as isize)
        }
    }

    /// Whether `self` and `other` are the same LU.
    pub(crate) fn is(&self, other: &ScsiDevice) -> bool {
        self.sdev == other.sdev
    }

    /// Pins the LU and its host driver's module for an open file.
    pub(crate) fn get_for_open(&self) -> Result<OpenRef> {
        // SAFETY: `sdev` is live.
        to_result(unsafe { shim::scsi_device_get(self.raw()) })?;
        Ok(OpenRef { sdev: self.sdev })
    }
}

impl Drop for ScsiDevice {
    fn drop(&mut self) {
        // SAFETY: We hold this reference (type invariant).
        unsafe { bindings::put_device(self.gendev().as_ptr()) };
    }
}

/// Whether an unprivileged caller may send `cdb` (`scsi_cmd_allowed()`).
pub(crate) fn cmd_allowed(cdb: &mut [u8], open_for_write: bool) -> bool {
    // SAFETY: `cdb` is at least 6 bytes long, as callers check, and the
    // mid-layer reads only the opcode and service action.
    unsafe { shim::scsi_cmd_allowed(cdb.as_mut_ptr(), open_for_write) }
}

/// A `scsi_device_get()` reference, held by each open file.
///
/// # Invariants
///
/// Holds one successful `scsi_device_get()` on `sdev`.
pub(crate) struct OpenRef {
    sdev: NonNull<shim::scsi_device>,
}

// SAFETY: `scsi_device_put()` may be called from any process context.
unsafe impl Send for OpenRef {}
// SAFETY: `&OpenRef` exposes nothing.
unsafe impl Sync for OpenRef {}

impl Drop for OpenRef {
    fn drop(&mut self) {
        // SAFETY: Balances the get in `get_for_open`.
        unsafe { shim::scsi_device_put(self.sdev.as_ptr()) };
    }
}

/// An upper driver's view of SCSI devices.
///
/// The class device's driver data is shared by every interface (sg uses
/// it), so implementations keep their own map from device to state.
pub(crate) trait Interface: 'static {
    /// A device appeared (or was present when the interface registered).
    fn add(sdev: ScsiDevice) -> Result;

    /// The device is going away.
    fn remove(sdev: &ScsiDevice);
}

/// A registered [`Interface`].
///
/// # Invariants
///
/// `intf` is registered with the SCSI device class until drop.
pub(crate) struct Registration<T: Interface> {
    intf: Pin<KBox<Opaque<bindings::class_interface>>>,
    _t: PhantomData<T>,
}

// SAFETY: Unregistration may happen on any thread.
unsafe impl<T: Interface> Send for Registration<T> {}
// SAFETY: `&Registration` exposes nothing.
unsafe impl<T: Interface> Sync for Registration<T> {}

impl<T: Interface> Registration<T> {
    /// Registers `T`; its `add` runs for every existing device before this
    /// returns.
    pub(crate) fn new() -> Result<Self> {
        let intf = KBox::pin(Opaque::<bindings::class_interface>::uninit(), GFP_KERNEL)?;
        let ptr = intf.get();
        // SAFETY: `ptr` is valid for writes and not yet shared; zero is a
        // valid `class_interface` before the callbacks are filled in.
        unsafe {
            ptr.write(core::mem::zeroed());
            (*ptr).add_dev = Some(Self::add_dev);
            (*ptr).remove_dev = Some(Self::remove_dev);
        }
        // SAFETY: `ptr` is pinned and lives until `drop` unregisters it.
        to_result(unsafe { shim::scsi_register_interface(ptr) })?;
        Ok(Self {
            intf,
            _t: PhantomData,
        })
    }

    /// # Safety
    ///
    /// Called by the driver core with a live `sdev_class` device.
    unsafe extern "C" fn add_dev(dev: *mut bindings::device) -> i32 {
        // SAFETY: The driver core passes a live SCSI class device.
        let sdev = unsafe { ScsiDevice::from_class_dev(dev) };
        match T::add(sdev) {
            Ok(()) => 0,
            Err(err) => err.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the driver core with a device `add_dev` saw.
    unsafe extern "C" fn remove_dev(dev: *mut bindings::device) {
        // SAFETY: The driver core passes a live SCSI class device.
        let sdev = unsafe { ScsiDevice::from_class_dev(dev) };
        T::remove(&sdev);
    }
}

impl<T: Interface> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: Registered in `new` (type invariant); `remove_dev` runs for
        // every device before this returns.
        unsafe { bindings::class_interface_unregister(self.intf.get()) };
    }
}

/// Reads a v3 header from user memory, converting a 32-bit caller's.
pub(crate) fn read_sg_io_hdr(arg: usize) -> Result<crate::uapi::sg_io_hdr> {
    let mut hdr = crate::uapi::sg_io_hdr::default();
    // SAFETY: `hdr` is a valid destination of the C layout; `arg` is a user
    // pointer the kernel's accessor checks.
    to_result(unsafe { shim::get_sg_io_hdr(&mut hdr, arg as *const _) })?;
    Ok(hdr)
}

/// Writes a v3 header to user memory, converting for a 32-bit caller.
pub(crate) fn write_sg_io_hdr(hdr: &crate::uapi::sg_io_hdr, arg: usize) -> Result {
    // SAFETY: `hdr` is a valid source of the C layout; `arg` is checked by
    // the kernel's accessor.
    to_result(unsafe { shim::put_sg_io_hdr(hdr, arg as *mut _) })
}

/// Writes the output fields of a v3 header (`status` to `info`, after all
/// inputs) to the header at `arg`, whose inputs are left as they are; a
/// 32-bit caller's is written whole.
pub(crate) fn write_sg_io_outputs(hdr: &crate::uapi::sg_io_hdr, arg: usize) -> Result {
    // SAFETY: `hdr` is a valid source of the C layout; `arg` is checked by
    // the kernel's accessor.
    to_result(unsafe { shim::rsg_put_sg_io_hdr_outputs(hdr, arg as *mut _) })
}
