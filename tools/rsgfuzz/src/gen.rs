//! The operations the fuzzer performs, generated from an iteration's seed
//! alone (independent of the device), so that each side of a comparison
//! and a replay get the very same operation.

use crate::rng::Rng;
use crate::sg::*;
use crate::sys::{DATA_LEN, PAGE, READ_LEN, RO_LEN, TAIL_LEN};

/// Where a pointer points, resolved against each side's own arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ptr {
    Null,
    /// Read-write memory, at this offset into the area the pointer is for
    /// (odd offsets are the misaligned cases).
    Rw(usize),
    /// A PROT_READ mapping, at this offset.
    Ro(usize),
    /// A PROT_NONE page.
    ProtNone,
    /// A low address nothing is ever mapped at.
    Low,
    /// A kernel or non-canonical address.
    Kernel(u64),
    /// This many bytes before the end of the read-write region, which is
    /// followed by a PROT_NONE page.
    Straddle(usize),
}

impl Ptr {
    /// Whether `len` bytes at this pointer are readable.
    pub fn readable(self, len: usize) -> bool {
        match self {
            Ptr::Rw(_) | Ptr::Ro(_) => true,
            Ptr::Straddle(n) => len <= n,
            _ => len == 0,
        }
    }

    /// Whether `len` bytes at this pointer are writable.
    pub fn writable(self, len: usize) -> bool {
        match self {
            Ptr::Rw(_) => true,
            Ptr::Straddle(n) => len <= n,
            _ => len == 0,
        }
    }
}

const KERNEL_ADDRS: [u64; 6] = [
    0xffff_8000_0000_0000,
    0xffff_8880_0000_0000,
    0xffff_ffff_8100_0000,
    0xffff_ffff_ffff_f000,
    0x0000_8000_0000_0000,
    0x8000_0000_0000_0000,
];

/// A pointer for `len` bytes in an area of `area` bytes: valid most of the
/// time (`bad` in 100 are not).
pub fn gen_ptr(r: &mut Rng, area: usize, len: usize, bad: u64) -> Ptr {
    if !r.chance(bad, 100) {
        let room = area.saturating_sub(len.min(area));
        let off = match r.below(8) {
            0 => r.below(8) as usize, // misaligned
            1 => r.below(room as u64 / 512 + 1) as usize * 512,
            _ => 0,
        };
        return Ptr::Rw(off.min(room));
    }
    match r.below(6) {
        0 => Ptr::Null,
        1 => Ptr::Ro(if r.chance(1, 2) {
            0
        } else {
            r.below(RO_LEN.saturating_sub(len) as u64 + 1) as usize
        }),
        2 => Ptr::ProtNone,
        3 => Ptr::Low,
        4 => Ptr::Kernel(r.pick(&KERNEL_ADDRS) + r.below(4) * 8),
        _ => Ptr::Straddle(r.between(1, (len.max(2) - 1).min(TAIL_LEN) as u64) as usize),
    }
}

/// The LBA ranges writes may touch: `A` for the compared nodes, `B` for
/// rsg's queue interface (never read by a comparison), `C` for the leak
/// check. 4096 blocks each, at 64, 96 and 112 MiB of a 512-byte LU.
pub const RANGE_A: u32 = 0x2_0000;
pub const RANGE_B: u32 = 0x3_0000;
pub const RANGE_C: u32 = 0x3_8000;
pub const RANGE_BLOCKS: u32 = 4096;
/// The longest WRITE the fuzzer sends, in blocks.
pub const MAX_WRITE_BLOCKS: u32 = 64;

/// A CDB from the safe list: (bytes, natural length, natural direction,
/// natural transfer length).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cdb {
    pub bytes: [u8; 32],
    pub len: usize,
    pub dir: i32,
    pub xfer: u32,
}

fn be16(b: &mut [u8], v: u16) {
    b[..2].copy_from_slice(&v.to_be_bytes());
}

fn be32(b: &mut [u8], v: u32) {
    b[..4].copy_from_slice(&v.to_be_bytes());
}

/// A harmless CDB: INQUIRY, TEST UNIT READY, READ CAPACITY, REQUEST SENSE,
/// MODE SENSE, LOG SENSE, READ(10), WRITE(10) inside `write_base`'s range,
/// REPORT LUNS, or a vendor opcode scsi_debug rejects; sometimes with
/// random bytes in fields that cannot make it harmful.
pub fn gen_cdb(r: &mut Rng, write_base: u32) -> Cdb {
    let mut b = [0u8; 32];
    let alloc = r.pick(&[0u16, 4, 8, 36, 96, 255, 512, 4096, 0xffff]);
    let (len, dir, xfer) = match r.below(12) {
        0 => (6, SG_DXFER_NONE, 0),
        1 => {
            b[0] = 0x03;
            b[4] = alloc as u8;
            (6, SG_DXFER_FROM_DEV, u32::from(alloc as u8))
        }
        2 | 3 => {
            b[0] = 0x12;
            if r.chance(1, 3) {
                b[1] = 1;
                b[2] = r.pick(&[0x00, 0x80, 0x83, 0x86, 0xb0, 0xb1, 0xb2, 0x89, 0x42]);
            }
            be16(&mut b[3..], alloc);
            (6, SG_DXFER_FROM_DEV, u32::from(alloc))
        }
        4 => {
            b[0] = 0x25;
            (10, SG_DXFER_FROM_DEV, 8)
        }
        5 => {
            b[0] = 0x9e;
            b[1] = 0x10;
            be32(&mut b[10..], u32::from(alloc));
            (16, SG_DXFER_FROM_DEV, u32::from(alloc))
        }
        6 => {
            if r.chance(1, 2) {
                b[0] = 0x1a;
                b[2] = r.pick(&[0x3f, 0x08, 0x0a, 0x1c, 0x00, 0x7f]);
                b[4] = alloc as u8;
                (6, SG_DXFER_FROM_DEV, u32::from(alloc as u8))
            } else {
                b[0] = 0x5a;
                b[2] = r.pick(&[0x3f, 0x08, 0x0a, 0x1c, 0x00, 0xbf]);
                be16(&mut b[7..], alloc);
                (10, SG_DXFER_FROM_DEV, u32::from(alloc))
            }
        }
        7 => {
            b[0] = 0x4d;
            b[2] = r.pick(&[0x40, 0x00, 0x0d, 0x2f, 0x7f]);
            be16(&mut b[7..], alloc);
            (10, SG_DXFER_FROM_DEV, u32::from(alloc))
        }
        8 => {
            b[0] = 0xa0;
            b[2] = r.pick(&[0, 1, 2, 0x10, 0xff]);
            be32(&mut b[6..], u32::from(alloc));
            (12, SG_DXFER_FROM_DEV, u32::from(alloc))
        }
        9 | 10 => {
            let write = r.chance(1, 2);
            let blocks = r.below(u64::from(MAX_WRITE_BLOCKS) + 1) as u32;
            let lba = write_base + r.below(u64::from(RANGE_BLOCKS - MAX_WRITE_BLOCKS)) as u32;
            b[0] = if write { 0x2a } else { 0x28 };
            be32(&mut b[2..], lba);
            be16(&mut b[7..], blocks as u16);
            let dir = if write {
                SG_DXFER_TO_DEV
            } else {
                SG_DXFER_FROM_DEV
            };
            (10, dir, blocks * 512)
        }
        _ => {
            b[0] = r.between(0xc0, 0xff) as u8;
            for v in b[1..16].iter_mut() {
                *v = r.byte();
            }
            (
                r.pick(&[6, 10, 12, 16]),
                r.pick(&[SG_DXFER_NONE, SG_DXFER_FROM_DEV]),
                0,
            )
        }
    };
    // Random bytes where they cannot make a command harmful: anywhere but
    // the opcode, and for READ/WRITE(10) only the flag, group and control
    // bytes (the LBA and length keep writes in their range).
    if r.chance(1, 4) {
        let rw = matches!(b[0], 0x28 | 0x2a);
        for _ in 0..r.between(1, 3) {
            let i = if rw {
                r.pick(&[1usize, 6, 9])
            } else {
                r.between(1, len as u64 - 1) as usize
            };
            b[i] = r.byte();
        }
        if b[0] == 0x9e {
            b[1] = 0x10;
        }
    }
    Cdb {
        bytes: b,
        len,
        dir,
        xfer,
    }
}

/// One v3 request, with where each of its pieces points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Req {
    /// The header as sent, pointers left 0 (each side fills them in).
    pub hdr: SgIoHdr,
    pub cdb: Cdb,
    pub cdb_ptr: Ptr,
    pub sb_ptr: Ptr,
    /// The data buffer, or the iovec array when `iov` is not empty.
    pub data_ptr: Ptr,
    /// iovec entries: where each piece points (into the data area) and its
    /// length.
    pub iov: Vec<(Ptr, u64)>,
    /// The byte user space fills the data buffer with first.
    pub fill: u8,
}

/// The most data the fuzzer lets a request move (kernel buffers are
/// allocated for it).
const MAX_DATA: u32 = 2 << 20;

pub fn gen_req(r: &mut Rng, write_base: u32) -> Req {
    let cdb = gen_cdb(r, write_base);
    let mut hdr = SgIoHdr {
        interface_id: if r.chance(95, 100) {
            'S' as i32
        } else {
            {
                let x0 = r.u32();
                r.pick(&[0, 'Q' as i32, 's' as i32, x0 as i32])
            }
        },
        ..Default::default()
    };
    hdr.dxfer_direction = if r.chance(3, 5) {
        cdb.dir
    } else {
        {
            let x0 = r.u32();
            r.pick(&[
                SG_DXFER_NONE,
                SG_DXFER_TO_DEV,
                SG_DXFER_FROM_DEV,
                SG_DXFER_TO_FROM_DEV,
                SG_DXFER_UNKNOWN,
                0,
                -6,
                x0 as i32,
            ])
        }
    };
    hdr.cmd_len = if r.chance(85, 100) {
        cdb.len as u8
    } else {
        {
            let x0 = r.byte();
            r.pick(&[0, 1, 5, 6, 16, 17, 32, 33, 252, 253, 255, x0])
        }
    };
    hdr.mx_sb_len = {
        let x0 = r.byte();
        r.pick(&[0, 8, 18, 32, 64, 96, 252, 255, x0])
    };
    hdr.dxfer_len = match r.below(10) {
        0..=4 => cdb.xfer,
        5 => 0,
        6 => r.pick(&[
            1,
            511,
            512,
            4095,
            4096,
            32767,
            32768,
            32769,
            65536,
            1 << 20,
            MAX_DATA,
        ]),
        7 => r.pick(&[
            256 << 20,
            (256 << 20) + 1,
            0x7fff_ffff,
            0x8000_0000,
            u32::MAX,
        ]),
        _ => r.below(u64::from(MAX_DATA)) as u32,
    };
    hdr.timeout = r.pick(&[0, 5000, 30000, 60000, 0x7fff_ffff, u32::MAX]);
    hdr.flags = if r.chance(3, 4) {
        0
    } else {
        let mut f = 0;
        for _ in 0..r.between(1, 3) {
            f |= {
                let x0 = r.below(32);
                r.pick(&[
                    SG_FLAG_DIRECT_IO,
                    SG_FLAG_UNUSED_LUN_INHIBIT,
                    SG_FLAG_MMAP_IO,
                    SG_FLAG_Q_AT_TAIL,
                    SG_FLAG_Q_AT_HEAD,
                    SG_FLAG_NO_DXFER,
                    1 << x0,
                ])
            };
        }
        f
    };
    hdr.pack_id = {
        let x0 = r.u32();
        r.pick(&[-1, 0, 1, 2, 3, x0 as i32])
    };
    hdr.usr_ptr = if r.chance(1, 2) {
        r.below(64)
    } else {
        r.next_u64()
    };
    if r.chance(1, 5) {
        // Output fields with garbage in them: sg overwrites them.
        hdr.status = r.byte();
        hdr.sb_len_wr = r.byte();
        hdr.host_status = r.next_u64() as u16;
        hdr.resid = r.u32() as i32;
        hdr.info = r.u32();
        hdr.duration = r.u32();
    }
    let mut iov = Vec::new();
    if r.chance(1, 6) {
        let n = r.pick(&[1u64, 2, 3, 4, 8, 16]) as usize;
        let mut off = 0usize;
        for _ in 0..n {
            let len = {
                let x0 = r.below(16384);
                r.pick(&[0u64, 1, 511, 512, 4096, 8192, x0])
            };
            let p = if r.chance(9, 10) {
                Ptr::Rw(off)
            } else {
                gen_ptr(r, DATA_LEN, len as usize, 100)
            };
            iov.push((p, len));
            off += len as usize + r.pick(&[0usize, 1, 512]);
        }
        let total: u64 = iov.iter().map(|&(_, l)| l).sum();
        hdr.iovec_count = if r.chance(4, 5) {
            n as u16
        } else {
            r.pick(&[0u16, n as u16 + 1, 1024, 1025, 0xffff])
        };
        if r.chance(1, 2) {
            hdr.dxfer_len = total as u32;
        }
    }
    let data_ptr = if iov.is_empty() {
        gen_ptr(r, DATA_LEN, hdr.dxfer_len.min(MAX_DATA) as usize, 12)
    } else {
        gen_ptr(r, 16 << 10, iov.len() * 16, 8)
    };
    Req {
        hdr,
        cdb_ptr: gen_ptr(r, 4096, usize::from(hdr.cmd_len), 5),
        sb_ptr: gen_ptr(r, 4096, usize::from(hdr.mx_sb_len), 8),
        data_ptr,
        iov,
        fill: {
            let x0 = r.byte();
            r.pick(&[0xa5, 0x00, 0xff, x0])
        },
        cdb,
    }
}

/// A v2 (`struct sg_header`) write: header, CDB, data-out, sent with
/// `count` bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V2 {
    pub buf_ptr: Ptr,
    pub bytes: Vec<u8>,
    pub count: usize,
}

pub fn gen_v2(r: &mut Rng) -> V2 {
    let cdb = gen_cdb(r, RANGE_A);
    let mut bytes = vec![0u8; V2_HDR_LEN];
    let out_len = if cdb.dir == SG_DXFER_TO_DEV {
        cdb.xfer as usize
    } else {
        0
    };
    let reply_len: i32 = match r.below(6) {
        0 => V2_HDR_LEN as i32,
        1 | 2 => (V2_HDR_LEN as u32 + cdb.xfer) as i32,
        3 => r.pick(&[0, 1, 35, 37, 4096 + 36, 1 << 20]),
        4 => r.pick(&[0x7fff_ffff, (256 << 20) + 36, -1, i32::MIN]),
        _ => r.below(70000) as i32,
    };
    bytes[0..4].copy_from_slice(&(r.u32() as i32).to_ne_bytes());
    bytes[4..8].copy_from_slice(&reply_len.to_ne_bytes());
    bytes[8..12].copy_from_slice(
        &{
            let x0 = r.u32();
            r.pick(&[-1, 0, 1, 2, x0 as i32])
        }
        .to_ne_bytes(),
    );
    if r.chance(1, 4) {
        for v in bytes[12..].iter_mut() {
            *v = r.byte();
        }
    }
    // twelve_byte: only meaningful for vendor opcodes.
    if r.chance(1, 4) {
        bytes[16] |= 1;
    }
    let cmd = if cdb.bytes[0] >= 0xc0 && bytes[16] & 1 != 0 {
        12
    } else {
        cdb.len
    };
    bytes.extend_from_slice(&cdb.bytes[..cmd]);
    let fill = r.byte();
    bytes.extend(std::iter::repeat_n(fill, out_len));
    let exact = bytes.len();
    let count = match r.below(8) {
        0 => r.below(V2_HDR_LEN as u64) as usize,
        1 => V2_HDR_LEN + r.below(7) as usize,
        2 => exact + r.pick(&[1usize, 512, 4096]),
        3 => exact.saturating_sub(r.between(1, 8) as usize),
        _ => exact,
    };
    V2 {
        buf_ptr: gen_ptr(r, DATA_LEN, count, 6),
        bytes,
        count,
    }
}

/// An ioctl argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// A pointer, with these bytes put there first (when it is writable).
    Ptr(Ptr, Vec<u8>),
    Value(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ioctl {
    pub cmd: u32,
    pub arg: Arg,
    /// How sg uses the argument of this number; `None` for numbers sg does
    /// not know.
    pub arg_use: Option<ArgUse>,
}

/// The int a setter is given.
fn setter_value(r: &mut Rng, cmd: u32) -> i32 {
    match cmd {
        // Small timeouts are left out: commands timing out would make the
        // comparison depend on timing and put the LU through error handling.
        SG_SET_TIMEOUT => r.pick(&[-1, 0, 1000, 6000, i32::MAX, i32::MIN]),
        SG_SET_RESERVED_SIZE => {
            if r.chance(1, 50) {
                i32::MAX
            } else {
                r.pick(&[-1, 0, 1, 512, 1000, 4096, 32768, 65536, 1 << 20, 2 << 20])
            }
        }
        SG_NEXT_CMD_LEN => r.pick(&[-1, 0, 6, 10, 12, 16, 17, 32, 33, 252, 253, 1000]),
        SCSI_IOCTL_PROBE_HOST => r.pick(&[-1, 0, 1, 16, 64, 4096, 100000]),
        _ => {
            let x0 = r.u32();
            r.pick(&[0, 1, 2, -1, 0x100, x0 as i32])
        }
    }
}

/// An ioctl: one of sg's own numbers with a good or bad argument, or a
/// number near one (other sizes, directions, numbers, types), or a random
/// one; never a denied one.
pub fn gen_ioctl(r: &mut Rng) -> Ioctl {
    if r.chance(7, 10) {
        let (cmd, arg_use) = r.pick(&SG_IOCTLS);
        if cmd == SCSI_IOCTL_SEND_COMMAND {
            return gen_send_command(r);
        }
        let arg = match arg_use {
            ArgUse::Value => Arg::Value({
                let x0 = r.next_u64();
                r.pick(&[0, 1, 0x1000, x0])
            }),
            ArgUse::In => Arg::Ptr(
                gen_ptr(r, DATA_LEN, 4, 15),
                setter_value(r, cmd).to_ne_bytes().to_vec(),
            ),
            ArgUse::Out(n) => Arg::Ptr(gen_ptr(r, DATA_LEN, n, 20), Vec::new()),
        };
        return Ioctl {
            cmd,
            arg,
            arg_use: Some(arg_use),
        };
    }
    let cmd = loop {
        let base = if r.chance(3, 4) {
            r.pick(&SG_IOCTLS).0
        } else {
            r.pick(&RSG_IOCTLS)
        };
        let mut c = base;
        match r.below(5) {
            0 => c = (c & !(3 << 30)) | (r.below(4) as u32) << 30,
            1 => {
                let size = r.pick(&[0u32, 1, 3, 4, 8, 16, 24, 87, 88, 89, 0x3fff]);
                c = (c & !(0x3fff << 16)) | size << 16;
            }
            2 => c = (c & !0xff) | (c.wrapping_add(r.between(1, 3) as u32) & 0xff),
            3 => {
                let ty = {
                    let x0 = r.below(256);
                    r.pick(&[0x22u32, 0x53, 0x12, 0x23, x0 as u32])
                };
                c = (c & !0xff00) | ty << 8;
            }
            _ => c = r.u32(),
        }
        if random_ok(c) {
            break c;
        }
    };
    let bytes = if r.chance(1, 2) {
        setter_value(r, 0).to_ne_bytes().to_vec()
    } else {
        Vec::new()
    };
    let arg = if r.chance(1, 6) {
        Arg::Value({
            let x0 = r.next_u64();
            r.pick(&[0, 1, x0])
        })
    } else {
        Arg::Ptr(gen_ptr(r, DATA_LEN, 512, 20), bytes)
    };
    Ioctl {
        cmd,
        arg,
        arg_use: SG_IOCTLS.iter().find(|&&(c, _)| c == cmd).map(|&(_, u)| u),
    }
}

/// SCSI_IOCTL_SEND_COMMAND with a safe CDB: `{inlen, outlen, cdb, data}`.
fn gen_send_command(r: &mut Rng) -> Ioctl {
    let cdb = gen_cdb(r, RANGE_A);
    let inlen: u32 = if cdb.dir == SG_DXFER_TO_DEV && r.chance(3, 4) {
        cdb.xfer
    } else {
        r.pick(&[0, 512, 4096, 4097])
    };
    let outlen: u32 = r.pick(&[0, 36, 96, 4096, 4097, cdb.xfer, u32::MAX]);
    let mut b = Vec::new();
    b.extend_from_slice(&inlen.to_ne_bytes());
    b.extend_from_slice(&outlen.to_ne_bytes());
    b.extend_from_slice(&cdb.bytes[..cdb.len]);
    b.extend(std::iter::repeat_n(r.byte(), inlen.min(4097) as usize));
    Ioctl {
        cmd: SCSI_IOCTL_SEND_COMMAND,
        arg: Arg::Ptr(gen_ptr(r, DATA_LEN, b.len(), 10), b),
        arg_use: Some(ArgUse::In),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mmap {
    pub len: usize,
    pub prot: i32,
    pub shared: bool,
    pub off: i64,
    pub fill: u8,
}

pub fn gen_mmap(r: &mut Rng) -> Mmap {
    Mmap {
        len: r.pick(&[
            0,
            1,
            4095,
            PAGE,
            2 * PAGE,
            32768,
            32769,
            65536,
            1 << 20,
            2 << 20,
        ]),
        prot: r.pick(&[
            libc::PROT_READ,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::PROT_WRITE,
            libc::PROT_NONE,
            libc::PROT_READ | libc::PROT_EXEC,
        ]),
        shared: r.chance(4, 5),
        off: if r.chance(4, 5) {
            0
        } else {
            r.pick(&[1, PAGE as i64, 32768, -(PAGE as i64)])
        },
        fill: r.byte(),
    }
}

/// A read(): `count` bytes at `buf_ptr`, whose first bytes are a v3 or v2
/// header asking for `pack_id` (for SG_SET_FORCE_PACK_ID).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Read {
    pub buf_ptr: Ptr,
    pub count: usize,
    pub v3: bool,
    pub pack_id: i32,
}

pub fn gen_read(r: &mut Rng) -> Read {
    let count = r.pick(&[
        0,
        1,
        35,
        36,
        37,
        87,
        88,
        89,
        512,
        4096 + 36,
        65536 + 36,
        1 << 20,
    ]);
    Read {
        buf_ptr: gen_ptr(r, READ_LEN, count, 12),
        count,
        v3: r.chance(2, 3),
        pack_id: {
            let x0 = r.u32();
            r.pick(&[-1, 0, 1, 2, 3, x0 as i32])
        },
    }
}

/// rsg's queue interface, on a file of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Queue {
    One(Ptr, Req),
    Batch {
        batch_ptr: Ptr,
        hdrs_ptr: Ptr,
        count: u32,
        reqs: Vec<Req>,
    },
    Get(Ptr),
    GetBatch {
        batch_ptr: Ptr,
        hdrs_ptr: Ptr,
        count: u32,
        flags: u32,
        timeout_ms: u32,
    },
    Cancel {
        ptr: Ptr,
        /// A tag recently queued (index into the side's list), or this one.
        recent: Option<usize>,
        tag: u64,
        flags: u32,
        reserved: u32,
    },
    Depth(Ptr),
}

pub fn gen_queue(r: &mut Rng) -> Queue {
    match r.below(12) {
        0..=2 => Queue::One(gen_ptr(r, 8192, HDR_LEN, 6), gen_req(r, RANGE_B)),
        3 | 4 => {
            let n = r.pick(&[0usize, 1, 2, 4, 8, 16]);
            let reqs: Vec<Req> = (0..n).map(|_| gen_req(r, RANGE_B)).collect();
            let count = if r.chance(4, 5) {
                n as u32
            } else {
                r.pick(&[n as u32 + 1, 1000, u32::MAX])
            };
            Queue::Batch {
                batch_ptr: gen_ptr(r, 512, BATCH_LEN, 8),
                hdrs_ptr: gen_ptr(r, 8192, n * HDR_LEN, 8),
                count,
                reqs,
            }
        }
        5 => Queue::Get(gen_ptr(r, 8192, HDR_LEN, 10)),
        6 | 7 => {
            let count = r.pick(&[0u32, 1, 4, 16, 64, u32::MAX]);
            Queue::GetBatch {
                batch_ptr: gen_ptr(r, 512, BATCH_LEN, 8),
                hdrs_ptr: gen_ptr(r, 8192, count.min(64) as usize * HDR_LEN, 8),
                count,
                flags: {
                    let x0 = r.u32();
                    r.pick(&[0, RSG_BATCH_WAIT, RSG_BATCH_WAIT, 2, 3, x0])
                },
                // Never 0 with RSG_BATCH_WAIT: that waits for good.
                timeout_ms: r.pick(&[1, 10, 50, 200]),
            }
        }
        8..=10 => Queue::Cancel {
            ptr: gen_ptr(r, 512, CANCEL_LEN, 8),
            recent: r.chance(2, 3).then(|| r.below(16) as usize),
            tag: r.next_u64(),
            flags: if r.chance(9, 10) { 0 } else { r.u32() | 1 },
            reserved: if r.chance(9, 10) { 0 } else { r.u32() | 1 },
        },
        _ => Queue::Depth(gen_ptr(r, 512, 4, 15)),
    }
}

/// One iteration's operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    SgIo(Ptr, Req),
    /// A v3 write() of `count` bytes.
    WriteV3(Ptr, usize, Req),
    WriteV2(V2),
    Read(Read),
    Ioctl(Ioctl),
    Mmap(Mmap),
    Poll(i16),
    Queue(Queue),
}

/// The operation of one iteration; `queue` says whether rsg's queue
/// interface is in play.
pub fn gen_op(r: &mut Rng, queue: bool) -> Op {
    let weights = [30, 12, 6, 10, 20, 4, 4, if queue { 14 } else { 0 }];
    match r.weighted(&weights) {
        0 => Op::SgIo(gen_ptr(r, 8192, HDR_LEN, 6), gen_req(r, RANGE_A)),
        1 => {
            let count = r.pick(&[
                HDR_LEN, HDR_LEN, HDR_LEN, HDR_LEN, 0, 1, 35, 36, 87, 89, 4096,
            ]);
            Op::WriteV3(gen_ptr(r, 8192, count, 6), count, gen_req(r, RANGE_A))
        }
        2 => Op::WriteV2(gen_v2(r)),
        3 => Op::Read(gen_read(r)),
        4 => Op::Ioctl(gen_ioctl(r)),
        5 => Op::Mmap(gen_mmap(r)),
        6 => Op::Poll({
            let x0 = r.next_u64();
            r.pick(&[
                libc::POLLIN | libc::POLLOUT,
                libc::POLLIN,
                libc::POLLOUT,
                libc::POLLPRI,
                x0 as i16,
            ])
        }),
        _ => Op::Queue(gen_queue(r)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::for_iteration;

    #[test]
    fn same_seed_same_ops() {
        for i in 0..200 {
            let a = gen_op(&mut for_iteration(42, i), true);
            let b = gen_op(&mut for_iteration(42, i), true);
            assert_eq!(a, b);
        }
    }

    #[test]
    fn writes_stay_in_their_range() {
        let mut r = Rng::new(9);
        for _ in 0..20000 {
            let base = r.pick(&[RANGE_A, RANGE_B]);
            let c = gen_cdb(&mut r, base);
            match c.bytes[0] {
                0x2a => {
                    let lba = u32::from_be_bytes([c.bytes[2], c.bytes[3], c.bytes[4], c.bytes[5]]);
                    let n = u32::from(u16::from_be_bytes([c.bytes[7], c.bytes[8]]));
                    assert!(lba >= base && lba + n <= base + RANGE_BLOCKS);
                    assert!(n <= MAX_WRITE_BLOCKS);
                }
                // The safe list and vendor opcodes only.
                op => assert!(
                    [0x00, 0x03, 0x12, 0x25, 0x9e, 0x1a, 0x5a, 0x4d, 0xa0, 0x28].contains(&op)
                        || op >= 0xc0,
                    "opcode {op:#x}"
                ),
            }
            if c.bytes[0] == 0x9e {
                assert_eq!(c.bytes[1], 0x10, "READ CAPACITY(16) only");
            }
        }
    }

    #[test]
    fn v2_writes_carry_safe_commands() {
        let mut r = Rng::new(5);
        for _ in 0..5000 {
            let v = gen_v2(&mut r);
            let op = v.bytes[V2_HDR_LEN];
            assert!(
                [0x00, 0x03, 0x12, 0x25, 0x9e, 0x1a, 0x5a, 0x4d, 0xa0, 0x28, 0x2a].contains(&op)
                    || op >= 0xc0
            );
        }
    }

    #[test]
    fn no_denied_ioctl_is_generated() {
        let mut r = Rng::new(1);
        for _ in 0..50000 {
            let io = gen_ioctl(&mut r);
            assert!(!DENIED.contains(&io.cmd), "{:#x}", io.cmd);
            assert_ne!(io.cmd, SG_IO);
            assert!(!RSG_IOCTLS.contains(&io.cmd));
        }
    }

    #[test]
    fn timeouts_are_never_short() {
        let mut r = Rng::new(2);
        for _ in 0..5000 {
            let q = gen_req(&mut r, RANGE_A);
            assert!(q.hdr.timeout == 0 || q.hdr.timeout >= 5000);
        }
    }

    #[test]
    fn pointer_kinds() {
        let mut r = Rng::new(3);
        let mut kinds = std::collections::HashSet::new();
        for _ in 0..5000 {
            let p = gen_ptr(&mut r, 4096, 88, 50);
            if let Ptr::Rw(off) = p {
                assert!(off + 88 <= 4096);
            }
            if let Ptr::Straddle(n) = p {
                assert!((1..88).contains(&n) && n <= TAIL_LEN);
                assert!(!p.readable(88));
            }
            kinds.insert(std::mem::discriminant(&p));
        }
        assert_eq!(kinds.len(), 7);
        assert!(Ptr::Ro(0).readable(10) && !Ptr::Ro(0).writable(10));
        assert!(Ptr::Null.writable(0) && !Ptr::Null.readable(1));
    }
}
