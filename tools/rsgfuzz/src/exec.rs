//! Carrying out an operation on one side (a node, its open files and its
//! arena) and recording what came back.

use crate::gen::*;
use crate::sg::*;
use crate::sys::{self, Arena, Fd, SysResult, CDB_AREA, DATA_AREA, DATA_LEN, HDR_AREA, IOV_AREA};
use crate::sys::{READ_AREA, RW_LEN, SENSE_AREA};
use std::time::{Duration, Instant};

/// Where `duration` sits in a v3 header.
const DURATION: usize = 76;
/// Scratch space for the fuzzer's own bookkeeping ioctls, out of the way
/// of every operation's memory.
const SCRATCH: usize = IOV_AREA + (32 << 10);
/// Where the headers of a queue batch go, and the batch itself.
const BATCH_AREA: usize = IOV_AREA + (40 << 10);

/// A live mapping of the node.
#[derive(Debug)]
pub struct Mapping {
    pub addr: usize,
    pub len: usize,
    pub prot: i32,
}

/// One node under test and everything the fuzzer holds on it.
pub struct Side {
    pub name: &'static str,
    pub fd: Fd,
    /// rsg only: the file for the queue interface.
    pub qfd: Option<Fd>,
    /// The queue interface's own memory: what its requests leave there
    /// must not reach the compared operations' memory.
    pub qarena: Option<Arena>,
    pub arena: Arena,
    pub map: Option<Mapping>,
    /// Tags queued on `qfd` lately, for cancels that hit.
    pub tags: Vec<u64>,
}

/// What an operation did, as far as user space can see.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub ret: Option<SysResult>,
    /// The header as the kernel left it (SG_IO, read() of a v3 response,
    /// queue reaps), pointer fields made side-independent.
    pub hdr: Option<SgIoHdr>,
    /// The response's sense buffer, as much as `mx_sb_len` names.
    pub sense: Vec<u8>,
    /// The data buffer(s), as user space sees them afterwards.
    pub data: Vec<u8>,
    /// Anything else returned: ioctl output, a v2 header, poll's revents,
    /// the mapping's bytes.
    pub out: Vec<u8>,
    /// The reserve size before the operation (mmap's limit).
    pub reserve: i64,
    /// Why this operation is not compared with the other side, if not.
    pub no_cmp: Option<&'static str>,
}

impl Side {
    pub fn open(name: &'static str, path: &str, flags: i32, queue: bool) -> Result<Side, String> {
        let fd = Fd::open(path, flags).map_err(|e| format!("open {path}: {}", errstr(e)))?;
        let qfd = if queue {
            Some(
                Fd::open(path, libc::O_RDWR | libc::O_NONBLOCK)
                    .map_err(|e| format!("open {path}: {}", errstr(e)))?,
            )
        } else {
            None
        };
        let arena = Arena::new().map_err(|e| format!("arena: {}", errstr(e)))?;
        Ok(Side {
            name,
            fd,
            qarena: qfd.as_ref().and_then(|_| Arena::new().ok()),
            qfd,
            arena,
            map: None,
            tags: Vec::new(),
        })
    }

    /// The address `p` stands for, for something in the area at `base`.
    pub fn addr(&self, p: Ptr, base: usize) -> u64 {
        (match p {
            Ptr::Null => 0,
            Ptr::Rw(off) => self.arena.rw + base + off,
            Ptr::Ro(off) => self.arena.ro + off,
            Ptr::ProtNone => self.arena.none,
            Ptr::Low => 0x1000,
            Ptr::Kernel(a) => return a,
            Ptr::Straddle(n) => self.arena.rw_end() - n,
        }) as u64
    }

    pub fn norm(&self, addr: u64) -> u64 {
        self.arena.norm(addr)
    }

    pub fn norm_bytes(&self, bytes: &mut [u8]) {
        self.arena.norm_bytes(bytes)
    }

    /// The bytes user space can read of `len` at `p` (area `base`), when
    /// they are in the read-write region.
    fn grab(&self, p: Ptr, base: usize, len: usize) -> Vec<u8> {
        match p {
            Ptr::Rw(off) => self.arena.get(base + off, len),
            Ptr::Straddle(n) => self.arena.get(RW_LEN - n, len.min(n)),
            _ => Vec::new(),
        }
    }

    /// Puts `bytes` at `p` when it is in the read-write region.
    fn place(&self, p: Ptr, base: usize, bytes: &[u8]) {
        match p {
            Ptr::Rw(off) => self.arena.put(base + off, bytes),
            Ptr::Straddle(n) => self.arena.put(RW_LEN - n, &bytes[..bytes.len().min(n)]),
            _ => {}
        }
    }

    fn fill(&self, p: Ptr, base: usize, len: usize, val: u8) {
        match p {
            Ptr::Rw(off) => self.arena.fill(base + off, len, val),
            Ptr::Straddle(n) => self.arena.fill(RW_LEN - n, len.min(n), val),
            _ => {}
        }
    }

    /// Lays out a request's CDB, sense buffer, data or iovec list and
    /// header; returns the header as sent.
    fn stage_req(&self, q: &Req, hdr_ptr: Ptr, hdr_base: usize) -> SgIoHdr {
        let mut h = q.hdr;
        h.cmdp = self.addr(q.cdb_ptr, CDB_AREA);
        self.fill(Ptr::Rw(0), CDB_AREA, 4096, 0);
        self.place(q.cdb_ptr, CDB_AREA, &q.cdb.bytes);
        h.sbp = self.addr(q.sb_ptr, SENSE_AREA);
        self.fill(Ptr::Rw(0), SENSE_AREA, 4096, 0x5a);
        self.fill(q.sb_ptr, SENSE_AREA, usize::from(q.hdr.mx_sb_len), 0x5a);
        let data_len = (q.hdr.dxfer_len as usize).min(DATA_LEN);
        if q.iov.is_empty() {
            h.dxferp = self.addr(q.data_ptr, DATA_AREA);
            self.fill(q.data_ptr, DATA_AREA, data_len, q.fill);
        } else {
            h.dxferp = self.addr(q.data_ptr, IOV_AREA);
            let mut list = vec![0u8; 16 << 10];
            for (i, &(p, len)) in q.iov.iter().enumerate() {
                // With no iovec_count the list is plain data, bound for the
                // LU both sides share: it holds side-independent values.
                let base = match q.hdr.iovec_count {
                    0 => self.norm(self.addr(p, DATA_AREA)),
                    _ => self.addr(p, DATA_AREA),
                };
                list[i * 16..i * 16 + 8].copy_from_slice(&base.to_ne_bytes());
                list[i * 16 + 8..i * 16 + 16].copy_from_slice(&len.to_ne_bytes());
                self.fill(p, DATA_AREA, len as usize, q.fill);
            }
            self.fill(Ptr::Rw(0), IOV_AREA, 16 << 10, 0);
            self.place(q.data_ptr, IOV_AREA, &list[..q.iov.len() * 16]);
        }
        self.place(hdr_ptr, hdr_base, &h.to_bytes());
        h
    }

    /// What user space sees of a request's buffers after it completed.
    fn collect_req(&self, q: &Req, out: &mut Outcome, hdr_ptr: Ptr, hdr_base: usize) {
        if let Some(h) = SgIoHdr::from_bytes(&self.grab(hdr_ptr, hdr_base, HDR_LEN)) {
            out.hdr = Some(self.norm_hdr(h));
        }
        self.clear_duration(hdr_ptr, hdr_base);
        out.sense = self.grab(q.sb_ptr, SENSE_AREA, usize::from(q.hdr.mx_sb_len));
        out.data = self.grab_data(q);
    }

    fn grab_data(&self, q: &Req) -> Vec<u8> {
        // No further than the data area: read() buffers follow it.
        let clip = |p: Ptr, len: usize| match p {
            Ptr::Rw(off) => len.min(DATA_LEN.saturating_sub(off)),
            _ => len,
        };
        if q.iov.is_empty() {
            let len = clip(q.data_ptr, q.hdr.dxfer_len as usize);
            self.grab(q.data_ptr, DATA_AREA, len)
        } else {
            q.iov
                .iter()
                .flat_map(|&(p, l)| self.grab(p, DATA_AREA, clip(p, l as usize)))
                .collect()
        }
    }

    /// Clears the duration the kernel wrote to the header at `p`. It is a
    /// timing, different on each side, and memory left behind can become
    /// data bound for the LU both sides share: a v3 header whose
    /// `dxfer_direction` is 0 is a v2 request, which sends the memory after
    /// its 36 bytes.
    fn clear_duration(&self, p: Ptr, base: usize) {
        let mut h = self.grab(p, base, HDR_LEN);
        if h.len() >= DURATION + 4 {
            h[DURATION..DURATION + 4].fill(0);
            self.place(p, base, &h);
        }
    }

    /// `h` with its pointers in side-independent form and its duration
    /// (a timing) cleared.
    pub fn norm_hdr(&self, mut h: SgIoHdr) -> SgIoHdr {
        h.dxferp = self.norm(h.dxferp);
        h.cmdp = self.norm(h.cmdp);
        h.sbp = self.norm(h.sbp);
        h.duration = 0;
        h
    }

    pub fn reserve_size(&self) -> i64 {
        let a = self.arena.rw + SCRATCH;
        match sys::ioctl(self.fd.raw(), SG_GET_RESERVED_SIZE, a) {
            Ok(_) => i64::from(i32::from_ne_bytes(
                self.arena.get(SCRATCH, 4).try_into().unwrap_or([0; 4]),
            )),
            Err(_) => -1,
        }
    }

    /// The request table's states: (active, done or being read).
    pub fn table(&self) -> Result<(usize, usize), i32> {
        let a = self.arena.rw + SCRATCH;
        sys::ioctl(self.fd.raw(), SG_GET_REQUEST_TABLE, a)?;
        let t = self.arena.get(SCRATCH, REQ_TABLE_LEN);
        let mut active = 0;
        let mut done = 0;
        for e in t.chunks(REQ_INFO_LEN) {
            // sg fills entries up to the first free one.
            match e[0] {
                1 => active += 1,
                2 | 3 => done += 1,
                _ => {}
            }
        }
        Ok((active, done))
    }

    /// Waits until no request of the main file is running, so that what
    /// follows does not depend on timing. `Err` after `limit`.
    pub fn quiesce(&self, limit: Duration) -> Result<(), String> {
        let t0 = Instant::now();
        loop {
            match self.table() {
                Ok((0, _)) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(format!("SG_GET_REQUEST_TABLE: {}", errstr(e))),
            }
            if t0.elapsed() > limit {
                return Err(format!("requests still running after {limit:?}"));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Runs `op`; the bytes of the outcome made side-independent.
    pub fn run(&mut self, op: &Op) -> Outcome {
        let mut out = self.run_raw(op);
        let (mut data, mut sense, mut o) = (
            std::mem::take(&mut out.data),
            std::mem::take(&mut out.sense),
            std::mem::take(&mut out.out),
        );
        self.norm_bytes(&mut data);
        self.norm_bytes(&mut sense);
        self.norm_bytes(&mut o);
        out.data = data;
        out.sense = sense;
        out.out = o;
        out
    }

    fn run_raw(&mut self, op: &Op) -> Outcome {
        let mut out = Outcome {
            reserve: self.reserve_size(),
            ..Default::default()
        };
        let fd = self.fd.raw();
        match op {
            Op::SgIo(hp, q) => {
                let flags = q.hdr.flags;
                self.stage_req(q, *hp, HDR_AREA);
                out.ret = Some(sys::ioctl(fd, SG_IO, self.addr(*hp, HDR_AREA) as usize));
                self.collect_req(q, &mut out, *hp, HDR_AREA);
                if flags & SG_FLAG_MMAP_IO != 0 {
                    out.out = self.mapping_bytes();
                }
            }
            Op::WriteV3(hp, count, q) => {
                self.stage_req(q, *hp, HDR_AREA);
                out.ret = Some(sys::write(fd, self.addr(*hp, HDR_AREA) as usize, *count));
            }
            Op::WriteV2(v) => {
                // A count past the bytes sends what follows them: zeros.
                self.fill(v.buf_ptr, DATA_AREA, v.count, 0);
                self.place(v.buf_ptr, DATA_AREA, &v.bytes);
                out.ret = Some(sys::write(
                    fd,
                    self.addr(v.buf_ptr, DATA_AREA) as usize,
                    v.count,
                ));
            }
            Op::Read(rd) => self.read(rd, &mut out),
            Op::Ioctl(io) => {
                let arg = match &io.arg {
                    Arg::Value(v) => *v as usize,
                    Arg::Ptr(p, bytes) => {
                        self.fill(*p, DATA_AREA, 4096, 0xee);
                        self.place(*p, DATA_AREA, bytes);
                        self.addr(*p, DATA_AREA) as usize
                    }
                };
                out.ret = Some(sys::ioctl(fd, io.cmd, arg));
                if let Arg::Ptr(p, _) = &io.arg {
                    let n = match io.arg_use {
                        Some(ArgUse::Out(n)) => n,
                        _ => 512,
                    };
                    out.out = self.grab(*p, DATA_AREA, n);
                    if io.cmd == SG_GET_REQUEST_TABLE {
                        // Durations are timings: cleared in the memory left
                        // behind too, which a later request may send to the
                        // LU, or return unchanged when it moves less data.
                        for e in out.out.chunks_mut(REQ_INFO_LEN) {
                            if e.len() == REQ_INFO_LEN {
                                e[REQ_INFO_DURATION..REQ_INFO_DURATION + 4].fill(0);
                            }
                        }
                        self.place(*p, DATA_AREA, &out.out);
                    }
                }
                if io.cmd == SCSI_IOCTL_SEND_COMMAND {
                    out.no_cmp = Some("SCSI_IOCTL_SEND_COMMAND retries");
                }
            }
            Op::Mmap(m) => self.mmap(m, &mut out),
            Op::Poll(ev) => {
                let r = sys::poll(fd, *ev, 0);
                out.ret = Some(r.map(i64::from));
            }
            Op::Queue(q) => {
                if let Some(mut qa) = self.qarena.take() {
                    std::mem::swap(&mut self.arena, &mut qa);
                    self.queue(q, &mut out);
                    std::mem::swap(&mut self.arena, &mut qa);
                    self.qarena = Some(qa);
                }
                out.no_cmp = Some("rsg's queue interface");
            }
        }
        out
    }

    fn read(&mut self, rd: &Read, out: &mut Outcome) {
        let mut head = vec![0u8; HDR_LEN];
        if rd.v3 {
            head[0..4].copy_from_slice(&('S' as i32).to_ne_bytes());
            head[4..8].copy_from_slice(&SG_DXFER_FROM_DEV.to_ne_bytes());
            head[48..52].copy_from_slice(&rd.pack_id.to_ne_bytes());
        } else {
            head[4..8].copy_from_slice(&(V2_HDR_LEN as i32).to_ne_bytes());
            head[8..12].copy_from_slice(&rd.pack_id.to_ne_bytes());
        }
        self.fill(rd.buf_ptr, READ_AREA, rd.count.max(HDR_LEN), 0x3c);
        self.place(rd.buf_ptr, READ_AREA, &head);
        let r = sys::read(
            self.fd.raw(),
            self.addr(rd.buf_ptr, READ_AREA) as usize,
            rd.count,
        );
        out.ret = Some(r);
        let mut got = self.grab(rd.buf_ptr, READ_AREA, rd.count);
        if got.len() >= HDR_LEN
            && i32::from_ne_bytes([got[0], got[1], got[2], got[3]]) == 'S' as i32
        {
            if let Some(h) = SgIoHdr::from_bytes(&got) {
                let h = self.norm_hdr(h);
                // The response's data went to its own buffer.
                // (Unless it names an iovec list: that holds addresses.)
                if h.dxferp >> 62 == 1 && h.iovec_count == 0 && r.is_ok() {
                    let off = (h.dxferp & !(3 << 62)) as usize;
                    let len = (h.dxfer_len as usize).min(READ_AREA.saturating_sub(off));
                    out.data = self.arena.get(off, len);
                }
                if h.sbp >> 62 == 1 && r.is_ok() {
                    let off = (h.sbp & !(3 << 62)) as usize;
                    out.sense = self.arena.get(off, usize::from(h.sb_len_wr));
                }
                self.clear_duration(rd.buf_ptr, READ_AREA);
                // The copy in `out` gets the side-independent pointers too.
                got[..HDR_LEN].copy_from_slice(&h.to_bytes());
                out.hdr = Some(h);
            }
        }
        out.out = got;
    }

    /// The mapping's bytes, as far as the reserve buffer goes.
    fn mapping_bytes(&self) -> Vec<u8> {
        let Some(m) = &self.map else {
            return Vec::new();
        };
        if m.prot & libc::PROT_READ == 0 {
            return Vec::new();
        }
        let len = m.len.min(self.reserve_size().max(0) as usize);
        // SAFETY: The mapping is live and readable, and `len` stays within
        // the reserve buffer, which backs every page of it.
        unsafe { sys::read_mapping(m.addr, len) }
    }

    fn mmap(&mut self, m: &Mmap, out: &mut Outcome) {
        if let Some(old) = self.map.take() {
            sys::munmap(old.addr, old.len);
        }
        let flags = if m.shared {
            libc::MAP_SHARED
        } else {
            libc::MAP_PRIVATE
        };
        let r = sys::mmap(m.len, m.prot, flags, self.fd.raw(), m.off);
        out.ret = Some(r.map(|_| 0));
        if let Ok(addr) = r {
            let reserve = out.reserve.max(0) as usize;
            let len = m.len.min(reserve);
            // Touch only what the reserve backs: a page past it is SIGBUS.
            if m.len.div_ceil(sys::PAGE) * sys::PAGE <= reserve.div_ceil(sys::PAGE) * sys::PAGE {
                if m.prot & libc::PROT_READ != 0 {
                    // SAFETY: A readable mapping of `len` bytes of reserve.
                    out.out = unsafe { sys::read_mapping(addr, len) };
                }
                if m.prot & libc::PROT_WRITE != 0 && m.prot & libc::PROT_READ != 0 && m.shared {
                    // SAFETY: A writable mapping of `len` bytes of reserve.
                    unsafe { sys::fill_mapping(addr, len, m.fill) };
                }
            }
            self.map = Some(Mapping {
                addr,
                len: m.len,
                prot: m.prot,
            });
        }
    }

    fn queue(&mut self, q: &Queue, out: &mut Outcome) {
        let Some(qfd) = self.qfd.as_ref().map(|f| f.raw()) else {
            return;
        };
        match q {
            Queue::One(hp, req) => {
                self.stage_req(req, *hp, HDR_AREA);
                let r = sys::ioctl(qfd, RSG_IOQUEUE, self.addr(*hp, HDR_AREA) as usize);
                if r.is_ok() {
                    self.remember(req.hdr.usr_ptr);
                }
                out.ret = Some(r);
            }
            Queue::Batch {
                batch_ptr,
                hdrs_ptr,
                count,
                reqs,
            } => {
                // Headers go side by side, but their CDB, sense and data
                // areas are one: every request of a batch carries the last
                // one's CDB and data (all of them safe for range B).
                let mut all = Vec::new();
                for q in reqs {
                    let h = self.stage_req(q, Ptr::Rw(0), SCRATCH);
                    all.extend_from_slice(&h.to_bytes());
                }
                self.fill(Ptr::Rw(0), BATCH_AREA, 16 * HDR_LEN, 0);
                self.place(*hdrs_ptr, BATCH_AREA, &all);
                let mut b = Vec::new();
                b.extend_from_slice(&self.addr(*hdrs_ptr, BATCH_AREA).to_ne_bytes());
                b.extend_from_slice(&count.to_ne_bytes());
                b.extend_from_slice(&[0u8; 12]);
                self.place(*batch_ptr, SCRATCH, &b);
                let r = sys::ioctl(
                    qfd,
                    RSG_IOQUEUE_BATCH,
                    self.addr(*batch_ptr, SCRATCH) as usize,
                );
                let back = self.grab(*batch_ptr, SCRATCH, BATCH_LEN);
                let done = if back.len() == BATCH_LEN {
                    u32::from_ne_bytes([back[16], back[17], back[18], back[19]])
                } else {
                    0
                };
                if r.is_ok() {
                    for q in reqs.iter().take(done as usize) {
                        self.remember(q.hdr.usr_ptr);
                    }
                }
                out.ret = Some(r);
                out.out = back;
            }
            Queue::Get(hp) => {
                self.fill(*hp, HDR_AREA, HDR_LEN, 0x77);
                out.ret = Some(sys::ioctl(
                    qfd,
                    RSG_IOGET,
                    self.addr(*hp, HDR_AREA) as usize,
                ));
                out.hdr = SgIoHdr::from_bytes(&self.grab(*hp, HDR_AREA, HDR_LEN));
            }
            Queue::GetBatch {
                batch_ptr,
                hdrs_ptr,
                count,
                flags,
                timeout_ms,
            } => {
                self.fill(Ptr::Rw(0), BATCH_AREA, 16 << 10, 0x77);
                let mut b = Vec::new();
                b.extend_from_slice(&self.addr(*hdrs_ptr, BATCH_AREA).to_ne_bytes());
                b.extend_from_slice(&count.to_ne_bytes());
                b.extend_from_slice(&flags.to_ne_bytes());
                b.extend_from_slice(&0u32.to_ne_bytes());
                b.extend_from_slice(&timeout_ms.to_ne_bytes());
                self.place(*batch_ptr, SCRATCH, &b);
                let r = sys::ioctl(
                    qfd,
                    RSG_IOGET_BATCH,
                    self.addr(*batch_ptr, SCRATCH) as usize,
                );
                out.ret = Some(r);
                out.out = self.grab(*batch_ptr, SCRATCH, BATCH_LEN);
            }
            Queue::Cancel {
                ptr,
                recent,
                tag,
                flags,
                reserved,
            } => {
                let tag = match recent {
                    Some(i) if !self.tags.is_empty() => self.tags[i % self.tags.len()],
                    _ => *tag,
                };
                let mut b = Vec::new();
                b.extend_from_slice(&tag.to_ne_bytes());
                b.extend_from_slice(&flags.to_ne_bytes());
                b.extend_from_slice(&reserved.to_ne_bytes());
                self.place(*ptr, SCRATCH, &b);
                out.ret = Some(sys::ioctl(
                    qfd,
                    RSG_IOCANCEL,
                    self.addr(*ptr, SCRATCH) as usize,
                ));
                out.out = tag.to_ne_bytes().to_vec();
            }
            Queue::Depth(p) => {
                self.fill(*p, SCRATCH, 4, 0xee);
                out.ret = Some(sys::ioctl(
                    qfd,
                    RSG_GET_QUEUE_DEPTH,
                    self.addr(*p, SCRATCH) as usize,
                ));
                out.out = self.grab(*p, SCRATCH, 4);
            }
        }
    }

    fn remember(&mut self, tag: u64) {
        if self.tags.len() >= 16 {
            self.tags.remove(0);
        }
        self.tags.push(tag);
    }

    /// Collects what the main file has outstanding (bounded), then the
    /// queue file's completions; anything left is abandoned at close.
    pub fn drain(&mut self) -> Result<(), String> {
        let res = self.quiesce(Duration::from_secs(20));
        for _ in 0..40 {
            match sys::read(self.fd.raw(), self.arena.rw + DATA_AREA, DATA_LEN) {
                Err(libc::EAGAIN) => break,
                _ => continue,
            }
        }
        if let (Some(q), Some(qa)) = (self.qfd.as_ref().map(|f| f.raw()), &self.qarena) {
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(3) {
                let mut b = Vec::new();
                b.extend_from_slice(&((qa.rw + BATCH_AREA) as u64).to_ne_bytes());
                b.extend_from_slice(&16u32.to_ne_bytes());
                b.extend_from_slice(&RSG_BATCH_WAIT.to_ne_bytes());
                b.extend_from_slice(&0u32.to_ne_bytes());
                b.extend_from_slice(&200u32.to_ne_bytes());
                qa.put(SCRATCH, &b);
                if sys::ioctl(q, RSG_IOGET_BATCH, qa.rw + SCRATCH) == Err(libc::EAGAIN) {
                    break;
                }
            }
        }
        if let Some(m) = self.map.take() {
            sys::munmap(m.addr, m.len);
        }
        self.tags.clear();
        res
    }
}

/// An errno's name, for messages.
pub fn errstr(e: i32) -> String {
    let name = match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENOTTY => "ENOTTY",
        libc::EDOM => "EDOM",
        libc::ENOSYS => "ENOSYS",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::EINTR => "EINTR",
        _ => return format!("errno {e}"),
    };
    name.to_string()
}

/// A syscall result for messages.
pub fn retstr(r: &Option<SysResult>) -> String {
    match r {
        None => "-".to_string(),
        Some(Ok(v)) => format!("{v}"),
        Some(Err(e)) => errstr(*e),
    }
}
