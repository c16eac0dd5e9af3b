// SPDX-License-Identifier: GPL-2.0
//! rsg's io_uring passthrough (`Documentation/rsg-uring.rst`): the payload of
//! a 128-byte SQE, the response block, and the result word of a 32-byte CQE.

pub const RSG_URING_CMD_IO: u32 = 0xc050_22b0;
pub const RSG_URING_CMD_CANCEL: u32 = 0x4010_22b1;

/// `struct rsg_uring_cmd`'s `flags`.
pub const RSG_URING_F_DIRECT_IO: u32 = 0x1;
pub const RSG_URING_F_Q_AT_TAIL: u32 = 0x10;

/// `struct rsg_uring_cmd`'s `dir`.
pub const RSG_URING_DIR_NONE: u8 = 0;
pub const RSG_URING_DIR_TO_DEV: u8 = 1;
pub const RSG_URING_DIR_FROM_DEV: u8 = 2;

/// Bytes of payload a 128-byte SQE carries.
pub const PAYLOAD_LEN: usize = 80;

/// `struct rsg_uring_cmd`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RsgUringCmd {
    pub cdb: u64,
    pub data: u64,
    pub sense: u64,
    pub tag: u64,
    pub resp: u64,
    pub data_len: u32,
    pub timeout_ms: u32,
    pub flags: u32,
    pub iovec_count: u16,
    pub cdb_len: u8,
    pub dir: u8,
    pub sense_len: u8,
    pub pad: [u8; 7],
    pub reserved: [u64; 2],
}

const _: () = assert!(std::mem::size_of::<RsgUringCmd>() == PAYLOAD_LEN);

impl RsgUringCmd {
    /// The SQE payload.
    pub fn bytes(&self) -> [u8; PAYLOAD_LEN] {
        // SAFETY: 80 bytes of integers with no implicit padding.
        unsafe { std::mem::transmute::<RsgUringCmd, [u8; PAYLOAD_LEN]>(*self) }
    }
}

/// `struct rsg_uring_cancel`, as an SQE payload.
pub fn cancel_payload(tag: u64, flags: u32) -> [u8; PAYLOAD_LEN] {
    let mut p = [0u8; PAYLOAD_LEN];
    p[..8].copy_from_slice(&tag.to_ne_bytes());
    p[8..12].copy_from_slice(&flags.to_ne_bytes());
    p
}

/// `struct rsg_uring_resp`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RsgUringResp {
    pub tag: u64,
    pub resid: i32,
    pub duration: u32,
    pub info: u32,
    pub host_status: u16,
    pub driver_status: u16,
    pub status: u8,
    pub masked_status: u8,
    pub msg_status: u8,
    pub sb_len_wr: u8,
    pub reserved: u32,
}

const _: () = assert!(std::mem::size_of::<RsgUringResp>() == 32);

/// The result word of a 32-byte CQE (`big_cqe[0]`), unpacked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UringResult {
    pub status: u8,
    pub host_status: u8,
    pub driver_status: u8,
    pub sb_len_wr: u8,
    pub resid: i32,
}

impl UringResult {
    pub fn from_word(x: u64) -> Self {
        Self {
            status: x as u8,
            host_status: (x >> 8) as u8,
            driver_status: (x >> 16) as u8,
            sb_len_wr: (x >> 24) as u8,
            resid: (x >> 32) as i32,
        }
    }

    /// sg's `masked_status`: the status shifted right by one.
    pub fn masked_status(&self) -> u8 {
        (self.status >> 1) & 0x7f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_word() {
        let r = UringResult::from_word(0xffff_fff0_0812_0702);
        assert_eq!(
            r,
            UringResult {
                status: 2,
                host_status: 7,
                driver_status: 0x12,
                sb_len_wr: 8,
                resid: -16,
            }
        );
        assert_eq!(r.masked_status(), 1);
    }

    #[test]
    fn payload_layout() {
        let c = RsgUringCmd {
            tag: 0x1122,
            data_len: 7,
            cdb_len: 10,
            dir: RSG_URING_DIR_FROM_DEV,
            ..Default::default()
        };
        let b = c.bytes();
        assert_eq!(&b[24..32], &0x1122u64.to_ne_bytes());
        assert_eq!(&b[40..44], &7u32.to_ne_bytes());
        assert_eq!((b[54], b[55]), (10, RSG_URING_DIR_FROM_DEV));
        assert_eq!(
            &cancel_payload(5, 1)[..12],
            &[5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]
        );
    }
}
