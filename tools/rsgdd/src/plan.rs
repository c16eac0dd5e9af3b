//! Where the I/O goes: the reader's sequence of pieces (sequential or seeded
//! random extents) and the writer's reblocking of the reader's buffers into
//! its own block size, as scatter/gather lists over those buffers.
//!
//! Positions are stream positions: byte 0 is the first byte of the copy;
//! each side adds its own offset.

use crate::rng::Rng;
use std::collections::VecDeque;

/// One read: `len` bytes at stream position `pos`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub pos: u64,
    pub len: u64,
}

enum Mode {
    Sequential {
        next: u64,
    },
    Random {
        rng: Rng,
        span: u64,
        granule: u64,
        min: u64,
        max: u64,
    },
}

/// The reader's pieces, each at most `bs` long, `total` bytes in all
/// (`None`: until the input ends).
pub struct Extents {
    mode: Mode,
    bs: u64,
    left: u64,
    /// The current extent: position and bytes not yet handed out.
    cur: (u64, u64),
}

impl Extents {
    pub fn sequential(bs: u64, total: Option<u64>) -> Self {
        Extents {
            mode: Mode::Sequential { next: 0 },
            bs: bs.max(1),
            left: total.unwrap_or(u64::MAX),
            cur: (0, 0),
        }
    }

    /// Extents of `min..=max` bytes (multiples of `granule`) at positions
    /// that are multiples of `granule` and end within `span`. The caller
    /// checks that `granule <= min <= max <= span`.
    pub fn random(
        seed: u64,
        bs: u64,
        total: u64,
        span: u64,
        granule: u64,
        min: u64,
        max: u64,
    ) -> Self {
        Extents {
            mode: Mode::Random {
                rng: Rng::new(seed),
                span,
                granule: granule.max(1),
                min,
                max,
            },
            bs: bs.max(1),
            left: total,
            cur: (0, 0),
        }
    }
}

impl Iterator for Extents {
    type Item = Piece;

    fn next(&mut self) -> Option<Piece> {
        if self.cur.1 == 0 {
            if self.left == 0 {
                return None;
            }
            match &mut self.mode {
                Mode::Sequential { next } => {
                    let len = self.left.min(self.bs);
                    self.cur = (*next, len);
                    *next += len;
                }
                Mode::Random {
                    rng,
                    span,
                    granule,
                    min,
                    max,
                } => {
                    let g = *granule;
                    let len = (g * rng.between(*min / g, *max / g)).min(self.left);
                    let slots = (*span - len) / g;
                    let pos = g * rng.below(slots + 1);
                    self.cur = (pos, len);
                }
            }
            self.left -= self.cur.1;
        }
        let len = self.cur.1.min(self.bs);
        let piece = Piece {
            pos: self.cur.0,
            len,
        };
        self.cur.0 += len;
        self.cur.1 -= len;
        Some(piece)
    }
}

/// A part of one reader buffer: chunk `seq`, bytes `off..off + len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seg {
    pub seq: u64,
    pub off: usize,
    pub len: usize,
}

/// One write: the data of `segs` at stream position `pos`, then `pad`
/// zero bytes to reach the output's granule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    pub pos: u64,
    pub segs: Vec<Seg>,
    pub len: usize,
    pub pad: usize,
}

struct Held {
    pos: u64,
    len: usize,
    consumed: usize,
}

/// Turns the reader's chunks, delivered in order, into writes of `bs`
/// bytes: several chunks gathered into one write, or one chunk split over
/// several. A write never spans a gap between chunks (random mode), holds at
/// most `max_segs` segments, and is a multiple of `granule` (the output's
/// sector size) except that the last is padded up to it.
pub struct Reblocker {
    bs: usize,
    granule: usize,
    max_segs: usize,
    held: VecDeque<Held>,
    /// Sequence number of `held[0]`; every chunk before it is consumed.
    base: u64,
}

impl Reblocker {
    pub fn new(bs: usize, granule: usize, max_segs: usize) -> Self {
        Reblocker {
            bs: bs.max(1),
            granule: granule.max(1),
            max_segs: max_segs.max(1),
            held: VecDeque::new(),
            base: 0,
        }
    }

    /// Adds the next chunk; returns its sequence number.
    pub fn push(&mut self, pos: u64, len: usize) -> u64 {
        self.held.push_back(Held {
            pos,
            len,
            consumed: 0,
        });
        self.base + self.held.len() as u64 - 1
    }

    /// Every chunk numbered below this is entirely in writes already made.
    pub fn consumed_below(&self) -> u64 {
        self.base
    }

    /// Whether data waits that no write covers yet.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// The next write, or `None` until more data arrives. With `eof` (no
    /// more chunks will come) whatever is left goes out, padded.
    pub fn next(&mut self, eof: bool) -> Option<Write> {
        let first = self.held.front()?;
        let pos = first.pos + first.consumed as u64;
        let mut expect = pos;
        let mut segs = Vec::new();
        let mut total = 0usize;
        let mut gap = false; // the next chunk does not continue this run
        let mut limited = false; // more data follows, but no segment is left
        for (i, c) in self.held.iter().enumerate() {
            if c.pos + c.consumed as u64 != expect {
                gap = true;
                break;
            }
            if segs.len() == self.max_segs {
                limited = true;
                break;
            }
            let take = (c.len - c.consumed).min(self.bs - total);
            segs.push(Seg {
                seq: self.base + i as u64,
                off: c.consumed,
                len: take,
            });
            total += take;
            expect += take as u64;
            if total == self.bs {
                break;
            }
        }
        let full = total == self.bs;
        if !full && !gap && !limited && !eof {
            return None;
        }
        let mut len = total;
        let mut pad = 0;
        let tail = total % self.granule;
        if !full && tail != 0 {
            // A run the segment limit ends continues in the next write; one
            // a gap or the end of the input ends is padded.
            if limited {
                len -= tail;
                if len == 0 {
                    return None;
                }
            } else {
                pad = self.granule - tail;
            }
        }
        // Trim the segments to `len` and mark their bytes consumed.
        let mut left = len;
        segs.retain_mut(|s| {
            let keep = s.len.min(left);
            s.len = keep;
            left -= keep;
            keep > 0
        });
        for (i, s) in segs.iter().enumerate() {
            self.held[i].consumed += s.len;
            debug_assert_eq!(self.base + i as u64, s.seq);
        }
        while self.held.front().is_some_and(|c| c.consumed == c.len) {
            self.held.pop_front();
            self.base += 1;
        }
        Some(Write {
            pos,
            segs,
            len,
            pad,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(r: &mut Reblocker, eof: bool) -> Vec<Write> {
        std::iter::from_fn(|| r.next(eof)).collect()
    }

    #[test]
    fn sequential_pieces() {
        let v: Vec<Piece> = Extents::sequential(4096, Some(10000)).collect();
        assert_eq!(
            v,
            vec![
                Piece { pos: 0, len: 4096 },
                Piece {
                    pos: 4096,
                    len: 4096
                },
                Piece {
                    pos: 8192,
                    len: 1808
                },
            ]
        );
        let mut open = Extents::sequential(512, None);
        assert_eq!(
            open.nth(1000),
            Some(Piece {
                pos: 512_000,
                len: 512
            })
        );
    }

    #[test]
    fn random_extents_are_aligned_bounded_and_reproducible() {
        let span = 1 << 20;
        let mk = || Extents::random(42, 16384, 1 << 20, span, 512, 4096, 65536);
        let a: Vec<Piece> = mk().collect();
        let b: Vec<Piece> = mk().collect();
        assert_eq!(a, b);
        assert_eq!(a.iter().map(|p| p.len).sum::<u64>(), 1 << 20);
        for p in &a {
            assert_eq!(p.pos % 512, 0);
            assert!(p.len <= 16384 && p.len > 0 && p.len % 512 == 0);
            assert!(p.pos + p.len <= span);
        }
        // Not sequential: some piece starts somewhere other than where the
        // previous one ended.
        assert!(a.windows(2).any(|w| w[0].pos + w[0].len != w[1].pos));
        let c: Vec<Piece> = Extents::random(43, 16384, 1 << 20, span, 512, 4096, 65536).collect();
        assert_ne!(a, c);
    }

    #[test]
    fn random_fixed_length_extents() {
        let v: Vec<Piece> =
            Extents::random(1, 65536, 8 * 8192, 1 << 30, 4096, 8192, 8192).collect();
        assert_eq!(v.len(), 8);
        assert!(v.iter().all(|p| p.len == 8192 && p.pos % 4096 == 0));
    }

    #[test]
    fn gather_4k_into_64k() {
        let mut r = Reblocker::new(65536, 512, 1023);
        for i in 0..15 {
            r.push(i * 4096, 4096);
            assert_eq!(r.next(false), None);
        }
        r.push(15 * 4096, 4096);
        let w = r.next(false).unwrap();
        assert_eq!((w.pos, w.len, w.pad, w.segs.len()), (0, 65536, 0, 16));
        assert!(w.segs.iter().enumerate().all(|(i, s)| *s
            == Seg {
                seq: i as u64,
                off: 0,
                len: 4096
            }));
        assert_eq!(r.consumed_below(), 16);
        assert!(r.is_empty());
    }

    #[test]
    fn split_64k_into_4k() {
        let mut r = Reblocker::new(4096, 512, 1023);
        assert_eq!(r.push(0, 65536), 0);
        let ws = drain(&mut r, false);
        assert_eq!(ws.len(), 16);
        for (i, w) in ws.iter().enumerate() {
            assert_eq!(w.pos, i as u64 * 4096);
            assert_eq!(
                w.segs,
                vec![Seg {
                    seq: 0,
                    off: i * 4096,
                    len: 4096
                }]
            );
        }
        assert_eq!(r.consumed_below(), 1);
    }

    #[test]
    fn straddling_sizes() {
        // 3 KiB reads, 2 KiB writes: every other write spans two buffers.
        let mut r = Reblocker::new(2048, 512, 1023);
        r.push(0, 3072);
        r.push(3072, 3072);
        let ws = drain(&mut r, false);
        assert_eq!(ws.len(), 3);
        assert_eq!(
            ws[0].segs,
            vec![Seg {
                seq: 0,
                off: 0,
                len: 2048
            }]
        );
        assert_eq!(
            ws[1].segs,
            vec![
                Seg {
                    seq: 0,
                    off: 2048,
                    len: 1024
                },
                Seg {
                    seq: 1,
                    off: 0,
                    len: 1024
                }
            ]
        );
        assert_eq!(
            ws[2].segs,
            vec![Seg {
                seq: 1,
                off: 1024,
                len: 2048
            }]
        );
        assert_eq!(r.consumed_below(), 2);
    }

    #[test]
    fn eof_flushes_and_pads() {
        let mut r = Reblocker::new(65536, 512, 1023);
        r.push(0, 4096);
        r.push(4096, 1000);
        assert_eq!(r.next(false), None);
        let w = r.next(true).unwrap();
        assert_eq!((w.pos, w.len, w.pad), (0, 5096, 24));
        assert_eq!(r.next(true), None);
        // A file output (granule 1) never pads.
        let mut r = Reblocker::new(65536, 1, 1024);
        r.push(0, 1000);
        assert_eq!(r.next(true).unwrap().pad, 0);
    }

    #[test]
    fn gaps_end_writes() {
        // Random mode: two extents that are not contiguous.
        let mut r = Reblocker::new(65536, 512, 1023);
        r.push(8192, 4096);
        r.push(12288, 4096);
        r.push(1 << 20, 4096);
        let w = r.next(false).unwrap();
        assert_eq!((w.pos, w.len, w.segs.len()), (8192, 8192, 2));
        assert_eq!(r.next(false), None);
        let w = r.next(true).unwrap();
        assert_eq!((w.pos, w.len), (1 << 20, 4096));
    }

    #[test]
    fn segment_limit_rounds_to_granule() {
        // 1000-byte chunks, at most 3 segments, 512-byte sectors: 3000
        // bytes gathered, 2560 written, the rest starts the next write.
        let mut r = Reblocker::new(65536, 512, 3);
        for i in 0..4 {
            r.push(i * 1000, 1000);
        }
        let w = r.next(false).unwrap();
        assert_eq!((w.pos, w.len, w.pad), (0, 2560, 0));
        assert_eq!(
            w.segs.last(),
            Some(&Seg {
                seq: 2,
                off: 0,
                len: 560
            })
        );
        assert_eq!(r.consumed_below(), 2);
        let w = r.next(true).unwrap();
        assert_eq!(w.pos, 2560);
        assert_eq!(
            w.segs[0],
            Seg {
                seq: 2,
                off: 560,
                len: 440
            }
        );
        assert_eq!((w.len, w.pad), (1440, 96));
        assert_eq!(r.consumed_below(), 4);
    }

    #[test]
    fn every_byte_written_once_in_order() {
        // Odd input sizes into odd output sizes.
        for (ibs, obs) in [
            (4096, 65536),
            (65536, 4096),
            (1536, 2560),
            (7 * 512, 3 * 512),
        ] {
            let total = 1 << 18;
            let mut r = Reblocker::new(obs, 512, 1023);
            let mut next = 0u64;
            let mut seen = 0u64;
            for p in Extents::sequential(ibs as u64, Some(total)) {
                r.push(p.pos, p.len as usize);
                while let Some(w) = r.next(false) {
                    assert_eq!(w.pos, next);
                    assert_eq!(w.len % 512, 0);
                    next += w.len as u64;
                    seen += w.segs.iter().map(|s| s.len as u64).sum::<u64>();
                }
            }
            while let Some(w) = r.next(true) {
                assert_eq!(w.pos, next);
                next += w.len as u64;
                seen += w.len as u64;
            }
            assert_eq!((next, seen), (total, total), "{ibs} -> {obs}");
        }
    }
}
