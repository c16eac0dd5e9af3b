//! Raw system calls with arbitrary (possibly bad) addresses, and the arena
//! of memory the fuzzer points the kernel at.
//!
//! The arena is anonymous memory outside Rust's object model: the kernel
//! writes into it during system calls, and the fuzzer only touches it with
//! raw copies between calls, so no Rust reference ever aliases it.

use std::ffi::CString;
use std::os::fd::RawFd;

/// The errno of the last failing call.
fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// A syscall's result: the return value, or the errno.
pub type SysResult = Result<i64, i32>;

fn check(ret: i64) -> SysResult {
    if ret < 0 {
        Err(errno())
    } else {
        Ok(ret)
    }
}

/// An open file descriptor, closed on drop.
#[derive(Debug)]
pub struct Fd(RawFd);

impl Fd {
    pub fn open(path: &str, flags: i32) -> Result<Fd, i32> {
        let p = CString::new(path).map_err(|_| libc::EINVAL)?;
        // SAFETY: `p` is a valid NUL-terminated string.
        let fd = unsafe { libc::open(p.as_ptr(), flags | libc::O_CLOEXEC) };
        if fd < 0 {
            Err(errno())
        } else {
            Ok(Fd(fd))
        }
    }

    pub fn raw(&self) -> RawFd {
        self.0
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: The descriptor is ours and closed only here.
        unsafe { libc::close(self.0) };
    }
}

/// `ioctl(fd, req, arg)` with `arg` passed as is.
pub fn ioctl(fd: RawFd, req: u32, arg: usize) -> SysResult {
    // SAFETY: Whatever `arg` names is either arena memory (which the kernel
    // may write freely) or an address the kernel must refuse.
    check(unsafe { libc::ioctl(fd, req as libc::c_ulong, arg) } as i64)
}

pub fn write(fd: RawFd, buf: usize, len: usize) -> SysResult {
    // SAFETY: `buf` is arena memory or an address the kernel must refuse.
    check(unsafe { libc::write(fd, buf as *const libc::c_void, len) } as i64)
}

pub fn read(fd: RawFd, buf: usize, len: usize) -> SysResult {
    // SAFETY: `buf` is arena memory or an address the kernel must refuse.
    check(unsafe { libc::read(fd, buf as *mut libc::c_void, len) } as i64)
}

/// `poll()` on one descriptor: the revents, or the errno.
pub fn poll(fd: RawFd, events: i16, timeout_ms: i32) -> Result<i16, i32> {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: One valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    if n < 0 {
        Err(errno())
    } else {
        Ok(p.revents)
    }
}

/// `mmap()`: the address, or the errno.
pub fn mmap(len: usize, prot: i32, flags: i32, fd: RawFd, off: i64) -> Result<usize, i32> {
    // SAFETY: No address hint, so no existing mapping is replaced.
    let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, fd, off) };
    if p == libc::MAP_FAILED {
        Err(errno())
    } else {
        Ok(p as usize)
    }
}

/// Unmaps a mapping made by `mmap` above.
pub fn munmap(addr: usize, len: usize) {
    // SAFETY: Callers pass only mappings of their own that nothing refers to.
    unsafe { libc::munmap(addr as *mut libc::c_void, len) };
}

pub const PAGE: usize = 4096;

/// Where the pieces of a request live in the read-write region.
pub const HDR_AREA: usize = 0;
pub const CDB_AREA: usize = 8 << 10;
pub const SENSE_AREA: usize = 12 << 10;
pub const IOV_AREA: usize = 16 << 10;
pub const DATA_AREA: usize = 64 << 10;
pub const DATA_LEN: usize = 4 << 20;
/// read() buffers, apart from the data buffers their responses fill.
pub const READ_AREA: usize = DATA_AREA + DATA_LEN;
pub const READ_LEN: usize = (1 << 20) + (64 << 10);
/// The last bytes before the guard page: only pointers straddling the end
/// of the region point here, so nothing else sees what they leave.
pub const TAIL_LEN: usize = 64 << 10;
pub const RW_LEN: usize = READ_AREA + READ_LEN + TAIL_LEN;
/// The read-only region (data-in pointed there must fail).
pub const RO_LEN: usize = 2 << 20;

/// One side's memory: a read-write region followed by an inaccessible
/// guard page (so that anything straddling its end faults), a read-only
/// region and a PROT_NONE region.
///
/// # Invariants
///
/// `rw` is a live mapping of `RW_LEN + PAGE` bytes whose last page is
/// PROT_NONE; `ro` of `RO_LEN` bytes PROT_READ; `none` of `PAGE` bytes
/// PROT_NONE; all are unmapped only on drop.
pub struct Arena {
    pub rw: usize,
    pub ro: usize,
    pub none: usize,
}

impl Arena {
    pub fn new() -> Result<Arena, i32> {
        let anon = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
        let rw = mmap(
            RW_LEN + PAGE,
            libc::PROT_READ | libc::PROT_WRITE,
            anon,
            -1,
            0,
        )?;
        // SAFETY: The last page of our own fresh mapping.
        if unsafe { libc::mprotect((rw + RW_LEN) as *mut libc::c_void, PAGE, libc::PROT_NONE) } != 0
        {
            return Err(errno());
        }
        let ro = mmap(RO_LEN, libc::PROT_READ, anon, -1, 0)?;
        let none = mmap(PAGE, libc::PROT_NONE, anon, -1, 0)?;
        Ok(Arena { rw, ro, none })
    }

    /// The end of the read-write region (the guard page's address).
    pub fn rw_end(&self) -> usize {
        self.rw + RW_LEN
    }

    /// Copies `bytes` into the read-write region at `off`; silently clipped
    /// to the region.
    pub fn put(&self, off: usize, bytes: &[u8]) {
        let n = bytes.len().min(RW_LEN.saturating_sub(off));
        // SAFETY: `off..off + n` is inside the read-write region (type
        // invariant), which no Rust reference aliases.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), (self.rw + off) as *mut u8, n) };
    }

    /// Fills `len` bytes at `off` with `val`, clipped to the region.
    pub fn fill(&self, off: usize, len: usize, val: u8) {
        let n = len.min(RW_LEN.saturating_sub(off));
        // SAFETY: As in `put`.
        unsafe { std::ptr::write_bytes((self.rw + off) as *mut u8, val, n) };
    }

    /// Copies `len` bytes out of the read-write region at `off`, clipped.
    pub fn get(&self, off: usize, len: usize) -> Vec<u8> {
        let n = len.min(RW_LEN.saturating_sub(off));
        let mut v = vec![0u8; n];
        // SAFETY: As in `put`.
        unsafe { std::ptr::copy_nonoverlapping((self.rw + off) as *const u8, v.as_mut_ptr(), n) };
        v
    }

    /// A side-independent form of an address: arena offsets tagged by
    /// region, anything else as is.
    pub fn norm(&self, addr: u64) -> u64 {
        let a = addr as usize;
        if a >= self.rw && a < self.rw_end() + PAGE {
            let off = a - self.rw;
            (1 << 62) | off as u64
        } else if a >= self.ro && a < self.ro + RO_LEN {
            (2 << 62) | (a - self.ro) as u64
        } else if a >= self.none && a < self.none + PAGE {
            3 << 62
        } else {
            addr
        }
    }

    /// `bytes` with every 8-byte value that is an address in this side's
    /// memory replaced by its side-independent form: user memory holding
    /// pointers (headers, iovec lists) reaches kernel buffers as data-out
    /// and comes back.
    pub fn norm_bytes(&self, bytes: &mut [u8]) {
        // User addresses have two zero top bytes and one of a few third
        // ones: a cheap test before decoding each position.
        let third: Vec<u8> = [self.rw, self.rw_end(), self.ro, self.none]
            .iter()
            .map(|&a| (a >> 40) as u8)
            .collect();
        let mut i = 0;
        while i + 8 <= bytes.len() {
            if bytes[i + 7] != 0 || bytes[i + 6] != 0 || !third.contains(&bytes[i + 5]) {
                i += 1;
                continue;
            }
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[i..i + 8]);
            let v = u64::from_ne_bytes(w);
            let n = self.norm(v);
            if n != v {
                bytes[i..i + 8].copy_from_slice(&n.to_ne_bytes());
                i += 8;
            } else {
                i += 1;
            }
        }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        munmap(self.rw, RW_LEN + PAGE);
        munmap(self.ro, RO_LEN);
        munmap(self.none, PAGE);
    }
}

/// Reads `len` bytes of a mapping of the device (the reserve buffer).
///
/// # Safety
///
/// `addr..addr + len` must be readable memory of a live mapping.
pub unsafe fn read_mapping(addr: usize, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    // SAFETY: The caller vouches for the source.
    unsafe { std::ptr::copy_nonoverlapping(addr as *const u8, v.as_mut_ptr(), len) };
    v
}

/// Writes `val` over a writable mapping of the device.
///
/// # Safety
///
/// `addr..addr + len` must be writable memory of a live mapping.
pub unsafe fn fill_mapping(addr: usize, len: usize, val: u8) {
    // SAFETY: The caller vouches for the destination.
    unsafe { std::ptr::write_bytes(addr as *mut u8, val, len) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_bytes_become_side_independent() {
        let a = Arena::new().unwrap();
        let b = Arena::new().unwrap();
        let mut x = vec![0xa5u8; 40];
        let mut y = x.clone();
        x[3..11].copy_from_slice(&((a.rw + 0x1234) as u64).to_ne_bytes());
        y[3..11].copy_from_slice(&((b.rw + 0x1234) as u64).to_ne_bytes());
        x[20..28].copy_from_slice(&((a.ro + 8) as u64).to_ne_bytes());
        y[20..28].copy_from_slice(&((b.ro + 8) as u64).to_ne_bytes());
        assert_ne!(x, y);
        a.norm_bytes(&mut x);
        b.norm_bytes(&mut y);
        assert_eq!(x, y);
        // Other values stay as they are.
        let mut z = vec![0x11u8; 16];
        a.norm_bytes(&mut z);
        assert_eq!(z, vec![0x11u8; 16]);
        assert_eq!(a.norm(0xffff_8000_0000_0000), 0xffff_8000_0000_0000);
    }
}
