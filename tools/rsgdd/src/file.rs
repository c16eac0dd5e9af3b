//! Plain files on either side: regular files and block devices (positioned
//! I/O, pread/pwritev), and pipes, terminals and other streams (read/writev
//! in order). One I/O at a time: the kernel gives these no queue.

use crate::error::{Error, Result};
use crate::signals;
use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Read};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};

/// BLKGETSIZE64: a block device's size in bytes.
const BLKGETSIZE64: u32 = 0x8008_1272;

/// The most iovecs one writev takes (IOV_MAX).
pub const MAX_IOV: usize = 1024;

/// What kind of file, and how big.
enum Kind {
    Regular(u64),
    Block(u64),
    /// Pipes, terminals, character devices: read and written in order.
    Stream,
}

impl Kind {
    fn seekable(&self) -> bool {
        !matches!(self, Kind::Stream)
    }

    fn size(&self) -> Option<u64> {
        match *self {
            Kind::Regular(n) | Kind::Block(n) => Some(n),
            Kind::Stream => None,
        }
    }
}

fn classify(file: &File, path: &str) -> Result<Kind> {
    let meta = file.metadata().map_err(|e| Error::sys(path, e))?;
    let ft = meta.file_type();
    if ft.is_file() {
        return Ok(Kind::Regular(meta.len()));
    }
    if ft.is_block_device() {
        let mut bytes: u64 = 0;
        // SAFETY: BLKGETSIZE64 writes one u64.
        let r = unsafe { libc::ioctl(file.as_raw_fd(), BLKGETSIZE64 as _, &mut bytes) };
        if r < 0 {
            return Err(Error::sys(
                format!("{path}: BLKGETSIZE64"),
                io::Error::last_os_error(),
            ));
        }
        return Ok(Kind::Block(bytes));
    }
    Ok(Kind::Stream)
}

/// A duplicate of stdin or stdout, so that closing it leaves fd 0/1 alone.
fn dup_std(fd: i32, name: &str) -> Result<File> {
    // SAFETY: dup of a descriptor number; the result is checked.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        return Err(Error::sys(name, io::Error::last_os_error()));
    }
    // SAFETY: `new` is a fresh descriptor owned by nobody else.
    Ok(unsafe { File::from_raw_fd(new) })
}

pub struct FileIn {
    pub label: String,
    file: File,
    seekable: bool,
    offset: u64,
    /// Bytes from `offset` to the end, when known.
    pub left: Option<u64>,
}

impl FileIn {
    /// Opens `path` ("-": stdin); a stream input skips `offset` bytes now.
    pub fn open(path: &str, offset: u64) -> Result<Self> {
        let (file, label) = if path == "-" {
            (dup_std(0, "stdin")?, "stdin".to_string())
        } else {
            let f = File::open(path).map_err(|e| Error::sys(path, e))?;
            (f, path.to_string())
        };
        // stdin is read in order from wherever it stands, even when it is
        // a regular file.
        let kind = if path == "-" {
            Kind::Stream
        } else {
            classify(&file, &label)?
        };
        let left = match kind.size() {
            Some(size) if offset > size => {
                return Err(Error::usage(format!(
                    "{label}: offset {offset} is past the end ({size} bytes)"
                )))
            }
            Some(size) => Some(size - offset),
            None => None,
        };
        let mut me = FileIn {
            label,
            file,
            seekable: kind.seekable(),
            offset,
            left,
        };
        if !me.seekable && offset > 0 {
            me.skip(offset)?;
        }
        Ok(me)
    }

    pub fn seekable(&self) -> bool {
        self.seekable
    }

    fn skip(&mut self, mut n: u64) -> Result<()> {
        let mut scratch = vec![0u8; 64 << 10];
        while n > 0 {
            let want = scratch.len().min(n as usize);
            let got = self.read_some(&mut scratch[..want], None)?;
            if got == 0 {
                return Err(Error::Io(format!(
                    "{}: the input ended before offset {}",
                    self.label, self.offset
                )));
            }
            n -= got as u64;
        }
        Ok(())
    }

    fn read_some(&mut self, buf: &mut [u8], at: Option<u64>) -> Result<usize> {
        loop {
            let r = match at {
                Some(pos) => self.file.read_at(buf, pos),
                None => self.file.read(buf),
            };
            match r {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    if signals::interrupted() {
                        return Err(Error::Interrupted);
                    }
                }
                Err(e) => return Err(Error::sys(&self.label, e)),
            }
        }
    }

    /// Fills `buf` with the bytes at stream position `pos` (a stream
    /// ignores `pos`: it is read in order); short only at the end.
    pub fn read(&mut self, pos: u64, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let at = self.seekable.then(|| self.offset + pos + done as u64);
            let n = self.read_some(&mut buf[done..], at)?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }
}

pub struct FileOut {
    pub label: String,
    file: File,
    seekable: bool,
    offset: u64,
    /// For a block device: bytes from `offset` to the end.
    pub left: Option<u64>,
}

impl FileOut {
    /// Opens `path` ("-": stdout), creating a regular file and, unless
    /// `notrunc`, cutting it at `offset` as dd does.
    pub fn open(path: &str, offset: u64, notrunc: bool) -> Result<Self> {
        let (file, label) = if path == "-" {
            (dup_std(1, "stdout")?, "stdout".to_string())
        } else {
            let f = OpenOptions::new()
                .write(true)
                .create(true)
                // Cut at the offset below instead, as dd does.
                .truncate(false)
                .mode(0o666)
                .open(path)
                .map_err(|e| Error::sys(path, e))?;
            (f, path.to_string())
        };
        // stdout is written in order, never at absolute positions that
        // would overwrite what the shell's file already holds.
        let kind = if path == "-" {
            Kind::Stream
        } else {
            classify(&file, &label)?
        };
        if !kind.seekable() && offset > 0 {
            return Err(Error::usage(format!(
                "{label}: offset applies only to regular files and block devices"
            )));
        }
        let left = match kind {
            Kind::Regular(_) => {
                if !notrunc {
                    file.set_len(offset).map_err(|e| Error::sys(&label, e))?;
                }
                None
            }
            Kind::Block(size) if offset > size => {
                return Err(Error::usage(format!(
                    "{label}: offset {offset} is past the end ({size} bytes)"
                )))
            }
            Kind::Block(size) => Some(size - offset),
            Kind::Stream => None,
        };
        Ok(FileOut {
            label,
            file,
            seekable: kind.seekable(),
            offset,
            left,
        })
    }

    pub fn seekable(&self) -> bool {
        self.seekable
    }

    /// Writes the gathered `iov` at stream position `pos` with pwritev (or
    /// writev on a stream), however many calls partial writes take.
    pub fn write(&mut self, pos: u64, iov: &[IoSlice<'_>]) -> Result<()> {
        let mut owned: Vec<IoSlice<'_>> = iov.to_vec();
        let mut slices: &mut [IoSlice<'_>] = &mut owned;
        let mut at = self.offset + pos;
        while !slices.is_empty() {
            let cnt = slices.len().min(MAX_IOV) as i32;
            let fd = self.file.as_raw_fd();
            // IoSlice is ABI-compatible with struct iovec on Unix.
            let ptr = slices.as_ptr() as *const libc::iovec;
            // SAFETY: `cnt` iovecs at `ptr`, each naming live, borrowed bytes.
            let r = unsafe {
                if self.seekable {
                    libc::pwritev(fd, ptr, cnt, at as libc::off_t)
                } else {
                    libc::writev(fd, ptr, cnt)
                }
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted && !signals::interrupted() {
                    continue;
                }
                if e.kind() == io::ErrorKind::Interrupted {
                    return Err(Error::Interrupted);
                }
                return Err(Error::sys(&self.label, e));
            }
            if r == 0 {
                return Err(Error::Io(format!("{}: write wrote nothing", self.label)));
            }
            at += r as u64;
            IoSlice::advance_slices(&mut slices, r as usize);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> String {
        let dir = std::env::temp_dir();
        format!("{}/rsgdd-test-{}-{name}", dir.display(), std::process::id())
    }

    #[test]
    fn gathered_write_then_read_back() {
        let path = tmp("gather");
        let mut out = FileOut::open(&path, 100, false).unwrap();
        let a = [1u8; 3000];
        let b = [2u8; 5000];
        out.write(0, &[IoSlice::new(&a), IoSlice::new(&b)]).unwrap();
        out.write(8000, &[IoSlice::new(&a[..10])]).unwrap();
        drop(out);
        let mut inp = FileIn::open(&path, 100).unwrap();
        assert_eq!(inp.left, Some(8010));
        let mut buf = vec![0u8; 9000];
        assert_eq!(inp.read(0, &mut buf).unwrap(), 8010);
        assert!(buf[..3000].iter().all(|&x| x == 1));
        assert!(buf[3000..8000].iter().all(|&x| x == 2));
        let mut head = [9u8; 100];
        let mut whole = FileIn::open(&path, 0).unwrap();
        assert_eq!(whole.read(0, &mut head).unwrap(), 100);
        assert!(
            head.iter().all(|&x| x == 0),
            "the gap before offset is a hole"
        );
        // Reopening truncates at the offset.
        drop(FileOut::open(&path, 50, false).unwrap());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 50);
        drop(FileOut::open(&path, 10, true).unwrap());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 50);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn offset_past_end_and_missing_file() {
        let path = tmp("short");
        std::fs::write(&path, b"abc").unwrap();
        assert!(matches!(FileIn::open(&path, 4), Err(Error::Usage(_))));
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(FileIn::open(&path, 0), Err(Error::Io(_))));
    }
}
