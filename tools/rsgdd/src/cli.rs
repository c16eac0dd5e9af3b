//! Command line: `rsgdd -i INPUT -o OUTPUT [options]`, where each side is a
//! camdd(8)-style list `KIND=VALUE,KEY=VALUE,...`.

use crate::error::{Error, Result};
use crate::pattern::Pattern;
use crate::sg::{CdbSize, Engine};

pub const USAGE: &str = "\
usage: rsgdd -i INPUT -o OUTPUT [-m SIZE] [-r SEED [-l MIN:MAX] [-S SIZE]]
             [-t SEC] [-q] [-v]

Copies data between rsg devices, files, pipes and generated patterns with a
reader and a writer thread. On rsg devices many SCSI READ or WRITE commands
stay queued through rsg's queue interface (RSG_IOQUEUE/RSG_IOGET); other
sides use read(2)/write(2) one block at a time. Data the writer gets is
written strictly in input order; when the block sizes differ the writer
gathers or splits the reader's buffers without copying them.

INPUT and OUTPUT: KIND[=VALUE] then ,KEY=VALUE settings, e.g.
  -i dev=/dev/rsg0,bs=64k,depth=16 -o file=/tmp/out,bs=4k
Kinds:
  dev=PATH        an rsg device: READ/WRITE(10) or (16), block size from
                  READ CAPACITY
  file=PATH       a regular file, block device, pipe or other file; '-' is
                  stdin (input) or stdout (output)
  pattern=NAME    input only: generated data; NAME is zeros, ones, lba
                  (each 512-byte sector stamped with its LBA) or random
                  (seeded, reproducible per sector)
  verify=NAME     output only: check the data against pattern NAME instead
                  of writing it
  sink            output only: discard the data (a read-only benchmark)
Settings:
  bs=SIZE         bytes per I/O (default 64k); on dev a multiple of the
                  device's block size
  offset=SIZE     start SIZE bytes into the side (default 0); on dev a
                  multiple of the block size; on a pipe input, bytes skipped.
                  For pattern and verify: the address the data starts at,
                  which LBA stamps count from (default: the other side's)
  depth=N|auto    dev only: commands kept queued, 1 to 65536 (default 8,
                  at most what RSG_GET_QUEUE_DEPTH allows); auto tries
                  1,2,4,...,256 briefly and keeps the fastest
  cdb=10|16       dev only: force the READ/WRITE CDB size (default: 10-byte
                  when the LBA and length fit)
  engine=E        dev only: how commands are queued: queue (rsg's
                  RSG_IOQUEUE/RSG_IOGET, the default), uring (rsg's io_uring
                  passthrough), or sg (sg's write()/read(), at most 16 in
                  flight; also on sg nodes)
  seed=N          pattern/verify random: the seed (default 1)
  notrunc         file output: do not truncate a regular file at offset
Options:
  -i, --input SPEC        the input (required)
  -o, --output SPEC       the output (required)
  -m, --max SIZE          copy at most SIZE bytes (default: until a side ends;
                          needed when neither side has an end)
  -r, --random SEED       random mode: I/O at seeded random, block-aligned
                          positions within the region instead of in sequence
  -l, --lengths MIN:MAX   random mode: extent lengths between MIN and MAX
                          (default: the input's bs)
  -S, --span SIZE         random mode: positions within the first SIZE bytes
                          of the sides (default: as far as they go, else -m)
  -t, --timeout SEC       SCSI command timeout in seconds (default 60)
  -q, --quiet             no progress line and no summary
  -v, --verbose           describe the setup and the depth probe
  -h, --help              this text
  -V, --version           the version
SIZE: a number (0x for hex) with an optional suffix: b (512), k K KiB (1024),
M MiB, G GiB, T TiB, or kB MB GB TB (powers of 1000).

Summary: bytes, MB/s and, per side, I/Os, IOPS, latency p50/p99/max and
busy time (time with at least one I/O outstanding). A progress line is
shown while stderr is a terminal.

Exit status: 0 done, 1 I/O or SCSI error, 2 bad arguments, 3 verify found
mismatching data, 130 interrupted.
";

/// The largest `bs`: rsg limits one transfer to below 256 MiB, and a
/// few commands of that size already take a lot of memory.
pub const MAX_BS: u64 = 64 << 20;
pub const DEFAULT_BS: usize = 64 << 10;
pub const DEFAULT_DEPTH: u32 = 8;
pub const MAX_DEPTH: u32 = 65536;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InKind {
    Dev(String),
    File(String),
    Pattern(Pattern),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutKind {
    Dev(String),
    File(String),
    Sink,
    Verify(Pattern),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    Fixed(u32),
    Auto,
}

/// One side's settings; `None` means the default, which may depend on the
/// other side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Side<K> {
    pub kind: K,
    pub bs: Option<usize>,
    pub offset: Option<u64>,
    pub depth: Option<Depth>,
    pub cdb: CdbSize,
    pub engine: Engine,
    pub notrunc: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub input: Side<InKind>,
    pub output: Side<OutKind>,
    pub max: Option<u64>,
    pub random: Option<u64>,
    pub lengths: Option<(u64, u64)>,
    pub span: Option<u64>,
    pub timeout_s: u32,
    pub quiet: bool,
    pub verbose: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    Run(Box<Config>),
    Help,
    Version,
}

/// Parses a size: "4096", "64k", "1MiB", "2MB", "8b", "0x1000".
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let (digits, suffix) = if let Some(hex) = t.strip_prefix("0x").or(t.strip_prefix("0X")) {
        let end = hex
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(hex.len());
        let n = u64::from_str_radix(&hex[..end], 16).map_err(|_| format!("bad size '{s}'"))?;
        (n, &hex[end..])
    } else {
        let end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        if end == 0 {
            return Err(format!("bad size '{s}'"));
        }
        let n = t[..end]
            .parse::<u64>()
            .map_err(|_| format!("size '{s}' is too large"))?;
        (n, &t[end..])
    };
    let mult: u64 = match suffix {
        "" => 1,
        "b" => 512,
        "k" | "K" | "KiB" => 1 << 10,
        "M" | "m" | "MiB" => 1 << 20,
        "G" | "g" | "GiB" => 1 << 30,
        "T" | "t" | "TiB" => 1 << 40,
        "kB" | "KB" => 1000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        _ => return Err(format!("bad size '{s}': unknown suffix '{suffix}'")),
    };
    digits
        .checked_mul(mult)
        .ok_or_else(|| format!("size '{s}' is too large"))
}

fn parse_u32(what: &str, s: &str) -> Result<u32> {
    s.trim()
        .parse::<u32>()
        .map_err(|_| Error::usage(format!("{what}: '{s}' is not a number")))
}

fn parse_u64(what: &str, s: &str) -> Result<u64> {
    let t = s.trim();
    let v = match t.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => t.parse::<u64>(),
    };
    v.map_err(|_| Error::usage(format!("{what}: '{s}' is not a number")))
}

fn size_setting(side: &str, key: &str, v: &str) -> Result<u64> {
    parse_size(v).map_err(|e| Error::usage(format!("{side} {key}: {e}")))
}

/// The parts of a side spec before they are checked against its kind.
#[derive(Default)]
struct Raw {
    kind: Option<(String, Option<String>)>,
    bs: Option<usize>,
    offset: Option<u64>,
    depth: Option<Depth>,
    cdb: Option<CdbSize>,
    engine: Option<Engine>,
    seed: Option<u64>,
    notrunc: bool,
    keys: Vec<&'static str>,
}

const KINDS: [&str; 5] = ["dev", "file", "pattern", "verify", "sink"];

fn parse_raw(side: &str, spec: &str) -> Result<Raw> {
    let mut raw = Raw::default();
    if spec.trim().is_empty() {
        return Err(Error::usage(format!("{side}: empty specification")));
    }
    for item in spec.split(',') {
        let (key, val) = match item.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v)),
            None => (item.trim(), None),
        };
        let need = |val: Option<&str>| -> Result<String> {
            match val {
                Some(v) if !v.is_empty() => Ok(v.to_string()),
                _ => Err(Error::usage(format!("{side}: '{key}' needs a value"))),
            }
        };
        if KINDS.contains(&key) {
            if let Some((k, _)) = &raw.kind {
                return Err(Error::usage(format!(
                    "{side}: both '{k}' and '{key}' given; a side has one kind"
                )));
            }
            let v = if key == "sink" {
                if val.is_some() {
                    return Err(Error::usage(format!("{side}: 'sink' takes no value")));
                }
                None
            } else {
                Some(need(val)?)
            };
            raw.kind = Some((key.to_string(), v));
            continue;
        }
        let name: &'static str = match key {
            "bs" => {
                let n = size_setting(side, key, &need(val)?)?;
                if n == 0 || n > MAX_BS {
                    return Err(Error::usage(format!(
                        "{side} bs: must be between 1 and {MAX_BS} bytes"
                    )));
                }
                raw.bs = Some(n as usize);
                "bs"
            }
            "offset" => {
                raw.offset = Some(size_setting(side, key, &need(val)?)?);
                "offset"
            }
            "depth" => {
                let v = need(val)?;
                raw.depth = Some(if v == "auto" {
                    Depth::Auto
                } else {
                    let d = parse_u32(&format!("{side} depth"), &v)?;
                    if d == 0 || d > MAX_DEPTH {
                        return Err(Error::usage(format!(
                            "{side} depth: must be between 1 and {MAX_DEPTH}, or auto"
                        )));
                    }
                    Depth::Fixed(d)
                });
                "depth"
            }
            "cdb" => {
                raw.cdb = Some(match need(val)?.as_str() {
                    "10" => CdbSize::Ten,
                    "16" => CdbSize::Sixteen,
                    v => return Err(Error::usage(format!("{side} cdb: '{v}' is not 10 or 16"))),
                });
                "cdb"
            }
            "engine" => {
                raw.engine = Some(match need(val)?.as_str() {
                    "queue" => Engine::Queue,
                    "uring" => Engine::Uring,
                    "sg" => Engine::Sg,
                    v => {
                        return Err(Error::usage(format!(
                            "{side} engine: '{v}' is not queue, uring or sg"
                        )))
                    }
                });
                "engine"
            }
            "seed" => {
                raw.seed = Some(parse_u64(&format!("{side} seed"), &need(val)?)?);
                "seed"
            }
            "notrunc" => {
                if val.is_some() {
                    return Err(Error::usage(format!("{side}: 'notrunc' takes no value")));
                }
                raw.notrunc = true;
                "notrunc"
            }
            "" => return Err(Error::usage(format!("{side}: empty setting in '{spec}'"))),
            _ => {
                return Err(Error::usage(format!(
                    "{side}: unknown setting '{key}' (see rsgdd --help)"
                )))
            }
        };
        if raw.keys.contains(&name) {
            return Err(Error::usage(format!("{side}: '{name}' given twice")));
        }
        raw.keys.push(name);
    }
    Ok(raw)
}

/// Rejects settings that mean nothing for the side's kind.
fn allow(side: &str, kind: &str, raw: &Raw, allowed: &[&str]) -> Result<()> {
    for k in &raw.keys {
        if !allowed.contains(k) {
            return Err(Error::usage(format!(
                "{side}: '{k}' does not apply to {kind}"
            )));
        }
    }
    Ok(())
}

fn pattern_of(side: &str, name: &str, seed: Option<u64>) -> Result<Pattern> {
    let p = match name {
        "zeros" | "zero" => Pattern::Zeros,
        "ones" => Pattern::Ones,
        "lba" => Pattern::Lba,
        "random" => Pattern::Random(seed.unwrap_or(1)),
        _ => {
            return Err(Error::usage(format!(
                "{side}: unknown pattern '{name}' (zeros, ones, lba or random)"
            )))
        }
    };
    if seed.is_some() && !matches!(p, Pattern::Random(_)) {
        return Err(Error::usage(format!(
            "{side}: 'seed' applies only to pattern random"
        )));
    }
    Ok(p)
}

fn side<K>(raw: &Raw, kind: K) -> Side<K> {
    Side {
        kind,
        bs: raw.bs,
        offset: raw.offset,
        depth: raw.depth,
        cdb: raw.cdb.unwrap_or(CdbSize::Auto),
        engine: raw.engine.unwrap_or(Engine::Queue),
        notrunc: raw.notrunc,
    }
}

fn parse_input(spec: &str) -> Result<Side<InKind>> {
    let s = "-i";
    let raw = parse_raw(s, spec)?;
    let Some((kind, val)) = &raw.kind else {
        return Err(Error::usage(
            "-i: no input kind: give dev=PATH, file=PATH or pattern=NAME",
        ));
    };
    let val = val.clone().unwrap_or_default();
    Ok(match kind.as_str() {
        "dev" => {
            allow(s, "dev", &raw, &["bs", "offset", "depth", "cdb", "engine"])?;
            side(&raw, InKind::Dev(val))
        }
        "file" => {
            allow(s, "file", &raw, &["bs", "offset"])?;
            side(&raw, InKind::File(val))
        }
        "pattern" => {
            allow(s, "pattern", &raw, &["bs", "offset", "seed"])?;
            side(&raw, InKind::Pattern(pattern_of(s, &val, raw.seed)?))
        }
        k => {
            return Err(Error::usage(format!(
                "-i: '{k}' is an output kind; the input is dev, file or pattern"
            )))
        }
    })
}

fn parse_output(spec: &str) -> Result<Side<OutKind>> {
    let s = "-o";
    let raw = parse_raw(s, spec)?;
    let Some((kind, val)) = &raw.kind else {
        return Err(Error::usage(
            "-o: no output kind: give dev=PATH, file=PATH, verify=NAME or sink",
        ));
    };
    let val = val.clone().unwrap_or_default();
    Ok(match kind.as_str() {
        "dev" => {
            allow(s, "dev", &raw, &["bs", "offset", "depth", "cdb", "engine"])?;
            side(&raw, OutKind::Dev(val))
        }
        "file" => {
            allow(s, "file", &raw, &["bs", "offset", "notrunc"])?;
            side(&raw, OutKind::File(val))
        }
        "sink" => {
            allow(s, "sink", &raw, &["bs"])?;
            side(&raw, OutKind::Sink)
        }
        "verify" => {
            allow(s, "verify", &raw, &["bs", "offset", "seed"])?;
            side(&raw, OutKind::Verify(pattern_of(s, &val, raw.seed)?))
        }
        k => {
            return Err(Error::usage(format!(
                "-o: '{k}' is an input kind; the output is dev, file, verify or sink"
            )))
        }
    })
}

/// "MIN:MAX", "MIN-MAX" or one size for both.
fn parse_lengths(s: &str) -> Result<(u64, u64)> {
    let (a, b) = s.split_once([':', '-']).unwrap_or((s, s));
    let min = parse_size(a).map_err(|e| Error::usage(format!("-l: {e}")))?;
    let max = parse_size(b).map_err(|e| Error::usage(format!("-l: {e}")))?;
    if min == 0 || min > max {
        return Err(Error::usage(format!(
            "-l: '{s}' is not MIN:MAX with 0 < MIN <= MAX"
        )));
    }
    Ok((min, max))
}

/// Parses the arguments after the program name.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Action> {
    let mut it = args.into_iter();
    let mut input = None;
    let mut output = None;
    let mut max = None;
    let mut random = None;
    let mut lengths = None;
    let mut span = None;
    let mut timeout_s = 60;
    let mut quiet = false;
    let mut verbose = false;
    while let Some(arg) = it.next() {
        // --name=value and -xVALUE as well as separate words.
        let (opt, inline) = if let Some(long) = arg.strip_prefix("--") {
            match long.split_once('=') {
                Some((n, v)) => (format!("--{n}"), Some(v.to_string())),
                None => (arg.clone(), None),
            }
        } else if arg.starts_with('-') && arg.len() > 2 && arg.is_char_boundary(2) {
            (arg[..2].to_string(), Some(arg[2..].to_string()))
        } else {
            (arg.clone(), None)
        };
        let mut value = |name: &str| -> Result<String> {
            match inline.clone().or_else(|| it.next()) {
                Some(v) => Ok(v),
                None => Err(Error::usage(format!("{name} needs a value"))),
            }
        };
        let flag = |name: &str| -> Result<()> {
            match &inline {
                Some(_) => Err(Error::usage(format!("{name} takes no value"))),
                None => Ok(()),
            }
        };
        match opt.as_str() {
            "-h" | "--help" => return Ok(Action::Help),
            "-V" | "--version" => return Ok(Action::Version),
            "-i" | "--input" => {
                if input.is_some() {
                    return Err(Error::usage("-i given twice"));
                }
                input = Some(parse_input(&value("-i")?)?);
            }
            "-o" | "--output" => {
                if output.is_some() {
                    return Err(Error::usage("-o given twice"));
                }
                output = Some(parse_output(&value("-o")?)?);
            }
            "-m" | "--max" => {
                let v = value("-m")?;
                let n = parse_size(&v).map_err(|e| Error::usage(format!("-m: {e}")))?;
                if n == 0 {
                    return Err(Error::usage("-m: the size must not be 0"));
                }
                max = Some(n);
            }
            "-r" | "--random" => random = Some(parse_u64("-r", &value("-r")?)?),
            "-l" | "--lengths" => lengths = Some(parse_lengths(&value("-l")?)?),
            "-S" | "--span" => {
                let v = value("-S")?;
                let n = parse_size(&v).map_err(|e| Error::usage(format!("-S: {e}")))?;
                if n == 0 {
                    return Err(Error::usage("-S: the span must not be 0"));
                }
                span = Some(n);
            }
            "-t" | "--timeout" => {
                let t = parse_u32("-t", &value("-t")?)?;
                if t == 0 || t > 3600 {
                    return Err(Error::usage("-t: the timeout is 1 to 3600 seconds"));
                }
                timeout_s = t;
            }
            "-q" | "--quiet" => {
                flag("-q")?;
                quiet = true;
            }
            "-v" | "--verbose" => {
                flag("-v")?;
                verbose = true;
            }
            _ if arg.starts_with('-') => {
                return Err(Error::usage(format!(
                    "unknown option '{arg}' (see rsgdd --help)"
                )))
            }
            _ => {
                return Err(Error::usage(format!(
                    "unexpected argument '{arg}' (see rsgdd --help)"
                )))
            }
        }
    }
    let input = input.ok_or_else(|| Error::usage("no input: give -i SPEC (see rsgdd --help)"))?;
    let output =
        output.ok_or_else(|| Error::usage("no output: give -o SPEC, or -o sink to only read"))?;
    if random.is_none() {
        if lengths.is_some() {
            return Err(Error::usage("-l applies only to random mode (-r SEED)"));
        }
        if span.is_some() {
            return Err(Error::usage("-S applies only to random mode (-r SEED)"));
        }
    }
    Ok(Action::Run(Box::new(Config {
        input,
        output,
        max,
        random,
        lengths,
        span,
        timeout_s,
        quiet,
        verbose,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Action::Run(c) => Ok(*c),
            a => panic!("expected a run, got {a:?}"),
        }
    }

    fn usage_err(args: &[&str]) -> String {
        match run(args) {
            Err(Error::Usage(m)) => m,
            other => panic!("expected a usage error for {args:?}, got {other:?}"),
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64k"), Ok(65536));
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("16M"), Ok(16 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("3b"), Ok(1536));
        assert_eq!(parse_size("1kB"), Ok(1000));
        assert_eq!(parse_size("5MB"), Ok(5_000_000));
        assert_eq!(parse_size("0x1000"), Ok(4096));
        assert_eq!(parse_size("0x10k"), Ok(16384));
        assert!(parse_size("").is_err());
        assert!(parse_size("k").is_err());
        assert!(parse_size("12q").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999999999").is_err());
        assert!(parse_size("20000000T").is_err());
    }

    #[test]
    fn camdd_style_sides() {
        let c = run(&[
            "-i",
            "dev=/dev/rsg0,bs=64k,offset=0,depth=16",
            "-o",
            "file=/tmp/out,bs=4k",
            "-m",
            "16M",
        ])
        .unwrap();
        assert_eq!(c.input.kind, InKind::Dev("/dev/rsg0".into()));
        assert_eq!(c.input.bs, Some(65536));
        assert_eq!(c.input.offset, Some(0));
        assert_eq!(c.input.depth, Some(Depth::Fixed(16)));
        assert_eq!(c.output.kind, OutKind::File("/tmp/out".into()));
        assert_eq!(c.output.bs, Some(4096));
        assert_eq!(c.output.depth, None);
        assert_eq!(c.max, Some(16 << 20));
        assert_eq!(c.timeout_s, 60);
    }

    #[test]
    fn kinds_and_settings() {
        let c = run(&["--input=pattern=random,seed=7", "-osink", "-m", "1M"]).unwrap();
        assert_eq!(c.input.kind, InKind::Pattern(Pattern::Random(7)));
        assert_eq!(c.output.kind, OutKind::Sink);
        let c = run(&["-i", "file=-", "-o", "verify=lba,offset=1M", "-q", "-v"]).unwrap();
        assert_eq!(c.input.kind, InKind::File("-".into()));
        assert_eq!(c.output.kind, OutKind::Verify(Pattern::Lba));
        assert_eq!(c.output.offset, Some(1 << 20));
        assert!(c.quiet && c.verbose);
        let c = run(&[
            "-i",
            "dev=/dev/rsg0,depth=auto,cdb=16",
            "-o",
            "dev=/dev/rsg1",
        ])
        .unwrap();
        assert_eq!(c.input.depth, Some(Depth::Auto));
        assert_eq!(c.input.cdb, CdbSize::Sixteen);
        assert_eq!(c.input.engine, Engine::Queue);
        assert_eq!(c.output.cdb, CdbSize::Auto);
        let c = run(&["-i", "pattern=zeros", "-o", "file=/x,notrunc", "-m", "1k"]).unwrap();
        assert!(c.output.notrunc);
        assert_eq!(c.input.kind, InKind::Pattern(Pattern::Zeros));
    }

    #[test]
    fn random_mode() {
        let c = run(&["-i", "dev=/d", "-o", "sink", "-r", "42", "-l", "4k:64k"]).unwrap();
        assert_eq!(c.random, Some(42));
        assert_eq!(c.lengths, Some((4096, 65536)));
        let c = run(&[
            "-i", "dev=/d", "-o", "sink", "-r", "1", "-l", "8k", "-S", "1G",
        ])
        .unwrap();
        assert_eq!(c.lengths, Some((8192, 8192)));
        assert_eq!(c.span, Some(1 << 30));
        assert!(usage_err(&["-i", "dev=/d", "-o", "sink", "-S", "1G"]).contains("-r"));
        assert!(usage_err(&["-i", "dev=/d", "-o", "sink", "-l", "4k"]).contains("-r"));
        assert!(
            usage_err(&["-i", "dev=/d", "-o", "sink", "-r", "1", "-l", "8k:4k"]).contains("MIN")
        );
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse(vec!["--help".to_string()]).unwrap(), Action::Help);
        assert_eq!(
            parse(vec!["-i".into(), "dev=/d".into(), "-h".into()]).unwrap(),
            Action::Help
        );
        assert_eq!(parse(vec!["-V".to_string()]).unwrap(), Action::Version);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        assert!(usage_err(&[]).contains("no input"));
        assert!(usage_err(&["-i", "dev=/d"]).contains("no output"));
        assert!(usage_err(&["-i", "dev=/d,bs=banana", "-o", "sink"]).contains("bs"));
        assert!(usage_err(&["-i", "dev=/d,bs=0", "-o", "sink"]).contains("bs"));
        assert!(usage_err(&["-i", "dev=/d,bs=1G", "-o", "sink"]).contains("bs"));
        assert!(usage_err(&["-i", "dev=/d,depth=0", "-o", "sink"]).contains("depth"));
        assert!(usage_err(&["-i", "dev=/d,depth=x", "-o", "sink"]).contains("depth"));
        assert!(usage_err(&["-i", "file=/f,depth=4", "-o", "sink"]).contains("does not apply"));
        assert!(usage_err(&["-i", "dev=/d,colour=red", "-o", "sink"]).contains("unknown setting"));
        assert!(usage_err(&["-i", "dev=/d,bs=4k,bs=8k", "-o", "sink"]).contains("twice"));
        assert!(usage_err(&["-i", "dev=/d,file=/f", "-o", "sink"]).contains("one kind"));
        assert!(usage_err(&["-i", "dev=", "-o", "sink"]).contains("needs a value"));
        assert!(usage_err(&["-i", "bs=4k", "-o", "sink"]).contains("no input kind"));
        assert!(usage_err(&["-i", "sink", "-o", "sink"]).contains("output kind"));
        assert!(usage_err(&["-i", "dev=/d", "-o", "pattern=lba"]).contains("input kind"));
        assert!(usage_err(&["-i", "pattern=stripes", "-o", "sink"]).contains("unknown pattern"));
        assert!(usage_err(&["-i", "pattern=lba,seed=3", "-o", "sink"]).contains("seed"));
        assert!(usage_err(&["-i", "dev=/d", "-o", "sink=1"]).contains("no value"));
        assert!(usage_err(&["-i", "dev=/d", "-o", "sink", "-m"]).contains("needs a value"));
        assert!(usage_err(&["-i", "dev=/d", "-o", "sink", "-m", "0"]).contains("-m"));
        assert!(usage_err(&["-i", "dev=/d", "-o", "sink", "-t", "0"]).contains("-t"));
        assert!(
            usage_err(&["-i", "dev=/d", "-o", "sink", "--frobnicate"]).contains("unknown option")
        );
        assert!(usage_err(&["-i", "dev=/d", "-o", "sink", "stray"]).contains("unexpected"));
        assert!(usage_err(&["-i", "dev=/d", "-i", "dev=/e", "-o", "sink"]).contains("twice"));
        assert!(usage_err(&["-i", "dev=/d", "-o", "sink", "-qx"]).contains("no value"));
        assert!(usage_err(&["-i", "dev=/d,cdb=12", "-o", "sink"]).contains("cdb"));
        assert!(usage_err(&["-i", "dev=/d,engine=aio", "-o", "sink"]).contains("engine"));
        assert!(usage_err(&["-i", "file=/f,engine=sg", "-o", "sink"]).contains("does not apply"));
    }
}
