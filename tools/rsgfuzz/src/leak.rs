//! The leak check: a data-in buffer far larger than what the command
//! returns (TEST UNIT READY moves nothing), filled with 0xa5 by user space,
//! through SG_IO and through write()/read(), on fresh files and on files
//! that just read real data. Whatever comes back past the device's data
//! must be zeros, or (where sg does the same) the same file's own earlier
//! data in its reserve buffer; never anything else.

use crate::exec::errstr;
use crate::gen::RANGE_C;
use crate::sg::*;
use crate::sys::{self, Arena, Fd, CDB_AREA, DATA_AREA, HDR_AREA, SENSE_AREA};
use std::time::{Duration, Instant};

/// The pattern written to range C and read back before the "after a read"
/// cases: never 0 and never 0xa5.
pub fn pattern(i: usize) -> u8 {
    match ((i * 131 + 7) % 251 + 1) as u8 {
        0xa5 => 0x5a,
        b => b,
    }
}

const RESERVE: usize = 32 << 10;
const BIG: usize = 1 << 20;

/// What a buffer holds past the device's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Zeros,
    /// Still user space's 0xa5: nothing was copied there.
    Untouched,
    /// The file's own previous command's data (sg's reserve buffer reuse).
    Stale,
    /// Anything else: bytes that came from somewhere else.
    Other(usize),
    /// The command itself failed.
    Failed,
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Class::Zeros => write!(f, "zeros"),
            Class::Untouched => write!(f, "untouched (0xa5)"),
            Class::Stale => write!(f, "the file's own previous data"),
            Class::Other(n) => write!(f, "FOREIGN BYTES ({n} not zero, 0xa5 or own data)"),
            Class::Failed => write!(f, "command failed"),
        }
    }
}

pub fn classify(buf: &[u8]) -> Class {
    if buf.iter().all(|&b| b == 0) {
        return Class::Zeros;
    }
    if buf.iter().all(|&b| b == 0xa5) {
        return Class::Untouched;
    }
    // Own data is the pattern at the same offsets, as far as the last READ
    // went, and zeros past it (a zeroed reserve).
    let own = buf.iter().enumerate().all(|(i, &b)| {
        if i < RESERVE {
            b == pattern(i) || b == 0
        } else {
            b == 0
        }
    });
    if own {
        return Class::Stale;
    }
    let foreign = buf
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b != 0 && b != 0xa5 && !(i < RESERVE && b == pattern(i)))
        .count();
    Class::Other(foreign)
}

fn cdb10(op: u8, lba: u32, blocks: u16) -> [u8; 10] {
    let mut c = [0u8; 10];
    c[0] = op;
    c[2..6].copy_from_slice(&lba.to_be_bytes());
    c[7..9].copy_from_slice(&blocks.to_be_bytes());
    c
}

/// Stages a v3 header for `cdb` with `len` bytes of data in direction
/// `dir` at the data area (filled with `fill` unless it is data-out).
fn stage(a: &Arena, cdb: &[u8], dir: i32, len: usize, fill: Option<u8>) -> u64 {
    a.put(CDB_AREA, cdb);
    if let Some(f) = fill {
        a.fill(DATA_AREA, len, f);
    }
    let h = SgIoHdr {
        interface_id: 'S' as i32,
        dxfer_direction: dir,
        cmd_len: cdb.len() as u8,
        mx_sb_len: 32,
        dxfer_len: len as u32,
        dxferp: (a.rw + DATA_AREA) as u64,
        cmdp: (a.rw + CDB_AREA) as u64,
        sbp: (a.rw + SENSE_AREA) as u64,
        timeout: 20000,
        ..Default::default()
    };
    a.put(HDR_AREA, &h.to_bytes());
    (a.rw + HDR_AREA) as u64
}

/// One command through SG_IO or write()/read(); the response header.
fn io(
    fd: &Fd,
    a: &Arena,
    cdb: &[u8],
    dir: i32,
    len: usize,
    fill: Option<u8>,
    async_: bool,
) -> Result<SgIoHdr, String> {
    let hp = stage(a, cdb, dir, len, fill) as usize;
    if async_ {
        sys::write(fd.raw(), hp, HDR_LEN).map_err(|e| format!("write: {}", errstr(e)))?;
        let t0 = Instant::now();
        loop {
            match sys::read(fd.raw(), hp, HDR_LEN) {
                Ok(_) => break,
                Err(libc::EAGAIN) if t0.elapsed() < Duration::from_secs(20) => {
                    let _ = sys::poll(fd.raw(), libc::POLLIN, 100);
                }
                Err(e) => return Err(format!("read: {}", errstr(e))),
            }
        }
    } else {
        sys::ioctl(fd.raw(), SG_IO, hp).map_err(|e| format!("SG_IO: {}", errstr(e)))?;
    }
    let h = SgIoHdr::from_bytes(&a.get(HDR_AREA, HDR_LEN)).ok_or("short header")?;
    if h.status != 0 || h.host_status != 0 {
        return Err(format!("status {:#x} host {:#x}", h.status, h.host_status));
    }
    Ok(h)
}

fn open(path: &str) -> Result<Fd, String> {
    Fd::open(path, libc::O_RDWR | libc::O_NONBLOCK)
        .map_err(|e| format!("open {path}: {}", errstr(e)))
}

/// Writes the pattern to range C once.
pub fn prepare(path: &str, a: &Arena) -> Result<(), String> {
    let fd = open(path)?;
    let data: Vec<u8> = (0..RESERVE).map(pattern).collect();
    a.put(DATA_AREA, &data);
    io(
        &fd,
        a,
        &cdb10(0x2a, RANGE_C, (RESERVE / 512) as u16),
        SG_DXFER_TO_DEV,
        RESERVE,
        None,
        false,
    )?;
    Ok(())
}

/// The cases, each on a file of its own: (name, after a read, through
/// write()/read(), length).
pub const CASES: [(&str, bool, bool, usize); 8] = [
    ("after a read, SG_IO, 32 KiB", true, false, RESERVE),
    ("after a read, SG_IO, 1 MiB", true, false, BIG),
    ("after a read, write/read, 32 KiB", true, true, RESERVE),
    ("after a read, write/read, 1 MiB", true, true, BIG),
    ("fresh file, SG_IO, 32 KiB", false, false, RESERVE),
    ("fresh file, SG_IO, 1 MiB", false, false, BIG),
    ("fresh file, write/read, 32 KiB", false, true, RESERVE),
    ("fresh file, write/read, 1 MiB", false, true, BIG),
];

/// Runs one case on `path`: what the TEST UNIT READY left in the buffer.
pub fn run_case(
    path: &str,
    a: &Arena,
    after_read: bool,
    async_: bool,
    len: usize,
) -> Result<Class, String> {
    let fd = open(path)?;
    if after_read {
        io(
            &fd,
            a,
            &cdb10(0x28, RANGE_C, (RESERVE / 512) as u16),
            SG_DXFER_FROM_DEV,
            RESERVE,
            Some(0),
            async_,
        )?;
        let got = a.get(DATA_AREA, RESERVE);
        if got.iter().enumerate().any(|(i, &b)| b != pattern(i)) {
            return Err("READ of the pattern returned other data".to_string());
        }
    }
    let h = io(
        &fd,
        a,
        &[0u8; 6],
        SG_DXFER_FROM_DEV,
        len,
        Some(0xa5),
        async_,
    )?;
    // TEST UNIT READY moves no data: the whole buffer is past it.
    let _ = h;
    Ok(classify(&a.get(DATA_AREA, len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(classify(&[0; 100]), Class::Zeros);
        assert_eq!(classify(&[0xa5; 100]), Class::Untouched);
        let own: Vec<u8> = (0..RESERVE).map(pattern).collect();
        assert_eq!(classify(&own), Class::Stale);
        let mut mixed = own.clone();
        mixed.extend(vec![0; 4096]);
        assert_eq!(classify(&mixed), Class::Stale);
        mixed[RESERVE + 10] = 7;
        assert_eq!(classify(&mixed), Class::Other(1));
        let mut junk = vec![0u8; 64];
        junk[3] = pattern(4);
        assert!(matches!(classify(&junk), Class::Other(1)));
    }

    #[test]
    fn pattern_avoids_the_fill_bytes() {
        assert!((0..1 << 16).all(|i| pattern(i) != 0 && pattern(i) != 0xa5));
    }
}
