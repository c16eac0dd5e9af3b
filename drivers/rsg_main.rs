// SPDX-License-Identifier: GPL-2.0

//! rsg: the SCSI generic driver, in Rust.
//!
//! Layers, bottom up: [`bindings`] (the C shim), [`abstractions`] (safe
//! wrappers, all of the driver's `unsafe`), [`core`] (devices, open files,
//! requests, buffers) and [`interface`] (what user space sees).

mod abstractions;
mod bindings;
mod core;
mod interface;
mod uapi;

use crate::abstractions::chrdev::{Class, Region};
use crate::abstractions::module;
use crate::abstractions::proc::{ProcDir, ProcLink};
use crate::abstractions::scsi::{Interface, Registration, ScsiDevice};
use crate::abstractions::workqueue::DriverQueue;
use crate::core::device::{uses_sg_names, Device, GLOBALS, MAX_DEVS, SCSI_GENERIC_MAJOR};
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;

module! {
    type: Rsg,
    name: "rsg",
    author: "The rsg authors",
    description: "SCSI generic (sg) driver in Rust",
    license: "GPL",
}

/// The SCSI class interface: one rsg device per SCSI device.
struct RsgInterface;

impl Interface for RsgInterface {
    fn add(sdev: ScsiDevice) -> Result {
        Device::attach(sdev)
    }

    fn remove(sdev: &ScsiDevice) {
        Device::detach(sdev);
    }
}

/// The loaded module.
struct Rsg {
    interface: Option<Registration<RsgInterface>>,
    _sg_alias: Option<ProcLink>,
    _queue: DriverQueue,
    _proc: ProcDir,
    _region: Region,
}

impl kernel::Module for Rsg {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let name = c_str!("rsg");
        let region = match module::major() {
            -1 => Region::new_fixed(SCSI_GENERIC_MAJOR, MAX_DEVS, name)
                .or_else(|_| Region::new_dynamic(MAX_DEVS, name))?,
            0 => Region::new_dynamic(MAX_DEVS, name)?,
            major if major > 0 => Region::new_fixed(major as u32, MAX_DEVS, name)?,
            _ => return Err(EINVAL),
        };
        let sg_names = uses_sg_names(region.major());
        let class = if sg_names {
            Class::new_rsg_nodes(c_str!("scsi_generic"))?
        } else {
            Class::new(c_str!("scsi_rsg"))?
        };
        let class = Arc::new(class, GFP_KERNEL)?;
        {
            let mut globals = GLOBALS.lock();
            globals.major = region.major();
            globals.class = Some(class);
        }
        let queue = DriverQueue::new(c_str!("rsg")).inspect_err(|_| {
            GLOBALS.lock().class = None;
        })?;
        let proc = interface::proc::register().inspect_err(|_| {
            GLOBALS.lock().class = None;
        })?;
        let sg_alias = if sg_names {
            interface::proc::alias_sg()
        } else {
            None
        };
        let mut module = Rsg {
            interface: None,
            _sg_alias: sg_alias,
            _queue: queue,
            _proc: proc,
            _region: region,
        };
        // From here on, dropping `module` undoes everything.
        module.interface = Some(Registration::new()?);
        pr_info!(
            "rsg 3.5.36 (sg v3 compatible), char major {}\n",
            module._region.major()
        );
        Ok(module)
    }
}

impl Drop for Rsg {
    fn drop(&mut self) {
        // Unregistering detaches every device; then the class can go, and
        // the proc files and the region with the fields.
        drop(self.interface.take());
        Device::detach_all();
        GLOBALS.lock().class = None;
    }
}
