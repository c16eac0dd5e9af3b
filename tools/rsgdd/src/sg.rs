//! The SCSI generic ioctl layer: sg's v3 header (`struct sg_io_hdr`), rsg's
//! queue interface (`include/uapi/scsi/rsg.h`), and the CDBs rsgdd sends.

use std::io;
use std::os::fd::RawFd;

pub use rsg_uapi::sg::{
    RsgBatch, RsgCancel, SgIoHdr, RSG_BATCH_WAIT, RSG_GET_QUEUE_DEPTH, RSG_IOCANCEL,
    RSG_IOGET_BATCH, RSG_IOQUEUE_BATCH, SG_DXFER_FROM_DEV, SG_DXFER_NONE, SG_DXFER_TO_DEV, SG_IO,
};

/// `struct sg_iovec`: one piece of a scatter/gather list.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SgIovec {
    pub base: usize,
    pub len: usize,
}

/// One ioctl whose argument is a pointer.
///
/// # Safety
///
/// `arg` must be what the kernel expects for `req`, valid for the access the
/// ioctl makes.
unsafe fn ioctl_ptr<T>(fd: RawFd, req: u32, arg: *mut T) -> io::Result<i32> {
    // SAFETY: The caller vouches for `arg`.
    let ret = unsafe { libc::ioctl(fd, req as _, arg) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `RSG_IOQUEUE_BATCH`: queues `hdrs` in order and returns how many were
/// queued; the errno of the first one when none was.
///
/// # Safety
///
/// Every header's `cmdp`, `sbp`, `dxferp` (and the iovec list it names) must
/// stay valid until its completion is reaped or `fd` is closed.
pub unsafe fn queue_batch(fd: RawFd, hdrs: &mut [SgIoHdr]) -> io::Result<usize> {
    let mut batch = RsgBatch {
        hdrs: hdrs.as_mut_ptr() as u64,
        count: hdrs.len() as u32,
        ..Default::default()
    };
    // SAFETY: `batch` names `hdrs.len()` headers that live through the call;
    // the caller keeps what they point to alive.
    unsafe { ioctl_ptr(fd, RSG_IOQUEUE_BATCH, &mut batch) }?;
    Ok(batch.done as usize)
}

/// sg's asynchronous `write()` of each header in turn: how many were
/// queued; the errno of the first one when none was (`EDOM` when the file
/// has sg's 16 outstanding).
///
/// # Safety
///
/// As for [`queue_batch`].
pub unsafe fn write_each(fd: RawFd, hdrs: &[SgIoHdr]) -> io::Result<usize> {
    let size = std::mem::size_of::<SgIoHdr>();
    for (i, h) in hdrs.iter().enumerate() {
        // SAFETY: `h` is a whole header; the caller keeps what it points to
        // alive until the response is read.
        let n = unsafe { libc::write(fd, (h as *const SgIoHdr).cast(), size) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if i == 0 { Err(e) } else { Ok(i) };
        }
    }
    Ok(hdrs.len())
}

/// sg's `read()` of responses, without waiting, into `out`: how many.
pub fn read_each(fd: RawFd, out: &mut [SgIoHdr]) -> io::Result<usize> {
    let size = std::mem::size_of::<SgIoHdr>();
    for (i, h) in out.iter_mut().enumerate() {
        // Any response (pack_id -1); the data-in lands where the request
        // said.
        *h = SgIoHdr {
            interface_id: 'S' as i32,
            pack_id: -1,
            ..Default::default()
        };
        // SAFETY: `h` is writable for a whole header.
        let n = unsafe { libc::read(fd, (h as *mut SgIoHdr).cast(), size) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::EAGAIN) => Ok(i),
                _ if i > 0 => Ok(i),
                _ => Err(e),
            };
        }
    }
    Ok(out.len())
}

/// Sets `O_NONBLOCK` on `fd`.
pub fn set_nonblock(fd: RawFd) -> io::Result<()> {
    // SAFETY: Plain fcntl calls on a descriptor the caller owns.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: As above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `RSG_IOGET_BATCH`: reaps up to `out.len()` completions into `out`;
/// `Ok(0)` when none is ready (after up to `wait_ms` when that is given).
pub fn get_batch(fd: RawFd, out: &mut [SgIoHdr], wait_ms: Option<u32>) -> io::Result<usize> {
    let mut batch = RsgBatch {
        hdrs: out.as_mut_ptr() as u64,
        count: out.len() as u32,
        flags: if wait_ms.is_some() { RSG_BATCH_WAIT } else { 0 },
        done: 0,
        timeout_ms: wait_ms.unwrap_or(0).max(1),
    };
    // SAFETY: `out` is writable for `count` headers; the data buffers the
    // kernel copies into were promised valid by `queue_batch`'s caller.
    match unsafe { ioctl_ptr(fd, RSG_IOGET_BATCH, &mut batch) } {
        Ok(_) => Ok(batch.done as usize),
        Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => Ok(0),
        Err(e) => Err(e),
    }
}

/// `RSG_GET_QUEUE_DEPTH`.
pub fn queue_depth(fd: RawFd) -> io::Result<u32> {
    let mut depth: i32 = 0;
    // SAFETY: The ioctl writes one int.
    unsafe { ioctl_ptr(fd, RSG_GET_QUEUE_DEPTH, &mut depth) }?;
    Ok(depth.max(1) as u32)
}

/// `RSG_IOCANCEL`: aborts the running request tagged `tag`.
pub fn cancel(fd: RawFd, tag: u64) -> io::Result<()> {
    let mut c = RsgCancel {
        tag,
        ..Default::default()
    };
    // SAFETY: The ioctl reads one `struct rsg_cancel`.
    unsafe { ioctl_ptr(fd, RSG_IOCANCEL, &mut c) }.map(|_| ())
}

/// Synchronous `SG_IO` of a data-in command into `buf`.
pub fn sg_io_in(
    fd: RawFd,
    cdb: &[u8],
    buf: &mut [u8],
    sense: &mut [u8; SENSE_LEN],
    timeout_ms: u32,
) -> io::Result<SgIoHdr> {
    let mut hdr = SgIoHdr {
        interface_id: 'S' as i32,
        dxfer_direction: if buf.is_empty() {
            SG_DXFER_NONE
        } else {
            SG_DXFER_FROM_DEV
        },
        cmd_len: cdb.len() as u8,
        mx_sb_len: SENSE_LEN as u8,
        dxfer_len: buf.len() as u32,
        dxferp: buf.as_mut_ptr() as u64,
        cmdp: cdb.as_ptr() as u64,
        sbp: sense.as_mut_ptr() as u64,
        timeout: timeout_ms,
        ..Default::default()
    };
    // SAFETY: Every pointer in `hdr` is borrowed for the whole (blocking)
    // call.
    unsafe { ioctl_ptr(fd, SG_IO, &mut hdr) }?;
    Ok(hdr)
}

/// Sense bytes rsgdd asks for.
pub const SENSE_LEN: usize = 64;

/// SCSI status bytes.
pub const GOOD: u8 = 0x00;
pub const CHECK_CONDITION: u8 = 0x02;

/// `DRIVER_SENSE` in `driver_status`: sense data came with the completion.
pub const DRIVER_SENSE: u16 = 0x08;

/// Whether a completion carries no error at all (sense aside, which the
/// caller decodes).
pub fn completed_ok(hdr: &SgIoHdr) -> bool {
    hdr.status == GOOD && hdr.host_status == 0 && hdr.driver_status & !DRIVER_SENSE == 0
}

/// Which READ/WRITE CDB a side uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// rsg's queue interface: RSG_IOQUEUE_BATCH and RSG_IOGET_BATCH.
    Queue,
    /// rsg's io_uring passthrough (IORING_OP_URING_CMD).
    Uring,
    /// sg's asynchronous interface: write() and read() of v3 headers; at
    /// most 16 commands per file; works on sg and rsg nodes.
    Sg,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Queue => "queue",
            Engine::Uring => "uring",
            Engine::Sg => "sg",
        }
    }
}

/// sg's limit of requests outstanding on one file (SG_MAX_QUEUE).
pub const SG_MAX_QUEUE: u32 = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CdbSize {
    /// 10-byte when the LBA and length fit, else 16-byte.
    Auto,
    Ten,
    Sixteen,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Read,
    Write,
}

/// A READ or WRITE CDB of 10 or 16 bytes; `None` when 10 was forced but
/// the LBA or length does not fit.
pub fn rw_cdb(dir: Dir, lba: u64, blocks: u32, size: CdbSize) -> Option<([u8; 16], usize)> {
    let fits10 = lba + u64::from(blocks) <= 1 << 32 && blocks <= 0xffff;
    let sixteen = match size {
        CdbSize::Auto => !fits10,
        CdbSize::Ten if !fits10 => return None,
        CdbSize::Ten => false,
        CdbSize::Sixteen => true,
    };
    let mut cdb = [0u8; 16];
    if sixteen {
        cdb[0] = if dir == Dir::Read { 0x88 } else { 0x8a };
        cdb[2..10].copy_from_slice(&lba.to_be_bytes());
        cdb[10..14].copy_from_slice(&blocks.to_be_bytes());
        Some((cdb, 16))
    } else {
        cdb[0] = if dir == Dir::Read { 0x28 } else { 0x2a };
        cdb[2..6].copy_from_slice(&(lba as u32).to_be_bytes());
        cdb[7..9].copy_from_slice(&(blocks as u16).to_be_bytes());
        Some((cdb, 10))
    }
}

/// The name of a CDB's command, for messages.
pub fn cdb_name(cdb: &[u8]) -> &'static str {
    match cdb.first() {
        Some(0x28) => "READ(10)",
        Some(0x88) => "READ(16)",
        Some(0x2a) => "WRITE(10)",
        Some(0x8a) => "WRITE(16)",
        Some(0x25) => "READ CAPACITY(10)",
        Some(0x9e) => "READ CAPACITY(16)",
        _ => "command",
    }
}

pub const READ_CAPACITY10: [u8; 10] = [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0];
pub const READ_CAPACITY16_LEN: usize = 32;
/// SERVICE ACTION IN(16), READ CAPACITY(16), allocation length 32.
pub const READ_CAPACITY16: [u8; 16] = [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0];

/// Decodes READ CAPACITY(10) data: (last LBA, block length). A last LBA of
/// 0xffffffff means the device needs READ CAPACITY(16).
pub fn parse_capacity10(d: &[u8; 8]) -> (u64, u32) {
    let last = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    let len = u32::from_be_bytes([d[4], d[5], d[6], d[7]]);
    (u64::from(last), len)
}

/// Decodes READ CAPACITY(16) data: (last LBA, block length).
pub fn parse_capacity16(d: &[u8; READ_CAPACITY16_LEN]) -> (u64, u32) {
    let mut last = [0u8; 8];
    last.copy_from_slice(&d[0..8]);
    let len = u32::from_be_bytes([d[8], d[9], d[10], d[11]]);
    (u64::from_be_bytes(last), len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iovec_layout() {
        use std::mem::size_of;
        assert_eq!(size_of::<SgIovec>(), size_of::<libc::iovec>());
    }

    #[test]
    fn read10_and_write16() {
        let (c, n) = rw_cdb(Dir::Read, 0x1234, 8, CdbSize::Auto).unwrap();
        assert_eq!(n, 10);
        assert_eq!(&c[..10], &[0x28, 0, 0, 0, 0x12, 0x34, 0, 0, 8, 0]);
        let (c, n) = rw_cdb(Dir::Write, 0x1_0000_0000, 128, CdbSize::Auto).unwrap();
        assert_eq!(n, 16);
        assert_eq!(
            &c[..16],
            &[0x8a, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 128, 0, 0]
        );
        let (c, n) = rw_cdb(Dir::Read, 7, 1, CdbSize::Sixteen).unwrap();
        assert_eq!((c[0], c[9], c[13], n), (0x88, 7, 1, 16));
    }

    #[test]
    fn read10_limits() {
        // 65535 blocks is the most READ(10) moves; more needs READ(16).
        assert_eq!(rw_cdb(Dir::Read, 0, 0xffff, CdbSize::Auto).unwrap().1, 10);
        assert_eq!(rw_cdb(Dir::Read, 0, 0x10000, CdbSize::Auto).unwrap().1, 16);
        assert!(rw_cdb(Dir::Read, 0, 0x10000, CdbSize::Ten).is_none());
        assert_eq!(
            rw_cdb(Dir::Read, 0xffff_ffff, 1, CdbSize::Auto).unwrap().1,
            10
        );
        assert_eq!(
            rw_cdb(Dir::Read, 0xffff_ffff, 2, CdbSize::Auto).unwrap().1,
            16
        );
    }

    #[test]
    fn capacity() {
        let d = [0, 0x07, 0xff, 0xff, 0, 0, 2, 0];
        assert_eq!(parse_capacity10(&d), (0x7ffff, 512));
        let mut d16 = [0u8; 32];
        d16[3] = 1;
        d16[7] = 0xff;
        d16[10] = 0x10;
        assert_eq!(parse_capacity16(&d16), (0x1_0000_00ff, 4096));
    }
}
