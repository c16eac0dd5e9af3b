// SPDX-License-Identifier: GPL-2.0

//! The file operations of `/dev/rsgN`.

use crate::abstractions::file::{File, FileOperations};
use crate::core::device::Device;
use crate::core::file::OpenFile;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

/// The file operations of an rsg device node.
pub(crate) struct RsgFile;

#[vtable]
impl FileOperations for RsgFile {
    type Data = Arc<OpenFile>;

    fn open(minor: u32, file: &File) -> Result<Arc<OpenFile>> {
        Device::open(minor, file)
    }

    fn release(data: Arc<OpenFile>, _file: &File) {
        data.dev.release(&data);
        data.release();
    }

    fn ioctl(data: ArcBorrow<'_, OpenFile>, file: &File, cmd: u32, arg: usize) -> Result<isize> {
        super::ioctl::ioctl(data, file, cmd, arg)
    }
}
