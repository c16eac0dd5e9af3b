//! An rsg device as rsgdd uses it: opened, sized with READ CAPACITY, and
//! driven through a queue of READ or WRITE commands with RSG_IOQUEUE_BATCH
//! and RSG_IOGET_BATCH, rsg's io_uring passthrough, or sg's write()/read().
//! Completions come back in any order; each slot's tag (`usr_ptr`, or the
//! CQE's user_data) says which request finished.

use crate::error::{Error, Result};
use crate::sense;
use crate::sg::{self, CdbSize, Dir, Engine, SgIoHdr, SgIovec, SENSE_LEN};
use crate::stats::SideStats;
use crate::uring::Ring;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileTypeExt;
use std::time::{Duration, Instant};

/// How many times a command that reports UNIT ATTENTION is sent again: a
/// reset or media change announces itself once and is not an I/O error.
const UA_RETRIES: u32 = 3;

pub struct RsgDev {
    pub path: String,
    fd: OwnedFd,
    /// Logical block size in bytes.
    pub block: u32,
    /// Capacity in blocks.
    pub blocks: u64,
    /// RSG_GET_QUEUE_DEPTH: most requests the file may have outstanding.
    pub max_depth: u32,
    pub timeout_ms: u32,
    pub cdb: CdbSize,
    pub engine: Engine,
}

impl RsgDev {
    /// Opens `path` (read-write when `write`, else read-write if allowed
    /// and read-only otherwise) and reads its capacity.
    pub fn open(
        path: &str,
        write: bool,
        timeout_s: u32,
        cdb: CdbSize,
        engine: Engine,
    ) -> Result<Self> {
        let file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => f,
            Err(e) if !write && e.kind() == io::ErrorKind::PermissionDenied => OpenOptions::new()
                .read(true)
                .open(path)
                .map_err(|e| Error::sys(path, e))?,
            Err(e) => return Err(Error::sys(path, e)),
        };
        let meta = file.metadata().map_err(|e| Error::sys(path, e))?;
        if !meta.file_type().is_char_device() {
            return Err(Error::usage(format!(
                "{path}: not a character device; dev= is for rsg nodes, file= for files and block devices"
            )));
        }
        let fd: OwnedFd = file.into();
        let max_depth = if engine == Engine::Sg {
            // Completions are read without blocking.
            sg::set_nonblock(fd.as_raw_fd()).map_err(|e| Error::sys(path, e))?;
            sg::SG_MAX_QUEUE
        } else {
            sg::queue_depth(fd.as_raw_fd()).map_err(|e| {
                Error::Io(format!(
                    "{path}: RSG_GET_QUEUE_DEPTH: {e}: not an rsg device (engine={} needs rsg)",
                    engine.name()
                ))
            })?
        };
        let mut dev = RsgDev {
            path: path.to_string(),
            fd,
            block: 0,
            blocks: 0,
            max_depth,
            timeout_ms: timeout_s.saturating_mul(1000),
            cdb,
            engine,
        };
        dev.read_capacity()?;
        Ok(dev)
    }

    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub fn capacity(&self) -> u64 {
        self.blocks * u64::from(self.block)
    }

    /// A synchronous data-in command, sent again after a unit attention.
    fn command_in(&self, cdb: &[u8], buf: &mut [u8]) -> Result<()> {
        let mut tries = 0;
        loop {
            let mut sense_buf = [0u8; SENSE_LEN];
            let hdr = sg::sg_io_in(self.fd(), cdb, buf, &mut sense_buf, self.timeout_ms).map_err(
                |e| Error::sys(format!("{}: SG_IO {}", self.path, sg::cdb_name(cdb)), e),
            )?;
            let s = &sense_buf[..usize::from(hdr.sb_len_wr).min(SENSE_LEN)];
            match completion_error(&hdr, s) {
                None => return Ok(()),
                Some(Verdict::Retry) if tries < UA_RETRIES => tries += 1,
                Some(Verdict::Retry) | Some(Verdict::Fail) => {
                    return Err(Error::Io(format!(
                        "{}: {} failed: {}",
                        self.path,
                        sg::cdb_name(cdb),
                        sense::describe_completion(
                            hdr.status,
                            hdr.host_status,
                            hdr.driver_status,
                            s,
                            None
                        )
                    )))
                }
            }
        }
    }

    fn read_capacity(&mut self) -> Result<()> {
        let mut d10 = [0u8; 8];
        self.command_in(&sg::READ_CAPACITY10, &mut d10)?;
        let (mut last, mut len) = sg::parse_capacity10(&d10);
        if last == 0xffff_ffff {
            let mut d16 = [0u8; sg::READ_CAPACITY16_LEN];
            self.command_in(&sg::READ_CAPACITY16, &mut d16)?;
            (last, len) = sg::parse_capacity16(&d16);
        }
        if len == 0 || !len.is_power_of_two() || len > 1 << 20 {
            return Err(Error::Io(format!(
                "{}: READ CAPACITY reports a block size of {len} bytes",
                self.path
            )));
        }
        self.block = len;
        self.blocks = last + 1;
        Ok(())
    }
}

enum Verdict {
    Retry,
    Fail,
}

/// Whether a completion failed: `None` for success (including recovered
/// errors), `Retry` for a unit attention.
fn completion_error(hdr: &SgIoHdr, sense_bytes: &[u8]) -> Option<Verdict> {
    let parsed = sense::parse(sense_bytes);
    let benign = parsed.is_none_or(|s| s.key == sense::NO_SENSE || s.key == sense::RECOVERED_ERROR);
    if sg::completed_ok(hdr) && benign {
        return None;
    }
    // A recovered error reported with CHECK CONDITION moved the data all
    // the same.
    if hdr.status == sg::CHECK_CONDITION
        && hdr.host_status == 0
        && parsed.is_some_and(|s| s.key == sense::RECOVERED_ERROR)
    {
        return None;
    }
    if hdr.status == sg::CHECK_CONDITION && parsed.is_some_and(|s| s.key == sense::UNIT_ATTENTION) {
        return Some(Verdict::Retry);
    }
    Some(Verdict::Fail)
}

/// A request's data: one buffer, or a scatter/gather list over several.
pub enum Data {
    Buf { addr: usize, len: usize },
    Iov(Vec<SgIovec>),
}

impl Data {
    fn len(&self) -> usize {
        match self {
            Data::Buf { len, .. } => *len,
            Data::Iov(v) => v.iter().map(|i| i.len).sum(),
        }
    }
}

struct Slot<T> {
    cdb: [u8; 16],
    sense: [u8; SENSE_LEN],
    iov: Vec<SgIovec>,
    hdr: SgIoHdr,
    user: Option<T>,
    dir: Dir,
    lba: u64,
    blocks: u32,
    start: Instant,
    tries: u32,
}

/// A finished request's payload.
pub struct Done<T> {
    pub user: T,
}

/// Up to `depth` READ or WRITE commands in flight on one device. `T` is the
/// caller's payload for each request (the buffers it points at), handed
/// back with its completion.
pub struct Queue<'d, T> {
    dev: &'d RsgDev,
    /// The io_uring engine's ring.
    ring: Option<Ring>,
    /// Boxed so that the CDB and sense addresses given to the kernel stay
    /// put while the queue itself moves.
    slots: Box<[Slot<T>]>,
    free: Vec<usize>,
    staged: Vec<usize>,
    batch: Vec<SgIoHdr>,
    comp: Vec<SgIoHdr>,
    in_flight: usize,
    pub stats: SideStats,
}

impl<'d, T> Queue<'d, T> {
    pub fn new(dev: &'d RsgDev, depth: usize) -> Result<Self> {
        let depth = depth.max(1);
        let ring = match dev.engine {
            Engine::Uring => Some(
                Ring::new(depth)
                    .map_err(|e| Error::sys(format!("{}: io_uring setup", dev.path), e))?,
            ),
            _ => None,
        };
        let slots = (0..depth)
            .map(|_| Slot {
                cdb: [0; 16],
                sense: [0; SENSE_LEN],
                iov: Vec::new(),
                hdr: SgIoHdr::default(),
                user: None,
                dir: Dir::Read,
                lba: 0,
                blocks: 0,
                start: Instant::now(),
                tries: 0,
            })
            .collect();
        Ok(Queue {
            dev,
            ring,
            slots,
            free: (0..depth).rev().collect(),
            staged: Vec::with_capacity(depth),
            batch: Vec::with_capacity(depth),
            comp: vec![SgIoHdr::default(); depth],
            in_flight: 0,
            stats: SideStats::default(),
        })
    }

    /// The device's block size.
    pub fn block(&self) -> u64 {
        u64::from(self.dev.block)
    }

    pub fn has_room(&self) -> bool {
        !self.free.is_empty()
    }

    /// Nothing staged and nothing in flight.
    pub fn idle(&self) -> bool {
        self.in_flight == 0 && self.staged.is_empty()
    }

    /// Prepares a request; `submit` sends it. The caller checks `has_room`.
    /// The memory `data` names must stay valid until the request's payload
    /// comes back from `reap` (it is owned by `user` or by the caller).
    pub fn stage(&mut self, dir: Dir, lba: u64, blocks: u32, data: Data, user: T) -> Result<()> {
        let Some(idx) = self.free.pop() else {
            return Err(Error::Io("internal: queue full".into()));
        };
        let Some((cdb, cdb_len)) = sg::rw_cdb(dir, lba, blocks, self.dev.cdb) else {
            self.free.push(idx);
            return Err(Error::usage(format!(
                "{}: cdb=10 cannot address LBA {lba} with {blocks} blocks; use cdb=16",
                self.dev.path
            )));
        };
        let len = data.len();
        let slot = &mut self.slots[idx];
        slot.cdb = cdb;
        let (dxferp, iovec_count) = match data {
            Data::Buf { addr, .. } => (addr, 0),
            Data::Iov(v) => {
                slot.iov = v;
                (slot.iov.as_ptr() as usize, slot.iov.len() as u16)
            }
        };
        slot.hdr = SgIoHdr {
            interface_id: 'S' as i32,
            dxfer_direction: match dir {
                Dir::Read => sg::SG_DXFER_FROM_DEV,
                Dir::Write => sg::SG_DXFER_TO_DEV,
            },
            cmd_len: cdb_len as u8,
            mx_sb_len: SENSE_LEN as u8,
            iovec_count,
            dxfer_len: len as u32,
            dxferp: dxferp as u64,
            cmdp: slot.cdb.as_ptr() as u64,
            sbp: slot.sense.as_mut_ptr() as u64,
            timeout: self.dev.timeout_ms,
            pack_id: idx as i32,
            // The tag: which slot completed.
            usr_ptr: idx as u64,
            ..Default::default()
        };
        slot.user = Some(user);
        slot.dir = dir;
        slot.lba = lba;
        slot.blocks = blocks;
        slot.tries = 0;
        self.staged.push(idx);
        Ok(())
    }

    /// Queues everything staged with one RSG_IOQUEUE_BATCH. What the driver
    /// has no room for yet (EAGAIN) stays staged for the next call.
    pub fn submit(&mut self) -> Result<()> {
        if self.staged.is_empty() {
            return Ok(());
        }
        self.batch.clear();
        for &i in &self.staged {
            self.batch.push(self.slots[i].hdr);
        }
        let now = Instant::now();
        let sent = match (self.dev.engine, &mut self.ring) {
            // SAFETY: Each header points into its slot (CDB, sense, iovec
            // list, which stay put in the boxed slice) and at the data the
            // caller promised `stage` to keep valid until it is reaped.
            (Engine::Uring, Some(ring)) => unsafe { ring.queue(self.dev.fd(), &self.batch) },
            // SAFETY: As above.
            (Engine::Sg, _) => unsafe { sg::write_each(self.dev.fd(), &self.batch) },
            // SAFETY: As above.
            _ => unsafe { sg::queue_batch(self.dev.fd(), &mut self.batch) },
        };
        let n = match sent {
            Ok(n) => n,
            Err(e)
                if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EDOM))
                    && self.in_flight > 0 =>
            {
                0
            }
            Err(e) => {
                let s = &self.slots[self.staged[0]];
                return Err(Error::Io(format!(
                    "{}: queueing ({} engine) {} ({} blocks at LBA {}): {e}",
                    self.dev.path,
                    self.dev.engine.name(),
                    sg::cdb_name(&s.cdb),
                    s.blocks,
                    s.lba
                )));
            }
        };
        for &i in &self.staged[..n] {
            self.slots[i].start = now;
        }
        if n > 0 {
            self.stats.busy.start(now);
        }
        self.in_flight += n;
        self.staged.drain(..n);
        Ok(())
    }

    /// Reaps whatever completions are ready, without waiting, into `out`.
    /// A failed command is an error naming the command and decoding its
    /// sense; a unit attention is retried.
    pub fn reap(&mut self, out: &mut Vec<Done<T>>) -> Result<()> {
        if self.in_flight == 0 {
            return Ok(());
        }
        let n = self.fetch()?;
        let now = Instant::now();
        let mut result = Ok(());
        for c in 0..n {
            let hdr = self.comp[c];
            self.in_flight -= 1;
            let idx = hdr.usr_ptr as usize;
            if idx >= self.slots.len() || self.slots[idx].user.is_none() {
                result = result.and(Err(Error::Io(format!(
                    "{}: RSG_IOGET_BATCH returned unknown tag {idx}",
                    self.dev.path
                ))));
                continue;
            }
            let slot = &mut self.slots[idx];
            let sense_len = usize::from(hdr.sb_len_wr).min(SENSE_LEN);
            match completion_error(&hdr, &slot.sense[..sense_len]) {
                None if slot.dir == Dir::Read && hdr.resid > 0 => {
                    result = result.and(Err(Error::Io(format!(
                        "{}: {} of {} blocks at LBA {}: short transfer, {} of {} bytes missing",
                        self.dev.path,
                        sg::cdb_name(&slot.cdb),
                        slot.blocks,
                        slot.lba,
                        hdr.resid,
                        hdr.dxfer_len
                    ))));
                }
                None => {
                    self.stats.record(
                        u64::from(hdr.dxfer_len),
                        now.saturating_duration_since(slot.start),
                    );
                    if let Some(user) = slot.user.take() {
                        out.push(Done { user });
                    }
                    self.free.push(idx);
                }
                Some(Verdict::Retry) if slot.tries < UA_RETRIES => {
                    slot.tries += 1;
                    slot.sense = [0; SENSE_LEN];
                    self.staged.push(idx);
                }
                Some(_) => {
                    result = result.and(Err(Error::Io(format!(
                        "{}: {} of {} blocks at LBA {} failed: {}",
                        self.dev.path,
                        sg::cdb_name(&slot.cdb),
                        slot.blocks,
                        slot.lba,
                        sense::describe_completion(
                            hdr.status,
                            hdr.host_status,
                            hdr.driver_status,
                            &slot.sense[..sense_len],
                            Some(slot.lba)
                        )
                    ))));
                }
            }
        }
        if self.in_flight == 0 {
            self.stats.busy.stop(now);
        }
        result?;
        // Retried unit attentions go straight back out.
        self.submit()
    }

    /// Fills `comp` with completions that are ready; how many.
    fn fetch(&mut self) -> Result<usize> {
        let want = self.in_flight;
        let out = &mut self.comp[..want];
        let got = match (self.dev.engine, &mut self.ring) {
            (Engine::Uring, Some(ring)) => {
                let slots = &self.slots;
                ring.reap(out, |tag| slots.get(tag).map(|s| s.hdr))
            }
            (Engine::Sg, _) => sg::read_each(self.dev.fd(), out),
            _ => sg::get_batch(self.dev.fd(), out, None),
        };
        got.map_err(|e| {
            Error::sys(
                format!(
                    "{}: reaping ({} engine)",
                    self.dev.path,
                    self.dev.engine.name()
                ),
                e,
            )
        })
    }

    /// Waits up to `ms` for a completion to be ready (or a signal).
    pub fn wait(&self, extra_fd: Option<RawFd>, ms: i32) {
        let mut fds = Vec::with_capacity(2);
        if self.in_flight > 0 {
            fds.push(match &self.ring {
                Some(ring) => ring.fd(),
                None => self.dev.fd(),
            });
        }
        if let Some(fd) = extra_fd {
            fds.push(fd);
        }
        crate::chan::poll_in(&fds, ms);
    }

    /// Asks the device to abort every request in flight (RSG_IOCANCEL by
    /// tag); they then complete with an error and are reaped by `drain`.
    pub fn cancel_all(&mut self) {
        for (i, s) in self.slots.iter().enumerate() {
            if s.user.is_some() && !self.staged.contains(&i) {
                // ENOENT: it finished meanwhile. sg cannot cancel.
                match (self.dev.engine, &mut self.ring) {
                    (Engine::Uring, Some(ring)) => ring.cancel(self.dev.fd(), i as u64),
                    (Engine::Queue, _) => {
                        let _ = sg::cancel(self.dev.fd(), i as u64);
                    }
                    _ => {}
                }
            }
        }
    }

    /// Reaps what is still in flight, for at most `limit`, ignoring errors:
    /// used when stopping early.
    pub fn drain(&mut self, limit: Duration) {
        self.staged.clear();
        let end = Instant::now() + limit;
        while self.in_flight > 0 && Instant::now() < end {
            self.wait(None, 100);
            let n = self.fetch().unwrap_or(0);
            self.in_flight -= n;
        }
        self.stats.busy.stop(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(status: u8, host: u16, driver: u16) -> SgIoHdr {
        SgIoHdr {
            status,
            host_status: host,
            driver_status: driver,
            ..Default::default()
        }
    }

    fn fixed(key: u8, asc: u8) -> Vec<u8> {
        let mut b = vec![0u8; 18];
        b[0] = 0x70;
        b[2] = key;
        b[7] = 10;
        b[12] = asc;
        b
    }

    #[test]
    fn verdicts() {
        assert!(completion_error(&hdr(0, 0, 0), &[]).is_none());
        assert!(completion_error(&hdr(2, 0, 8), &fixed(1, 0x18)).is_none());
        assert!(matches!(
            completion_error(&hdr(2, 0, 8), &fixed(6, 0x29)),
            Some(Verdict::Retry)
        ));
        assert!(matches!(
            completion_error(&hdr(2, 0, 8), &fixed(3, 0x11)),
            Some(Verdict::Fail)
        ));
        assert!(matches!(
            completion_error(&hdr(0, 3, 0), &[]),
            Some(Verdict::Fail)
        ));
        assert!(matches!(
            completion_error(&hdr(8, 0, 0), &[]),
            Some(Verdict::Fail)
        ));
    }
}
