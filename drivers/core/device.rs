// SPDX-License-Identifier: GPL-2.0

//! One rsg device per SCSI device: its node, its open rules, and the table
//! that maps minor numbers to devices.

use super::file::OpenFile;
use super::stats::Stats;
use crate::abstractions::chrdev::{mkdev, Attribute, Cdev, Class, ClassDevice, SysfsBuf};
use crate::abstractions::file::File;
use crate::abstractions::scsi::ScsiDevice;
use crate::abstractions::sync::GlobalMutex;
use crate::interface::fops::RsgFile;
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use kernel::bindings::{O_ACCMODE, O_EXCL, O_NONBLOCK, O_RDONLY};
use kernel::prelude::*;
use kernel::str::{CStr, CString};
use kernel::sync::{new_condvar, new_mutex, Arc, CondVar, Mutex};
use kernel::{c_str, fmt};

/// Minors rsg hands out, as sg: all of them.
pub(crate) const MAX_DEVS: u32 = 1 << crate::abstractions::chrdev::MINOR_BITS;

/// What every device shares: the char major, the class, and the devices by
/// minor.
pub(crate) struct Globals {
    pub(crate) major: u32,
    pub(crate) class: Option<Arc<Class>>,
    devices: KVec<Option<Arc<Device>>>,
}

/// The driver's one [`GlobalMutex`].
pub(crate) static GLOBALS: GlobalMutex<Globals> = GlobalMutex::new(Globals {
    major: 0,
    class: None,
    devices: KVec::new(),
});

/// sg's char major.
pub(crate) const SCSI_GENERIC_MAJOR: u32 = 21;

/// Whether rsg on char major `major` stands in for sg, which cannot load
/// then: its sysfs names are sg's (`sgN` in `scsi_generic`, linked as
/// `generic`), so that tools walking sysfs find the devices, and
/// `/proc/scsi/sg` names its `/proc` directory; nodes stay `/dev/rsgN`.
pub(crate) fn uses_sg_names(major: u32) -> bool {
    major == SCSI_GENERIC_MAJOR
}

impl Globals {
    /// The device with minor `index`.
    pub(crate) fn get(&self, index: u32) -> Option<&Arc<Device>> {
        self.devices.get(index as usize).and_then(|d| d.as_ref())
    }

    /// One past the highest minor in use (sg's `sg_last_dev`).
    pub(crate) fn last(&self) -> usize {
        self.devices
            .iter()
            .rposition(|d| d.is_some())
            .map_or(0, |i| i + 1)
    }

    /// Makes room in the table for minor `index`, so that inserting there
    /// cannot fail.
    fn make_room(&mut self, index: u32) -> Result {
        while self.devices.len() <= index as usize {
            self.devices.push(None, GFP_KERNEL)?;
        }
        Ok(())
    }

    /// Lists `dev` at its minor, in room made by [`Globals::make_room`].
    fn insert(&mut self, dev: Arc<Device>) {
        if let Some(slot) = self.devices.get_mut(dev.index as usize) {
            *slot = Some(dev);
        }
    }

    fn free_index(&self) -> Result<u32> {
        let index = self
            .devices
            .iter()
            .position(|d| d.is_none())
            .unwrap_or(self.devices.len());
        if index as u32 >= MAX_DEVS {
            return Err(ENODEV);
        }
        Ok(index as u32)
    }
}

/// Who has the device open.
struct OpenState {
    /// Open files (sg's `open_cnt`).
    count: u32,
    /// An `O_EXCL` open holds the device.
    exclusive: bool,
    /// Files, so that removal can wake their waiters.
    files: KVec<Option<Arc<OpenFile>>>,
}

/// The device node and its sysfs presence; gone once the device detaches.
struct Node {
    _class_dev: ClassDevice,
    _cdev: Cdev,
}

/// An rsg device (sg's `Sg_device`).
#[pin_data(PinnedDrop)]
pub(crate) struct Device {
    /// The minor number, `N` of `rsgN`.
    pub(crate) index: u32,
    devt: u32,
    /// The SCSI device.
    pub(crate) sdev: ScsiDevice,
    detaching: AtomicBool,
    /// `SG_SET_DEBUG`: log sense data of failed commands when non-zero.
    debug: AtomicU8,
    /// I/O statistics, shown in sysfs as `stat`.
    pub(crate) stats: Stats,
    #[pin]
    open: Mutex<OpenState>,
    #[pin]
    open_wait: CondVar,
    #[pin]
    node: Mutex<Option<Node>>,
}

impl Device {
    /// Whether the SCSI device is going away.
    pub(crate) fn is_detaching(&self) -> bool {
        self.detaching.load(Ordering::Acquire)
    }

    /// The files open on the device now.
    pub(crate) fn open_files(&self) -> KVec<Arc<OpenFile>> {
        let open = self.open.lock();
        let mut files = KVec::new();
        for f in open.files.iter().flatten() {
            // Reporting only: a short list under memory pressure is fine.
            if files.push(f.clone(), GFP_KERNEL).is_err() {
                break;
            }
        }
        files
    }

    /// Whether an `O_EXCL` open holds the device, and how many opens exist.
    pub(crate) fn open_counts(&self) -> (bool, u32) {
        let open = self.open.lock();
        (open.exclusive, open.count)
    }

    /// The device number of the node.
    pub(crate) fn devt(&self) -> u32 {
        self.devt
    }

    /// The `SG_SET_DEBUG` level.
    pub(crate) fn debug(&self) -> u8 {
        self.debug.load(Ordering::Relaxed)
    }

    /// Sets the `SG_SET_DEBUG` level.
    pub(crate) fn set_debug(&self, level: u8) {
        self.debug.store(level, Ordering::Relaxed);
    }

    /// Attaches to a new SCSI device: takes a minor, then makes the node.
    pub(crate) fn attach(sdev: ScsiDevice) -> Result {
        let mut globals = GLOBALS.lock();
        let index = globals.free_index()?;
        // Once the node exists nothing may fail: the class device holds the
        // device, which holds the node, and only detach breaks that cycle.
        globals.make_room(index)?;
        let devt = mkdev(globals.major, index);
        let dev = Arc::pin_init(
            try_pin_init!(Device {
                index,
                devt,
                sdev,
                detaching: AtomicBool::new(false),
                debug: AtomicU8::new(0),
                stats: Stats::default(),
                open <- new_mutex!(OpenState { count: 0, exclusive: false, files: KVec::new() }),
                open_wait <- new_condvar!("rsg::Device::open_wait"),
                node <- new_mutex!(None),
            }),
            GFP_KERNEL,
        )?;
        let (prefix, link) = if uses_sg_names(globals.major) {
            ("sg", c_str!("generic"))
        } else {
            ("rsg", c_str!("rsg"))
        };
        let name = CString::try_from_fmt(fmt!("{prefix}{index}"))?;
        let class = globals.class.as_ref().ok_or(ENODEV)?;
        let cdev = Cdev::add::<RsgFile>(devt, &crate::THIS_MODULE)?;
        let class_dev = ClassDevice::new(class, &dev.sdev, devt, &name, link, dev.clone())?;
        *dev.node.lock() = Some(Node {
            _class_dev: class_dev,
            _cdev: cdev,
        });
        globals.insert(dev.clone());
        pr_notice!(
            "Attached scsi generic rsg{} type {}\n",
            index,
            dev.sdev.device_type()
        );
        Ok(())
    }

    /// Detaches from a SCSI device that is going away.
    pub(crate) fn detach(sdev: &ScsiDevice) {
        let dev = {
            let mut globals = GLOBALS.lock();
            let Some(slot) = globals
                .devices
                .iter_mut()
                .find(|d| d.as_ref().is_some_and(|d| d.sdev.is(sdev)))
            else {
                return;
            };
            slot.take()
        };
        let Some(dev) = dev else { return };
        dev.detaching.store(true, Ordering::Release);
        let files = {
            let mut open = dev.open.lock();
            core::mem::take(&mut open.files)
        };
        for file in files.iter().flatten() {
            file.device_gone();
        }
        dev.open_wait.notify_all();
        // Drop the files' entries outside the lock; they stay open.
        drop(files);
        let node = dev.node.lock().take();
        drop(node);
    }

    /// Detaches every device (module unload, after the interface is gone).
    pub(crate) fn detach_all() {
        let devices = core::mem::take(&mut GLOBALS.lock().devices);
        drop(devices);
    }

    /// Opens the device with minor `index` (sg's `sg_open`).
    pub(crate) fn open(index: u32, file: &File) -> Result<Arc<OpenFile>> {
        let flags = file.flags();
        let excl = flags & O_EXCL != 0;
        let nonblock = flags & O_NONBLOCK != 0;
        if excl && flags & O_ACCMODE == O_RDONLY {
            return Err(EPERM);
        }
        let dev = {
            let globals = GLOBALS.lock();
            let dev = globals.get(index).ok_or(ENXIO)?;
            if dev.is_detaching() {
                return Err(ENODEV);
            }
            dev.clone()
        };
        let open_ref = dev.sdev.get_for_open()?;
        if !nonblock && !dev.sdev.block_when_processing_errors() {
            return Err(ENXIO);
        }
        let mut open = dev.open.lock();
        let busy = |open: &OpenState| (excl && open.count > 0) || (!excl && open.exclusive);
        if nonblock {
            if busy(&open) {
                return Err(EBUSY);
            }
        } else {
            while busy(&open) {
                let signalled = dev.open_wait.wait_interruptible(&mut open);
                // The condition first, as sg's wait_event: the waits are
                // exclusive, so a waiter woken by a release that gave up
                // for a signal would leave the next one asleep on a free
                // device.
                if signalled && busy(&open) && !dev.is_detaching() {
                    return Err(ERESTARTSYS);
                }
                if dev.is_detaching() {
                    return Err(ENODEV);
                }
            }
        }
        // Checked under the lock `detach` takes, so that every file it does
        // not see is refused here.
        if dev.is_detaching() {
            return Err(ENODEV);
        }
        if open.count == 0 {
            dev.set_debug(0);
        }
        let ofile = OpenFile::new(dev.clone(), open_ref)?;
        match open.files.iter_mut().find(|f| f.is_none()) {
            Some(slot) => *slot = Some(ofile.clone()),
            None => open.files.push(Some(ofile.clone()), GFP_KERNEL)?,
        }
        if excl {
            open.exclusive = true;
        }
        open.count += 1;
        Ok(ofile)
    }

    /// The last close of `file` (sg's `sg_release`).
    ///
    /// A file with requests still running stays listed (as in sg) until
    /// [`Device::forget`], so that removal still reaches them.
    pub(crate) fn release(&self, file: &Arc<OpenFile>) {
        let removed = {
            let mut open = self.open.lock();
            open.count = open.count.saturating_sub(1);
            if open.exclusive {
                open.exclusive = false;
                self.open_wait.notify_all();
            } else if open.count == 0 {
                self.open_wait.notify_one();
            }
            if file.is_idle() {
                Self::unlist(&mut open, file)
            } else {
                None
            }
        };
        drop(removed);
    }

    /// Stops listing a closed file whose last request has ended.
    pub(crate) fn forget(&self, file: &OpenFile) {
        let removed = Self::unlist(&mut self.open.lock(), file);
        drop(removed);
    }

    fn unlist(open: &mut OpenState, file: &OpenFile) -> Option<Arc<OpenFile>> {
        open.files
            .iter_mut()
            .find(|f| f.as_ref().is_some_and(|f| core::ptr::eq(&**f, file)))
            .and_then(Option::take)
    }
}

impl Attribute for Device {
    const NAME: &'static CStr = c_str!("stat");

    fn show(&self, out: &mut SysfsBuf<'_>) -> core::fmt::Result {
        self.stats.show(out)
    }
}

#[pinned_drop]
impl PinnedDrop for Device {
    fn drop(self: Pin<&mut Self>) {
        // As sg: a trace left running on the queue stops with the device.
        self.sdev.queue().blktrace_remove();
    }
}
