// SPDX-License-Identifier: GPL-2.0

//! The user-space ABI rsg shares with sg: `include/scsi/sg.h` and the SCSI
//! mid-layer ioctls.

/// The v3 request and response header (`struct sg_io_hdr`).
///
/// Pointers are kept as integers: the kernel's `get_sg_io_hdr()` has already
/// converted a 32-bit caller's header, and rsg only hands them on as user
/// addresses.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct sg_io_hdr {
    pub(crate) interface_id: i32,
    pub(crate) dxfer_direction: i32,
    pub(crate) cmd_len: u8,
    pub(crate) mx_sb_len: u8,
    pub(crate) iovec_count: u16,
    pub(crate) dxfer_len: u32,
    pub(crate) dxferp: usize,
    pub(crate) cmdp: usize,
    pub(crate) sbp: usize,
    pub(crate) timeout: u32,
    pub(crate) flags: u32,
    pub(crate) pack_id: i32,
    pub(crate) usr_ptr: usize,
    pub(crate) status: u8,
    pub(crate) masked_status: u8,
    pub(crate) msg_status: u8,
    pub(crate) sb_len_wr: u8,
    pub(crate) host_status: u16,
    pub(crate) driver_status: u16,
    pub(crate) resid: i32,
    pub(crate) duration: u32,
    pub(crate) info: u32,
}

const _: () = assert!(core::mem::size_of::<sg_io_hdr>() == 88);

/// `struct sg_scsi_id`, the answer to `SG_GET_SCSI_ID`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct SgScsiId {
    pub(crate) host_no: i32,
    pub(crate) channel: i32,
    pub(crate) scsi_id: i32,
    pub(crate) lun: i32,
    pub(crate) scsi_type: i32,
    pub(crate) h_cmd_per_lun: i16,
    pub(crate) d_queue_depth: i16,
    pub(crate) unused: [i32; 2],
}

// SAFETY: `SgScsiId` is plain integers with no padding.
unsafe impl kernel::types::AsBytes for SgScsiId {}

/// The version rsg reports: sg's own, so that tools take the v3 paths.
pub(crate) const SG_VERSION_NUM: i32 = 30536;

pub(crate) const SG_DXFER_NONE: i32 = -1;
pub(crate) const SG_DXFER_TO_DEV: i32 = -2;
pub(crate) const SG_DXFER_FROM_DEV: i32 = -3;
pub(crate) const SG_DXFER_TO_FROM_DEV: i32 = -4;
pub(crate) const SG_DXFER_UNKNOWN: i32 = -5;

pub(crate) const SG_FLAG_DIRECT_IO: u32 = 1;
pub(crate) const SG_FLAG_MMAP_IO: u32 = 4;
pub(crate) const SG_FLAG_Q_AT_TAIL: u32 = 0x10;

pub(crate) const SG_INFO_CHECK: u32 = 0x1;
pub(crate) const SG_INFO_DIRECT_IO: u32 = 0x2;

pub(crate) const SG_DEFAULT_TIMEOUT_USER: i32 = 60 * 100;
pub(crate) const SG_MAX_CDB_SIZE: usize = 252;
pub(crate) const SG_MAX_QUEUE: usize = 16;
pub(crate) const SG_DEFAULT_RETRIES: i32 = 0;

/// ioctl numbers.
pub(crate) mod ioctl {
    pub(crate) const SG_SET_TIMEOUT: u32 = 0x2201;
    pub(crate) const SG_GET_TIMEOUT: u32 = 0x2202;
    pub(crate) const SG_EMULATED_HOST: u32 = 0x2203;
    pub(crate) const SG_GET_TRANSFORM: u32 = 0x2205;
    pub(crate) const SG_GET_COMMAND_Q: u32 = 0x2270;
    pub(crate) const SG_SET_COMMAND_Q: u32 = 0x2271;
    pub(crate) const SG_GET_RESERVED_SIZE: u32 = 0x2272;
    pub(crate) const SG_SET_RESERVED_SIZE: u32 = 0x2275;
    pub(crate) const SG_GET_SCSI_ID: u32 = 0x2276;
    pub(crate) const SG_SET_FORCE_LOW_DMA: u32 = 0x2279;
    pub(crate) const SG_GET_LOW_DMA: u32 = 0x227a;
    pub(crate) const SG_SET_FORCE_PACK_ID: u32 = 0x227b;
    pub(crate) const SG_GET_PACK_ID: u32 = 0x227c;
    pub(crate) const SG_GET_NUM_WAITING: u32 = 0x227d;
    pub(crate) const SG_SET_DEBUG: u32 = 0x227e;
    pub(crate) const SG_GET_SG_TABLESIZE: u32 = 0x227f;
    pub(crate) const SG_GET_VERSION_NUM: u32 = 0x2282;
    pub(crate) const SG_NEXT_CMD_LEN: u32 = 0x2283;
    pub(crate) const SG_SCSI_RESET: u32 = 0x2284;
    pub(crate) const SG_IO: u32 = 0x2285;
    pub(crate) const SG_GET_REQUEST_TABLE: u32 = 0x2286;
    pub(crate) const SG_SET_KEEP_ORPHAN: u32 = 0x2287;
    pub(crate) const SG_GET_KEEP_ORPHAN: u32 = 0x2288;
    pub(crate) const SG_GET_ACCESS_COUNT: u32 = 0x2289;
    pub(crate) const SCSI_IOCTL_SEND_COMMAND: u32 = 1;
    pub(crate) const SCSI_IOCTL_GET_IDLUN: u32 = 0x5382;
    pub(crate) const SCSI_IOCTL_PROBE_HOST: u32 = 0x5385;
    pub(crate) const SCSI_IOCTL_GET_BUS_NUMBER: u32 = 0x5386;
    /// `_IO(0x12, 103)`.
    pub(crate) const BLKSECTGET: u32 = 0x1267;
    /// `_IOWR(0x12, 115, struct blk_user_trace_setup)` (72 bytes).
    pub(crate) const BLKTRACESETUP: u32 = 0xc048_1273;
    pub(crate) const BLKTRACESTART: u32 = 0x1274;
    pub(crate) const BLKTRACESTOP: u32 = 0x1275;
    pub(crate) const BLKTRACETEARDOWN: u32 = 0x1276;
}

/// SCSI status and host bytes used when filling in responses.
pub(crate) const DRIVER_SENSE: u16 = 0x08;
pub(crate) const CHECK_CONDITION_MASKED: u8 = 0x01;

/// `sizeof(struct compat_sg_io_hdr)`: the v3 header of a 32-bit process.
pub(crate) const SG_IO_HDR_COMPAT_SIZE: usize = 64;

/// `sizeof(struct sg_header)`: the v2 header.
pub(crate) const SG_HEADER_SIZE: usize = 36;

/// The v2 header (`struct sg_header`), as bytes: its bit-fields have no
/// Rust equivalent, so fields are read and written at their offsets.
pub(crate) mod sg_header {
    pub(crate) const PACK_LEN: usize = 0;
    pub(crate) const REPLY_LEN: usize = 4;
    pub(crate) const PACK_ID: usize = 8;
    pub(crate) const RESULT: usize = 12;
    /// `twelve_byte:1, target_status:5, host_status:8, driver_status:8,
    /// other_flags:10`, little-endian bit order.
    pub(crate) const BITS: usize = 16;
    pub(crate) const SENSE: usize = 20;
    pub(crate) const SENSE_LEN: usize = 16;
}

/// Offset of `pack_id` in a 32-bit process's v3 header.
pub(crate) const SG_IO_HDR_COMPAT_PACK_ID: usize = 36;

/// One entry of `SG_GET_REQUEST_TABLE` (`struct sg_req_info`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct SgReqInfo {
    pub(crate) req_state: u8,
    pub(crate) orphan: u8,
    pub(crate) sg_io_owned: u8,
    pub(crate) problem: u8,
    pub(crate) pack_id: i32,
    pub(crate) usr_ptr: usize,
    pub(crate) duration: u32,
    pub(crate) unused: i32,
}

// SAFETY: Integers laid out with no padding (4 + 4 + 8 + 4 + 4 bytes).
unsafe impl kernel::types::AsBytes for SgReqInfo {}

const _: () = assert!(core::mem::size_of::<SgReqInfo>() == 24);

/// `sizeof(struct compat_sg_req_info)`.
pub(crate) const SG_REQ_INFO_COMPAT_SIZE: usize = 20;

/// A 32-bit process's `sg_req_info`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct SgReqInfoCompat {
    pub(crate) req_state: u8,
    pub(crate) orphan: u8,
    pub(crate) sg_io_owned: u8,
    pub(crate) problem: u8,
    pub(crate) pack_id: i32,
    pub(crate) usr_ptr: u32,
    pub(crate) duration: u32,
    pub(crate) unused: i32,
}

// SAFETY: Integers laid out with no padding.
unsafe impl kernel::types::AsBytes for SgReqInfoCompat {}

const _: () = assert!(core::mem::size_of::<SgReqInfoCompat>() == SG_REQ_INFO_COMPAT_SIZE);

impl SgReqInfo {
    /// The 32-bit layout; a user pointer from a 32-bit process fits.
    pub(crate) fn compat(self) -> SgReqInfoCompat {
        SgReqInfoCompat {
            req_state: self.req_state,
            orphan: self.orphan,
            sg_io_owned: self.sg_io_owned,
            problem: self.problem,
            pack_id: self.pack_id,
            usr_ptr: self.usr_ptr as u32,
            duration: self.duration,
            unused: self.unused,
        }
    }
}

/// `struct rsg_batch` of rsg's queue interface (`include/uapi/scsi/rsg.h`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct RsgBatch {
    pub(crate) hdrs: u64,
    pub(crate) count: u32,
    pub(crate) flags: u32,
    pub(crate) done: u32,
    pub(crate) timeout_ms: u32,
}

// SAFETY: Integers with no padding.
unsafe impl kernel::types::FromBytes for RsgBatch {}
// SAFETY: As above.
unsafe impl kernel::types::AsBytes for RsgBatch {}

/// `struct rsg_cancel`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct RsgCancel {
    pub(crate) tag: u64,
    pub(crate) flags: u32,
    pub(crate) reserved: u32,
}

// SAFETY: Integers with no padding.
unsafe impl kernel::types::FromBytes for RsgCancel {}

/// `struct rsg_uring_cmd`: an io_uring command's payload.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct RsgUringCmd {
    pub(crate) cdb: u64,
    pub(crate) data: u64,
    pub(crate) sense: u64,
    pub(crate) tag: u64,
    pub(crate) resp: u64,
    pub(crate) data_len: u32,
    pub(crate) timeout_ms: u32,
    pub(crate) flags: u32,
    pub(crate) iovec_count: u16,
    pub(crate) cdb_len: u8,
    pub(crate) dir: u8,
    pub(crate) sense_len: u8,
    pub(crate) pad: [u8; 7],
    pub(crate) reserved: [u64; 2],
}

// SAFETY: Integers with no padding (the header's `pad` is a field).
unsafe impl kernel::types::FromBytes for RsgUringCmd {}

const _: () = assert!(core::mem::size_of::<RsgUringCmd>() == 80);

/// `struct rsg_uring_cancel`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct RsgUringCancel {
    pub(crate) tag: u64,
    pub(crate) flags: u32,
    pub(crate) reserved: u32,
}

// SAFETY: Integers with no padding.
unsafe impl kernel::types::FromBytes for RsgUringCancel {}

/// `struct rsg_uring_resp`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct RsgUringResp {
    pub(crate) tag: u64,
    pub(crate) resid: i32,
    pub(crate) duration: u32,
    pub(crate) info: u32,
    pub(crate) host_status: u16,
    pub(crate) driver_status: u16,
    pub(crate) status: u8,
    pub(crate) masked_status: u8,
    pub(crate) msg_status: u8,
    pub(crate) sb_len_wr: u8,
    pub(crate) reserved: u32,
}

// SAFETY: Integers with no padding.
unsafe impl kernel::types::AsBytes for RsgUringResp {}

const _: () = assert!(core::mem::size_of::<RsgUringResp>() == 32);
