//! rsg's io_uring passthrough (`Documentation/rsg-uring.rst`): v3-style
//! requests as IORING_OP_URING_CMD on a ring with 128-byte SQEs and 32-byte
//! CQEs, the result packed into the CQE's first extra word.

use crate::sg::{SgIoHdr, SG_DXFER_NONE, SG_DXFER_TO_DEV};
use io_uring::{cqueue, opcode, squeue, types, IoUring};
use rsg_uapi::uring::{
    cancel_payload, RsgUringCmd, UringResult, RSG_URING_CMD_CANCEL, RSG_URING_CMD_IO,
    RSG_URING_DIR_FROM_DEV, RSG_URING_DIR_NONE, RSG_URING_DIR_TO_DEV,
};
use std::io;
use std::os::fd::{AsRawFd, RawFd};

/// user_data of cancel commands, whose CQEs are not completions.
const CANCEL_TAG: u64 = u64::MAX;

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
            let c = RsgUringCmd {
                cdb: h.cmdp,
                data: h.dxferp,
                sense: h.sbp,
                tag: h.usr_ptr,
                data_len: h.dxfer_len,
                timeout_ms: h.timeout,
                iovec_count: h.iovec_count,
                cdb_len: h.cmd_len,
                dir: match h.dxfer_direction {
                    SG_DXFER_TO_DEV => RSG_URING_DIR_TO_DEV,
                    SG_DXFER_NONE => RSG_URING_DIR_NONE,
                    _ => RSG_URING_DIR_FROM_DEV,
                },
                sense_len: h.mx_sb_len,
                ..Default::default()
            };
            let sqe = opcode::UringCmd80::new(types::Fd(fd), RSG_URING_CMD_IO)
                .cmd(c.bytes())
                .build()
                .user_data(h.usr_ptr);
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
        let sqe = opcode::UringCmd80::new(types::Fd(fd), RSG_URING_CMD_CANCEL)
            .cmd(cancel_payload(tag, 0))
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
            let tag = cqe.user_data();
            let mut h = submitted(tag as usize).unwrap_or_default();
            h.usr_ptr = tag;
            if cqe.result() < 0 {
                err.get_or_insert(io::Error::from_raw_os_error(-cqe.result()));
                h.host_status = 0xff;
            } else {
                let r = UringResult::from_word(cqe.big_cqe()[0]);
                h.status = r.status;
                h.masked_status = r.masked_status();
                h.host_status = u16::from(r.host_status);
                h.driver_status = u16::from(r.driver_status);
                h.sb_len_wr = r.sb_len_wr;
                h.resid = r.resid;
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
