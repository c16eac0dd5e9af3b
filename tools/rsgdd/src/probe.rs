//! Automatic queue-depth probing: run each depth 1, 2, 4, ... 256 briefly
//! against the region the copy will use and keep the depth that moves data
//! fastest (the smallest one within 3% of the best, since deeper queues cost
//! latency for nothing once the device is saturated).

use crate::buf::Buf;
use crate::error::{Error, Result};
use crate::rsgdev::{Data, Done, Queue, RsgDev};
use crate::sg::Dir;
use crate::signals;
use crate::stats::{fmt_ns, mb_per_s};
use std::time::{Duration, Instant};

/// How long each depth runs.
const STEP: Duration = Duration::from_millis(250);
/// The deepest queue tried.
const MAX_PROBE_DEPTH: u32 = 256;
/// Depths within this fraction of the best count as equally good.
const GOOD_ENOUGH: f64 = 0.97;

pub struct Step {
    pub depth: u32,
    pub mb_s: f64,
    pub iops: f64,
    pub p99_ns: u64,
}

/// Picks the depth: the smallest whose throughput is within 3% of the best.
pub fn choose(steps: &[Step]) -> u32 {
    let best = steps.iter().map(|s| s.mb_s).fold(0.0, f64::max);
    steps
        .iter()
        .find(|s| s.mb_s >= best * GOOD_ENOUGH)
        .map_or(1, |s| s.depth)
}

/// Probes `dev` with `dir` I/Os of `bs` bytes cycling through
/// `region` bytes from `offset` (writes store zeros there). `limit` is the
/// most the driver allows.
pub fn probe(
    dev: &RsgDev,
    dir: Dir,
    bs: usize,
    offset: u64,
    region: u64,
    limit: u32,
) -> Result<Vec<Step>> {
    let block = u64::from(dev.block);
    let region = region - region % block;
    if region == 0 {
        return Err(Error::usage(format!(
            "{}: depth=auto needs at least one block to probe",
            dev.path
        )));
    }
    let bs = (bs as u64).min(region) as usize;
    let top = limit.clamp(1, MAX_PROBE_DEPTH);
    let bufs: Vec<Buf> = (0..top).map(|_| Buf::new(bs)).collect();
    let mut steps = Vec::new();
    let mut depth = 1;
    while depth <= top {
        steps.push(run_step(dev, dir, &bufs, bs, offset, region, depth)?);
        depth *= 2;
    }
    Ok(steps)
}

fn run_step(
    dev: &RsgDev,
    dir: Dir,
    bufs: &[Buf],
    bs: usize,
    offset: u64,
    region: u64,
    depth: u32,
) -> Result<Step> {
    let block = u64::from(dev.block);
    let mut q: Queue<(usize, u64)> = Queue::new(dev, depth as usize)?;
    let mut free: Vec<usize> = (0..depth as usize).collect();
    let mut next = 0u64;
    let mut bytes = 0u64;
    let mut done: Vec<Done<(usize, u64)>> = Vec::new();
    let start = Instant::now();
    loop {
        if signals::interrupted() {
            q.cancel_all();
            q.drain(Duration::from_secs(5));
            return Err(Error::Interrupted);
        }
        let stopping = start.elapsed() >= STEP && q.stats.ios >= u64::from(depth);
        while !stopping && q.has_room() {
            let Some(i) = free.pop() else { break };
            let len = (bs as u64).min(region - next);
            let data = Data::Buf {
                addr: bufs[i].addr(),
                len: len as usize,
            };
            let lba = (offset + next) / block;
            q.stage(dir, lba, (len / block) as u32, data, (i, len))?;
            next += len;
            if next >= region {
                next = 0;
            }
        }
        if let Err(e) = q.submit().and_then(|()| q.reap(&mut done)) {
            q.drain(Duration::from_secs(5));
            return Err(e);
        }
        let progress = !done.is_empty();
        for d in done.drain(..) {
            free.push(d.user.0);
            bytes += d.user.1;
        }
        if stopping && q.idle() {
            break;
        }
        if !progress {
            q.wait(None, 100);
        }
    }
    let wall = start.elapsed();
    Ok(Step {
        depth,
        mb_s: mb_per_s(bytes, wall),
        iops: q.stats.ios as f64 / wall.as_secs_f64().max(1e-9),
        p99_ns: q.stats.latency.percentile(99.0),
    })
}

/// "1: 120.3 MB/s, 2: 230.9 MB/s, ...".
pub fn describe(steps: &[Step], verbose: bool) -> String {
    steps
        .iter()
        .map(|s| {
            if verbose {
                format!(
                    "{}: {:.1} MB/s {:.0} IOPS p99 {}",
                    s.depth,
                    s.mb_s,
                    s.iops,
                    fmt_ns(s.p99_ns)
                )
            } else {
                format!("{}: {:.1} MB/s", s.depth, s.mb_s)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(depth: u32, mb_s: f64) -> Step {
        Step {
            depth,
            mb_s,
            iops: 0.0,
            p99_ns: 0,
        }
    }

    #[test]
    fn picks_smallest_depth_near_the_best() {
        let s = [
            step(1, 100.0),
            step(2, 190.0),
            step(4, 300.0),
            step(8, 305.0),
            step(16, 298.0),
        ];
        assert_eq!(choose(&s), 4);
        let s = [step(1, 100.0), step(2, 50.0)];
        assert_eq!(choose(&s), 1);
        let s = [step(1, 10.0), step(2, 20.0), step(4, 40.0)];
        assert_eq!(choose(&s), 4);
        assert_eq!(choose(&[]), 1);
    }

    #[test]
    fn description() {
        let s = [step(1, 100.0), step(2, 190.04)];
        assert_eq!(describe(&s, false), "1: 100.0 MB/s, 2: 190.0 MB/s");
    }
}
