// SPDX-License-Identifier: GPL-2.0

//! sg's ioctls, with sg's results and errnos (`sg_ioctl_common`).

use super::v3;
use crate::abstractions::file::File;
use crate::abstractions::task;
use crate::abstractions::time;
use crate::abstractions::uaccess::put_user_i32;
use crate::core::buffer::Buffer;
use crate::core::file::{max_sectors_bytes, OpenFile, Reserve};
use crate::core::request::Stage;
use crate::uapi::ioctl::*;
use crate::uapi::{
    SgReqInfo, SgScsiId, SG_MAX_CDB_SIZE, SG_MAX_QUEUE, SG_REQ_INFO_COMPAT_SIZE, SG_VERSION_NUM,
};
use kernel::fmt;
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::{Arc, ArcBorrow, UniqueArc};
use kernel::uaccess::UserSlice;

/// Reads the `int` argument of a setter.
fn get_int(arg: usize) -> Result<i32> {
    UserSlice::new(arg, 4).reader().read::<i32>()
}

/// Writes the `int` answer of a getter, in one store as sg's `put_user`.
fn put_int(arg: usize, val: i32) -> Result<isize> {
    put_user_i32(arg, val)?;
    Ok(0)
}

/// Dispatches one ioctl.
pub(crate) fn ioctl(
    ofile: ArcBorrow<'_, OpenFile>,
    file: &File,
    cmd: u32,
    arg: usize,
) -> Result<isize> {
    // The hot path first.
    if cmd == SG_IO {
        return v3::sg_io(ofile, file, arg).map(|()| 0);
    }
    let dev = &ofile.dev;
    let read_only = !file.is_rdwr();
    if let Some(ret) = super::queue::ioctl(ofile, file, cmd, arg) {
        return ret;
    }
    match cmd {
        SG_SET_TIMEOUT => {
            let mut val = i64::from(get_int(arg)?);
            if val < 0 {
                return Err(EIO);
            }
            let max = i64::from(i32::MAX) * time::user_hz() / time::hz();
            if val >= max {
                val = max.min(i64::from(i32::MAX));
            }
            let mut st = ofile.state.lock();
            st.timeout_user = val as i32;
            st.timeout = (val * time::hz() / time::user_hz()) as i32;
            return Ok(0);
        }
        // The value is the return value, as sg has always done.
        SG_GET_TIMEOUT => return Ok(ofile.state.lock().timeout_user as isize),
        SG_SET_FORCE_LOW_DMA => return Ok(0),
        SG_GET_LOW_DMA => return put_int(arg, 0),
        SG_GET_SCSI_ID => {
            if dev.is_detaching() {
                return Err(ENODEV);
            }
            let s = &dev.sdev;
            let id = SgScsiId {
                host_no: s.host_no() as i32,
                channel: s.channel() as i32,
                scsi_id: s.id() as i32,
                lun: s.lun() as i32,
                scsi_type: s.device_type(),
                h_cmd_per_lun: s.cmd_per_lun(),
                d_queue_depth: s.queue_depth(),
                unused: [0; 2],
            };
            UserSlice::new(arg, core::mem::size_of::<SgScsiId>())
                .writer()
                .write(&id)?;
            return Ok(0);
        }
        SG_GET_SG_TABLESIZE => return put_int(arg, ofile.sg_tablesize as i32),
        SG_GET_RESERVED_SIZE => {
            let len = ofile.state.lock().reserve.len() as i32;
            return put_int(arg, len.min(max_sectors_bytes(dev)));
        }
        // Values are read before `put_int`: user copies may fault, which must
        // not happen under the irq-safe lock.
        SG_GET_COMMAND_Q => {
            let val = ofile.inner.lock().cmd_q as i32;
            return put_int(arg, val);
        }
        SG_SET_COMMAND_Q => {
            let val = get_int(arg)?;
            ofile.inner.lock().cmd_q = val != 0;
            return Ok(0);
        }
        SG_GET_KEEP_ORPHAN => {
            let val = i32::from(ofile.inner.lock().keep_orphan);
            return put_int(arg, val);
        }
        SG_SET_KEEP_ORPHAN => {
            let val = get_int(arg)?;
            // sg keeps the value in a char.
            ofile.inner.lock().keep_orphan = val as u8;
            return Ok(0);
        }
        SG_SET_FORCE_PACK_ID => {
            let val = get_int(arg)?;
            ofile.inner.lock().force_packid = val != 0;
            return Ok(0);
        }
        SG_GET_PACK_ID => {
            let id = ofile
                .inner
                .lock()
                .readable()
                .next()
                .map_or(-1, |r| r.hdr.pack_id);
            return put_int(arg, id);
        }
        SG_GET_NUM_WAITING => {
            let n = ofile.inner.lock().readable().count() as i32;
            return put_int(arg, n);
        }
        SG_NEXT_CMD_LEN => {
            let val = get_int(arg)?;
            if val > SG_MAX_CDB_SIZE as i32 {
                return Err(ENOMEM);
            }
            ofile.state.lock().next_cmd_len = val.max(0) as u8;
            return Ok(0);
        }
        SG_SET_RESERVED_SIZE => {
            let val = get_int(arg)?;
            if val < 0 {
                return Err(EINVAL);
            }
            let size = val.min(max_sectors_bytes(dev)) as usize;
            let mut st = ofile.state.lock();
            if size != st.reserve.len() {
                if st.mmap_called || st.reserve.is_claimed() {
                    return Err(EBUSY);
                }
                // Allocate first: past this point the resize cannot fail and
                // at worst gives a smaller reserve, as in sg.
                let interim = Arc::new(Reserve::new(Buffer::empty()), GFP_KERNEL)?;
                let mut fresh = UniqueArc::new(Reserve::new(Buffer::empty()), GFP_KERNEL)?;
                // Free the old reserve before building the new one.
                st.reserve = interim;
                *fresh = Reserve::new(Buffer::build_reserve(size, ofile.sg_tablesize as usize));
                st.reserve = fresh.into();
            }
            return Ok(0);
        }
        SG_GET_REQUEST_TABLE => return request_table(&ofile, arg),
        SG_SET_DEBUG => {
            let val = get_int(arg)?;
            dev.set_debug(val as u8);
            return Ok(0);
        }
        SG_GET_VERSION_NUM => return put_int(arg, SG_VERSION_NUM),
        // sg no longer counts accesses; it answers 1 while attached.
        SG_GET_ACCESS_COUNT => return put_int(arg, 1),
        SG_EMULATED_HOST => {
            if dev.is_detaching() {
                return Err(ENODEV);
            }
            return put_int(arg, dev.sdev.emulated());
        }
        BLKSECTGET => return put_int(arg, max_sectors_bytes(dev)),
        BLKTRACESETUP | BLKTRACESTART | BLKTRACESTOP | BLKTRACETEARDOWN => {
            let name = CString::try_from_fmt(fmt!("rsg{}", dev.index))?;
            if let Some(ret) = dev.sdev.queue().blktrace_ioctl(&name, dev.devt(), cmd, arg) {
                return ret;
            }
        }
        SCSI_IOCTL_SEND_COMMAND => {
            if dev.is_detaching() {
                return Err(ENODEV);
            }
            return dev.sdev.scsi_ioctl(file.can_write(), cmd, arg);
        }
        SCSI_IOCTL_GET_IDLUN
        | SCSI_IOCTL_GET_BUS_NUMBER
        | SCSI_IOCTL_PROBE_HOST
        | SG_GET_TRANSFORM
        | SG_SCSI_RESET => {
            if dev.is_detaching() {
                return Err(ENODEV);
            }
        }
        _ => {
            if read_only {
                return Err(EPERM);
            }
        }
    }
    let ndelay = file.is_nonblocking();
    dev.sdev.ioctl_block_when_processing_errors(cmd, ndelay)?;
    dev.sdev.scsi_ioctl(file.can_write(), cmd, arg)
}

/// `SG_GET_REQUEST_TABLE`: up to 16 `sg_req_info` in submission order.
fn request_table(ofile: &OpenFile, arg: usize) -> Result<isize> {
    let mut table = [SgReqInfo::default(); SG_MAX_QUEUE];
    {
        let inner = ofile.inner.lock();
        for (info, req) in table.iter_mut().zip(inner.requests.iter()) {
            let stage = req.stage(&inner);
            let resp = req.response(&inner);
            info.req_state = match stage {
                Stage::Active => 1,
                Stage::Ready => 2,
                Stage::Taken => 3,
            };
            info.problem =
                (resp.masked_status != 0 || resp.host_status != 0 || resp.driver_status != 0) as u8;
            info.duration = if stage == Stage::Active {
                req.elapsed_ms()
            } else {
                resp.duration
            };
            info.orphan = req.orphan(&inner) as u8;
            info.sg_io_owned = req.sg_io_owned(&inner) as u8;
            info.pack_id = req.hdr.pack_id;
            info.usr_ptr = req.hdr.usr_ptr;
        }
    }
    if task::in_compat_syscall() {
        let mut writer = UserSlice::new(arg, SG_REQ_INFO_COMPAT_SIZE * SG_MAX_QUEUE).writer();
        for info in table.iter() {
            writer.write(&info.compat())?;
        }
    } else {
        UserSlice::new(arg, core::mem::size_of_val(&table))
            .writer()
            .write(&table)?;
    }
    Ok(0)
}
