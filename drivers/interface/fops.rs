// SPDX-License-Identifier: GPL-2.0

//! The file operations of `/dev/rsgN`.

use crate::abstractions::file::{poll::*, File, FileOperations, PollTable};
use crate::abstractions::mm::{Fault, Vma};
use crate::abstractions::pages::PAGE_SIZE;
use crate::abstractions::uring::{IssueFlags, Queued, UringCmd, UringCmdRef};
use crate::core::device::Device;
use crate::core::file::OpenFile;
use crate::uapi::SG_MAX_QUEUE;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

/// The file operations of an rsg device node.
pub(crate) struct RsgFile;

#[vtable]
impl FileOperations for RsgFile {
    type Data = Arc<OpenFile>;
    type UringData = super::uring::Data;

    fn open(minor: u32, file: &File) -> Result<Arc<OpenFile>> {
        Device::open(minor, file)
    }

    fn release(data: Arc<OpenFile>, _file: &File) {
        // Marked closed first, so that a request ending meanwhile sees it
        // and lets the device forget the file.
        data.release();
        data.dev.release(&data);
    }

    fn ioctl(data: ArcBorrow<'_, OpenFile>, file: &File, cmd: u32, arg: usize) -> Result<isize> {
        super::ioctl::ioctl(data, file, cmd, arg)
    }

    fn read(data: ArcBorrow<'_, OpenFile>, file: &File, buf: usize, count: usize) -> Result<usize> {
        super::rw::read(data, file, buf, count)
    }

    fn write(
        data: ArcBorrow<'_, OpenFile>,
        file: &File,
        buf: usize,
        count: usize,
    ) -> Result<usize> {
        super::rw::write(data, file, buf, count)
    }

    /// Readable when a response waits; writable while another request fits;
    /// hung up once the device is going away.
    fn poll(data: ArcBorrow<'_, OpenFile>, file: &File, table: &PollTable<'_>) -> u32 {
        data.read_wait.poll_wait(file, table);
        let inner = data.inner.lock();
        let mut res = 0;
        if inner.readable().next().is_some() || inner.queues.has_done() {
            res |= EPOLLIN | EPOLLRDNORM;
        }
        let count = inner.outstanding();
        let sg_room = (!inner.cmd_q && count == 0) || (inner.cmd_q && count < SG_MAX_QUEUE);
        if data.dev.is_detaching() {
            res |= EPOLLHUP;
        } else if sg_room && inner.queues.has_room() {
            res |= EPOLLOUT | EPOLLWRNORM;
        }
        res
    }

    /// Maps the reserve buffer: offset 0, at most its length.
    fn mmap(data: ArcBorrow<'_, OpenFile>, _file: &File, vma: &Vma) -> Result {
        if vma.pgoff() != 0 {
            return Err(EINVAL);
        }
        let mut st = data.state.lock();
        if vma.len() > st.reserve.len() {
            return Err(ENOMEM);
        }
        st.mmap_called = true;
        Ok(())
    }

    /// Supplies the reserve page under the faulting address.
    fn fault(data: ArcBorrow<'_, OpenFile>, fault: &Fault) -> bool {
        let reserve = data.state.lock().reserve.clone();
        let mut offset = fault.pgoff() * PAGE_SIZE;
        if offset >= reserve.len() {
            return false;
        }
        // Walk the runs as far as the VMA reaches, as sg does.
        let mut left = fault.vma_len();
        for run in reserve.runs().iter() {
            if left == 0 {
                break;
            }
            let len = left.min(reserve.run_bytes());
            if offset < len {
                return fault.provide(run, offset / PAGE_SIZE);
            }
            left -= len;
            offset -= len;
        }
        false
    }

    fn fasync(data: ArcBorrow<'_, OpenFile>, fd: i32, file: &File, on: bool) -> Result {
        data.fasync.update(fd, file, on)
    }

    fn uring_cmd(
        data: ArcBorrow<'_, OpenFile>,
        file: &File,
        cmd: UringCmd<Self::UringData>,
        flags: IssueFlags,
    ) -> core::result::Result<Queued, (UringCmd<Self::UringData>, Error)> {
        super::uring::issue(data, file, cmd, flags)
    }

    fn uring_cmd_cancel(
        _data: ArcBorrow<'_, OpenFile>,
        cmd: &UringCmdRef<'_, Self::UringData>,
        _flags: IssueFlags,
    ) {
        super::uring::cancel_call(cmd);
    }
}
