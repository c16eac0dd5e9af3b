//! The copy: resolve the two sides, then a reader thread and a writer
//! thread joined by channels. The reader hands over its buffers strictly in
//! order, even when rsg completes its reads out of order; the writer
//! reblocks them into its own writes as scatter/gather lists over those
//! same buffers, and gives each back once every write that covers it is
//! done. The main thread shows progress and prints the summary.

use crate::buf::Buf;
use crate::chan::{self, Receiver, Recv, Sender};
use crate::cli::{self, Config, Depth, InKind, OutKind};
use crate::error::{Error, Result};
use crate::file::{FileIn, FileOut, MAX_IOV};
use crate::pattern::{Pattern, Verifier, SECTOR};
use crate::plan::{Extents, Piece, Reblocker};
use crate::probe;
use crate::rsgdev::{Data, Done, Queue, RsgDev};
use crate::sg::{Dir, SgIovec};
use crate::signals;
use crate::stats::{fmt_bytes, mb_per_s, SideStats};
use std::collections::{BTreeMap, VecDeque};
use std::io::IoSlice;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The most memory the reader's buffers may take.
const MAX_POOL_BYTES: u64 = 1 << 30;
/// How long stopping early waits for commands still in flight.
const DRAIN: Duration = Duration::from_secs(10);
/// How often blocked threads look at the stop flag.
const TICK_MS: i32 = 200;

/// Data on its way from the reader to the writer: `len` bytes of `buf` that
/// belong at stream position `pos`.
struct Chunk {
    pos: u64,
    len: usize,
    buf: Buf,
}

/// What the two threads and the progress line share.
#[derive(Default)]
struct Shared {
    /// Set by a thread that failed, so that the other stops.
    abort: AtomicBool,
    /// Bytes the writer has written, checked or discarded.
    out_bytes: AtomicU64,
}

impl Shared {
    fn stop(&self) -> bool {
        self.abort.load(Ordering::Relaxed) || signals::interrupted()
    }
}

enum Input {
    Dev { dev: RsgDev, depth: u32 },
    File(FileIn),
    Pattern { pattern: Pattern, base: u64 },
}

enum Output {
    Dev { dev: RsgDev, depth: u32 },
    File(FileOut),
    Sink,
    Verify { v: Verifier, base: u64 },
}

/// Everything resolved from the arguments and the opened sides.
struct Setup {
    input: Input,
    in_bs: usize,
    in_offset: u64,
    output: Output,
    out_bs: usize,
    out_offset: u64,
    total: Option<u64>,
    extents: Extents,
    bufs: usize,
    buf_cap: usize,
}

fn warn(msg: &str) {
    eprintln!("rsgdd: {msg}");
}

fn is_tty(fd: i32) -> bool {
    // SAFETY: isatty only looks at the descriptor number.
    unsafe { libc::isatty(fd) == 1 }
}

/// Runs the copy the arguments describe.
pub fn run(cfg: &Config) -> Result<()> {
    signals::install();
    let mut setup = resolve(cfg)?;
    if cfg.verbose {
        describe_setup(&setup);
    }
    let shared = Shared::default();
    let progress = !cfg.quiet && is_tty(2);
    let start = Instant::now();
    let (rres, wres, end) = copy(&mut setup, &shared, progress, start);
    let wall = end.saturating_duration_since(start);
    let error = pick_error(rres.1.as_ref().err(), wres.1.as_ref().err());
    if !cfg.quiet {
        summary(&setup, &shared, wall, &rres.0, &wres.0);
    }
    if let Some(e) = error {
        return Err(e);
    }
    if let Output::Verify { v, .. } = &setup.output {
        if v.bad_sectors > 0 {
            let mut msg = format!(
                "verify {}: {} of {} sectors read differ",
                v.pattern().name(),
                v.bad_sectors,
                v.checked.div_ceil(SECTOR as u64)
            );
            for line in &v.first_bad {
                msg.push_str("\n  ");
                msg.push_str(line);
            }
            return Err(Error::Verify(msg));
        }
    }
    Ok(())
}

/// The error to report when either thread failed: a real failure before an
/// interruption, the reader's before the writer's.
fn pick_error(r: Option<&Error>, w: Option<&Error>) -> Option<Error> {
    match (r, w) {
        (Some(Error::Interrupted), Some(e)) if !matches!(e, Error::Interrupted) => Some(e.clone()),
        (Some(e), _) | (None, Some(e)) => Some(e.clone()),
        (None, None) => None,
    }
}

fn round_up(v: u64, to: u64) -> u64 {
    v.div_ceil(to) * to
}

fn check_dev_side(dev: &RsgDev, side: &str, bs: usize, offset: u64) -> Result<()> {
    let block = u64::from(dev.block);
    if !(bs as u64).is_multiple_of(block) {
        return Err(Error::usage(format!(
            "{side} bs={bs}: not a multiple of {}'s block size ({block} bytes)",
            dev.path
        )));
    }
    if !offset.is_multiple_of(block) {
        return Err(Error::usage(format!(
            "{side} offset={offset}: not a multiple of {}'s block size ({block} bytes)",
            dev.path
        )));
    }
    if offset >= dev.capacity() {
        return Err(Error::usage(format!(
            "{side} offset={offset}: past the end of {} ({} bytes)",
            dev.path,
            dev.capacity()
        )));
    }
    Ok(())
}

/// Caps a requested depth at what the driver allows.
fn fixed_depth(dev: &RsgDev, side: &str, want: u32) -> u32 {
    if want > dev.max_depth {
        warn(&format!(
            "{side} depth {want} capped at {} (the {} engine's limit on {})",
            dev.max_depth,
            dev.engine.name(),
            dev.path
        ));
        return dev.max_depth;
    }
    want
}

/// An opened side: the side, its offset, and how many bytes it holds from
/// there when it has an end.
type Opened<T> = (T, u64, Option<u64>);

fn open_input(cfg: &Config, in_bs: usize) -> Result<Opened<Input>> {
    let off = cfg.input.offset.unwrap_or(0);
    Ok(match &cfg.input.kind {
        InKind::Dev(path) => {
            let dev = RsgDev::open(path, false, cfg.timeout_s, cfg.input.cdb, cfg.input.engine)?;
            check_dev_side(&dev, "-i", in_bs, off)?;
            let bound = dev.capacity() - off;
            (Input::Dev { dev, depth: 0 }, off, Some(bound))
        }
        InKind::File(path) => {
            let f = FileIn::open(path, off)?;
            let bound = f.left;
            (Input::File(f), off, bound)
        }
        InKind::Pattern(p) => {
            // Stamps count from where the data lands on the output.
            let base = cfg.input.offset.or(cfg.output.offset).unwrap_or(0);
            (Input::Pattern { pattern: *p, base }, base, None)
        }
    })
}

fn open_output(cfg: &Config, out_bs: usize, in_offset: u64) -> Result<Opened<Output>> {
    let off = cfg.output.offset.unwrap_or(0);
    Ok(match &cfg.output.kind {
        OutKind::Dev(path) => {
            let dev = RsgDev::open(path, true, cfg.timeout_s, cfg.output.cdb, cfg.output.engine)?;
            check_dev_side(&dev, "-o", out_bs, off)?;
            let bound = dev.capacity() - off;
            (Output::Dev { dev, depth: 0 }, off, Some(bound))
        }
        OutKind::File(path) => {
            let f = FileOut::open(path, off, cfg.output.notrunc)?;
            let bound = f.left;
            (Output::File(f), off, bound)
        }
        OutKind::Sink => (Output::Sink, 0, None),
        OutKind::Verify(p) => {
            // Check the data against the addresses it was read from.
            let base = cfg.output.offset.unwrap_or(in_offset);
            let v = Verifier::new(*p);
            (Output::Verify { v, base }, base, None)
        }
    })
}

/// Bytes a sequential copy moves: `-m`, capped by where the sides end;
/// `None` for a stream input that runs until its end.
fn sequential_total(
    cfg: &Config,
    stream_in: bool,
    in_bound: Option<u64>,
    out_bound: Option<u64>,
) -> Result<Option<u64>> {
    let want = if stream_in {
        cfg.max
    } else {
        match (cfg.max, in_bound) {
            (Some(m), Some(i)) => Some(m.min(i)),
            (m, i) => m.or(i),
        }
    };
    match (want, out_bound) {
        (Some(w), Some(o)) if o < w => {
            warn(&format!(
                "the output ends after {o} bytes; copying {o} of {w} bytes"
            ));
            Ok(Some(o))
        }
        (Some(w), _) => Ok(Some(w)),
        (None, Some(o)) => Ok(Some(o)),
        (None, None) if stream_in => Ok(None),
        (None, None) => Err(Error::usage(
            "the input has no end: give -m SIZE (or an output that ends, such as a device)",
        )),
    }
}

/// Random mode's extents, the span they fall in, and the bytes they move.
fn random_extents(
    cfg: &Config,
    seed: u64,
    in_bs: usize,
    natural: Option<u64>,
    granule: u64,
) -> Result<(Extents, u64, u64)> {
    let span = match (cfg.span, natural) {
        (Some(sp), Some(n)) if sp > n => {
            return Err(Error::usage(format!(
                "-S {sp}: the sides hold only {n} bytes from their offsets"
            )))
        }
        (Some(sp), _) | (None, Some(sp)) => sp,
        (None, None) => cfg.max.ok_or_else(|| {
            Error::usage("random mode (-r) needs -m SIZE, -S SIZE or a side that ends")
        })?,
    };
    let (min, max) = cfg.lengths.unwrap_or((in_bs as u64, in_bs as u64));
    if !min.is_multiple_of(granule) || !max.is_multiple_of(granule) {
        return Err(Error::usage(format!(
            "random mode: extent lengths ({min} to {max}; -l or the input bs) must be multiples of {granule} bytes"
        )));
    }
    if max > span {
        return Err(Error::usage(format!(
            "random mode: extents of up to {max} bytes do not fit the region of {span} bytes"
        )));
    }
    let total = cfg.max.unwrap_or(span);
    if !total.is_multiple_of(granule) {
        return Err(Error::usage(format!(
            "random mode: -m {total} is not a multiple of {granule} bytes"
        )));
    }
    let extents = Extents::random(seed, in_bs as u64, total, span, granule, min, max);
    Ok((extents, span, total))
}

fn resolve(cfg: &Config) -> Result<Setup> {
    let in_bs = cfg.input.bs.unwrap_or(cli::DEFAULT_BS);
    let out_bs = cfg.output.bs.unwrap_or(cli::DEFAULT_BS);
    let (input, in_offset, in_bound) = open_input(cfg, in_bs)?;
    let (output, out_offset, out_bound) = open_output(cfg, out_bs, in_offset)?;
    let stream_in = matches!(&input, Input::File(f) if !f.seekable());
    let stream_out = matches!(&output, Output::File(f) if !f.seekable());
    let in_block = match &input {
        Input::Dev { dev, .. } => u64::from(dev.block),
        _ => 1,
    };
    let out_block = match &output {
        Output::Dev { dev, .. } => u64::from(dev.block),
        _ => 1,
    };

    // Where the reader goes, and what a depth probe may touch: the region
    // the copy itself uses.
    let (extents, total, region) = match cfg.random {
        None => {
            let total = sequential_total(cfg, stream_in, in_bound, out_bound)?;
            (Extents::sequential(in_bs as u64, total), total, total)
        }
        Some(_) if stream_in || stream_out => {
            return Err(Error::usage(
                "random mode (-r) needs positioned I/O; a pipe or stream cannot seek",
            ))
        }
        Some(seed) => {
            let natural = match (in_bound, out_bound) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let granule = (SECTOR as u64).max(in_block).max(out_block);
            let (extents, span, total) = random_extents(cfg, seed, in_bs, natural, granule)?;
            (extents, Some(total), Some(span))
        }
    };

    // A dev output's writes must be whole blocks even at the segment limit.
    if out_block > 1 && (in_bs as u64) * (MAX_IOV as u64 - 2) < out_block {
        return Err(Error::usage(format!(
            "-i bs={in_bs} is too small to gather into {out_block}-byte blocks"
        )));
    }

    let mut setup = Setup {
        input,
        in_bs,
        in_offset,
        output,
        out_bs,
        out_offset,
        total,
        extents,
        bufs: 0,
        buf_cap: round_up(in_bs as u64, in_block) as usize,
    };
    set_depths(&mut setup, cfg, region)?;
    setup.bufs = buffer_count(&setup)?;
    Ok(setup)
}

/// Queue depths: given, default, or probed.
fn set_depths(s: &mut Setup, cfg: &Config, region: Option<u64>) -> Result<()> {
    let default = Depth::Fixed(cli::DEFAULT_DEPTH);
    if let Input::Dev { dev, depth } = &mut s.input {
        *depth = match cfg.input.depth.unwrap_or(default) {
            Depth::Fixed(d) => fixed_depth(dev, "-i", d),
            Depth::Auto => {
                let r = region.unwrap_or(dev.capacity() - s.in_offset);
                auto_depth(dev, Dir::Read, s.in_bs, s.in_offset, r, cfg)?
            }
        };
    }
    if let Output::Dev { dev, depth } = &mut s.output {
        *depth = match cfg.output.depth.unwrap_or(default) {
            Depth::Fixed(d) => fixed_depth(dev, "-o", d),
            Depth::Auto => {
                let Some(r) = region else {
                    return Err(Error::usage(
                        "-o depth=auto needs to know the region it may write: give -m SIZE",
                    ));
                };
                auto_depth(dev, Dir::Write, s.out_bs, s.out_offset, r, cfg)?
            }
        };
    }
    Ok(())
}

/// Enough buffers for the reads in flight plus everything the writer holds:
/// its writes in flight and the one it is gathering, each spanning up to
/// ceil(out_bs / in_bs) + 1 buffers. The reads count twice so that a batch
/// of completions on its way to the writer does not keep the reader from
/// queueing the next batch.
fn buffer_count(s: &Setup) -> Result<usize> {
    let in_depth = match &s.input {
        Input::Dev { depth, .. } => u64::from(*depth),
        _ => 1,
    };
    let out_depth = match &s.output {
        Output::Dev { depth, .. } => u64::from(*depth),
        _ => 1,
    };
    let per_write = (s.out_bs as u64).div_ceil(s.in_bs as u64) + 1;
    let bufs = 2 * in_depth + (out_depth + 1) * per_write + 1;
    let pool = bufs.saturating_mul(s.buf_cap as u64);
    if pool > MAX_POOL_BYTES {
        return Err(Error::usage(format!(
            "these block sizes and depths need {} of buffers (at most {}); lower bs or depth",
            fmt_bytes(pool),
            fmt_bytes(MAX_POOL_BYTES)
        )));
    }
    Ok(bufs as usize)
}

fn auto_depth(
    dev: &RsgDev,
    dir: Dir,
    bs: usize,
    offset: u64,
    region: u64,
    cfg: &Config,
) -> Result<u32> {
    let region = region.min(dev.capacity() - offset);
    let steps = probe::probe(dev, dir, bs, offset, region, dev.max_depth)?;
    let depth = probe::choose(&steps);
    if !cfg.quiet {
        warn(&format!(
            "depth probe on {} ({}, bs {bs}): {}; using depth {depth}",
            dev.path,
            if dir == Dir::Read { "read" } else { "write" },
            probe::describe(&steps, cfg.verbose)
        ));
    }
    Ok(depth)
}

fn in_label(s: &Setup) -> String {
    match &s.input {
        Input::Dev { dev, depth } => format!(
            "dev {} (bs {}, offset {}, depth {depth}, {}-byte blocks)",
            dev.path, s.in_bs, s.in_offset, dev.block
        ),
        Input::File(f) => format!("file {} (bs {}, offset {})", f.label, s.in_bs, s.in_offset),
        Input::Pattern { pattern, base } => {
            format!(
                "pattern {} (bs {}, from byte {base})",
                pattern.name(),
                s.in_bs
            )
        }
    }
}

fn out_label(s: &Setup) -> String {
    match &s.output {
        Output::Dev { dev, depth } => format!(
            "dev {} (bs {}, offset {}, depth {depth}, {}-byte blocks)",
            dev.path, s.out_bs, s.out_offset, dev.block
        ),
        Output::File(f) => format!(
            "file {} (bs {}, offset {})",
            f.label, s.out_bs, s.out_offset
        ),
        Output::Sink => "sink".into(),
        Output::Verify { v, base } => format!("verify {} (from byte {base})", v.pattern().name()),
    }
}

fn describe_setup(s: &Setup) {
    warn(&format!("in:  {}", in_label(s)));
    warn(&format!("out: {}", out_label(s)));
    let total = s
        .total
        .map_or("until the input ends".to_string(), |t| format!("{t} bytes"));
    warn(&format!(
        "copying {total}; {} buffers of {} bytes",
        s.bufs, s.buf_cap
    ));
}

/// Runs the reader and writer threads; the calling thread shows progress.
fn copy(
    s: &mut Setup,
    shared: &Shared,
    progress: bool,
    start: Instant,
) -> (Outcome, Outcome, Instant) {
    let channels = chan::channel::<Chunk>().and_then(|a| Ok((a, chan::channel::<Buf>()?)));
    let ((chunks_tx, chunks_rx), (back_tx, back_rx)) = match channels {
        Ok(c) => c,
        Err(e) => {
            let e = Error::sys("eventfd", e);
            let none = SideStats::default();
            return ((none.clone(), Err(e)), (none, Ok(())), Instant::now());
        }
    };
    let pool: Vec<Buf> = (0..s.bufs).map(|_| Buf::new(s.buf_cap)).collect();
    let extents = std::mem::replace(&mut s.extents, Extents::sequential(1, Some(0)));
    let (in_offset, out_offset, out_bs, total) = (s.in_offset, s.out_offset, s.out_bs, s.total);
    let input = &mut s.input;
    let output = &mut s.output;
    let main = thread::current();
    let main2 = main.clone();
    thread::scope(|sc| {
        let reader = sc.spawn(move || {
            let r = reader(input, in_offset, extents, pool, chunks_tx, back_rx, shared);
            if r.1.is_err() {
                shared.abort.store(true, Ordering::SeqCst);
            }
            let end = Instant::now();
            main.unpark();
            (r, end)
        });
        let writer = sc.spawn(move || {
            let r = writer(output, out_offset, out_bs, chunks_rx, back_tx, shared);
            if r.1.is_err() {
                shared.abort.store(true, Ordering::SeqCst);
            }
            let end = Instant::now();
            main2.unpark();
            (r, end)
        });
        let mut last = Instant::now();
        let mut shown = false;
        while !(reader.is_finished() && writer.is_finished()) {
            // Each thread unparks this one as it ends.
            thread::park_timeout(Duration::from_millis(100));
            if progress && last.elapsed() >= Duration::from_millis(500) {
                last = Instant::now();
                shown = true;
                eprint!("\r{}\x1b[K", progress_line(shared, start.elapsed(), total));
            }
        }
        if shown {
            eprint!("\r\x1b[K");
        }
        let join = |h: thread::ScopedJoinHandle<'_, (Outcome, Instant)>| {
            h.join().unwrap_or_else(|_| {
                let e = Error::Io("internal error: a thread panicked".into());
                ((SideStats::default(), Err(e)), Instant::now())
            })
        };
        let ((r, rend), (w, wend)) = (join(reader), join(writer));
        (r, w, rend.max(wend))
    })
}

fn progress_line(shared: &Shared, elapsed: Duration, total: Option<u64>) -> String {
    let done = shared.out_bytes.load(Ordering::Relaxed);
    let pct = total.filter(|&t| t > 0).map_or(String::new(), |t| {
        format!(" ({:.0}%)", done as f64 * 100.0 / t as f64)
    });
    format!(
        "rsgdd: {}{pct}, {:.1} MB/s, {:.1} s",
        fmt_bytes(done),
        mb_per_s(done, elapsed),
        elapsed.as_secs_f64()
    )
}

fn summary(s: &Setup, shared: &Shared, wall: Duration, rstats: &SideStats, wstats: &SideStats) {
    let bytes = shared.out_bytes.load(Ordering::Relaxed);
    eprintln!(
        "rsgdd: {bytes} bytes ({}) in {:.3} s, {:.1} MB/s",
        fmt_bytes(bytes),
        wall.as_secs_f64(),
        mb_per_s(bytes, wall)
    );
    eprintln!("  in  {}: {}", in_label(s), rstats.line(wall));
    match &s.output {
        Output::Sink => eprintln!("  out sink: data discarded"),
        Output::Verify { v, .. } => eprintln!(
            "  out {}: {} bytes checked, {}",
            out_label(s),
            v.checked,
            if v.bad_sectors == 0 {
                "all match".to_string()
            } else {
                format!("{} sectors differ", v.bad_sectors)
            }
        ),
        _ => eprintln!("  out {}: {}", out_label(s), wstats.line(wall)),
    }
}

// ---- the reader ----

fn reader(
    input: &mut Input,
    offset: u64,
    extents: Extents,
    pool: Vec<Buf>,
    tx: Sender<Chunk>,
    back: Receiver<Buf>,
    shared: &Shared,
) -> Outcome {
    let mut stats = SideStats::default();
    let r = match input {
        Input::Dev { dev, depth } => {
            let mut q = match Queue::new(dev, *depth as usize) {
                Ok(q) => q,
                Err(e) => return (stats, Err(e)),
            };
            let r = read_dev(&mut q, offset, extents, pool, &tx, &back, shared);
            return finish_queue(&mut q, r);
        }
        Input::File(f) => read_sync(
            |pos, buf| f.read(pos, buf),
            extents,
            pool,
            (&tx, &back),
            shared,
            &mut stats,
        ),
        Input::Pattern { pattern, base } => {
            let (p, b) = (*pattern, *base);
            read_sync(
                |pos, buf| {
                    p.fill(b + pos, buf);
                    Ok(buf.len())
                },
                extents,
                pool,
                (&tx, &back),
                shared,
                &mut stats,
            )
        }
    };
    (stats, r)
}

/// After a queue's loop: on an interruption or error, cancel (interruption
/// only) and reap what is still in flight before the buffers go away.
fn finish_queue<T>(q: &mut Queue<'_, T>, r: Result<()>) -> Outcome {
    match r {
        Ok(()) => {}
        Err(Error::Interrupted) => {
            q.cancel_all();
            q.drain(DRAIN);
        }
        Err(_) => q.drain(DRAIN),
    }
    (std::mem::take(&mut q.stats), r)
}

/// Stops a loop: `Err(Interrupted)` on a signal; `Ok` when the other
/// thread failed (its error is the one reported).
fn stopped(shared: &Shared) -> Result<()> {
    if signals::interrupted() {
        Err(Error::Interrupted)
    } else {
        debug_assert!(shared.abort.load(Ordering::Relaxed));
        Ok(())
    }
}

type ReadTag = (u64, Piece, Buf);

/// What a thread did, and how it ended.
type Outcome = (SideStats, Result<()>);

fn read_dev(
    q: &mut Queue<'_, ReadTag>,
    offset: u64,
    mut extents: Extents,
    mut free: Vec<Buf>,
    tx: &Sender<Chunk>,
    back: &Receiver<Buf>,
    shared: &Shared,
) -> Result<()> {
    let (block, fd_back) = (q.block(), back.fd());
    let mut next = extents.next();
    let mut seq = 0u64;
    let mut send_seq = 0u64;
    let mut reorder: BTreeMap<u64, Chunk> = BTreeMap::new();
    let mut done: Vec<Done<ReadTag>> = Vec::new();
    let mut ready: Vec<Chunk> = Vec::new();
    loop {
        if shared.stop() {
            return stopped(shared);
        }
        let mut progress = false;
        loop {
            match back.try_recv() {
                Recv::Item(b) => {
                    free.push(b);
                    progress = true;
                }
                Recv::Empty => break,
                // The writer is gone: it failed and said so.
                Recv::Closed => return Ok(()),
            }
        }
        q.reap(&mut done)?;
        for Done { user: (s, p, buf) } in done.drain(..) {
            let c = Chunk {
                pos: p.pos,
                len: p.len as usize,
                buf,
            };
            reorder.insert(s, c);
            progress = true;
        }
        // Queue the next reads before handing over the finished ones, so
        // that the device is idle as briefly as possible.
        while q.has_room() {
            let Some(p) = next else { break };
            let Some(buf) = free.pop() else { break };
            let blocks = p.len.div_ceil(block);
            let len = (blocks * block) as usize;
            if len > buf.cap() {
                return Err(Error::Io(format!(
                    "internal error: a {len}-byte read into a {}-byte buffer",
                    buf.cap()
                )));
            }
            let data = Data::Buf {
                addr: buf.addr(),
                len,
            };
            let lba = (offset + p.pos) / block;
            q.stage(Dir::Read, lba, blocks as u32, data, (seq, p, buf))?;
            seq += 1;
            next = extents.next();
            progress = true;
        }
        q.submit()?;
        // Strictly in order, whatever order the reads finished in.
        while let Some(c) = reorder.remove(&send_seq) {
            ready.push(c);
            send_seq += 1;
        }
        if tx.send_all(ready.drain(..)).is_err() {
            return Ok(());
        }
        if next.is_none() && q.idle() && reorder.is_empty() {
            return Ok(());
        }
        if !progress {
            q.wait(Some(fd_back), TICK_MS);
        }
    }
}

/// The reader for files and patterns: one read at a time.
fn read_sync(
    mut read: impl FnMut(u64, &mut [u8]) -> Result<usize>,
    extents: Extents,
    mut free: Vec<Buf>,
    (tx, back): (&Sender<Chunk>, &Receiver<Buf>),
    shared: &Shared,
    stats: &mut SideStats,
) -> Result<()> {
    for p in extents {
        let mut buf = loop {
            if shared.stop() {
                return stopped(shared);
            }
            if let Some(b) = free.pop() {
                break b;
            }
            match back.recv_timeout(TICK_MS as u64) {
                Recv::Item(b) => break b,
                Recv::Empty => {}
                Recv::Closed => return Ok(()),
            }
        };
        let want = p.len as usize;
        let t = Instant::now();
        stats.busy.start(t);
        let n = read(p.pos, &mut buf.as_mut_slice()[..want])?;
        let now = Instant::now();
        stats.busy.stop(now);
        if n == 0 {
            break;
        }
        stats.record(n as u64, now - t);
        if tx
            .send(Chunk {
                pos: p.pos,
                len: n,
                buf,
            })
            .is_err()
        {
            return Ok(());
        }
        if n < want {
            break; // the input ended
        }
    }
    Ok(())
}

// ---- the writer ----

fn writer(
    output: &mut Output,
    offset: u64,
    bs: usize,
    rx: Receiver<Chunk>,
    back: Sender<Buf>,
    shared: &Shared,
) -> Outcome {
    let mut stats = SideStats::default();
    let chans = (&rx, &back);
    let r = match output {
        Output::Dev { dev, depth } => {
            let mut q = match Queue::new(dev, *depth as usize) {
                Ok(q) => q,
                Err(e) => return (stats, Err(e)),
            };
            let r = write_dev(&mut q, offset, bs, &rx, &back, shared);
            return finish_queue(&mut q, r);
        }
        Output::File(f) => write_sync(|pos, iov| f.write(pos, iov), bs, chans, shared, &mut stats),
        Output::Sink => write_sync(|_, _| Ok(()), bs, chans, shared, &mut stats),
        Output::Verify { v, base } => {
            let b = *base;
            write_sync(
                |pos, iov| {
                    let mut at = b + pos;
                    for s in iov {
                        v.check(at, s);
                        at += s.len() as u64;
                    }
                    Ok(())
                },
                bs,
                chans,
                shared,
                &mut stats,
            )
        }
    };
    (stats, r)
}

/// A reader buffer the writer holds, and how many of its writes covering
/// it are still in flight.
struct Held {
    buf: Buf,
    pending: u32,
}

/// A write in flight: the chunks it covers and its data bytes.
struct WriteTag {
    first: u64,
    last: u64,
    len: usize,
}

fn write_dev(
    q: &mut Queue<'_, WriteTag>,
    offset: u64,
    bs: usize,
    rx: &Receiver<Chunk>,
    back: &Sender<Buf>,
    shared: &Shared,
) -> Result<()> {
    let block = q.block();
    // One iovec stays free for the padding of a last, partial block.
    let mut rb = Reblocker::new(bs, block as usize, MAX_IOV - 1);
    let mut held: VecDeque<Held> = VecDeque::new();
    let mut base = 0u64; // sequence number of held[0]
    let zeros = Buf::new(block as usize);
    let mut eof = false;
    let mut done: Vec<Done<WriteTag>> = Vec::new();
    loop {
        if shared.stop() {
            return stopped(shared);
        }
        let mut progress = false;
        while !eof {
            match rx.try_recv() {
                Recv::Item(c) => {
                    rb.push(c.pos, c.len);
                    held.push_back(Held {
                        buf: c.buf,
                        pending: 0,
                    });
                    progress = true;
                }
                Recv::Empty => break,
                Recv::Closed => {
                    if shared.stop() {
                        return stopped(shared);
                    }
                    eof = true;
                    progress = true;
                }
            }
        }
        while q.has_room() {
            let Some(w) = rb.next(eof) else { break };
            let (Some(first), Some(last)) = (w.segs.first(), w.segs.last()) else {
                continue;
            };
            let (first, last) = (first.seq, last.seq);
            let mut iov = Vec::with_capacity(w.segs.len() + 1);
            for s in &w.segs {
                let h = &mut held[(s.seq - base) as usize];
                h.pending += 1;
                iov.push(SgIovec {
                    base: h.buf.addr() + s.off,
                    len: s.len,
                });
            }
            if w.pad > 0 {
                iov.push(SgIovec {
                    base: zeros.addr(),
                    len: w.pad,
                });
            }
            let addr = offset + w.pos;
            let bytes = (w.len + w.pad) as u64;
            if !addr.is_multiple_of(block) || !bytes.is_multiple_of(block) {
                return Err(Error::Io(format!(
                    "internal error: unaligned write of {bytes} bytes at byte {addr}"
                )));
            }
            // One piece goes as a plain buffer, several as an iovec list.
            let data = if iov.len() == 1 {
                Data::Buf {
                    addr: iov[0].base,
                    len: iov[0].len,
                }
            } else {
                Data::Iov(iov)
            };
            let tag = WriteTag {
                first,
                last,
                len: w.len,
            };
            q.stage(Dir::Write, addr / block, (bytes / block) as u32, data, tag)?;
            progress = true;
        }
        q.submit()?;
        q.reap(&mut done)?;
        for d in done.drain(..) {
            for s in d.user.first..=d.user.last {
                held[(s - base) as usize].pending -= 1;
            }
            shared
                .out_bytes
                .fetch_add(d.user.len as u64, Ordering::Relaxed);
            progress = true;
        }
        // Give back every buffer that is wholly written.
        let mut n = 0;
        while held
            .get(n)
            .is_some_and(|h| base + (n as u64) < rb.consumed_below() && h.pending == 0)
        {
            n += 1;
        }
        base += n as u64;
        let _ = back.send_all(held.drain(..n).map(|h| h.buf));
        if eof && rb.is_empty() && q.idle() {
            return Ok(());
        }
        if !progress {
            q.wait((!eof).then(|| rx.fd()), TICK_MS);
        }
    }
}

/// The writer for files, the sink and verify: one write at a time, data
/// gathered with writev-style slices over the reader's buffers.
fn write_sync(
    mut write: impl FnMut(u64, &[IoSlice<'_>]) -> Result<()>,
    bs: usize,
    (rx, back): (&Receiver<Chunk>, &Sender<Buf>),
    shared: &Shared,
    stats: &mut SideStats,
) -> Result<()> {
    let mut rb = Reblocker::new(bs, 1, MAX_IOV);
    let mut held: VecDeque<Buf> = VecDeque::new();
    let mut base = 0u64;
    let mut eof = false;
    loop {
        if shared.stop() {
            return stopped(shared);
        }
        if !eof {
            match rx.recv_timeout(TICK_MS as u64) {
                Recv::Item(c) => {
                    rb.push(c.pos, c.len);
                    held.push_back(c.buf);
                }
                Recv::Empty => continue,
                Recv::Closed => {
                    if shared.stop() {
                        return stopped(shared);
                    }
                    eof = true;
                }
            }
        }
        while let Some(w) = rb.next(eof) {
            let slices: Vec<IoSlice<'_>> = w
                .segs
                .iter()
                .map(|s| {
                    IoSlice::new(&held[(s.seq - base) as usize].as_slice()[s.off..s.off + s.len])
                })
                .collect();
            let t = Instant::now();
            stats.busy.start(t);
            write(w.pos, &slices)?;
            let now = Instant::now();
            stats.busy.stop(now);
            stats.record(w.len as u64, now - t);
            shared.out_bytes.fetch_add(w.len as u64, Ordering::Relaxed);
        }
        let n = ((rb.consumed_below() - base) as usize).min(held.len());
        base += n as u64;
        let _ = back.send_all(held.drain(..n));
        if eof && rb.is_empty() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(args: &str) -> Config {
        match cli::parse(args.split_whitespace().map(String::from)) {
            Ok(cli::Action::Run(c)) => *c,
            other => panic!("{args}: {other:?}"),
        }
    }

    fn tmp(name: &str) -> String {
        let dir = std::env::temp_dir();
        format!(
            "{}/rsgdd-engine-{}-{name}",
            dir.display(),
            std::process::id()
        )
    }

    #[test]
    fn sequential_totals() {
        let c = cfg("-i dev=/d -o sink");
        assert_eq!(
            sequential_total(&c, false, Some(100), None).unwrap(),
            Some(100)
        );
        // The output's end caps the copy.
        assert_eq!(
            sequential_total(&c, false, Some(100), Some(60)).unwrap(),
            Some(60)
        );
        let c = cfg("-i dev=/d -o sink -m 50");
        assert_eq!(
            sequential_total(&c, false, Some(100), None).unwrap(),
            Some(50)
        );
        assert_eq!(
            sequential_total(&c, false, Some(30), None).unwrap(),
            Some(30)
        );
        // A pipe runs to its end unless -m or the output stops it.
        let c = cfg("-i file=- -o sink");
        assert_eq!(sequential_total(&c, true, None, None).unwrap(), None);
        assert_eq!(sequential_total(&c, true, None, Some(9)).unwrap(), Some(9));
        // A pattern never ends.
        let c = cfg("-i pattern=zeros -o sink");
        assert!(matches!(
            sequential_total(&c, false, None, None),
            Err(Error::Usage(_))
        ));
    }

    #[test]
    fn random_checks() {
        let c = cfg("-i dev=/d -o sink -r 1 -l 4k:64k -m 1M");
        let (_, span, total) = random_extents(&c, 1, 4096, Some(1 << 30), 512).unwrap();
        assert_eq!((span, total), (1 << 30, 1 << 20));
        let c = cfg("-i dev=/d -o sink -r 1 -S 2G");
        assert!(random_extents(&c, 1, 4096, Some(1 << 30), 512).is_err());
        let c = cfg("-i dev=/d -o sink -r 1 -l 1000:4k");
        assert!(random_extents(&c, 1, 4096, Some(1 << 30), 512).is_err());
        let c = cfg("-i dev=/d -o sink -r 1 -m 1000");
        assert!(random_extents(&c, 1, 4096, Some(1 << 30), 512).is_err());
        let c = cfg("-i pattern=zeros -o sink -r 1");
        assert!(random_extents(&c, 1, 4096, None, 512).is_err());
    }

    #[test]
    fn copy_reblock_and_verify_through_files() {
        let a = tmp("a");
        let b = tmp("b");
        run(&cfg(&format!(
            "-i pattern=lba,bs=3k -o file={a},bs=5k -m 1000000 -q"
        )))
        .unwrap();
        assert_eq!(std::fs::metadata(&a).unwrap().len(), 1_000_000);
        run(&cfg(&format!("-i file={a},bs=7k -o file={b},bs=2k -q"))).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        run(&cfg(&format!("-i file={b},bs=1000 -o verify=lba -q"))).unwrap();
        // Random extents of the file verify too.
        run(&cfg(&format!(
            "-i file={b} -o verify=lba -r 3 -l 512:8k -m 512000 -q"
        )))
        .unwrap();
        // A changed byte is caught.
        let mut data = std::fs::read(&b).unwrap();
        data[4242] ^= 0x40;
        std::fs::write(&b, &data).unwrap();
        match run(&cfg(&format!("-i file={b} -o verify=lba -q"))) {
            Err(Error::Verify(m)) => assert!(m.contains("LBA 8: byte 146 differs"), "{m}"),
            other => panic!("{other:?}"),
        }
        std::fs::remove_file(&a).unwrap();
        std::fs::remove_file(&b).unwrap();
    }

    #[test]
    fn errors_prefer_real_failures() {
        let io = Error::Io("x".into());
        let e = pick_error(Some(&Error::Interrupted), Some(&io));
        assert!(matches!(e, Some(Error::Io(_))));
        let e = pick_error(Some(&io), Some(&Error::Interrupted));
        assert!(matches!(e, Some(Error::Io(_))));
        assert!(pick_error(None, None).is_none());
    }
}
