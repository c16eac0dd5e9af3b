//! Per-side statistics: I/O count, bytes, a latency histogram and busy
//! time, and the formatting of the summary and progress line.

use std::time::{Duration, Instant};

/// Sub-buckets per power of two: values are kept to within 1/64 (1.6%).
const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;
const BUCKETS: usize = SUB + (64 - SUB_BITS as usize) * SUB;

/// A log-linear histogram of nanosecond latencies: fixed memory however
/// many I/Os a run makes.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            count: 0,
            max: 0,
        }
    }
}

fn bucket_of(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // >= SUB_BITS
    let sub = (v >> (e - SUB_BITS)) as usize & (SUB - 1);
    SUB + (e - SUB_BITS) as usize * SUB + sub
}

/// The middle of a bucket's range.
fn value_of(b: usize) -> u64 {
    if b < SUB {
        return b as u64;
    }
    let e = ((b - SUB) / SUB) as u32 + SUB_BITS;
    let sub = ((b - SUB) % SUB) as u64;
    let low = (SUB as u64 + sub) << (e - SUB_BITS);
    let width = 1u64 << (e - SUB_BITS);
    low + width / 2
}

impl Histogram {
    pub fn record(&mut self, ns: u64) {
        self.counts[bucket_of(ns)] += 1;
        self.count += 1;
        self.max = self.max.max(ns);
    }

    #[cfg(test)]
    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value below which `p` percent of the samples lie (0 when empty).
    pub fn percentile(&self, p: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((p / 100.0 * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return value_of(b).min(self.max);
            }
        }
        self.max
    }
}

/// Time with at least one I/O outstanding.
#[derive(Default, Clone)]
pub struct Busy {
    since: Option<Instant>,
    total: Duration,
}

impl Busy {
    /// Called as I/Os go in flight.
    pub fn start(&mut self, now: Instant) {
        self.since.get_or_insert(now);
    }

    /// Called when nothing is outstanding any more.
    pub fn stop(&mut self, now: Instant) {
        if let Some(s) = self.since.take() {
            self.total += now.saturating_duration_since(s);
        }
    }

    pub fn total(&self) -> Duration {
        self.total
    }
}

/// What one side did.
#[derive(Default, Clone)]
pub struct SideStats {
    pub ios: u64,
    pub bytes: u64,
    pub latency: Histogram,
    pub busy: Busy,
}

impl SideStats {
    pub fn record(&mut self, bytes: u64, latency: Duration) {
        self.ios += 1;
        self.bytes += bytes;
        self.latency
            .record(latency.as_nanos().min(u128::from(u64::MAX)) as u64);
    }

    /// "2048 I/Os, 4012 IOPS, latency p50 3.9 ms p99 5.1 ms max 6.0 ms, busy 99.2%".
    pub fn line(&self, wall: Duration) -> String {
        let secs = wall.as_secs_f64().max(1e-9);
        let h = &self.latency;
        format!(
            "{} I/Os, {:.0} IOPS, latency p50 {} p99 {} max {}, busy {:.1}%",
            self.ios,
            self.ios as f64 / secs,
            fmt_ns(h.percentile(50.0)),
            fmt_ns(h.percentile(99.0)),
            fmt_ns(h.max()),
            (self.busy.total().as_secs_f64() / secs * 100.0).min(100.0)
        )
    }
}

/// "812 us", "3.9 ms", "1.25 s".
pub fn fmt_ns(ns: u64) -> String {
    let ns = ns as f64;
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.0} us", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.1} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

/// "128.0 MiB".
pub fn fmt_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if b < 1024 {
        return format!("{b} B");
    }
    let mut v = b as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

/// Decimal megabytes per second, as dd reports.
pub fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64().max(1e-9) / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_percentiles() {
        let mut h = Histogram::default();
        assert_eq!(h.percentile(50.0), 0);
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        let p50 = h.percentile(50.0) as f64;
        let p99 = h.percentile(99.0) as f64;
        assert!((p50 / 500_000.0 - 1.0).abs() < 0.02, "{p50}");
        assert!((p99 / 990_000.0 - 1.0).abs() < 0.02, "{p99}");
        assert_eq!(h.max(), 1_000_000);
        assert_eq!(h.percentile(100.0), 1_000_000);
        assert_eq!(h.count(), 1000);
    }

    #[test]
    fn histogram_small_and_huge_values() {
        let mut h = Histogram::default();
        h.record(0);
        h.record(63);
        h.record(u64::MAX);
        assert_eq!(h.percentile(1.0), 0);
        assert_eq!(h.percentile(50.0), 63);
        assert_eq!(h.max(), u64::MAX);
        for v in [64u64, 100, 1 << 20, (1 << 40) + 12345] {
            let got = value_of(bucket_of(v)) as f64;
            assert!((got / v as f64 - 1.0).abs() < 1.0 / 64.0, "{v} -> {got}");
        }
    }

    #[test]
    fn busy_counts_only_outstanding_time() {
        let t0 = Instant::now();
        let mut b = Busy::default();
        b.start(t0);
        b.start(t0 + Duration::from_millis(5)); // already busy
        b.stop(t0 + Duration::from_millis(10));
        b.stop(t0 + Duration::from_millis(20)); // already idle
        b.start(t0 + Duration::from_millis(30));
        b.stop(t0 + Duration::from_millis(35));
        assert_eq!(b.total(), Duration::from_millis(15));
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_ns(500), "500 ns");
        assert_eq!(fmt_ns(812_300), "812 us");
        assert_eq!(fmt_ns(3_940_000), "3.9 ms");
        assert_eq!(fmt_ns(1_250_000_000), "1.25 s");
        assert_eq!(fmt_bytes(100), "100 B");
        assert_eq!(fmt_bytes(128 << 20), "128.0 MiB");
        assert_eq!(fmt_bytes(3 << 29), "1.5 GiB");
        assert!((mb_per_s(100_000_000, Duration::from_secs(2)) - 50.0).abs() < 1e-9);
    }

    #[test]
    fn side_line() {
        let mut s = SideStats::default();
        for _ in 0..10 {
            s.record(4096, Duration::from_millis(2));
        }
        let t0 = Instant::now();
        s.busy.start(t0);
        s.busy.stop(t0 + Duration::from_millis(500));
        let line = s.line(Duration::from_secs(1));
        assert!(
            line.starts_with("10 I/Os, 10 IOPS, latency p50 2.0 ms"),
            "{line}"
        );
        assert!(line.ends_with("busy 50.0%"), "{line}");
    }
}
