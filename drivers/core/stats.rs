// SPDX-License-Identifier: GPL-2.0

//! Per-device I/O statistics, like FreeBSD's devstat: commands and bytes by
//! direction, errors, commands in flight and time busy.

use crate::abstractions::time;
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

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
    /// Nanoseconds with at least one command in flight, before `busy_since`.
    busy_ns: AtomicU64,
    /// When the current busy period began.
    busy_since: AtomicU64,
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
    /// A command was started.
    pub(crate) fn start(&self) {
        if self.in_flight.fetch_add(1, Ordering::AcqRel) == 0 {
            self.busy_since.store(time::now_ns(), Ordering::Release);
        }
    }

    /// A command ended; `error` when the device or transport reported one.
    pub(crate) fn done(&self, transfer: Transfer, error: bool) {
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
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            let since = self.busy_since.load(Ordering::Acquire);
            self.busy_ns
                .fetch_add(time::now_ns().saturating_sub(since), Ordering::Relaxed);
        }
    }

    /// Busy time so far, including the current busy period.
    fn busy_ms(&self) -> u64 {
        let mut ns = self.busy_ns.load(Ordering::Relaxed);
        if self.in_flight.load(Ordering::Acquire) > 0 {
            let since = self.busy_since.load(Ordering::Acquire);
            ns += time::now_ns().saturating_sub(since);
        }
        ns / 1_000_000
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
