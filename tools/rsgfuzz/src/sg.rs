//! sg's user interface as the fuzzer needs it: the v3 header and rsg's
//! queue interface (shared with the other tools), the v2 `struct
//! sg_header`, and the ioctl numbers the fuzzer sends.

pub use rsg_uapi::sg::*;

/// `struct sg_header` (v2): 36 bytes.
pub const V2_HDR_LEN: usize = 36;
/// `struct sg_req_info`: 24 bytes, 16 of them in SG_GET_REQUEST_TABLE.
pub const REQ_INFO_LEN: usize = 24;
/// Where `duration` sits in a `struct sg_req_info`.
pub const REQ_INFO_DURATION: usize = 16;
pub const REQ_TABLE_LEN: usize = 16 * REQ_INFO_LEN;

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
