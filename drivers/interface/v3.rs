// SPDX-License-Identifier: GPL-2.0

//! The v3 protocol: `struct sg_io_hdr` requests and responses (sg's
//! `sg_new_write`, `sg_common_write`, `sg_start_req` and `sg_new_read`), and
//! the blocking `SG_IO` built from them.

use crate::abstractions::block::{Bounce, Direction, ScsiRequest, MAX_CDB, SENSE_BUFFERSIZE};
use crate::abstractions::file::File;
use crate::abstractions::pages::PAGE_SIZE;
use crate::abstractions::scsi::{cmd_allowed, read_sg_io_hdr, write_sg_io_hdr};
use crate::abstractions::{module, task, time};
use crate::core::buffer::Buffer;
use crate::core::file::{OpenFile, Slot};
use crate::core::request::{DataBuffer, Request, RequestIo, Stage};
use crate::uapi::*;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};
use kernel::uaccess::UserSlice;

/// `ENOSYS`, for a header that is not v3.
fn enosys() -> Error {
    Error::from_errno(-(kernel::bindings::ENOSYS as i32))
}

/// `EMSGSIZE`, for a CDB of impossible length.
fn emsgsize() -> Error {
    Error::from_errno(-(kernel::bindings::EMSGSIZE as i32))
}

/// Peripheral type of scanners, which the command filter exempts.
const TYPE_SCANNER: i32 = 0x06;

/// Transfers of this size or more are refused.
const MAX_DXFER_LEN: u32 = 256 << 20;

/// The size of the v3 header for the calling process.
pub(crate) fn hdr_size() -> usize {
    if task::in_compat_syscall() {
        SG_IO_HDR_COMPAT_SIZE
    } else {
        core::mem::size_of::<sg_io_hdr>()
    }
}

/// Queues the request whose v3 header is at `buf` (`write()` or `SG_IO`).
pub(crate) fn new_write(
    ofile: ArcBorrow<'_, OpenFile>,
    file: &File,
    buf: usize,
    count: usize,
    read_only: bool,
    sg_io_owned: bool,
) -> Result<Arc<Request>> {
    if count < core::mem::size_of::<sg_io_hdr>() {
        return Err(EINVAL);
    }
    ofile.inner.lock().cmd_q = true;
    let slot = ofile.reserve_slot()?;
    write_hdr(ofile, file, slot, buf, read_only, sg_io_owned)
}

/// Checks the v3 header at `buf` and starts its request in the room `slot`
/// holds, for `write()`, `SG_IO` and the queue interface alike.
pub(crate) fn write_hdr(
    ofile: ArcBorrow<'_, OpenFile>,
    file: &File,
    slot: Slot<'_>,
    buf: usize,
    read_only: bool,
    sg_io_owned: bool,
) -> Result<Arc<Request>> {
    let dev = &ofile.dev;
    let hdr = read_sg_io_hdr(buf)?;
    let start_ms = time::now_ms();
    if hdr.interface_id != i32::from(b'S') {
        return Err(enosys());
    }
    if hdr.flags & SG_FLAG_MMAP_IO != 0 {
        let st = ofile.state.lock();
        if hdr.dxfer_len as usize > st.reserve.len() {
            return Err(ENOMEM);
        }
        if hdr.flags & SG_FLAG_DIRECT_IO != 0 {
            return Err(EINVAL);
        }
        if st.reserve_in_use {
            return Err(EBUSY);
        }
    }
    let timeout = time::ms_to_jiffies(hdr.timeout).min(i32::MAX as u64) as u32;
    let cmd_len = usize::from(hdr.cmd_len);
    if hdr.cmdp == 0 || !(6..=SG_MAX_CDB_SIZE).contains(&cmd_len) {
        return Err(emsgsize());
    }
    let mut cdb = [0u8; SG_MAX_CDB_SIZE];
    UserSlice::new(hdr.cmdp, cmd_len)
        .reader()
        .read_slice(&mut cdb[..cmd_len])?;
    if read_only
        && dev.sdev.device_type() != TYPE_SCANNER
        && !cmd_allowed(&mut cdb, file.can_write())
    {
        return Err(EPERM);
    }
    common_write(
        ofile,
        slot,
        hdr,
        &cdb[..cmd_len],
        timeout,
        start_ms,
        sg_io_owned,
    )
}

/// Builds and starts a request from a checked header and CDB, for both
/// protocols (sg's `sg_common_write` and `sg_start_req`).
pub(crate) fn common_write(
    ofile: ArcBorrow<'_, OpenFile>,
    slot: Slot<'_>,
    mut hdr: sg_io_hdr,
    cdb: &[u8],
    timeout: u32,
    start_ms: u32,
    sg_io_owned: bool,
) -> Result<Arc<Request>> {
    let dev = &ofile.dev;
    hdr.status = 0;
    hdr.masked_status = 0;
    hdr.msg_status = 0;
    hdr.info = 0;
    hdr.host_status = 0;
    hdr.driver_status = 0;
    hdr.resid = 0;
    if hdr.dxfer_len >= MAX_DXFER_LEN {
        return Err(EINVAL);
    }
    let dir = if hdr.dxfer_direction == SG_DXFER_TO_DEV {
        Direction::ToDevice
    } else {
        Direction::FromDevice
    };
    let mut rq = ScsiRequest::new(dev.sdev.queue(), dir)?;
    if cdb.len() > MAX_CDB {
        return Err(EINVAL);
    }
    rq.set_cdb(cdb)?;
    rq.set_retries(SG_DEFAULT_RETRIES);
    let io = map_data(&ofile, &mut rq, &hdr, dir)?;
    if io.is_direct() {
        hdr.info |= SG_INFO_DIRECT_IO;
    }
    let opcode = cdb.first().copied().unwrap_or(0);
    let kind = slot.kind();
    let uses_reserve = matches!(io.buffer, DataBuffer::Reserve);
    let req = Request::new(ofile.into(), hdr, opcode, start_ms, kind, sg_io_owned, io)
        .inspect_err(|_| {
            // The mapping went with the failed request; the reserve is free.
            if uses_reserve {
                ofile.state.lock().reserve_in_use = false;
            }
        })?;
    if dev.is_detaching() {
        let _ = req.retire();
        return Err(ENODEV);
    }
    // v2 requests always go to the head of the queue, as in sg.
    let at_head = hdr.interface_id == 0 || hdr.flags & SG_FLAG_Q_AT_TAIL == 0;
    ofile.insert(slot, req.clone());
    dev.stats.start();
    rq.start::<Request>(req.clone(), timeout, at_head);
    Ok(req)
}

/// The most pages a direct I/O request may pin: sg's documented limit of
/// 255 scatter/gather elements, or fewer if the queue takes fewer.
const MAX_DIO_SEGMENTS: usize = 255;

/// Whether the request can move its data straight to and from the caller's
/// pages (sg's conditions, plus the segment cap); otherwise it silently uses
/// kernel buffers.
fn can_direct_io(ofile: &OpenFile, hdr: &sg_io_hdr) -> bool {
    let len = hdr.dxfer_len as usize;
    let first = hdr.dxferp / PAGE_SIZE;
    let pages = (hdr.dxferp + len).div_ceil(PAGE_SIZE) - first;
    module::allow_dio()
        && hdr.flags & SG_FLAG_DIRECT_IO != 0
        && hdr.dxfer_direction != SG_DXFER_UNKNOWN
        && hdr.iovec_count == 0
        && ofile
            .dev
            .sdev
            .queue()
            .dma_aligned(hdr.dxferp, hdr.dxfer_len)
        && pages <= MAX_DIO_SEGMENTS.min(ofile.sg_tablesize as usize)
}

/// Maps the request's data: the caller's own pages (direct I/O), the
/// reserve buffer, or pages of its own (indirect I/O).
fn map_data(
    ofile: &OpenFile,
    rq: &mut ScsiRequest,
    hdr: &sg_io_hdr,
    dir: Direction,
) -> Result<RequestIo> {
    let len = hdr.dxfer_len as usize;
    if hdr.dxfer_len as i32 <= 0 || hdr.dxfer_direction == SG_DXFER_NONE {
        return Ok(RequestIo::none());
    }
    if can_direct_io(ofile, hdr) {
        let mapping = rq.map_user(None, hdr.dxferp, hdr.dxfer_len, 0, dir)?;
        return Ok(RequestIo::direct(mapping, hdr.dxferp, len));
    }
    let copy_in_for_read = hdr.dxfer_direction == SG_DXFER_TO_FROM_DEV;
    let reserve = {
        let mut st = ofile.state.lock();
        if len <= st.reserve.len() && !st.reserve_in_use {
            st.reserve_in_use = true;
            Some(st.reserve.clone())
        } else if hdr.flags & SG_FLAG_MMAP_IO != 0 {
            return Err(if len > st.reserve.len() {
                ENOMEM
            } else {
                EBUSY
            });
        } else {
            None
        }
    };
    if let Some(reserve) = reserve {
        // The reserve is ours until the request retires; mapping may fault on
        // user memory, so it runs without the state lock.
        let bounce = Bounce {
            pages: reserve.runs(),
            copy_in_for_read,
        };
        let mapped = rq.map_user(
            Some(bounce),
            hdr.dxferp,
            hdr.dxfer_len,
            hdr.iovec_count,
            dir,
        );
        return match mapped {
            Ok(mapping) => Ok(RequestIo::reserve(mapping, &reserve, len)),
            Err(e) => {
                ofile.state.lock().reserve_in_use = false;
                Err(e)
            }
        };
    }
    let buf = Buffer::build(len, ofile.sg_tablesize as usize)?;
    let bounce = Bounce {
        pages: buf.runs(),
        copy_in_for_read,
    };
    let mapping = rq.map_user(
        Some(bounce),
        hdr.dxferp,
        hdr.dxfer_len,
        hdr.iovec_count,
        dir,
    )?;
    Ok(RequestIo::own(mapping, buf))
}

/// Returns a completed v3 response to the header at `buf` and retires the
/// request (sg's `sg_new_read`). A short `count` loses the response, as in
/// sg.
pub(crate) fn new_read(req: &Arc<Request>, buf: usize, count: usize) -> Result<usize> {
    let ret = if count < hdr_size() {
        Err(EINVAL)
    } else {
        write_response(req, buf)
    };
    let retired = req.retire();
    ret.and(retired).map(|()| count)
}

/// Writes a completed request's response to the v3 header at `buf`.
pub(crate) fn write_response(req: &Arc<Request>, buf: usize) -> Result {
    let resp = req.response(&req.file.inner.lock());
    let mut hdr = req.hdr;
    hdr.status = resp.status;
    hdr.masked_status = resp.masked_status;
    hdr.msg_status = resp.msg_status;
    hdr.host_status = resp.host_status;
    hdr.driver_status = resp.driver_status;
    hdr.resid = resp.resid;
    hdr.duration = resp.duration;
    hdr.sb_len_wr = 0;
    if hdr.mx_sb_len > 0
        && hdr.sbp != 0
        && (resp.masked_status & CHECK_CONDITION_MASKED != 0 || resp.has_sense())
    {
        let max = SENSE_BUFFERSIZE.min(usize::from(hdr.mx_sb_len));
        let len = (8 + usize::from(resp.sense[7])).min(max);
        UserSlice::new(hdr.sbp, len)
            .writer()
            .write_slice(&resp.sense[..len])?;
        hdr.driver_status = DRIVER_SENSE;
        hdr.sb_len_wr = len as u8;
    }
    if hdr.masked_status != 0 || hdr.host_status != 0 || hdr.driver_status != 0 {
        hdr.info |= SG_INFO_CHECK;
    }
    write_sg_io_hdr(&hdr, buf)
}

/// `SG_IO`: submit, wait, respond. An interrupted wait leaves the request
/// behind as an orphan.
pub(crate) fn sg_io(ofile: ArcBorrow<'_, OpenFile>, file: &File, arg: usize) -> Result {
    let dev = &ofile.dev;
    if dev.is_detaching() {
        return Err(ENODEV);
    }
    if !dev.sdev.block_when_processing_errors() {
        return Err(ENXIO);
    }
    let size = core::mem::size_of::<sg_io_hdr>();
    let req = new_write(ofile, file, arg, size, !file.is_rdwr(), true)?;
    let mut inner = ofile.inner.lock();
    while req.stage(&inner) == Stage::Active {
        let (guard, signalled) = ofile.read_wait.wait_interruptible(&ofile.inner, inner);
        inner = guard;
        if signalled {
            break;
        }
    }
    if req.take_if_ready(&mut inner) {
        drop(inner);
        return new_read(&req, arg, size).map(|_| ());
    }
    req.set_orphan(&mut inner);
    Err(ERESTARTSYS)
}
