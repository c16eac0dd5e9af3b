//! rsgfuzz: a seeded, reproducible bad-input fuzzer for rsg. Every entry
//! point (ioctl, write, read, mmap, poll, the queue interface) gets random
//! and deliberately malformed input; kernel-independent invariants are
//! checked, and with --cmp the same operations on sg's node of the same LU
//! must give the same results. See Documentation/rsg-testing.rst.

mod check;
mod exec;
mod gen;
mod leak;
mod regress;
mod sg;
mod sys;

use exec::{retstr, Outcome, Side};
use rsg_uapi::rng;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: rsgfuzz --dev /dev/rsgN [--cmp /dev/sgM] [--seed N] [--iters N]
               [--session N] [--replay N] [--no-queue] [--leak-check] [-v]

  --dev PATH     the rsg node to fuzz
  --cmp PATH     sg's node of the same LU: compare every deterministic
                 operation (return, errno, header, sense, data)
  --seed N       the run's seed (default: from the clock, printed first)
  --iters N      iterations (default 10000)
  --start N      first iteration (default 0); a run of N.. is the same as
                 the tail of a run from 0 at the same seed
  --session N    iterations per open file (default 64)
  --replay N     run the session that holds iteration N, up to N, and print
                 every operation and outcome
  --progress N   print a line every N iterations
  --no-queue     leave rsg's queue interface out (for an sg node as --dev)
  --leak-check   run the leak check only
  -v             print every operation

Exit status: 0 clean, 1 invariant violations, mismatches or a leak, 2 bad
usage, 3 a hang or the device unusable.
";

struct Cfg {
    dev: String,
    cmp: Option<String>,
    seed: u64,
    iters: u64,
    start: u64,
    session: u64,
    replay: Option<u64>,
    progress: u64,
    queue: bool,
    leak: bool,
    verbose: bool,
}

fn parse() -> Result<Option<Cfg>, String> {
    let mut args = std::env::args().skip(1);
    let mut c = Cfg {
        dev: String::new(),
        cmp: None,
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| rng::mix64(d.as_nanos() as u64) % 1_000_000_000)
            .unwrap_or(1),
        iters: 10000,
        start: 0,
        session: 64,
        replay: None,
        progress: 0,
        queue: true,
        leak: false,
        verbose: false,
    };
    let num = |v: Option<String>, what: &str| -> Result<u64, String> {
        let v = v.ok_or(format!("{what} needs a value"))?;
        let v = v.trim();
        let r = if let Some(h) = v.strip_prefix("0x") {
            u64::from_str_radix(h, 16)
        } else {
            v.parse()
        };
        r.map_err(|_| format!("{what}: bad number '{v}'"))
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dev" => c.dev = args.next().ok_or("--dev needs a path")?,
            "--cmp" => c.cmp = Some(args.next().ok_or("--cmp needs a path")?),
            "--seed" => c.seed = num(args.next(), "--seed")?,
            "--iters" => c.iters = num(args.next(), "--iters")?,
            "--start" => c.start = num(args.next(), "--start")?,
            "--session" => c.session = num(args.next(), "--session")?.max(1),
            "--replay" => c.replay = Some(num(args.next(), "--replay")?),
            "--progress" => c.progress = num(args.next(), "--progress")?,
            "--no-queue" => c.queue = false,
            "--leak-check" => c.leak = true,
            "-v" | "--verbose" => c.verbose = true,
            "-h" | "--help" => return Ok(None),
            _ => return Err(format!("unknown argument '{a}'")),
        }
    }
    if c.dev.is_empty() {
        return Err("no --dev".to_string());
    }
    Ok(Some(c))
}

/// Findings of a run.
#[derive(Default)]
struct Tally {
    ops: u64,
    compared: u64,
    violations: u64,
    mismatches: u64,
    sg_notes: u64,
    printed: u64,
    /// rsg's results by entry point: (entry point, "ok" or errno) -> count.
    results: std::collections::BTreeMap<(&'static str, String), u64>,
}

impl Tally {
    fn report(&mut self, line: String) {
        self.printed += 1;
        if self.printed <= 100 {
            println!("{line}");
        } else if self.printed == 101 {
            println!("rsgfuzz: (further findings not printed)");
        }
    }
}

/// The entry point an operation goes through, for the results table.
fn entry(op: &gen::Op) -> &'static str {
    use gen::{Op, Queue};
    match op {
        Op::SgIo(..) => "SG_IO",
        Op::WriteV3(..) => "write(v3)",
        Op::WriteV2(..) => "write(v2)",
        Op::Read(..) => "read",
        Op::Ioctl(..) => "ioctl",
        Op::Mmap(..) => "mmap",
        Op::Poll(..) => "poll",
        Op::Queue(Queue::One(..) | Queue::Batch { .. }) => "queue",
        Op::Queue(Queue::Get(..) | Queue::GetBatch { .. }) => "get",
        Op::Queue(Queue::Cancel { .. }) => "cancel",
        Op::Queue(Queue::Depth(..)) => "depth",
    }
}

fn summary(o: &Outcome) -> String {
    let mut s = retstr(&o.ret);
    if let Some(h) = &o.hdr {
        s += &format!(
            " status {:#x} host {:#x} driver {:#x} sb_len_wr {} resid {} info {:#x}",
            h.status, h.host_status, h.driver_status, h.sb_len_wr, h.resid, h.info
        );
    }
    if !o.sense.is_empty() {
        s += &format!(" sense {:02x?}", &o.sense[..o.sense.len().min(18)]);
    }
    if !o.data.is_empty() {
        s += &format!(" data {:02x?}", &o.data[..o.data.len().min(16)]);
    }
    s
}

/// The open flags of session `n`: mostly read-write, sometimes read-only
/// (sg's command filter applies), always non-blocking so that nothing
/// waits forever.
fn session_flags(seed: u64, n: u64) -> i32 {
    let mut r = rng::Rng::new(rng::mix64(seed ^ 0x5e55_1011) ^ n);
    if r.chance(1, 8) {
        libc::O_RDONLY | libc::O_NONBLOCK
    } else {
        libc::O_RDWR | libc::O_NONBLOCK
    }
}

fn open_sides(cfg: &Cfg, session: u64) -> Result<Vec<Side>, String> {
    let flags = session_flags(cfg.seed, session);
    let mut sides = vec![Side::open("rsg", &cfg.dev, flags, cfg.queue)?];
    if let Some(p) = &cfg.cmp {
        sides.push(Side::open("sg", p, flags, false)?);
    }
    Ok(sides)
}

fn fuzz(cfg: &Cfg, progress: &AtomicU64) -> Result<Tally, String> {
    let mut t = Tally::default();
    let (from, to, verbose) = match cfg.replay {
        Some(n) => (n - n % cfg.session, n + 1, true),
        None => (cfg.start, cfg.start + cfg.iters, cfg.verbose),
    };
    let mut sides: Vec<Side> = Vec::new();
    if cfg.replay.is_none() {
        sides = open_sides(cfg, u64::MAX)?;
        for (name, op) in regress::cases() {
            let outs: Vec<Outcome> = sides.iter_mut().map(|s| s.run(&op)).collect();
            t.ops += 1;
            if verbose {
                println!("regression: {name}: {}", summary(&outs[0]));
            }
            for v in check::check(&sides[0], &op, &outs[0]) {
                t.violations += 1;
                t.report(format!("VIOLATION regression case '{name}': {v}"));
            }
            if outs.len() == 2 && outs[0].no_cmp.is_none() {
                t.compared += 1;
                if let Some(d) = check::compare(&outs[0], &outs[1]) {
                    t.mismatches += 1;
                    t.report(format!(
                        "MISMATCH regression case '{name}': {d}\n  rsg: {}\n  sg:  {}",
                        summary(&outs[0]),
                        summary(&outs[1])
                    ));
                }
            }
        }
        for s in sides.iter_mut() {
            if let Err(e) = s.drain() {
                t.violations += 1;
                t.report(format!(
                    "VIOLATION after the regression cases: {}: {e}",
                    s.name
                ));
            }
        }
        sides.clear();
    }
    for iter in from..to {
        progress.store(iter, Ordering::Relaxed);
        if sides.is_empty() || iter % cfg.session == 0 {
            for s in sides.iter_mut() {
                if let Err(e) = s.drain() {
                    t.violations += 1;
                    t.report(format!(
                        "VIOLATION seed {} iter {iter}: {}: {e}",
                        cfg.seed, s.name
                    ));
                }
            }
            sides.clear();
            sides = open_sides(cfg, iter / cfg.session)?;
            if verbose {
                println!(
                    "# session {} ({:#x})",
                    iter / cfg.session,
                    session_flags(cfg.seed, iter / cfg.session)
                );
            }
        }
        if cfg.progress > 0 && iter > from && iter % cfg.progress == 0 {
            println!(
                "rsgfuzz: iteration {iter}: {} violations, {} mismatches",
                t.violations, t.mismatches
            );
        }
        let op = gen::gen_op(&mut rng::for_iteration(cfg.seed, iter), cfg.queue);
        for s in sides.iter() {
            if let Err(e) = s.quiesce(Duration::from_secs(20)) {
                t.violations += 1;
                t.report(format!(
                    "VIOLATION seed {} iter {iter}: {}: {e}",
                    cfg.seed, s.name
                ));
            }
        }
        let outs: Vec<Outcome> = sides.iter_mut().map(|s| s.run(&op)).collect();
        t.ops += 1;
        let res = match outs[0].ret {
            Some(Ok(_)) => "ok".to_string(),
            Some(Err(e)) => exec::errstr(e),
            None => "-".to_string(),
        };
        *t.results.entry((entry(&op), res)).or_default() += 1;
        if verbose {
            println!("{iter}: {op:?}");
            for (s, o) in sides.iter().zip(&outs) {
                println!("  {}: {}", s.name, summary(o));
            }
        }
        for (i, (s, o)) in sides.iter().zip(&outs).enumerate() {
            for v in check::check(s, &op, o) {
                if i == 0 {
                    t.violations += 1;
                    t.report(format!(
                        "VIOLATION seed {} iter {iter}: {v}\n  op: {op:?}\n  rsg: {}",
                        cfg.seed,
                        summary(o)
                    ));
                } else {
                    t.sg_notes += 1;
                    if verbose {
                        println!("  note: sg too: {v}");
                    }
                }
            }
        }
        if outs.len() == 2 && outs[0].no_cmp.is_none() && check::comparable(&op).is_ok() {
            t.compared += 1;
            if let Some(d) = check::compare(&outs[0], &outs[1]) {
                t.mismatches += 1;
                t.report(format!(
                    "MISMATCH seed {} iter {iter}: {d}\n  op: {op:?}\n  rsg: {}\n  sg:  {}\n  replay: rsgfuzz --dev {} --cmp {} --seed {} --session {} --replay {iter}",
                    cfg.seed,
                    summary(&outs[0]),
                    summary(&outs[1]),
                    cfg.dev,
                    cfg.cmp.as_deref().unwrap_or("-"),
                    cfg.seed,
                    cfg.session
                ));
            }
        }
    }
    for s in sides.iter_mut() {
        if let Err(e) = s.drain() {
            t.violations += 1;
            t.report(format!(
                "VIOLATION seed {} at the end: {}: {e}",
                cfg.seed, s.name
            ));
        }
    }
    Ok(t)
}

/// A plain INQUIRY on a fresh file: the device still works.
fn inquiry_works(path: &str) -> Result<(), String> {
    let mut s = Side::open("final", path, libc::O_RDWR | libc::O_NONBLOCK, false)?;
    let mut cdb = [0u8; 32];
    cdb[0] = 0x12;
    cdb[4] = 96;
    let q = gen::Req {
        hdr: sg::SgIoHdr {
            interface_id: 'S' as i32,
            dxfer_direction: sg::SG_DXFER_FROM_DEV,
            cmd_len: 6,
            mx_sb_len: 32,
            dxfer_len: 96,
            timeout: 20000,
            ..Default::default()
        },
        cdb: gen::Cdb {
            bytes: cdb,
            len: 6,
            dir: sg::SG_DXFER_FROM_DEV,
            xfer: 96,
        },
        cdb_ptr: gen::Ptr::Rw(0),
        sb_ptr: gen::Ptr::Rw(0),
        data_ptr: gen::Ptr::Rw(0),
        iov: Vec::new(),
        fill: 0,
    };
    let o = s.run(&gen::Op::SgIo(gen::Ptr::Rw(0), q));
    match (&o.ret, &o.hdr) {
        (Some(Ok(_)), Some(h))
            if h.status == 0
                && h.host_status == 0
                && o.data.len() == 96
                && o.data[8..16].iter().any(|&b| b != 0) =>
        {
            Ok(())
        }
        _ => Err(format!("INQUIRY on {path}: {}", summary(&o))),
    }
}

fn leak_check(cfg: &Cfg) -> Result<bool, String> {
    let a = sys::Arena::new().map_err(exec::errstr)?;
    leak::prepare(&cfg.dev, &a)?;
    let mut ok = true;
    for (name, after, via_rw, len) in leak::CASES {
        let r = leak::run_case(&cfg.dev, &a, after, via_rw, len).unwrap_or_else(|e| {
            println!("leak: {name}: rsg: {e}");
            leak::Class::Failed
        });
        let s = cfg.cmp.as_ref().map(|p| {
            leak::run_case(p, &a, after, via_rw, len).unwrap_or_else(|e| {
                println!("leak: {name}: sg: {e}");
                leak::Class::Failed
            })
        });
        use leak::Class::*;
        let verdict = match (r, s) {
            (Other(_) | Failed, _) => "FAIL",
            (Stale, _) if !after => "FAIL",
            (Stale, Some(Zeros)) => "FAIL (sg returns zeros)",
            (Untouched, _) => "FAIL (no copy-out)",
            (x, Some(y)) if x != y => "ok (differs from sg)",
            _ => "ok",
        };
        if verdict.starts_with("FAIL") {
            ok = false;
        }
        match s {
            Some(s) => println!("leak: {name}: rsg {r}; sg {s}: {verdict}"),
            None => println!("leak: {name}: rsg {r}: {verdict}"),
        }
    }
    Ok(ok)
}

fn main() -> ExitCode {
    let cfg = match parse() {
        Ok(Some(c)) => c,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("rsgfuzz: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if cfg.leak {
        return match leak_check(&cfg) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("rsgfuzz: leak check: {e}");
                ExitCode::from(3)
            }
        };
    }
    println!(
        "rsgfuzz: seed {} iterations {}..{} dev {} cmp {}",
        cfg.seed,
        cfg.start,
        cfg.start + cfg.iters,
        cfg.dev,
        cfg.cmp.as_deref().unwrap_or("-")
    );
    // The watchdog: a run that stops making progress is a hang.
    let progress = Arc::new(AtomicU64::new(u64::MAX));
    {
        let p = progress.clone();
        let seed = cfg.seed;
        std::thread::spawn(move || {
            let mut last = u64::MAX;
            let mut since = Instant::now();
            loop {
                std::thread::sleep(Duration::from_secs(1));
                let now = p.load(Ordering::Relaxed);
                if now != last {
                    last = now;
                    since = Instant::now();
                } else if since.elapsed() > Duration::from_secs(120) {
                    println!("HANG seed {seed} iter {now}: no progress for 120 s");
                    std::process::exit(3);
                }
            }
        });
    }
    let t0 = Instant::now();
    let t = match fuzz(&cfg, &progress) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("rsgfuzz: {e}");
            return ExitCode::from(3);
        }
    };
    let mut line = String::new();
    let mut last = "";
    for ((e, r), n) in &t.results {
        if *e != last {
            if !line.is_empty() {
                println!("rsgfuzz: {line}");
            }
            line = format!("{e}:");
            last = e;
        }
        line += &format!(" {r} {n}");
    }
    if !line.is_empty() {
        println!("rsgfuzz: {line}");
    }
    let mut unusable = false;
    let mut nodes = vec![cfg.dev.as_str()];
    nodes.extend(cfg.cmp.as_deref());
    for n in nodes {
        if let Err(e) = inquiry_works(n) {
            println!("UNUSABLE {e}");
            unusable = true;
        }
    }
    println!(
        "rsgfuzz: seed {} {} ops, {} compared, {} violations, {} mismatches, {} sg-side notes, {:.1} s",
        cfg.seed,
        t.ops,
        t.compared,
        t.violations,
        t.mismatches,
        t.sg_notes,
        t0.elapsed().as_secs_f64()
    );
    if unusable {
        ExitCode::from(3)
    } else if t.violations + t.mismatches > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
