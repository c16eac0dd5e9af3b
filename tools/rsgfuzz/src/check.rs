//! Invariants that hold whatever the kernel: errnos from the set sg
//! documents for each entry point, no success through a bad pointer,
//! returned lengths and fields in range.

use crate::exec::{errstr, Outcome, Side};
use crate::gen::*;
use crate::sg::*;
use crate::sys::{CDB_AREA, DATA_AREA, IOV_AREA, PAGE, SENSE_AREA};

use libc::{
    E2BIG, EACCES, EAGAIN, EBADF, EBUSY, EDOM, EFAULT, EINVAL, EIO, EMSGSIZE, ENODEV, ENOENT,
    ENOMEM, ENOSYS, ENOTTY, ENXIO, EOPNOTSUPP, EOVERFLOW, EPERM,
};

/// The errnos a submission (SG_IO, write(), RSG_IOQUEUE) may give.
/// EBADF: write() on a file opened read-only.
const SUBMIT: &[i32] = &[
    EBADF, EFAULT, EINVAL, ENOSYS, EMSGSIZE, ENOMEM, EBUSY, EDOM, EPERM, ENODEV, ENXIO, EIO,
    EAGAIN, EOVERFLOW, E2BIG,
];
const READ: &[i32] = &[EAGAIN, EINVAL, EFAULT, EIO, ENODEV, EPERM, EBUSY];
const IOCTL: &[i32] = &[
    ENOTTY, EINVAL, EFAULT, EPERM, ENOMEM, EBUSY, EIO, ENODEV, ENXIO, EOPNOTSUPP, EACCES, EAGAIN,
];
/// EOVERFLOW: an offset the VFS refuses.
const MMAP: &[i32] = &[EINVAL, ENOMEM, EACCES, EPERM, EBUSY, ENODEV, EOVERFLOW];
const QUEUE: &[i32] = &[
    EFAULT, EINVAL, ENOSYS, EMSGSIZE, ENOMEM, EBUSY, EDOM, EPERM, ENODEV, ENXIO, EIO, EAGAIN,
    ENOENT, EOVERFLOW, E2BIG,
];

/// Whether data moves between user memory and the device for `q` through
/// its `dxferp` (not mmap, not NULL, a length sg takes).
fn moves_data(q: &Req) -> bool {
    let h = &q.hdr;
    h.flags & SG_FLAG_MMAP_IO == 0
        && (h.dxfer_len as i32) > 0
        && h.dxfer_direction != SG_DXFER_NONE
        && q.data_ptr != Ptr::Null
}

/// The checks on a submission that succeeded: everything it had to read
/// was readable (`write_back`: and the data-in buffer writable).
fn submitted(q: &Req, v: &mut Vec<String>, write_back: bool) {
    let h = &q.hdr;
    if h.interface_id != 'S' as i32 {
        v.push(format!("accepted interface_id {:#x}", h.interface_id));
    }
    if !(6..=252).contains(&h.cmd_len) {
        v.push(format!("accepted cmd_len {}", h.cmd_len));
    }
    if !q.cdb_ptr.readable(usize::from(h.cmd_len)) {
        v.push(format!("accepted a CDB at {:?}", q.cdb_ptr));
    }
    if h.dxfer_len >= 256 << 20 {
        v.push(format!("accepted dxfer_len {:#x}", h.dxfer_len));
    }
    if !moves_data(q) {
        return;
    }
    let len = h.dxfer_len as usize;
    if !q.iov.is_empty() && h.iovec_count > 0 {
        if !q.data_ptr.readable(usize::from(h.iovec_count) * 16) {
            v.push(format!("accepted an iovec list at {:?}", q.data_ptr));
        }
        return;
    }
    if h.iovec_count > 0 {
        return;
    }
    let to_dev = h.dxfer_direction == SG_DXFER_TO_DEV || h.dxfer_direction == SG_DXFER_TO_FROM_DEV;
    if to_dev && !q.data_ptr.readable(len) {
        v.push(format!(
            "data-out from {:?} ({len} bytes) succeeded",
            q.data_ptr
        ));
    }
    if write_back && h.dxfer_direction != SG_DXFER_TO_DEV && !q.data_ptr.writable(len) {
        v.push(format!(
            "data-in to {:?} ({len} bytes) succeeded",
            q.data_ptr
        ));
    }
}

/// A response header as returned for the request `q` sent from `side`.
fn response(side: &Side, q: &Req, h: &SgIoHdr, v: &mut Vec<String>) {
    let sent = &q.hdr;
    let same = h.interface_id == sent.interface_id
        && h.dxfer_direction == sent.dxfer_direction
        && h.cmd_len == sent.cmd_len
        && h.mx_sb_len == sent.mx_sb_len
        && h.iovec_count == sent.iovec_count
        && h.dxfer_len == sent.dxfer_len
        && h.timeout == sent.timeout
        && h.flags == sent.flags
        && h.pack_id == sent.pack_id
        && h.usr_ptr == sent.usr_ptr;
    if !same {
        v.push(format!("request fields changed: sent {sent:?}, got {h:?}"));
    }
    let data_base = if q.iov.is_empty() {
        DATA_AREA
    } else {
        IOV_AREA
    };
    let ptrs = (
        side.norm(side.addr(q.data_ptr, data_base)),
        side.norm(side.addr(q.cdb_ptr, CDB_AREA)),
        side.norm(side.addr(q.sb_ptr, SENSE_AREA)),
    );
    if (h.dxferp, h.cmdp, h.sbp) != ptrs {
        v.push("pointers changed in the response".to_string());
    }
    fields(h, v);
    if h.sb_len_wr > 0 && !q.sb_ptr.writable(usize::from(h.sb_len_wr)) {
        v.push(format!(
            "{} sense bytes reported written to {:?}",
            h.sb_len_wr, q.sb_ptr
        ));
    }
}

/// The output fields of any response header.
fn fields(h: &SgIoHdr, v: &mut Vec<String>) {
    if h.sb_len_wr > h.mx_sb_len || h.sb_len_wr > 96 {
        v.push(format!(
            "sb_len_wr {} (mx_sb_len {})",
            h.sb_len_wr, h.mx_sb_len
        ));
    }
    if h.masked_status != (h.status >> 1) & 0x7f {
        v.push(format!(
            "masked_status {:#x} for status {:#x}",
            h.masked_status, h.status
        ));
    }
    let noisy = h.masked_status != 0 || h.host_status != 0 || h.driver_status != 0;
    if (h.info & 1 != 0) != noisy || h.info & !3 != 0 {
        v.push(format!(
            "info {:#x} with status/host/driver {:#x}/{:#x}/{:#x}",
            h.info, h.status, h.host_status, h.driver_status
        ));
    }
    if h.msg_status != 0 {
        v.push(format!("msg_status {:#x}", h.msg_status));
    }
    if h.resid < 0 || (h.dxfer_len < 256 << 20 && h.resid as u32 > h.dxfer_len) {
        v.push(format!("resid {} for dxfer_len {}", h.resid, h.dxfer_len));
    }
}

fn int_of(b: &[u8]) -> Option<i32> {
    (b.len() >= 4).then(|| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

/// The invariants of one operation's outcome on `side`.
pub fn check(side: &Side, op: &Op, out: &Outcome) -> Vec<String> {
    let mut v = Vec::new();
    let Some(ret) = out.ret else {
        return v;
    };
    let allowed: &[i32] = match op {
        Op::SgIo(..) | Op::WriteV3(..) | Op::WriteV2(..) => SUBMIT,
        Op::Read(..) => READ,
        Op::Ioctl(..) => IOCTL,
        Op::Mmap(..) => MMAP,
        Op::Poll(..) => &[],
        Op::Queue(..) => QUEUE,
    };
    if let Err(e) = ret {
        if !allowed.contains(&e) {
            v.push(format!(
                "errno {} ({e}) is not one this entry point gives",
                errstr(e)
            ));
        }
    }
    match op {
        Op::SgIo(hp, q) => {
            if !hp.readable(HDR_LEN) && ret != Err(EFAULT) {
                v.push(format!(
                    "SG_IO with the header at {hp:?} gave {ret:?}, not EFAULT"
                ));
            }
            if ret.is_ok() {
                if !hp.writable(HDR_LEN) {
                    v.push(format!("SG_IO succeeded with the header at {hp:?}"));
                }
                submitted(q, &mut v, true);
                if let Some(h) = &out.hdr {
                    response(side, q, h, &mut v);
                }
            }
        }
        Op::WriteV3(hp, count, q) => {
            if let Ok(n) = ret {
                if n as usize != *count {
                    v.push(format!("write() returned {n} of {count}"));
                }
                // A non-negative dxfer_direction is a v2 header's
                // reply_len: sg takes the write as v2. A read-only header
                // is all zeros (the fuzzer cannot put one there): v2 too.
                if q.hdr.dxfer_direction >= 0 || matches!(hp, Ptr::Ro(_)) {
                    if !hp.readable(V2_HDR_LEN.min(*count)) {
                        v.push(format!("v2 write() of {count} bytes at {hp:?} succeeded"));
                    }
                } else {
                    if *count < HDR_LEN || !hp.readable(HDR_LEN) {
                        v.push(format!("v3 write() of {count} bytes at {hp:?} succeeded"));
                    }
                    submitted(q, &mut v, false);
                }
            }
        }
        Op::WriteV2(w) => {
            if let Ok(n) = ret {
                if n as usize != w.count {
                    v.push(format!("write() returned {n} of {}", w.count));
                }
                if !w.buf_ptr.readable(w.count) {
                    v.push(format!("v2 write() from {:?} succeeded", w.buf_ptr));
                }
            }
        }
        Op::Read(rd) => {
            if let Ok(n) = ret {
                // A v3 response writes its header only (its data goes to
                // its own dxferp); a v2 one the whole count.
                let wrote = if out.hdr.is_some() {
                    HDR_LEN
                } else {
                    n as usize
                };
                if n as usize > rd.count || (n > 0 && !rd.buf_ptr.writable(wrote)) {
                    v.push(format!(
                        "read() of {} at {:?} returned {n}",
                        rd.count, rd.buf_ptr
                    ));
                }
                if let Some(h) = &out.hdr {
                    if n as usize != rd.count {
                        v.push(format!("v3 read() returned {n} of {}", rd.count));
                    }
                    fields(h, &mut v);
                }
            }
        }
        Op::Ioctl(io) => ioctl(io, ret, out, &mut v),
        Op::Mmap(m) => {
            if ret.is_ok() {
                let need = m.len.div_ceil(PAGE) * PAGE;
                if m.off != 0 || m.len == 0 || need as i64 > out.reserve {
                    v.push(format!(
                        "mmap of {} at offset {} succeeded with a {}-byte reserve",
                        m.len, m.off, out.reserve
                    ));
                }
            }
        }
        Op::Poll(_) => match ret {
            Ok(r) => {
                let known = libc::POLLIN
                    | libc::POLLRDNORM
                    | libc::POLLOUT
                    | libc::POLLWRNORM
                    | libc::POLLHUP;
                if r as i16 & !known != 0 {
                    v.push(format!("poll revents {r:#x}"));
                }
            }
            Err(e) => v.push(format!("poll failed: {}", errstr(e))),
        },
        Op::Queue(q) => queue(q, ret, out, &mut v),
    }
    v
}

fn ioctl(io: &Ioctl, ret: Result<i64, i32>, out: &Outcome, v: &mut Vec<String>) {
    let (Ok(_), Arg::Ptr(p, _), Some(arg_use)) = (ret, &io.arg, io.arg_use) else {
        return;
    };
    match arg_use {
        ArgUse::Out(n) => {
            if !p.writable(n) {
                v.push(format!(
                    "ioctl {:#x} wrote {n} bytes to {p:?} and succeeded",
                    io.cmd
                ));
                return;
            }
        }
        ArgUse::In => {
            // SCSI_IOCTL_PROBE_HOST takes NULL for "just say yes".
            let null_ok = io.cmd == SCSI_IOCTL_PROBE_HOST && *p == Ptr::Null;
            if !p.readable(4) && !null_ok {
                v.push(format!("ioctl {:#x} read from {p:?} and succeeded", io.cmd));
            }
            return;
        }
        ArgUse::Value => return,
    }
    let Some(val) = int_of(&out.out) else {
        return;
    };
    let bad = match io.cmd {
        SG_GET_VERSION_NUM => val != 30536,
        SG_GET_ACCESS_COUNT => val != 1,
        SG_GET_NUM_WAITING => !(0..=16).contains(&val),
        SG_GET_COMMAND_Q => !(0..=1).contains(&val),
        SG_GET_LOW_DMA => val != 0,
        SG_GET_RESERVED_SIZE => val < 0,
        _ => false,
    };
    if bad {
        v.push(format!("ioctl {:#x} returned the value {val}", io.cmd));
    }
}

fn queue(q: &Queue, ret: Result<i64, i32>, out: &Outcome, v: &mut Vec<String>) {
    let done = if out.out.len() >= 20 {
        u32::from_ne_bytes([out.out[16], out.out[17], out.out[18], out.out[19]])
    } else {
        0
    };
    match q {
        Queue::One(hp, req) => {
            if !hp.readable(HDR_LEN) && ret != Err(EFAULT) {
                v.push(format!(
                    "RSG_IOQUEUE with the header at {hp:?} gave {ret:?}"
                ));
            }
            if ret.is_ok() {
                submitted(req, v, false);
            }
        }
        Queue::Batch {
            batch_ptr, count, ..
        } => {
            if ret.is_ok() {
                if !batch_ptr.writable(BATCH_LEN) {
                    v.push(format!(
                        "RSG_IOQUEUE_BATCH succeeded with the batch at {batch_ptr:?}"
                    ));
                }
                if done > *count || (*count > 0 && done == 0) {
                    v.push(format!("RSG_IOQUEUE_BATCH: done {done} of {count}"));
                }
            }
        }
        Queue::Get(hp) => {
            if ret.is_ok() && !hp.writable(HDR_LEN) {
                v.push(format!("RSG_IOGET succeeded with the header at {hp:?}"));
            }
        }
        Queue::GetBatch {
            batch_ptr,
            count,
            flags,
            ..
        } => {
            if flags & !RSG_BATCH_WAIT != 0 && ret.is_ok() {
                v.push(format!("RSG_IOGET_BATCH took flags {flags:#x}"));
            }
            if ret.is_ok() {
                if !batch_ptr.writable(BATCH_LEN) {
                    v.push(format!(
                        "RSG_IOGET_BATCH succeeded with the batch at {batch_ptr:?}"
                    ));
                }
                if done > *count || (*count > 0 && done == 0) {
                    v.push(format!("RSG_IOGET_BATCH: done {done} of {count}"));
                }
            }
        }
        Queue::Cancel {
            ptr,
            recent,
            flags,
            reserved,
            ..
        } => {
            if (*flags != 0 || *reserved != 0 || !ptr.readable(CANCEL_LEN)) && ret.is_ok() {
                v.push("RSG_IOCANCEL with bad flags or pointer succeeded".to_string());
            }
            if recent.is_none()
                && ptr.readable(CANCEL_LEN)
                && *flags == 0
                && *reserved == 0
                && ret != Err(ENOENT)
            {
                v.push(format!(
                    "RSG_IOCANCEL of an unknown tag gave {ret:?}, not ENOENT"
                ));
            }
        }
        Queue::Depth(p) => {
            if ret.is_ok() {
                if !p.writable(4) {
                    v.push(format!("RSG_GET_QUEUE_DEPTH succeeded writing to {p:?}"));
                } else if int_of(&out.out).unwrap_or(0) < 1 {
                    v.push(format!("queue depth {:?}", int_of(&out.out)));
                }
            }
        }
    }
}

/// Whether `op` behaves the same on both sides when the drivers do, or
/// why not.
pub fn comparable(op: &Op) -> Result<(), &'static str> {
    let q = match op {
        Op::SgIo(hp, q) => {
            if matches!(hp, Ptr::Straddle(_)) {
                return Err("straddling header");
            }
            q
        }
        Op::WriteV3(hp, _, q) => {
            // Read as a v2 header, its pointer fields are CDB and data.
            if q.hdr.dxfer_direction >= 0 && !matches!(hp, Ptr::Ro(_)) {
                return Err("v3 header taken as v2");
            }
            q
        }
        _ => return Ok(()),
    };
    // Straddling pieces share the last bytes before the guard page, so
    // one may hold another's addresses.
    let straddles = [q.cdb_ptr, q.sb_ptr, q.data_ptr]
        .iter()
        .chain(q.iov.iter().map(|(p, _)| p))
        .filter(|p| matches!(p, Ptr::Straddle(_)))
        .count();
    if straddles > 1 {
        return Err("overlapping straddling pointers");
    }
    // Past the adapter's scatter/gather table (2048 entries on
    // scsi_debug) rsg bounces direct I/O where sg fails it.
    let len = q.hdr.dxfer_len as usize;
    if q.hdr.flags & SG_FLAG_DIRECT_IO != 0 && q.iov.is_empty() && len > 2047 * PAGE {
        return Err("direct I/O past the scatter/gather table");
    }
    Ok(())
}

/// The first way in which two sides' outcomes of the same operation
/// differ, if any.
pub fn compare(a: &Outcome, b: &Outcome) -> Option<String> {
    if a.ret != b.ret {
        return Some("return value".to_string());
    }
    // What a copy that faulted left in user memory is unspecified (sg's
    // put_user() writes nothing, a copy_to_user() may write a part).
    if a.ret == Some(Err(libc::EFAULT)) {
        return None;
    }
    if a.hdr != b.hdr {
        return Some(format!("response header: {:?} vs {:?}", a.hdr, b.hdr));
    }
    if a.sense != b.sense {
        return Some(format!("sense: {:02x?} vs {:02x?}", a.sense, b.sense));
    }
    if a.data != b.data {
        let at = a.data.iter().zip(&b.data).position(|(x, y)| x != y);
        let near = |v: &[u8]| {
            let i = at.unwrap_or(0);
            format!("{:02x?}", &v[i.min(v.len())..(i + 8).min(v.len())])
        };
        return Some(format!(
            "data ({} vs {} bytes, first difference at {at:?}: {} vs {})",
            a.data.len(),
            b.data.len(),
            near(&a.data),
            near(&b.data)
        ));
    }
    if a.out != b.out {
        let at = a.out.iter().zip(&b.out).position(|(x, y)| x != y);
        let near = |v: &[u8]| {
            let i = at.unwrap_or(0);
            format!("{:02x?}", &v[i.min(v.len())..(i + 8).min(v.len())])
        };
        let diff: Vec<usize> = a
            .out
            .iter()
            .zip(&b.out)
            .enumerate()
            .filter(|(_, (x, y))| x != y)
            .map(|(i, _)| i)
            .collect();
        return Some(format!(
            "output bytes ({} vs {}, {} differ in {:?}..={:?}, first: {} vs {})",
            a.out.len(),
            b.out.len(),
            diff.len(),
            diff.first(),
            diff.last(),
            near(&a.out),
            near(&b.out)
        ));
    }
    None
}
