// SPDX-License-Identifier: GPL-2.0
//! SG_IO on sg, scsi_debug and LU helpers.

use crate::{ensure, ensure_eq};
use std::ffi::CString;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

pub use rsg_uapi::sg::SgIoHdr;
use rsg_uapi::sg::{SG_DXFER_FROM_DEV, SG_DXFER_NONE, SG_DXFER_TO_DEV, SG_IO};

pub const READ_10: u8 = 0x28;
pub const WRITE_10: u8 = 0x2a;
pub const DID_TIME_OUT: u8 = 0x03;
const SDEBUG: &str = "/sys/bus/pseudo/drivers/scsi_debug/";

#[derive(Clone, Copy)]
pub enum SgDir {
    None,
    To,
    From,
}

impl SgDir {
    fn raw(self) -> i32 {
        match self {
            SgDir::None => SG_DXFER_NONE,
            SgDir::To => SG_DXFER_TO_DEV,
            SgDir::From => SG_DXFER_FROM_DEV,
        }
    }
}

pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

pub fn open_dev(path: &str, flags: i32) -> Result<RawFd, String> {
    let c = CString::new(path).map_err(|_| "bad path")?;
    // SAFETY: A valid C string.
    let fd = unsafe { libc::open(c.as_ptr(), flags) };
    if fd < 0 {
        return Err(format!("open {path}: errno {}", errno()));
    }
    Ok(fd)
}

pub fn close(fd: RawFd) {
    // SAFETY: Closing a descriptor the caller owns.
    unsafe { libc::close(fd) };
}

/// SG_IO with raw addresses; Err(-errno) when the ioctl fails.
pub fn sg_io_raw(
    fd: RawFd,
    cdb: u64,
    cdb_len: u8,
    dir: SgDir,
    data: u64,
    len: u32,
) -> Result<SgIoHdr, i32> {
    sg_io_hdr(fd, hdr(cdb, cdb_len, dir, data, len))
}

/// A v3 header for a command at `cdb` moving `len` bytes at `data`.
fn hdr(cdb: u64, cdb_len: u8, dir: SgDir, data: u64, len: u32) -> SgIoHdr {
    SgIoHdr {
        interface_id: b'S' as i32,
        dxfer_direction: dir.raw(),
        cmd_len: cdb_len,
        dxfer_len: len,
        dxferp: data,
        cmdp: cdb,
        timeout: 60_000,
        ..Default::default()
    }
}

fn sg_io_hdr(fd: RawFd, mut h: SgIoHdr) -> Result<SgIoHdr, i32> {
    // SAFETY: `h` is a valid sg_io_hdr; the addresses in it are the caller's.
    let r = unsafe { libc::ioctl(fd, SG_IO as libc::c_ulong, &mut h as *mut SgIoHdr) };
    if r < 0 {
        return Err(-errno());
    }
    Ok(h)
}

/// SG_IO into/from `data` with a sense buffer.
pub fn sg_io(
    fd: RawFd,
    cdb: &[u8],
    dir: SgDir,
    data: &mut [u8],
    sense: &mut [u8],
) -> Result<SgIoHdr, i32> {
    let h = hdr(
        cdb.as_ptr() as u64,
        cdb.len() as u8,
        dir,
        data.as_mut_ptr() as u64,
        data.len() as u32,
    );
    sg_io_hdr(
        fd,
        SgIoHdr {
            mx_sb_len: sense.len() as u8,
            sbp: sense.as_mut_ptr() as u64,
            ..h
        },
    )
}

pub fn rw10(op: u8, lba: u32, blocks: u16) -> [u8; 10] {
    let mut c = [0u8; 10];
    c[0] = op;
    c[2..6].copy_from_slice(&lba.to_be_bytes());
    c[7..9].copy_from_slice(&blocks.to_be_bytes());
    c
}

/// READ CAPACITY(10): blocks and block size.
pub fn read_capacity(fd: RawFd) -> Result<(u64, usize), String> {
    let mut cdb = [0u8; 10];
    cdb[0] = 0x25;
    let mut buf = [0u8; 8];
    // Retry once past a unit attention.
    for _ in 0..3 {
        let h = sg_io(fd, &cdb, SgDir::From, &mut buf, &mut [0; 32])
            .map_err(|e| format!("SG_IO: {e}"))?;
        if h.status == 0 {
            let last = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
            let bs = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
            return Ok((u64::from(last) + 1, bs as usize));
        }
    }
    Err("READ CAPACITY failed".into())
}

pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 9) as u8)
        .collect()
}

fn read_attr(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("{path}: {e}"))
}

fn write_attr(path: &str, val: &str) -> std::io::Result<()> {
    std::fs::write(path, val)
}

/// Sets a scsi_debug attribute, waiting out EBUSY while commands run.
fn sdebug_set(attr: &str, val: &str) -> Result<(), String> {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        match write_attr(&format!("{SDEBUG}{attr}"), val) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < end => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => return Err(format!("scsi_debug {attr}={val}: {e}")),
        }
    }
}

fn kernel_hz() -> u64 {
    let Ok(k) = std::env::var("RSG_KERNEL") else {
        return 250;
    };
    let Ok(cfg) = std::fs::read_to_string(format!("{k}/.config")) else {
        return 250;
    };
    cfg.lines()
        .find_map(|l| l.strip_prefix("CONFIG_HZ=").and_then(|v| v.parse().ok()))
        .unwrap_or(250)
}

/// scsi_debug's delays, saved before the first change and put back.
#[derive(Default)]
pub struct Sdebug {
    saved: Option<(String, String)>,
}

impl Sdebug {
    /// Delayed commands (READ, WRITE, TEST UNIT READY) now take `ms`.
    pub fn slow(&mut self, ms: u64) -> Result<(), String> {
        if self.saved.is_none() {
            self.saved = Some((
                read_attr(&format!("{SDEBUG}delay"))?,
                read_attr(&format!("{SDEBUG}ndelay"))?,
            ));
        }
        if ms < 1000 {
            sdebug_set("ndelay", &(ms * 1_000_000).to_string())
        } else {
            sdebug_set("delay", &(ms * kernel_hz() / 1000).to_string())
        }
    }

    pub fn restore(&mut self) -> Result<(), String> {
        let Some((delay, ndelay)) = self.saved.take() else {
            return Ok(());
        };
        if ndelay.parse::<i64>().unwrap_or(0) > 0 {
            sdebug_set("ndelay", &ndelay)
        } else {
            sdebug_set("ndelay", "0")?;
            sdebug_set("delay", &delay)
        }
    }
}

impl Drop for Sdebug {
    fn drop(&mut self) {
        let _ = self.restore();
    }
}

/// Commands the LU has not answered.
pub fn lu_busy(hctl: &str) -> Result<u64, String> {
    read_attr(&format!("/sys/class/scsi_device/{hctl}/device/device_busy"))?
        .parse()
        .map_err(|_| "device_busy unreadable".into())
}

/// Waits up to `ms` for the LU to have nothing in flight.
pub fn wait_idle(hctl: &str, ms: u64) -> Result<bool, String> {
    let end = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < end {
        if lu_busy(hctl)? == 0 {
            return Ok(true);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(false)
}

/// Opens `path` O_EXCL, which only succeeds once every other open file of
/// the device is released.
pub fn wait_excl(path: &str, ms: u64) -> Result<RawFd, String> {
    let end = Instant::now() + Duration::from_millis(ms);
    loop {
        match open_dev(path, libc::O_RDWR | libc::O_EXCL | libc::O_NONBLOCK) {
            Ok(fd) => return Ok(fd),
            Err(e) if Instant::now() >= end => return Err(format!("still held: {e}")),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

pub fn lu_delete(hctl: &str) -> Result<(), String> {
    write_attr(&format!("/sys/class/scsi_device/{hctl}/device/delete"), "1")
        .map_err(|e| format!("delete: {e}"))
}

/// Rescans the LU's host and waits for both nodes.
pub fn lu_rescan(hctl: &str) -> Result<(), String> {
    let host: u32 = hctl
        .split(':')
        .next()
        .and_then(|h| h.parse().ok())
        .ok_or("bad hctl")?;
    write_attr(&format!("/sys/class/scsi_host/host{host}/scan"), "- - -")
        .map_err(|e| format!("scan: {e}"))?;
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end {
        let dir = format!("/sys/class/scsi_device/{hctl}/device/");
        let has = |c: &str| {
            std::fs::read_dir(format!("{dir}{c}"))
                .map(|mut d| d.next().is_some())
                .unwrap_or(false)
        };
        if has("scsi_rsg") && has("scsi_generic") {
            std::thread::sleep(Duration::from_millis(300));
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("LU did not come back".into())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_SYS_RAWIO: u32 = 17;

/// Drops (or raises back) CAP_SYS_RAWIO from this thread's effective set.
pub fn drop_rawio(drop: bool) -> Result<(), String> {
    let mut h = CapHeader {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut d = [CapData::default(); 2];
    // SAFETY: Valid header and two data entries (version 3).
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut h as *mut CapHeader, d.as_mut_ptr()) };
    ensure!(r == 0, "capget: {}", errno());
    if drop {
        d[0].effective &= !(1 << CAP_SYS_RAWIO);
    } else {
        d[0].effective |= d[0].permitted & (1 << CAP_SYS_RAWIO);
    }
    // SAFETY: As above.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut h as *mut CapHeader, d.as_ptr()) };
    ensure_eq!(r, 0);
    Ok(())
}

/// Page-aligned memory, zeroed.
pub struct AlignedBuf {
    ptr: *mut u8,
    len: usize,
}

impl AlignedBuf {
    pub fn new(len: usize) -> Result<Self, String> {
        let mut p: *mut libc::c_void = std::ptr::null_mut();
        // SAFETY: Valid out pointer, power-of-two alignment.
        let r = unsafe { libc::posix_memalign(&mut p, 4096, len) };
        ensure_eq!(r, 0);
        // SAFETY: Fresh allocation of `len` bytes.
        unsafe { std::ptr::write_bytes(p.cast::<u8>(), 0, len) };
        Ok(Self { ptr: p.cast(), len })
    }

    pub fn addr(&self) -> u64 {
        self.ptr as u64
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn as_mut(&mut self) -> &mut [u8] {
        // SAFETY: Owned allocation of `len` bytes.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: From posix_memalign.
        unsafe { libc::free(self.ptr.cast()) };
    }
}
