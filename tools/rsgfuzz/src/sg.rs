//! sg's user interface as the fuzzer needs it: `struct sg_io_hdr`, the v2
//! `struct sg_header`, rsg's queue structures, and the ioctl numbers.

#[cfg(not(target_pointer_width = "64"))]
compile_error!("rsgfuzz lays out sg_io_hdr for 64-bit processes only");

pub const SG_DXFER_NONE: i32 = -1;
pub const SG_DXFER_TO_DEV: i32 = -2;
pub const SG_DXFER_FROM_DEV: i32 = -3;
pub const SG_DXFER_TO_FROM_DEV: i32 = -4;
pub const SG_DXFER_UNKNOWN: i32 = -5;

pub const SG_FLAG_DIRECT_IO: u32 = 1;
pub const SG_FLAG_UNUSED_LUN_INHIBIT: u32 = 2;
pub const SG_FLAG_MMAP_IO: u32 = 4;
pub const SG_FLAG_Q_AT_TAIL: u32 = 0x10;
pub const SG_FLAG_Q_AT_HEAD: u32 = 0x20;
pub const SG_FLAG_NO_DXFER: u32 = 0x10000;

/// `struct sg_io_hdr`, 64-bit layout (88 bytes), pointers as integers.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SgIoHdr {
    pub interface_id: i32,
    pub dxfer_direction: i32,
    pub cmd_len: u8,
    pub mx_sb_len: u8,
    pub iovec_count: u16,
    pub dxfer_len: u32,
    pub dxferp: u64,
    pub cmdp: u64,
    pub sbp: u64,
    pub timeout: u32,
    pub flags: u32,
    pub pack_id: i32,
    pub usr_ptr: u64,
    pub status: u8,
    pub masked_status: u8,
    pub msg_status: u8,
    pub sb_len_wr: u8,
    pub host_status: u16,
    pub driver_status: u16,
    pub resid: i32,
    pub duration: u32,
    pub info: u32,
}

pub const HDR_LEN: usize = 88;
const _: () = assert!(std::mem::size_of::<SgIoHdr>() == HDR_LEN);

impl SgIoHdr {
    pub fn to_bytes(self) -> [u8; HDR_LEN] {
        let mut b = [0u8; HDR_LEN];
        let mut p = 0;
        let mut put = |v: &[u8]| {
            b[p..p + v.len()].copy_from_slice(v);
            p += v.len();
        };
        put(&self.interface_id.to_ne_bytes());
        put(&self.dxfer_direction.to_ne_bytes());
        put(&[self.cmd_len, self.mx_sb_len]);
        put(&self.iovec_count.to_ne_bytes());
        put(&self.dxfer_len.to_ne_bytes());
        put(&self.dxferp.to_ne_bytes());
        put(&self.cmdp.to_ne_bytes());
        put(&self.sbp.to_ne_bytes());
        put(&self.timeout.to_ne_bytes());
        put(&self.flags.to_ne_bytes());
        put(&self.pack_id.to_ne_bytes());
        put(&[0u8; 4]);
        put(&self.usr_ptr.to_ne_bytes());
        put(&[
            self.status,
            self.masked_status,
            self.msg_status,
            self.sb_len_wr,
        ]);
        put(&self.host_status.to_ne_bytes());
        put(&self.driver_status.to_ne_bytes());
        put(&self.resid.to_ne_bytes());
        put(&self.duration.to_ne_bytes());
        put(&self.info.to_ne_bytes());
        b
    }

    /// Decodes a header; `None` when `b` is short.
    pub fn from_bytes(b: &[u8]) -> Option<SgIoHdr> {
        if b.len() < HDR_LEN {
            return None;
        }
        let i32_at = |o: usize| i32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let u32_at = |o: usize| i32_at(o) as u32;
        let u16_at = |o: usize| u16::from_ne_bytes([b[o], b[o + 1]]);
        let u64_at = |o: usize| u64::from(u32_at(o)) | u64::from(u32_at(o + 4)) << 32;
        Some(SgIoHdr {
            interface_id: i32_at(0),
            dxfer_direction: i32_at(4),
            cmd_len: b[8],
            mx_sb_len: b[9],
            iovec_count: u16_at(10),
            dxfer_len: u32_at(12),
            dxferp: u64_at(16),
            cmdp: u64_at(24),
            sbp: u64_at(32),
            timeout: u32_at(40),
            flags: u32_at(44),
            pack_id: i32_at(48),
            usr_ptr: u64_at(56),
            status: b[64],
            masked_status: b[65],
            msg_status: b[66],
            sb_len_wr: b[67],
            host_status: u16_at(68),
            driver_status: u16_at(70),
            resid: i32_at(72),
            duration: u32_at(76),
            info: u32_at(80),
        })
    }
}

/// `struct sg_header` (v2): 36 bytes.
pub const V2_HDR_LEN: usize = 36;
/// `struct sg_req_info`: 24 bytes, 16 of them in SG_GET_REQUEST_TABLE.
pub const REQ_INFO_LEN: usize = 24;
pub const REQ_TABLE_LEN: usize = 16 * REQ_INFO_LEN;
/// `struct rsg_batch` and `struct rsg_cancel`.
pub const BATCH_LEN: usize = 24;
pub const CANCEL_LEN: usize = 16;

const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

/// `_IOC(dir, type, nr, size)`.
pub const fn ioc(dir: u32, ty: u32, nr: u32, size: u32) -> u32 {
    (dir << 30) | (size << 16) | (ty << 8) | nr
}

pub const SG_SET_TIMEOUT: u32 = 0x2201;
pub const SG_GET_TIMEOUT: u32 = 0x2202;
pub const SG_EMULATED_HOST: u32 = 0x2203;
pub const SG_SET_TRANSFORM: u32 = 0x2204;
pub const SG_GET_TRANSFORM: u32 = 0x2205;
pub const SG_GET_COMMAND_Q: u32 = 0x2270;
pub const SG_SET_COMMAND_Q: u32 = 0x2271;
pub const SG_GET_RESERVED_SIZE: u32 = 0x2272;
pub const SG_SET_RESERVED_SIZE: u32 = 0x2275;
pub const SG_GET_SCSI_ID: u32 = 0x2276;
pub const SG_SET_FORCE_LOW_DMA: u32 = 0x2279;
pub const SG_GET_LOW_DMA: u32 = 0x227a;
pub const SG_SET_FORCE_PACK_ID: u32 = 0x227b;
pub const SG_GET_PACK_ID: u32 = 0x227c;
pub const SG_GET_NUM_WAITING: u32 = 0x227d;
pub const SG_SET_DEBUG: u32 = 0x227e;
pub const SG_GET_SG_TABLESIZE: u32 = 0x227f;
pub const SG_GET_VERSION_NUM: u32 = 0x2282;
pub const SG_NEXT_CMD_LEN: u32 = 0x2283;
pub const SG_SCSI_RESET: u32 = 0x2284;
pub const SG_IO: u32 = 0x2285;
pub const SG_GET_REQUEST_TABLE: u32 = 0x2286;
pub const SG_SET_KEEP_ORPHAN: u32 = 0x2287;
pub const SG_GET_KEEP_ORPHAN: u32 = 0x2288;
pub const SG_GET_ACCESS_COUNT: u32 = 0x2289;
pub const SCSI_IOCTL_SEND_COMMAND: u32 = 1;
pub const SCSI_IOCTL_GET_IDLUN: u32 = 0x5382;
pub const SCSI_IOCTL_PROBE_HOST: u32 = 0x5385;
pub const SCSI_IOCTL_GET_BUS_NUMBER: u32 = 0x5386;
pub const SCSI_IOCTL_GET_PCI: u32 = 0x5387;
pub const BLKSECTGET: u32 = 0x1267;

const RSG: u32 = 0x22;
pub const RSG_IOQUEUE: u32 = ioc(IOC_WRITE, RSG, 0xa0, HDR_LEN as u32);
pub const RSG_IOGET: u32 = ioc(IOC_READ, RSG, 0xa1, HDR_LEN as u32);
pub const RSG_IOQUEUE_BATCH: u32 = ioc(IOC_READ | IOC_WRITE, RSG, 0xa2, BATCH_LEN as u32);
pub const RSG_IOGET_BATCH: u32 = ioc(IOC_READ | IOC_WRITE, RSG, 0xa3, BATCH_LEN as u32);
pub const RSG_IOCANCEL: u32 = ioc(IOC_WRITE, RSG, 0xa4, CANCEL_LEN as u32);
pub const RSG_GET_QUEUE_DEPTH: u32 = ioc(IOC_READ, RSG, 0xa5, 4);
pub const RSG_BATCH_WAIT: u32 = 1;

pub const RSG_IOCTLS: [u32; 6] = [
    RSG_IOQUEUE,
    RSG_IOGET,
    RSG_IOQUEUE_BATCH,
    RSG_IOGET_BATCH,
    RSG_IOCANCEL,
    RSG_GET_QUEUE_DEPTH,
];

/// How an ioctl uses its argument, for the invariants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgUse {
    /// Writes this many bytes through the pointer.
    Out(usize),
    /// Reads an int through the pointer.
    In,
    /// Ignores the argument or takes it as a value.
    Value,
}

/// The sg ioctls the fuzzer sends as themselves, with their argument use.
/// SG_SCSI_RESET is left out: it resets the LU.
pub const SG_IOCTLS: [(u32, ArgUse); 29] = [
    (SG_SET_TIMEOUT, ArgUse::In),
    (SG_GET_TIMEOUT, ArgUse::Value),
    (SG_EMULATED_HOST, ArgUse::Out(4)),
    (SG_SET_TRANSFORM, ArgUse::Value),
    (SG_GET_TRANSFORM, ArgUse::Value),
    (SG_GET_COMMAND_Q, ArgUse::Out(4)),
    (SG_SET_COMMAND_Q, ArgUse::In),
    (SG_GET_RESERVED_SIZE, ArgUse::Out(4)),
    (SG_SET_RESERVED_SIZE, ArgUse::In),
    (SG_GET_SCSI_ID, ArgUse::Out(32)),
    (SG_SET_FORCE_LOW_DMA, ArgUse::Value),
    (SG_GET_LOW_DMA, ArgUse::Out(4)),
    (SG_SET_FORCE_PACK_ID, ArgUse::In),
    (SG_GET_PACK_ID, ArgUse::Out(4)),
    (SG_GET_NUM_WAITING, ArgUse::Out(4)),
    (SG_SET_DEBUG, ArgUse::In),
    (SG_GET_SG_TABLESIZE, ArgUse::Out(4)),
    (SG_GET_VERSION_NUM, ArgUse::Out(4)),
    (SG_NEXT_CMD_LEN, ArgUse::In),
    (SG_GET_REQUEST_TABLE, ArgUse::Out(REQ_TABLE_LEN)),
    (SG_SET_KEEP_ORPHAN, ArgUse::In),
    (SG_GET_KEEP_ORPHAN, ArgUse::Out(4)),
    (SG_GET_ACCESS_COUNT, ArgUse::Out(4)),
    (SCSI_IOCTL_GET_IDLUN, ArgUse::Out(8)),
    (SCSI_IOCTL_PROBE_HOST, ArgUse::In),
    (SCSI_IOCTL_GET_BUS_NUMBER, ArgUse::Out(4)),
    (SCSI_IOCTL_GET_PCI, ArgUse::Value),
    (BLKSECTGET, ArgUse::Out(4)),
    (SCSI_IOCTL_SEND_COMMAND, ArgUse::In),
];

/// Numbers never sent, whatever the generator comes up with: they reset or
/// stop the LU, eject, send unchecked CDBs, set up tracing, or change the
/// file descriptor itself (non-blocking, async signals, freezing the
/// filesystem, inode flags).
pub const DENIED: [u32; 23] = [
    SG_SCSI_RESET,
    3,           // SCSI_IOCTL_BENCHMARK_COMMAND
    4,           // SCSI_IOCTL_SYNC
    5,           // SCSI_IOCTL_START_UNIT
    6,           // SCSI_IOCTL_STOP_UNIT
    0x5380,      // SCSI_IOCTL_DOORLOCK
    0x5381,      // SCSI_IOCTL_DOORUNLOCK
    0x5309,      // CDROMEJECT
    0x5319,      // CDROMCLOSETRAY
    0x5393,      // CDROM_SEND_PACKET
    0xc048_1273, // BLKTRACESETUP
    0x1274,      // BLKTRACESTART
    0x1275,      // BLKTRACESTOP
    0x1276,      // BLKTRACETEARDOWN
    0x5421,      // FIONBIO
    0x5452,      // FIOASYNC
    0x5450,      // FIONCLEX
    0x5451,      // FIOCLEX
    0xc004_5877, // FIFREEZE
    0xc004_5878, // FITHAW
    0x4008_6602, // FS_IOC_SETFLAGS
    0x401c_5820, // FS_IOC_FSSETXATTR
    0x4004_9409, // FICLONE
];

/// ioctl types the generic VFS layer owns ('T', 'X', 0x94, 'f'): random
/// numbers keep out of them.
pub const VFS_TYPES: [u32; 4] = [0x54, 0x58, 0x94, 0x66];

/// Whether `cmd` may be sent to a compared node as a random number: not
/// denied, not SG_IO or rsg's own (which have generators of their own).
pub fn random_ok(cmd: u32) -> bool {
    let ty = (cmd >> 8) & 0xff;
    !DENIED.contains(&cmd)
        && cmd != SG_IO
        && cmd != SCSI_IOCTL_SEND_COMMAND
        && !RSG_IOCTLS.contains(&cmd)
        && !VFS_TYPES.contains(&ty)
        && (ty != 0 || cmd & 0xffff_0000 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsg_numbers_match_the_header() {
        assert_eq!(RSG_IOQUEUE, 0x4058_22a0);
        assert_eq!(RSG_IOGET, 0x8058_22a1);
        assert_eq!(RSG_IOQUEUE_BATCH, 0xc018_22a2);
        assert_eq!(RSG_IOGET_BATCH, 0xc018_22a3);
        assert_eq!(RSG_IOCANCEL, 0x4010_22a4);
        assert_eq!(RSG_GET_QUEUE_DEPTH, 0x8004_22a5);
    }

    #[test]
    fn header_round_trip() {
        let h = SgIoHdr {
            interface_id: 'S' as i32,
            dxfer_direction: SG_DXFER_FROM_DEV,
            cmd_len: 6,
            mx_sb_len: 32,
            iovec_count: 3,
            dxfer_len: 0x1234,
            dxferp: 0x1122_3344_5566_7788,
            cmdp: 2,
            sbp: 3,
            timeout: 4,
            flags: 5,
            pack_id: -6,
            usr_ptr: 7,
            status: 8,
            masked_status: 9,
            msg_status: 10,
            sb_len_wr: 11,
            host_status: 12,
            driver_status: 13,
            resid: -14,
            duration: 15,
            info: 16,
        };
        let b = h.to_bytes();
        assert_eq!(SgIoHdr::from_bytes(&b), Some(h));
        // Offsets of <scsi/sg.h> on LP64.
        assert_eq!(&b[16..24], &0x1122_3344_5566_7788u64.to_ne_bytes());
        assert_eq!(&b[48..52], &(-6i32).to_ne_bytes());
        assert_eq!(b[67], 11);
        assert_eq!(&b[72..76], &(-14i32).to_ne_bytes());
        assert!(SgIoHdr::from_bytes(&b[..87]).is_none());
    }

    #[test]
    fn denied_numbers_are_never_random() {
        for &d in DENIED.iter() {
            assert!(!random_ok(d), "{d:#x}");
        }
        assert!(!random_ok(SG_IO));
        assert!(!random_ok(RSG_IOQUEUE));
        assert!(!random_ok(0x5421));
        assert!(random_ok(SG_GET_VERSION_NUM));
        assert!(random_ok(ioc(2, 0x22, 0x82, 4)));
    }
}
