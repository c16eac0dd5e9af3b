// SPDX-License-Identifier: GPL-2.0

//! Asynchronous `write()` and `read()` (sg's `sg_write` and `sg_read`).

use super::{v2, v3};
use crate::abstractions::file::File;
use crate::abstractions::scsi::read_sg_io_hdr;
use crate::abstractions::task;
use crate::core::file::OpenFile;
use crate::uapi::sg_header as h;
use crate::uapi::*;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::prelude::*;
use kernel::sync::ArcBorrow;
use kernel::uaccess::UserSlice;

/// sg refuses read/write from a task whose credentials changed since open,
/// which stops SUID programs and splice from issuing commands.
fn check_access(file: &File) -> Result {
    if file.cred_is_current() {
        Ok(())
    } else {
        static WARNED: AtomicBool = AtomicBool::new(false);
        if !WARNED.swap(true, Ordering::Relaxed) {
            pr_err!("rsg: process changed security contexts after opening file descriptor, this is not allowed.\n");
        }
        Err(EPERM)
    }
}

fn read_int(addr: usize) -> Result<i32> {
    UserSlice::new(addr, 4).reader().read::<i32>()
}

/// The pack_id `read()` asks for under `SG_SET_FORCE_PACK_ID`, or -1.
fn requested_pack_id(buf: usize, count: usize) -> Result<i32> {
    if count >= SG_HEADER_SIZE {
        let reply_len = read_int(buf + h::REPLY_LEN)?;
        if reply_len >= 0 {
            return read_int(buf + h::PACK_ID);
        }
        if task::in_compat_syscall() && count >= SG_IO_HDR_COMPAT_SIZE {
            return read_int(buf + SG_IO_HDR_COMPAT_PACK_ID);
        }
        if count >= core::mem::size_of::<sg_io_hdr>() {
            return read_int(buf + core::mem::offset_of!(sg_io_hdr, pack_id));
        }
    }
    Ok(-1)
}

/// `write()`: queue a v3 or v2 request.
pub(crate) fn write(
    ofile: ArcBorrow<'_, OpenFile>,
    file: &File,
    buf: usize,
    count: usize,
) -> Result<usize> {
    check_access(file)?;
    let dev = &ofile.dev;
    if dev.is_detaching() {
        return Err(ENODEV);
    }
    if !file.is_nonblocking() && !dev.sdev.block_when_processing_errors() {
        return Err(ENXIO);
    }
    if count < SG_HEADER_SIZE {
        return Err(EIO);
    }
    // sg reads the first 36 bytes, whose `reply_len` names the protocol,
    // then the v3 header whole. A buffer that can hold a v3 header is read
    // whole once; if that faults, the reads go as sg's, and so do errors.
    if count >= core::mem::size_of::<sg_io_hdr>() {
        if let Ok(hdr) = read_sg_io_hdr(buf) {
            // `reply_len` is the v3 header's `dxfer_direction`.
            if hdr.dxfer_direction < 0 {
                return v3::new_write_hdr(ofile, file, &hdr).map(|()| count);
            }
        }
    }
    let mut hdr = [0u8; SG_HEADER_SIZE];
    UserSlice::new(buf, SG_HEADER_SIZE)
        .reader()
        .read_slice(&mut hdr)?;
    let reply_len = i32::from_ne_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
    if reply_len < 0 {
        return v3::new_write(ofile, file, buf, count, false).map(|()| count);
    }
    v2::write(ofile, buf, count, &hdr)
}

/// `read()`: return the oldest completed response, or the one with the
/// requested pack_id.
pub(crate) fn read(
    ofile: ArcBorrow<'_, OpenFile>,
    file: &File,
    buf: usize,
    count: usize,
) -> Result<usize> {
    check_access(file)?;
    let mut inner = ofile.inner.lock();
    let pack_id = if inner.force_packid {
        // The header is user memory: read it unlocked.
        drop(inner);
        let pack_id = requested_pack_id(buf, count)?;
        inner = ofile.inner.lock();
        pack_id
    } else {
        -1
    };
    let req = loop {
        let (req, busy) = inner.take_readable(pack_id);
        if let Some(req) = req {
            break req;
        }
        if file.is_nonblocking() {
            return Err(EAGAIN);
        }
        if !busy && ofile.dev.is_detaching() {
            return Err(ENODEV);
        }
        let (guard, signalled) = ofile.read_wait.wait_interruptible(&ofile.inner, inner);
        inner = guard;
        if signalled {
            // Check once more: a response may have raced the signal.
            let (req, _) = inner.take_readable(pack_id);
            match req {
                Some(req) => break req,
                None => return Err(ERESTARTSYS),
            }
        }
    };
    if req.hdr.interface_id != 0 {
        // The response and the data side come out under the lock held.
        v3::new_read(&ofile, inner, req, buf, count)
    } else {
        drop(inner);
        v2::read(req, buf, count)
    }
}
