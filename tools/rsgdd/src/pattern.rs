//! Generated data and its verification. Every pattern is a function of the
//! byte address alone, so any piece can be generated or checked on its own,
//! in any order: that is what lets random mode and reblocking verify.
//!
//! `lba` stamps each 512-byte sector: its sector number (the LBA on a
//! 512-byte-sector disk) as a little-endian u64, the magic "rsgddLBA", then
//! the sector number repeated to the end. `random` fills each sector from a
//! generator seeded by the seed and the sector number.

use crate::rng::{mix64, GOLDEN};
use std::fmt::Write as _;

pub const SECTOR: usize = 512;
pub const LBA_MAGIC: [u8; 8] = *b"rsgddLBA";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    Zeros,
    Ones,
    Lba,
    Random(u64),
}

impl Pattern {
    pub fn name(&self) -> String {
        match self {
            Pattern::Zeros => "zeros".into(),
            Pattern::Ones => "ones".into(),
            Pattern::Lba => "lba".into(),
            Pattern::Random(seed) => format!("random (seed {seed})"),
        }
    }

    /// One whole sector of the pattern.
    fn sector(&self, lba: u64, out: &mut [u8]) {
        debug_assert_eq!(out.len(), SECTOR);
        match *self {
            Pattern::Zeros => out.fill(0),
            Pattern::Ones => out.fill(0xff),
            Pattern::Lba => {
                let word = lba.to_le_bytes();
                for (i, w) in out.chunks_exact_mut(8).enumerate() {
                    w.copy_from_slice(if i == 1 { &LBA_MAGIC } else { &word });
                }
            }
            Pattern::Random(seed) => {
                let mut x = mix64(seed ^ mix64(lba.wrapping_add(GOLDEN)));
                for w in out.chunks_exact_mut(8) {
                    x = x.wrapping_add(GOLDEN);
                    w.copy_from_slice(&mix64(x).to_le_bytes());
                }
            }
        }
    }

    /// Fills `out` with the pattern's bytes at addresses `addr..`.
    pub fn fill(&self, addr: u64, out: &mut [u8]) {
        match self {
            Pattern::Zeros => return out.fill(0),
            Pattern::Ones => return out.fill(0xff),
            _ => {}
        }
        let mut tmp = [0u8; SECTOR];
        let mut done = 0;
        while done < out.len() {
            let a = addr + done as u64;
            let lba = a / SECTOR as u64;
            let skip = (a % SECTOR as u64) as usize;
            let n = (SECTOR - skip).min(out.len() - done);
            if skip == 0 && n == SECTOR {
                self.sector(lba, &mut out[done..done + SECTOR]);
            } else {
                self.sector(lba, &mut tmp);
                out[done..done + n].copy_from_slice(&tmp[skip..skip + n]);
            }
            done += n;
        }
    }
}

/// The verify output: checks data against a pattern and remembers what
/// differed.
pub struct Verifier {
    pattern: Pattern,
    /// Bytes checked.
    pub checked: u64,
    /// Sectors read with at least one wrong byte (a sector read twice in
    /// random mode counts twice).
    pub bad_sectors: u64,
    /// Descriptions of the first few bad sectors.
    pub first_bad: Vec<String>,
    last_bad: Option<u64>,
    expected: Vec<u8>,
}

/// How many bad sectors are described.
const REPORTED: usize = 5;

impl Verifier {
    pub fn new(pattern: Pattern) -> Self {
        Verifier {
            pattern,
            checked: 0,
            bad_sectors: 0,
            first_bad: Vec::new(),
            last_bad: None,
            expected: vec![0; SECTOR],
        }
    }

    pub fn pattern(&self) -> Pattern {
        self.pattern
    }

    /// Checks `data`, which should hold the pattern at addresses `addr..`.
    pub fn check(&mut self, addr: u64, data: &[u8]) {
        let mut done = 0;
        while done < data.len() {
            let a = addr + done as u64;
            let skip = (a % SECTOR as u64) as usize;
            let n = (SECTOR - skip).min(data.len() - done);
            let got = &data[done..done + n];
            let want = &mut self.expected[..n];
            self.pattern.fill(a, want);
            let lba = a / SECTOR as u64;
            // A sector split over two pieces counts once.
            if got != want && self.last_bad != Some(lba) {
                self.last_bad = Some(lba);
                self.bad_sectors += 1;
                if self.first_bad.len() < REPORTED {
                    let at = got.iter().zip(want.iter()).position(|(g, w)| g != w);
                    let byte = skip + at.unwrap_or(0);
                    self.first_bad
                        .push(describe_bad(self.pattern, lba, byte, skip, got));
                }
            }
            done += n;
        }
        self.checked += data.len() as u64;
    }
}

/// "LBA 12: byte 0 differs; the sector is stamped with LBA 99".
fn describe_bad(p: Pattern, lba: u64, byte: usize, skip: usize, got: &[u8]) -> String {
    let mut s = format!("LBA {lba}: byte {byte} differs");
    if p == Pattern::Lba && skip == 0 && got.len() >= 16 {
        let mut stamp = [0u8; 8];
        stamp.copy_from_slice(&got[0..8]);
        if got[8..16] == LBA_MAGIC {
            let _ = write!(
                s,
                "; the sector is stamped with LBA {}",
                u64::from_le_bytes(stamp)
            );
        } else {
            s.push_str("; the sector has no LBA stamp");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lba_stamp_layout() {
        let mut b = vec![0u8; 1024];
        Pattern::Lba.fill(512 * 4660, &mut b);
        assert_eq!(&b[0..8], &4660u64.to_le_bytes());
        assert_eq!(&b[8..16], b"rsgddLBA");
        assert_eq!(&b[504..512], &4660u64.to_le_bytes());
        assert_eq!(&b[512..520], &4661u64.to_le_bytes());
    }

    #[test]
    fn zeros_and_ones() {
        let mut b = vec![7u8; 100];
        Pattern::Ones.fill(3, &mut b);
        assert!(b.iter().all(|&x| x == 0xff));
        Pattern::Zeros.fill(3, &mut b);
        assert!(b.iter().all(|&x| x == 0));
    }

    #[test]
    fn random_is_positional_and_seeded() {
        let mut a = vec![0u8; 4096];
        let mut b = vec![0u8; 4096];
        Pattern::Random(9).fill(8192, &mut a);
        Pattern::Random(9).fill(8192, &mut b);
        assert_eq!(a, b);
        Pattern::Random(10).fill(8192, &mut b);
        assert_ne!(a, b);
        // Sectors differ from each other.
        assert_ne!(a[..512], a[512..1024]);
        // Roughly balanced bits: not a constant fill.
        let ones: u32 = a.iter().map(|x| x.count_ones()).sum();
        assert!((15000..18000).contains(&ones), "{ones}");
    }

    #[test]
    fn unaligned_fill_matches_aligned() {
        for p in [Pattern::Lba, Pattern::Random(3)] {
            let mut whole = vec![0u8; 2048];
            p.fill(1024, &mut whole);
            let mut part = vec![0u8; 777];
            p.fill(1024 + 300, &mut part);
            assert_eq!(&whole[300..1077], &part[..]);
        }
    }

    #[test]
    fn verifier_accepts_and_detects() {
        let p = Pattern::Lba;
        let mut data = vec![0u8; 8192];
        p.fill(1 << 20, &mut data);
        let mut v = Verifier::new(p);
        // In pieces of odd sizes, as reblocking may deliver them.
        v.check(1 << 20, &data[..1000]);
        v.check((1 << 20) + 1000, &data[1000..]);
        assert_eq!((v.checked, v.bad_sectors), (8192, 0));

        // One sector overwritten by another sector's stamp.
        let mut bad = data.clone();
        let (head, tail) = bad.split_at_mut(3 * 512);
        tail[..512].copy_from_slice(&head[..512]);
        let mut v = Verifier::new(p);
        v.check(1 << 20, &bad);
        assert_eq!(v.bad_sectors, 1);
        assert_eq!(
            v.first_bad[0],
            "LBA 2051: byte 0 differs; the sector is stamped with LBA 2048"
        );

        // Same data checked at the wrong address: every sector is off.
        let mut v = Verifier::new(p);
        v.check(0, &data);
        assert_eq!(v.bad_sectors, 16);
        assert_eq!(v.first_bad.len(), 5);
    }

    #[test]
    fn verifier_random_single_byte() {
        let p = Pattern::Random(77);
        let mut data = vec![0u8; 4096];
        p.fill(0, &mut data);
        data[1500] ^= 1;
        let mut v = Verifier::new(p);
        v.check(0, &data);
        assert_eq!(v.bad_sectors, 1);
        assert_eq!(v.first_bad[0], "LBA 2: byte 476 differs");

        // Split over two pieces, the bad sector still counts once.
        let mut data = vec![0u8; 1024];
        let mut v = Verifier::new(Pattern::Ones);
        v.check(0, &data[..700]);
        v.check(700, &data[700..]);
        assert_eq!(v.bad_sectors, 2);
        data.fill(0xff);
        v.check(1024, &data);
        assert_eq!(v.bad_sectors, 2);
    }
}
