//! Fixed cases run before the random ones: inputs that once broke rsg.

use crate::gen::{Cdb, Op, Ptr, Queue, Req};
use crate::sg::*;

/// INQUIRY into `len` bytes at `data` with `flags`.
fn inquiry(data: Ptr, len: u32, flags: u32) -> Req {
    let mut bytes = [0u8; 32];
    bytes[0] = 0x12;
    bytes[4] = 96;
    Req {
        hdr: SgIoHdr {
            interface_id: 'S' as i32,
            dxfer_direction: SG_DXFER_FROM_DEV,
            cmd_len: 6,
            mx_sb_len: 32,
            dxfer_len: len,
            timeout: 20000,
            flags,
            ..Default::default()
        },
        cdb: Cdb {
            bytes,
            len: 6,
            dir: SG_DXFER_FROM_DEV,
            xfer: 96,
        },
        cdb_ptr: Ptr::Rw(0),
        sb_ptr: Ptr::Rw(0),
        data_ptr: data,
        iov: Vec::new(),
        fill: 0,
    }
}

/// (what it once did, the operation).
pub fn cases() -> Vec<(&'static str, Op)> {
    // dxferp + dxfer_len past the top of the address space overflowed in
    // the direct I/O check (a kernel BUG from any caller).
    let top = Ptr::Kernel(0xffff_ffff_ffff_f000);
    vec![
        (
            "SG_IO, dxferp at the top of the address space",
            Op::SgIo(Ptr::Rw(0), inquiry(top, 8192, 0)),
        ),
        (
            "SG_IO, dxferp at the top, direct I/O",
            Op::SgIo(Ptr::Rw(0), inquiry(top, 8192, SG_FLAG_DIRECT_IO)),
        ),
        (
            "write(), dxferp at the top",
            Op::WriteV3(
                Ptr::Rw(0),
                HDR_LEN,
                inquiry(Ptr::Kernel(0xffff_ffff_ffff_fff8), 16, 0),
            ),
        ),
        (
            "RSG_IOQUEUE, dxferp at the top",
            Op::Queue(Queue::One(Ptr::Rw(0), inquiry(top, 1 << 20, 0))),
        ),
        (
            "SG_IO, a good INQUIRY after them",
            Op::SgIo(Ptr::Rw(0), inquiry(Ptr::Rw(0), 96, 0)),
        ),
    ]
}
