//! rsg's io_uring passthrough (`Documentation/rsg-uring.rst`): v3-style
//! requests as IORING_OP_URING_CMD on a ring with 128-byte SQEs and 32-byte
//! CQEs, the result packed into the CQE's first extra word.

use crate::sg::{SgIoHdr, SG_DXFER_FROM_DEV, SG_DXFER_NONE, SG_DXFER_TO_DEV};
use io_uring::{cqueue, opcode, squeue, types, IoUring};
use std::io;
use std::os::fd::{AsRawFd, RawFd};

/// `RSG_URING_CMD_IO` and `RSG_URING_CMD_CANCEL`.
const CMD_IO: u32 = 0xc050_22b0;
const CMD_CANCEL: u32 = 0x4010_22b1;

/// user_data of cancel commands, whose CQEs are not completions.
const CANCEL_TAG: u64 = u64::MAX;

/// `struct rsg_uring_cmd`.
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Cmd {
    cdb: u64,
    data: u64,
    sense: u64,
    tag: u64,
    resp: u64,
    data_len: u32,
    timeout_ms: u32,
    flags: u32,
    iovec_count: u16,
    cdb_len: u8,
    dir: u8,
    sense_len: u8,
    pad: [u8; 7],
    reserved: [u64; 2],
}

const _: () = assert!(std::mem::size_of::<Cmd>() == 80);

impl Cmd {
    fn bytes(&self) -> [u8; 80] {
        // SAFETY: 80 bytes of integers with no implicit padding.
        unsafe { std::mem::transmute::<Cmd, [u8; 80]>(*self) }
    }
}

pub struct Ring {
    ring: IoUring<squeue::Entry128, cqueue::Entry32>,
}

impl Ring {
    /// A ring for `depth` commands in flight.
    pub fn new(depth: usize) -> io::Result<Self> {
        let entries = (depth as u32).next_power_of_two().clamp(8, 32768);
        let ring = IoUring::builder()
            .setup_cqsize(entries * 2)
            .build(entries)?;
        Ok(Self { ring })
    }

    pub fn fd(&self) -> RawFd {
        self.ring.as_raw_fd()
    }

    /// Submits a command per header (its `usr_ptr` is the tag); how many.
    ///
    /// # Safety
    ///
    /// Everything the headers point to stays valid until the command's
    /// completion is reaped.
    pub unsafe fn queue(&mut self, fd: RawFd, hdrs: &[SgIoHdr]) -> io::Result<usize> {
        let mut n = 0;
        for h in hdrs {
            let c = Cmd {
                cdb: h.cmdp as u64,
                data: h.dxferp as u64,
                sense: h.sbp as u64,
                tag: h.usr_ptr as u64,
                data_len: h.dxfer_len,
                timeout_ms: h.timeout,
                iovec_count: h.iovec_count,
                cdb_len: h.cmd_len,
                dir: match h.dxfer_direction {
                    SG_DXFER_TO_DEV => 1,
                    SG_DXFER_FROM_DEV => 2,
                    SG_DXFER_NONE => 0,
                    _ => 2,
                },
                sense_len: h.mx_sb_len,
                ..Default::default()
            };
            let sqe = opcode::UringCmd80::new(types::Fd(fd), CMD_IO)
                .cmd(c.bytes())
                .build()
                .user_data(h.usr_ptr as u64);
            // SAFETY: The payload's addresses are the caller's to keep valid.
            if unsafe { self.ring.submission().push(&sqe) }.is_err() {
                break;
            }
            n += 1;
        }
        self.ring.submit()?;
        Ok(n)
    }

    /// Asks rsg to abort the command tagged `tag`; its cancel CQE is
    /// skipped by `reap`.
    pub fn cancel(&mut self, fd: RawFd, tag: u64) {
        let mut p = [0u8; 80];
        p[..8].copy_from_slice(&tag.to_ne_bytes());
        let sqe = opcode::UringCmd80::new(types::Fd(fd), CMD_CANCEL)
            .cmd(p)
            .build()
            .user_data(CANCEL_TAG);
        // SAFETY: The payload carries no pointers.
        if unsafe { self.ring.submission().push(&sqe) }.is_ok() {
            let _ = self.ring.submit();
        }
    }

    /// Fills `out` with ready completions as v3 headers (`submitted` gives
    /// each tag's header as queued); a command that could not run is an
    /// error.
    pub fn reap(
        &mut self,
        out: &mut [SgIoHdr],
        submitted: impl Fn(usize) -> Option<SgIoHdr>,
    ) -> io::Result<usize> {
        let mut n = 0;
        let mut err = None;
        let mut cq = self.ring.completion();
        while n < out.len() {
            let Some(cqe) = cq.next() else { break };
            if cqe.user_data() == CANCEL_TAG {
                continue;
            }
            let tag = cqe.user_data() as usize;
            let mut h = submitted(tag).unwrap_or_default();
            h.usr_ptr = tag;
            if cqe.result() < 0 {
                err.get_or_insert(io::Error::from_raw_os_error(-cqe.result()));
                h.host_status = 0xff;
            } else {
                let x = cqe.big_cqe()[0];
                h.status = x as u8;
                h.masked_status = (x as u8 >> 1) & 0x7f;
                h.host_status = u16::from((x >> 8) as u8);
                h.driver_status = u16::from((x >> 16) as u8);
                h.sb_len_wr = (x >> 24) as u8;
                h.resid = (x >> 32) as i32;
            }
            out[n] = h;
            n += 1;
        }
        drop(cq);
        match err {
            // The copy stops at a failed command.
            Some(e) => Err(e),
            None => Ok(n),
        }
    }
}
