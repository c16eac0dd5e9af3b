// SPDX-License-Identifier: GPL-2.0

//! Per-device I/O statistics, like FreeBSD's devstat: commands and bytes by
//! direction, errors, commands in flight and time busy.

use crate::abstractions::time;
use core::fmt::Write;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Counters updated on submission and completion, lock-free.
#[derive(Default)]
pub(crate) struct Stats {
    reads: AtomicU64,
    read_bytes: AtomicU64,
    writes: AtomicU64,
    write_bytes: AtomicU64,
    other: AtomicU64,
    errors: AtomicU64,
    in_flight: AtomicU64,
    /// Milliseconds with a command in flight, up to `stamp`.
    busy_to_stamp: AtomicU64,
    /// When `busy_to_stamp` was last brought up to date, in ms of jiffies.
    stamp: AtomicU32,
}

/// What a completed command moved.
pub(crate) enum Transfer {
    /// Data from the device.
    Read(u64),
    /// Data to the device.
    Write(u64),
    /// No data.
    None,
}

impl Stats {
    /// Counts the time since the last stamp as busy if a command was in
    /// flight, the way the block layer counts `io_ticks`: in jiffies, with
    /// no clock read beyond the one each request makes anyway.
    fn tick(&self, now_ms: u32) {
        let stamp = self.stamp.load(Ordering::Relaxed);
        if now_ms != stamp
            && self
                .stamp
                .compare_exchange(stamp, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            && self.in_flight.load(Ordering::Relaxed) > 0
        {
            self.busy_to_stamp
                .fetch_add(u64::from(now_ms.wrapping_sub(stamp)), Ordering::Relaxed);
        }
    }

    /// A command was started at `now_ms` (ms of jiffies).
    pub(crate) fn start(&self, now_ms: u32) {
        self.tick(now_ms);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// A command ended at `now_ms`; `error` when the device or transport
    /// reported one.
    pub(crate) fn done(&self, now_ms: u32, transfer: Transfer, error: bool) {
        match transfer {
            Transfer::Read(bytes) => {
                self.reads.fetch_add(1, Ordering::Relaxed);
                self.read_bytes.fetch_add(bytes, Ordering::Relaxed);
            }
            Transfer::Write(bytes) => {
                self.writes.fetch_add(1, Ordering::Relaxed);
                self.write_bytes.fetch_add(bytes, Ordering::Relaxed);
            }
            Transfer::None => {
                self.other.fetch_add(1, Ordering::Relaxed);
            }
        }
        if error {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        self.tick(now_ms);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// Busy time so far, including the current busy period.
    fn busy_ms(&self) -> u64 {
        let mut ms = self.busy_to_stamp.load(Ordering::Relaxed);
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            let stamp = self.stamp.load(Ordering::Relaxed);
            ms += u64::from(time::now_ms().wrapping_sub(stamp));
        }
        ms
    }

    /// One line: reads, bytes read, writes, bytes written, commands with no
    /// data, errors, in flight, busy milliseconds.
    pub(crate) fn show(&self, out: &mut impl Write) -> core::fmt::Result {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        writeln!(
            out,
            "{} {} {} {} {} {} {} {}",
            r(&self.reads),
            r(&self.read_bytes),
            r(&self.writes),
            r(&self.write_bytes),
            r(&self.other),
            r(&self.errors),
            r(&self.in_flight),
            self.busy_ms()
        )
    }
}
