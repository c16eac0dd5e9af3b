// SPDX-License-Identifier: GPL-2.0
//! sg's v3 header (`<scsi/sg.h>`) and the ioctls of sg and of rsg's queue
//! interface, with the numbers the 64-bit layouts give them.

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

/// `struct rsg_batch`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RsgBatch {
    pub hdrs: u64,
    pub count: u32,
    pub flags: u32,
    pub done: u32,
    pub timeout_ms: u32,
}

/// `struct rsg_cancel`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RsgCancel {
    pub tag: u64,
    pub flags: u32,
    pub reserved: u32,
}

pub const BATCH_LEN: usize = 24;
pub const CANCEL_LEN: usize = 16;
const _: () = assert!(std::mem::size_of::<RsgBatch>() == BATCH_LEN);
const _: () = assert!(std::mem::size_of::<RsgCancel>() == CANCEL_LEN);

pub const IOC_WRITE: u32 = 1;
pub const IOC_READ: u32 = 2;

/// `_IOC(dir, type, nr, size)` of `<asm-generic/ioctl.h>`.
pub const fn ioc(dir: u32, ty: u32, nr: u32, size: u32) -> u32 {
    (dir << 30) | (size << 16) | (ty << 8) | nr
}

pub const SG_IO: u32 = 0x2285;

/// The ioctl type of rsg's own interfaces.
pub const RSG_IOC_TYPE: u32 = 0x22;
pub const RSG_IOQUEUE: u32 = ioc(IOC_WRITE, RSG_IOC_TYPE, 0xa0, HDR_LEN as u32);
pub const RSG_IOGET: u32 = ioc(IOC_READ, RSG_IOC_TYPE, 0xa1, HDR_LEN as u32);
pub const RSG_IOQUEUE_BATCH: u32 = ioc(IOC_READ | IOC_WRITE, RSG_IOC_TYPE, 0xa2, BATCH_LEN as u32);
pub const RSG_IOGET_BATCH: u32 = ioc(IOC_READ | IOC_WRITE, RSG_IOC_TYPE, 0xa3, BATCH_LEN as u32);
pub const RSG_IOCANCEL: u32 = ioc(IOC_WRITE, RSG_IOC_TYPE, 0xa4, CANCEL_LEN as u32);
pub const RSG_GET_QUEUE_DEPTH: u32 = ioc(IOC_READ, RSG_IOC_TYPE, 0xa5, 4);
/// `RSG_IOGET_BATCH`: wait for a completion.
pub const RSG_BATCH_WAIT: u32 = 1;

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
    fn header_layout() {
        // struct sg_io_hdr on x86_64 and other LP64 ABIs.
        use std::mem::offset_of;
        assert_eq!(offset_of!(SgIoHdr, iovec_count), 10);
        assert_eq!(offset_of!(SgIoHdr, dxfer_len), 12);
        assert_eq!(offset_of!(SgIoHdr, dxferp), 16);
        assert_eq!(offset_of!(SgIoHdr, sbp), 32);
        assert_eq!(offset_of!(SgIoHdr, timeout), 40);
        assert_eq!(offset_of!(SgIoHdr, pack_id), 48);
        assert_eq!(offset_of!(SgIoHdr, usr_ptr), 56);
        assert_eq!(offset_of!(SgIoHdr, status), 64);
        assert_eq!(offset_of!(SgIoHdr, host_status), 68);
        assert_eq!(offset_of!(SgIoHdr, resid), 72);
        assert_eq!(offset_of!(SgIoHdr, info), 80);
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
}
