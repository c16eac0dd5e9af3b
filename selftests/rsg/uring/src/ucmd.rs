// SPDX-License-Identifier: GPL-2.0
//! The command payload of include/uapi/scsi/rsg.h and a ring to run it.

use crate::scsi::AlignedBuf;
use io_uring::{cqueue, opcode, squeue, types, IoUring};
use std::os::fd::RawFd;

use rsg_uapi::uring::{cancel_payload, RsgUringCmd, UringResult};
pub use rsg_uapi::uring::{
    RsgUringResp as Resp, RSG_URING_CMD_CANCEL, RSG_URING_CMD_IO, RSG_URING_F_DIRECT_IO,
};

#[derive(Clone, Copy)]
pub enum Dir {
    None,
    ToDev,
    FromDev,
}

/// A command. It owns a copy of its CDB, which the ring keeps until the
/// CQE; data, sense and response addresses are the caller's to keep alive.
pub struct Cmd {
    raw: RsgUringCmd,
    fixed: Option<u16>,
    _cdb: Box<[u8; 64]>,
}

impl Cmd {
    pub fn new(cdb: &[u8], dir: Dir) -> Self {
        let mut copy = Box::new([0u8; 64]);
        copy[..cdb.len()].copy_from_slice(cdb);
        Self {
            raw: RsgUringCmd {
                cdb: copy.as_ptr() as u64,
                cdb_len: cdb.len() as u8,
                dir: dir as u8,
                timeout_ms: 60_000,
                ..Default::default()
            },
            fixed: None,
            _cdb: copy,
        }
    }
    pub fn data(self, d: &[u8]) -> Self {
        self.addr(d.as_ptr() as u64, d.len())
    }
    pub fn data_mut(self, d: &mut [u8]) -> Self {
        self.addr(d.as_mut_ptr() as u64, d.len())
    }
    pub fn addr(mut self, addr: u64, len: usize) -> Self {
        self.raw.data = addr;
        self.raw.data_len = len as u32;
        self
    }
    pub fn iovec(mut self, iov: &[libc::iovec], total: usize) -> Self {
        self.raw.data = iov.as_ptr() as u64;
        self.raw.iovec_count = iov.len() as u16;
        self.raw.data_len = total as u32;
        self
    }
    pub fn sense(self, s: &mut [u8]) -> Self {
        self.sense_addr(s.as_mut_ptr() as u64, s.len())
    }
    pub fn sense_addr(mut self, addr: u64, len: usize) -> Self {
        self.raw.sense = addr;
        self.raw.sense_len = len as u8;
        self
    }
    pub fn tag(mut self, t: u64) -> Self {
        self.raw.tag = t;
        self
    }
    pub fn resp(mut self, r: &mut Resp) -> Self {
        self.raw.resp = r as *mut Resp as u64;
        self
    }
    pub fn flags(mut self, f: u32) -> Self {
        self.raw.flags = f;
        self
    }
    pub fn fixed(mut self, idx: u16) -> Self {
        self.fixed = Some(idx);
        self
    }
    pub fn cdb_addr(mut self, a: u64) -> Self {
        self.raw.cdb = a;
        self
    }
    pub fn pad(mut self, v: u8) -> Self {
        self.raw.pad[6] = v;
        self
    }
    pub fn reserved(mut self, v: u64) -> Self {
        self.raw.reserved[1] = v;
        self
    }
    pub fn dir_raw(mut self, d: u8) -> Self {
        self.raw.dir = d;
        self
    }
    pub fn bytes(&self) -> [u8; 80] {
        self.raw.bytes()
    }
}

/// A completion: res and the packed result word.
#[derive(Clone, Copy, Debug)]
pub struct Cqe {
    pub user_data: u64,
    pub res: i32,
    pub extra: u64,
}

impl Cqe {
    fn result(&self) -> UringResult {
        UringResult::from_word(self.extra)
    }
    pub fn status(&self) -> u8 {
        self.result().status
    }
    pub fn masked_status(&self) -> u8 {
        self.result().masked_status()
    }
    pub fn host_status(&self) -> u8 {
        self.result().host_status
    }
    pub fn driver_status(&self) -> u8 {
        self.result().driver_status
    }
    pub fn sb_len_wr(&self) -> u8 {
        self.result().sb_len_wr
    }
    pub fn resid(&self) -> i32 {
        self.result().resid
    }
}

/// A ring with 128-byte SQEs and 32-byte CQEs.
pub struct Ring {
    ring: IoUring<squeue::Entry128, cqueue::Entry32>,
    /// Commands submitted and not completed, by user_data.
    pending: std::collections::HashMap<u64, Cmd>,
}

impl Ring {
    pub fn new(entries: u32) -> Result<Self, String> {
        let ring = IoUring::builder()
            .build(entries)
            .map_err(|e| format!("io_uring setup: {e}"))?;
        Ok(Self {
            ring,
            pending: Default::default(),
        })
    }

    /// Registers `bufs`, which must outlive the ring.
    pub fn register(&mut self, bufs: &mut [AlignedBuf]) -> Result<(), String> {
        let iov: Vec<libc::iovec> = bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.addr() as *mut _,
                iov_len: b.len(),
            })
            .collect();
        // SAFETY: The buffers stay allocated while registered (callers keep
        // them alive past the ring).
        unsafe { self.ring.submitter().register_buffers(&iov) }
            .map_err(|e| format!("register: {e}"))
    }

    pub fn push(&mut self, sqe: squeue::Entry128) -> Result<(), String> {
        // SAFETY: Callers keep what the entry points to alive until its CQE.
        unsafe { self.ring.submission().push(&sqe) }.map_err(|_| "SQ full".to_string())?;
        self.ring.submit().map_err(|e| format!("submit: {e}"))?;
        Ok(())
    }

    pub fn submit(&mut self, fd: RawFd, op: u32, c: Cmd, ud: u64) -> Result<(), String> {
        let mut b = opcode::UringCmd80::new(types::Fd(fd), op).cmd(c.bytes());
        if let Some(i) = c.fixed {
            b = b.buf_index(Some(i));
        }
        self.pending.insert(ud, c);
        self.push(b.build().user_data(ud))
    }

    /// Waits up to `ms` for `n` completions.
    pub fn wait(&mut self, n: usize, ms: u64) -> Result<Vec<Cqe>, String> {
        let end = std::time::Instant::now() + std::time::Duration::from_millis(ms);
        let mut out = Vec::new();
        while out.len() < n {
            for c in self.ring.completion() {
                self.pending.remove(&c.user_data());
                out.push(Cqe {
                    user_data: c.user_data(),
                    res: c.result(),
                    extra: c.big_cqe()[0],
                });
            }
            if out.len() >= n {
                break;
            }
            if std::time::Instant::now() >= end {
                return Err(format!("{} of {n} completions in {ms} ms", out.len()));
            }
            let ts = types::Timespec::new().nsec(50_000_000);
            let args = types::SubmitArgs::new().timespec(&ts);
            match self.ring.submitter().submit_with_args(1, &args) {
                Ok(_) => {}
                Err(e) if matches!(e.raw_os_error(), Some(libc::ETIME) | Some(libc::EINTR)) => {}
                Err(e) => return Err(format!("wait: {e}")),
            }
        }
        Ok(out)
    }

    pub fn run_op(&mut self, fd: RawFd, op: u32, c: Cmd, ud: u64) -> Result<Cqe, String> {
        self.submit(fd, op, c, ud)?;
        let got = self.wait(1, 120_000)?;
        if got[0].user_data != ud {
            return Err(format!("CQE for {} instead of {ud}", got[0].user_data));
        }
        Ok(got[0])
    }

    /// Submits one RSG_URING_CMD_IO and waits for its CQE.
    pub fn run(&mut self, fd: RawFd, c: Cmd, ud: u64) -> Result<Cqe, String> {
        self.run_op(fd, RSG_URING_CMD_IO, c, ud)
    }

    /// RSG_URING_CMD_CANCEL of `tag`.
    pub fn run_cancel(&mut self, fd: RawFd, tag: u64, flags: u32, ud: u64) -> Result<Cqe, String> {
        self.submit_raw(fd, RSG_URING_CMD_CANCEL, cancel_payload(tag, flags), ud)?;
        let got = self.wait(1, 120_000)?;
        Ok(got[0])
    }

    fn submit_raw(&mut self, fd: RawFd, op: u32, p: [u8; 80], ud: u64) -> Result<(), String> {
        self.push(
            opcode::UringCmd80::new(types::Fd(fd), op)
                .cmd(p)
                .build()
                .user_data(ud),
        )
    }
}
