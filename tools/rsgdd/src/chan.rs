//! Channels between the reader and writer threads whose receiving end can
//! be polled together with an rsg file: each send also bumps an eventfd,
//! as camdd's threads use kqueue for both I/O completions and each other's
//! requests.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::mpsc;
use std::sync::Arc;

struct EventFd(OwnedFd);

impl EventFd {
    fn new() -> io::Result<Self> {
        // SAFETY: No pointers; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor nobody else owns.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: Writes the 8 bytes of `one`. A full counter (EAGAIN) still
        // leaves the fd readable, which is all a signal needs.
        unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    fn clear(&self) {
        let mut v: u64 = 0;
        // SAFETY: Reads at most 8 bytes into `v`; EAGAIN when not signalled.
        unsafe { libc::read(self.0.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
    }
}

pub struct Sender<T> {
    tx: Option<mpsc::Sender<T>>,
    ev: Arc<EventFd>,
}

pub struct Receiver<T> {
    rx: mpsc::Receiver<T>,
    ev: Arc<EventFd>,
}

pub fn channel<T>() -> io::Result<(Sender<T>, Receiver<T>)> {
    let (tx, rx) = mpsc::channel();
    let ev = Arc::new(EventFd::new()?);
    Ok((
        Sender {
            tx: Some(tx),
            ev: ev.clone(),
        },
        Receiver { rx, ev },
    ))
}

impl<T> Sender<T> {
    /// Sends `v`; `Err(v)` when the receiver is gone.
    pub fn send(&self, v: T) -> Result<(), T> {
        match &self.tx {
            Some(tx) => tx.send(v).map_err(|e| e.0)?,
            None => return Err(v),
        }
        self.ev.signal();
        Ok(())
    }
}

impl<T> Sender<T> {
    /// Sends every item, waking the receiver once: a system call per batch
    /// rather than per item. `Err` when the receiver is gone.
    pub fn send_all(&self, items: impl IntoIterator<Item = T>) -> Result<(), ()> {
        let Some(tx) = &self.tx else { return Err(()) };
        let mut any = false;
        for v in items {
            tx.send(v).map_err(|_| ())?;
            any = true;
        }
        if any {
            self.ev.signal();
        }
        Ok(())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // Close first, then wake the receiver so that it sees the end.
        self.tx = None;
        self.ev.signal();
    }
}

/// What a non-blocking receive found.
pub enum Recv<T> {
    Item(T),
    Empty,
    Closed,
}

impl<T> Receiver<T> {
    /// The descriptor to poll for POLLIN.
    pub fn fd(&self) -> RawFd {
        self.ev.0.as_raw_fd()
    }

    /// Takes the next item without waiting. The eventfd is cleared before the
    /// queue is looked at, so a send after an `Empty` always wakes a poll.
    pub fn try_recv(&self) -> Recv<T> {
        self.ev.clear();
        match self.rx.try_recv() {
            Ok(v) => {
                // More may be queued behind this one; keep the fd readable.
                self.ev.signal();
                Recv::Item(v)
            }
            Err(mpsc::TryRecvError::Empty) => Recv::Empty,
            Err(mpsc::TryRecvError::Disconnected) => Recv::Closed,
        }
    }

    /// Waits up to `ms` for an item.
    pub fn recv_timeout(&self, ms: u64) -> Recv<T> {
        match self.rx.recv_timeout(std::time::Duration::from_millis(ms)) {
            Ok(v) => Recv::Item(v),
            Err(mpsc::RecvTimeoutError::Timeout) => Recv::Empty,
            Err(mpsc::RecvTimeoutError::Disconnected) => Recv::Closed,
        }
    }
}

/// Waits until one of `fds` is readable, a signal arrives or `ms` passes.
pub fn poll_in(fds: &[RawFd], ms: i32) {
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: `p` holds `p.len()` pollfds. Errors (EINTR) and timeouts
    // just return; the caller looks at everything again.
    unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, ms) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_wakes_poll_and_close_is_seen() {
        let (tx, rx) = channel::<u32>().unwrap();
        assert!(matches!(rx.try_recv(), Recv::Empty));
        tx.send(7).unwrap();
        tx.send(8).unwrap();
        let t = std::time::Instant::now();
        poll_in(&[rx.fd()], 5000);
        assert!(t.elapsed().as_secs() < 4);
        assert!(matches!(rx.try_recv(), Recv::Item(7)));
        // Still readable: 8 waits.
        poll_in(&[rx.fd()], 5000);
        assert!(matches!(rx.try_recv(), Recv::Item(8)));
        assert!(matches!(rx.try_recv(), Recv::Empty));
        tx.send_all([1, 2, 3]).unwrap();
        tx.send_all([]).unwrap();
        poll_in(&[rx.fd()], 5000);
        for want in 1..=3 {
            assert!(matches!(rx.try_recv(), Recv::Item(v) if v == want));
        }
        drop(tx);
        poll_in(&[rx.fd()], 5000);
        assert!(matches!(rx.try_recv(), Recv::Closed));
    }
}
