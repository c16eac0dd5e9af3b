// SPDX-License-Identifier: GPL-2.0

//! The v2 protocol: `struct sg_header` followed by the CDB and data on
//! `write()`, the header and data-in on `read()`.

use super::v3::{common_write, Cdb};
use crate::abstractions::time;
use crate::core::file::OpenFile;
use crate::core::request::{DataBuffer, Request};
use crate::uapi::sg_header as h;
use crate::uapi::*;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};
use kernel::uaccess::UserSlice;

/// CDB length by opcode group (`COMMAND_SIZE`).
fn command_size(opcode: u8) -> usize {
    const SIZES: [usize; 8] = [6, 10, 10, 12, 16, 12, 10, 10];
    SIZES[usize::from((opcode >> 5) & 7)]
}

fn int_at(hdr: &[u8; SG_HEADER_SIZE], off: usize) -> i32 {
    i32::from_ne_bytes([hdr[off], hdr[off + 1], hdr[off + 2], hdr[off + 3]])
}

fn put_int_at(hdr: &mut [u8; SG_HEADER_SIZE], off: usize, val: i32) {
    hdr[off..off + 4].copy_from_slice(&val.to_ne_bytes());
}

/// Host statuses (`DID_*`) that the v2 `result` maps.
mod did {
    pub(super) const OK: u16 = 0x00;
    pub(super) const NO_CONNECT: u16 = 0x01;
    pub(super) const BUS_BUSY: u16 = 0x02;
    pub(super) const TIME_OUT: u16 = 0x03;
    pub(super) const ERROR: u16 = 0x07;
    pub(super) const PASSTHROUGH: u16 = 0x0a;
    pub(super) const SOFT_ERROR: u16 = 0x0b;
}

const EBUSY_NR: i32 = 16;
const EIO_NR: i32 = 5;

/// Queues a v2 request; `hdr` is the header already read from `buf`.
pub(crate) fn write(
    ofile: ArcBorrow<'_, OpenFile>,
    buf: usize,
    count: usize,
    hdr: &[u8; SG_HEADER_SIZE],
) -> Result<usize> {
    if count < SG_HEADER_SIZE + 6 {
        return Err(EIO);
    }
    let mut opcode = [0u8; 1];
    UserSlice::new(buf + SG_HEADER_SIZE, 1)
        .reader()
        .read_slice(&mut opcode)?;
    let opcode = opcode[0];
    let slot = ofile.reserve_slot(false)?;
    let reply_len = int_at(hdr, h::REPLY_LEN);
    let twelve_byte = hdr[h::BITS] & 1 != 0;
    let (cmd_size, timeout) = {
        let mut st = ofile.state.lock();
        let size = if st.next_cmd_len > 0 {
            // Only this write() is affected.
            core::mem::take(&mut st.next_cmd_len) as usize
        } else if opcode >= 0xc0 && twelve_byte {
            12
        } else {
            command_size(opcode)
        };
        (size, st.timeout)
    };
    let count = count as i64;
    let mut input_size = count - cmd_size as i64;
    let mxsize = input_size.max(i64::from(reply_len)) - SG_HEADER_SIZE as i64;
    input_size -= SG_HEADER_SIZE as i64;
    if input_size < 0 {
        return Err(EIO);
    }
    let dxfer_direction = if input_size > 0 {
        if reply_len > SG_HEADER_SIZE as i32 {
            SG_DXFER_TO_FROM_DEV
        } else {
            SG_DXFER_TO_DEV
        }
    } else if mxsize > 0 {
        SG_DXFER_FROM_DEV
    } else {
        SG_DXFER_NONE
    };
    let data = buf + SG_HEADER_SIZE + cmd_size;
    let req_hdr = sg_io_hdr {
        interface_id: 0,
        cmd_len: cmd_size as u8,
        dxfer_direction,
        dxfer_len: mxsize as u32,
        dxferp: if dxfer_direction == SG_DXFER_TO_DEV || dxfer_direction == SG_DXFER_TO_FROM_DEV {
            data
        } else {
            0
        },
        // sg keeps reply_len and the input size in these fields.
        timeout: reply_len as u32,
        flags: input_size as u32,
        pack_id: int_at(hdr, h::PACK_ID),
        ..Default::default()
    };
    let cdb = Cdb::copy_from_user(buf + SG_HEADER_SIZE, cmd_size)?;
    if dxfer_direction == SG_DXFER_TO_FROM_DEV {
        pr_warn!(
            "sg_write: data in/out {}/{} bytes for SCSI command 0x{:x}-- guessing data in;\n   program not setting count and/or reply_len properly\n",
            reply_len - SG_HEADER_SIZE as i32,
            input_size,
            cdb.opcode()
        );
    }
    let start_ms = time::now_ms();
    common_write::<()>(ofile, slot, &req_hdr, &cdb, timeout as u32, start_ms)?;
    Ok(count as usize)
}

/// Returns a completed v2 response: header, then data-in up to
/// `reply_len`.
pub(crate) fn read(req: Arc<Request>, buf: usize, count: usize) -> Result<usize> {
    let (resp, sense) = {
        let inner = req.file.inner.lock();
        (req.response(&inner), req.sense(&inner))
    };
    let hp = &req.hdr;
    let mut out = [0u8; SG_HEADER_SIZE];
    let reply_len = hp.timeout as i32;
    put_int_at(&mut out, h::REPLY_LEN, reply_len);
    put_int_at(&mut out, h::PACK_LEN, reply_len);
    put_int_at(&mut out, h::PACK_ID, hp.pack_id);
    let twelve_byte = req.opcode >= 0xc0 && hp.cmd_len == 12;
    let mut driver_status = resp.driver_status;
    if resp.masked_status & CHECK_CONDITION_MASKED != 0 || resp.has_sense() {
        driver_status = DRIVER_SENSE;
        out[h::SENSE..h::SENSE + h::SENSE_LEN].copy_from_slice(&sense[..h::SENSE_LEN]);
    }
    let bits = u32::from(twelve_byte)
        | (u32::from(resp.masked_status) & 0x1f) << 1
        | (u32::from(resp.host_status) & 0xff) << 6
        | (u32::from(driver_status) & 0xff) << 14;
    out[h::BITS..h::BITS + 4].copy_from_slice(&bits.to_ne_bytes());
    let result = match resp.host_status {
        did::OK | did::PASSTHROUGH | did::SOFT_ERROR => 0,
        did::NO_CONNECT | did::BUS_BUSY | did::TIME_OUT => EBUSY_NR,
        did::ERROR if sense[0] == 0 && resp.masked_status == 0 => 0,
        _ => EIO_NR,
    };
    put_int_at(&mut out, h::RESULT, result);

    let io = req.take_io();
    let ret = if count >= SG_HEADER_SIZE {
        let len = count.min(reply_len.max(0) as usize);
        let mut writer = UserSlice::new(buf, len.max(SG_HEADER_SIZE)).writer();
        let copied = writer.write_slice(&out).and_then(|()| {
            let data_len = len.saturating_sub(SG_HEADER_SIZE);
            match io.as_ref().map(|io| &io.buffer) {
                Some(DataBuffer::Own(b)) if data_len > 0 => {
                    b.runs().copy_to_user(&mut writer, data_len)
                }
                Some(DataBuffer::Reserve(claim)) if data_len > 0 => {
                    claim.buffer().runs().copy_to_user(&mut writer, data_len)
                }
                _ => Ok(()),
            }
        });
        if let Err(e) = copied {
            // sg leaves a response whose copy-out faulted on the file, being
            // read (state 3), until close; so does rsg.
            req.restore_io(io);
            return Err(e);
        }
        Ok(len)
    } else if result == 0 {
        Ok(0)
    } else {
        Err(EIO)
    };
    let finished = req.finish(io);
    let n = ret?;
    finished?;
    Ok(n)
}
