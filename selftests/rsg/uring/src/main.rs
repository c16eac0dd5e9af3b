// SPDX-License-Identifier: GPL-2.0
//! rsg's io_uring passthrough (IORING_OP_URING_CMD on /dev/rsgN), compared
//! with SG_IO on the sg node of the same LU. TAP output.
//!
//!   rsg_uring            the main suite
//!   rsg_uring removal    the LU is deleted with commands in flight (and
//!                        rescanned back)
//!
//! Environment: RSG_DEV, SG_DEV (nodes of one scsi_debug LU), RSG_HCTL,
//! RSG_KERNEL (the kernel tree, for HZ).

mod scsi;
mod ucmd;

use io_uring::{cqueue, opcode, squeue, types, IoUring};
use scsi::*;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};
use ucmd::*;

type Res = Result<(), String>;
type Test = (&'static str, fn(&Env) -> Res);

macro_rules! ensure {
    ($c:expr, $($fmt:tt)*) => {
        if !$c {
            return Err(format!("{}:{}: {}", file!(), line!(), format!($($fmt)*)));
        }
    };
}

macro_rules! ensure_eq {
    ($a:expr, $b:expr) => {{
        let (a, b) = (&$a, &$b);
        if a != b {
            return Err(format!(
                "{}:{}: {} == {:?}, expected {} == {:?}",
                file!(),
                line!(),
                stringify!($a),
                a,
                stringify!($b),
                b
            ));
        }
    }};
}

pub(crate) use {ensure, ensure_eq};

/// A slow command takes this long (scsi_debug's delay) unless aborted.
const SLOW_MS: u64 = 20_000;
/// Abort and teardown must beat the delay by this much.
const QUICK_MS: u64 = SLOW_MS / 2;

struct Env {
    rsg: String,
    sg: String,
    hctl: String,
    bs: usize,
    blocks: u64,
}

fn env() -> Result<Env, String> {
    let rsg = std::env::var("RSG_DEV").map_err(|_| "RSG_DEV unset")?;
    let sg = std::env::var("SG_DEV").map_err(|_| "SG_DEV unset")?;
    let hctl = std::env::var("RSG_HCTL").map_err(|_| "RSG_HCTL unset")?;
    let fd = open_dev(&sg, libc::O_RDWR)?;
    let (blocks, bs) = read_capacity(fd)?;
    close(fd);
    Ok(Env {
        rsg,
        sg,
        hctl,
        bs,
        blocks,
    })
}

// ---- the tests -----------------------------------------------------------

/// TEST UNIT READY: no data; the result word and the response block say
/// what SG_IO says.
fn t_none(e: &Env) -> Res {
    let (rfd, sfd) = open_both(e)?;
    let mut ring = Ring::new(8)?;
    let cdb = [0u8; 6];
    let mut resp = Resp::default();
    let c = Cmd::new(&cdb, Dir::None).tag(7).resp(&mut resp);
    let cqe = ring.run(rfd, c, 1)?;
    let sg = sg_io(sfd, &cdb, SgDir::None, &mut [], &mut [0; 32]).map_err(e2s)?;
    close(rfd);
    close(sfd);
    ensure_eq!(cqe.res, 0);
    ensure_eq!(cqe.status(), sg.status);
    ensure_eq!(cqe.host_status(), sg.host_status as u8);
    ensure_eq!(resp.tag, 7);
    ensure_eq!(resp.status, sg.status);
    ensure_eq!(resp.info, sg.info);
    Ok(())
}

/// WRITE(10) from a plain buffer; sg reads the same data back; READ(10)
/// into a plain buffer returns it too.
fn t_plain_rw(e: &Env) -> Res {
    let (rfd, sfd) = open_both(e)?;
    let mut ring = Ring::new(8)?;
    let lba = 2048;
    let n = 8;
    let data = pattern(n * e.bs, 0xa1);
    let cdb = rw10(WRITE_10, lba, n as u16);
    let c = Cmd::new(&cdb, Dir::ToDev).data(&data);
    let cqe = ring.run(rfd, c, 1)?;
    ensure_eq!((cqe.res, cqe.extra), (0, 0));
    let (sg, back) = sg_read(sfd, lba, n as u16, e.bs)?;
    ensure_eq!(sg.status, 0);
    ensure!(back == data, "sg read back something else");
    let mut got = vec![0u8; n * e.bs];
    let c = Cmd::new(&rw10(READ_10, lba, n as u16), Dir::FromDev).data_mut(&mut got);
    let cqe = ring.run(rfd, c, 2)?;
    close(rfd);
    close(sfd);
    ensure_eq!((cqe.res, cqe.extra), (0, 0));
    ensure!(
        got == data,
        "io_uring READ(10) differs from what was written"
    );
    Ok(())
}

/// Registered buffers: WRITE(10) from one, READ(10) into another at an
/// offset; sg sees the same data.
fn t_fixed(e: &Env) -> Res {
    let (rfd, sfd) = open_both(e)?;
    let mut ring = Ring::new(8)?;
    let n = 16;
    let len = n * e.bs;
    let mut bufs = [AlignedBuf::new(len)?, AlignedBuf::new(len + 8192)?];
    ring.register(&mut bufs)?;
    let lba = 4096;
    bufs[0].as_mut().copy_from_slice(&pattern(len, 0xb2));
    let c = Cmd::new(&rw10(WRITE_10, lba, n as u16), Dir::ToDev)
        .addr(bufs[0].addr(), len)
        .fixed(0);
    let cqe = ring.run(rfd, c, 1)?;
    ensure_eq!((cqe.res, cqe.extra), (0, 0));
    let (_, back) = sg_read(sfd, lba, n as u16, e.bs)?;
    ensure!(
        back == bufs[0].as_mut(),
        "sg reads other data than written from a fixed buffer"
    );
    let c = Cmd::new(&rw10(READ_10, lba, n as u16), Dir::FromDev)
        .addr(bufs[1].addr() + 4096, len)
        .fixed(1);
    let cqe = ring.run(rfd, c, 2)?;
    close(rfd);
    close(sfd);
    ensure_eq!((cqe.res, cqe.extra), (0, 0));
    ensure!(
        bufs[1].as_mut()[4096..4096 + len] == back[..],
        "fixed READ(10) differs from sg's"
    );
    ensure!(
        bufs[1].as_mut()[..4096].iter().all(|&b| b == 0),
        "wrote before the range"
    );
    Ok(())
}

/// iovec lists in both directions, pieces of odd sizes.
fn t_iovec(e: &Env) -> Res {
    let (rfd, sfd) = open_both(e)?;
    let mut ring = Ring::new(8)?;
    let n = 8;
    let len = n * e.bs;
    let lba = 6144;
    let data = pattern(len, 0xc3);
    let cuts = [0, 512, 2048, 2560, len];
    let mut pieces: Vec<Vec<u8>> = cuts.windows(2).map(|w| data[w[0]..w[1]].to_vec()).collect();
    let iov: Vec<libc::iovec> = pieces
        .iter_mut()
        .map(|p| libc::iovec {
            iov_base: p.as_mut_ptr().cast(),
            iov_len: p.len(),
        })
        .collect();
    let c = Cmd::new(&rw10(WRITE_10, lba, n as u16), Dir::ToDev).iovec(&iov, len);
    let cqe = ring.run(rfd, c, 1)?;
    ensure_eq!((cqe.res, cqe.extra), (0, 0));
    let (_, back) = sg_read(sfd, lba, n as u16, e.bs)?;
    ensure!(
        back == data,
        "sg reads other data than the iovec WRITE(10) sent"
    );
    let rcuts = [0, 100, 1000, 3000, len];
    let mut rp: Vec<Vec<u8>> = rcuts.windows(2).map(|w| vec![0u8; w[1] - w[0]]).collect();
    let riov: Vec<libc::iovec> = rp
        .iter_mut()
        .map(|p| libc::iovec {
            iov_base: p.as_mut_ptr().cast(),
            iov_len: p.len(),
        })
        .collect();
    let c = Cmd::new(&rw10(READ_10, lba, n as u16), Dir::FromDev).iovec(&riov, len);
    let cqe = ring.run(rfd, c, 2)?;
    close(rfd);
    close(sfd);
    ensure_eq!((cqe.res, cqe.extra), (0, 0));
    ensure!(rp.concat() == data, "iovec READ(10) differs");
    Ok(())
}

/// RSG_URING_F_DIRECT_IO into page-aligned memory reads what sg reads.
fn t_direct(e: &Env) -> Res {
    let (rfd, sfd) = open_both(e)?;
    let mut ring = Ring::new(8)?;
    let n = 8;
    let mut buf = AlignedBuf::new(n * e.bs)?;
    let mut sgbuf = vec![0u8; n * e.bs];
    let cdb = rw10(READ_10, 2048, n as u16);
    let c = Cmd::new(&cdb, Dir::FromDev)
        .addr(buf.addr(), n * e.bs)
        .flags(RSG_URING_F_DIRECT_IO);
    let cqe = ring.run(rfd, c, 1)?;
    sg_io(sfd, &cdb, SgDir::From, &mut sgbuf, &mut [0; 32]).map_err(e2s)?;
    close(rfd);
    close(sfd);
    ensure_eq!((cqe.res, cqe.extra), (0, 0));
    ensure!(
        buf.as_mut() == &sgbuf[..],
        "direct READ(10) differs from sg's"
    );
    Ok(())
}

/// READ(10) past the last LBA: status, sense, resid as SG_IO reports them,
/// in the CQE word and in the response block.
fn t_sense(e: &Env) -> Res {
    let (rfd, sfd) = open_both(e)?;
    let mut ring = Ring::new(8)?;
    let cdb = rw10(READ_10, e.blocks as u32 + 8, 1);
    let mut buf = vec![0u8; e.bs];
    let mut sense = [0u8; 64];
    let mut resp = Resp::default();
    let c = Cmd::new(&cdb, Dir::FromDev)
        .data_mut(&mut buf)
        .sense(&mut sense)
        .tag(0xfeed)
        .resp(&mut resp);
    let cqe = ring.run(rfd, c, 1)?;
    let mut sgbuf = vec![0u8; e.bs];
    let mut sgsense = [0u8; 64];
    let sg = sg_io(sfd, &cdb, SgDir::From, &mut sgbuf, &mut sgsense).map_err(e2s)?;
    close(rfd);
    close(sfd);
    diag(&format!(
        "sg: status {:#x} host {:#x} driver {:#x} sb_len_wr {} resid {} info {:#x}; sense {:02x?}",
        sg.status,
        sg.host_status,
        sg.driver_status,
        sg.sb_len_wr,
        sg.resid,
        sg.info,
        &sgsense[..sg.sb_len_wr as usize]
    ));
    ensure_eq!(cqe.res, 0);
    ensure_eq!(sg.status, 0x02);
    ensure_eq!(cqe.status(), sg.status);
    ensure_eq!(cqe.masked_status(), sg.masked_status);
    ensure_eq!(cqe.host_status(), sg.host_status as u8);
    ensure_eq!(cqe.driver_status(), sg.driver_status as u8);
    ensure_eq!(cqe.sb_len_wr(), sg.sb_len_wr);
    ensure_eq!(cqe.resid(), sg.resid);
    ensure!(sg.sb_len_wr > 0, "sg wrote no sense");
    ensure_eq!(sense, sgsense);
    ensure_eq!(resp.tag, 0xfeed);
    ensure_eq!(
        (
            resp.status,
            resp.masked_status,
            resp.msg_status,
            resp.sb_len_wr
        ),
        (sg.status, sg.masked_status, sg.msg_status, sg.sb_len_wr)
    );
    ensure_eq!(
        (resp.host_status, resp.driver_status),
        (sg.host_status, sg.driver_status)
    );
    ensure_eq!((resp.resid, resp.info), (sg.resid, sg.info));
    Ok(())
}

/// A short transfer: READ(10) of one block into two blocks' worth.
fn t_resid(e: &Env) -> Res {
    let (rfd, sfd) = open_both(e)?;
    let mut ring = Ring::new(8)?;
    let cdb = rw10(READ_10, 2048, 1);
    let mut buf = vec![0u8; 2 * e.bs];
    let c = Cmd::new(&cdb, Dir::FromDev).data_mut(&mut buf);
    let cqe = ring.run(rfd, c, 1)?;
    let mut sgbuf = vec![0u8; 2 * e.bs];
    let sg = sg_io(sfd, &cdb, SgDir::From, &mut sgbuf, &mut [0; 32]).map_err(e2s)?;
    close(rfd);
    close(sfd);
    diag(&format!("sg resid {} status {:#x}", sg.resid, sg.status));
    ensure_eq!(cqe.res, 0);
    ensure_eq!(cqe.resid(), sg.resid);
    ensure_eq!(cqe.status(), sg.status);
    ensure!(buf[..e.bs] == sgbuf[..e.bs], "data differs from sg's");
    Ok(())
}

/// A ring without 32-byte CQEs: only res; the response block has the rest.
fn t_cqe16(e: &Env) -> Res {
    let rfd = open_dev(&e.rsg, libc::O_RDWR)?;
    let mut ring: IoUring<squeue::Entry128, cqueue::Entry> = IoUring::builder()
        .build(8)
        .map_err(|e| format!("ring: {e}"))?;
    let cdb = rw10(READ_10, e.blocks as u32 + 8, 1);
    let mut buf = vec![0u8; e.bs];
    let mut sense = [0u8; 32];
    let mut resp = Resp::default();
    let c = Cmd::new(&cdb, Dir::FromDev)
        .data_mut(&mut buf)
        .sense(&mut sense)
        .resp(&mut resp);
    let sqe = opcode::UringCmd80::new(types::Fd(rfd), RSG_URING_CMD_IO)
        .cmd(c.bytes())
        .build()
        .user_data(1);
    // SAFETY: Everything the command points to outlives the wait below.
    unsafe { ring.submission().push(&sqe) }.map_err(|_| "SQ full")?;
    ring.submit_and_wait(1)
        .map_err(|e| format!("submit: {e}"))?;
    let cqe = ring.completion().next().ok_or("no CQE")?;
    close(rfd);
    ensure_eq!(cqe.result(), 0);
    ensure_eq!(resp.status, 0x02);
    ensure!(resp.sb_len_wr >= 8, "no sense in the response block");
    ensure_eq!(sense[2] & 0xf, 0x05);
    Ok(())
}

/// Without CAP_SYS_RAWIO, through a file opened O_RDONLY, WRITE(10) is
/// refused as SG_IO refuses it; READ(10) is not.
fn t_filter(e: &Env) -> Res {
    let rfd = open_dev(&e.rsg, libc::O_RDONLY)?;
    let sfd = open_dev(&e.sg, libc::O_RDONLY)?;
    let mut ring = Ring::new(8)?;
    let data = pattern(e.bs, 0xd4);
    let wcdb = rw10(WRITE_10, 2048 + 64, 1);
    drop_rawio(true)?;
    let w = ring.run(rfd, Cmd::new(&wcdb, Dir::ToDev).data(&data), 1);
    let sgw = sg_io(sfd, &wcdb, SgDir::To, &mut data.clone(), &mut [0; 32]);
    let mut buf = vec![0u8; e.bs];
    let r = ring.run(
        rfd,
        Cmd::new(&rw10(READ_10, 2048, 1), Dir::FromDev).data_mut(&mut buf),
        2,
    );
    drop_rawio(false)?;
    let w2 = ring.run(rfd, Cmd::new(&wcdb, Dir::ToDev).data(&data), 3);
    close(rfd);
    close(sfd);
    ensure_eq!(sgw.err(), Some(-libc::EPERM));
    ensure_eq!(w?.res, -libc::EPERM);
    ensure_eq!(r?.res, 0);
    ensure_eq!(w2?.res, 0);
    Ok(())
}

/// Malformed commands fail with the documented errno, as SG_IO where it
/// has the same case.
fn t_malformed(e: &Env) -> Res {
    let (rfd, sfd) = open_both(e)?;
    let mut ring = Ring::new(8)?;
    let mut buf = vec![0u8; e.bs];
    let read = rw10(READ_10, 2048, 1);
    let tur = [0u8; 6];
    let mut cases: Vec<(&str, i32, Option<i32>)> = Vec::new();

    // cmd_op
    let res = ring.run_op(rfd, 0x1234, Cmd::new(&tur, Dir::None), 1)?.res;
    cases.push(("unknown cmd_op", res, Some(-libc::ENOTTY)));
    // CDB lengths and pointers, with SG_IO's answers for the same.
    for (what, len) in [("cdb_len 5", 5usize), ("cdb_len 33", 33)] {
        let cdb = [0u8; 40];
        let c = Cmd::new(&cdb[..len], Dir::None);
        let r = ring.run(rfd, c, 2)?.res;
        let s = sg_io(sfd, &cdb[..len], SgDir::None, &mut [], &mut [0; 32]).err();
        cases.push((what, r, s));
    }
    let c = Cmd::new(&tur, Dir::None).cdb_addr(0);
    let s = sg_io_raw(sfd, 0, 6, SgDir::None, 0, 0).err();
    cases.push(("null cdb", ring.run(rfd, c, 3)?.res, s));
    let c = Cmd::new(&tur, Dir::None).cdb_addr(8);
    let s = sg_io_raw(sfd, 8, 6, SgDir::None, 0, 0).err();
    cases.push(("unmapped cdb", ring.run(rfd, c, 4)?.res, s));
    let rd = rw10(READ_10, 2048, 1);
    let c = Cmd::new(&rd, Dir::FromDev).addr(8, e.bs);
    let s = sg_io_raw(sfd, rd.as_ptr() as u64, 10, SgDir::From, 8, e.bs as u32).err();
    cases.push(("unmapped data-in buffer", ring.run(rfd, c, 5)?.res, s));
    let wr = rw10(WRITE_10, 2048 + 64, 1);
    let c = Cmd::new(&wr, Dir::ToDev).addr(8, e.bs);
    let s = sg_io_raw(sfd, wr.as_ptr() as u64, 10, SgDir::To, 8, e.bs as u32).err();
    cases.push(("unmapped data-out buffer", ring.run(rfd, c, 6)?.res, s));
    let c = Cmd::new(&read, Dir::FromDev).addr(buf.as_mut_ptr() as u64, 256 << 20);
    let s = sg_io_raw(
        sfd,
        read.as_ptr() as u64,
        10,
        SgDir::From,
        buf.as_mut_ptr() as u64,
        256 << 20,
    )
    .err();
    cases.push(("256 MiB transfer", ring.run(rfd, c, 7)?.res, s));
    let oob = rw10(READ_10, e.blocks as u32 + 8, 1);
    let c = Cmd::new(&oob, Dir::FromDev)
        .data_mut(&mut buf)
        .sense_addr(8, 32);
    cases.push((
        "unmapped sense buffer",
        ring.run(rfd, c, 8)?.res,
        Some(-libc::EFAULT),
    ));
    // Fields of our own.
    let bad = |f: &dyn Fn(Cmd) -> Cmd| f(Cmd::new(&tur, Dir::None));
    cases.push((
        "unknown flag",
        ring.run(rfd, bad(&|c| c.flags(0x100)), 9)?.res,
        Some(-libc::EINVAL),
    ));
    cases.push((
        "pad set",
        ring.run(rfd, bad(&|c| c.pad(1)), 10)?.res,
        Some(-libc::EINVAL),
    ));
    cases.push((
        "reserved set",
        ring.run(rfd, bad(&|c| c.reserved(1)), 11)?.res,
        Some(-libc::EINVAL),
    ));
    cases.push((
        "direction 3",
        ring.run(rfd, bad(&|c| c.dir_raw(3)), 12)?.res,
        Some(-libc::EINVAL),
    ));
    // Registered buffers.
    let c = Cmd::new(&read, Dir::FromDev)
        .addr(buf.as_mut_ptr() as u64, e.bs)
        .fixed(0);
    cases.push((
        "fixed, none registered",
        ring.run(rfd, c, 13)?.res,
        Some(-libc::EFAULT),
    ));
    let mut bufs = [AlignedBuf::new(e.bs)?];
    ring.register(&mut bufs)?;
    let c = Cmd::new(&read, Dir::FromDev)
        .addr(bufs[0].addr() + 512, e.bs)
        .fixed(0);
    cases.push((
        "fixed, past the buffer",
        ring.run(rfd, c, 14)?.res,
        Some(-libc::EFAULT),
    ));
    let iov = [libc::iovec {
        iov_base: bufs[0].addr() as *mut _,
        iov_len: e.bs,
    }];
    let c = Cmd::new(&read, Dir::FromDev).iovec(&iov, e.bs).fixed(0);
    cases.push((
        "fixed with iovec",
        ring.run(rfd, c, 15)?.res,
        Some(-libc::EINVAL),
    ));
    let c = Cmd::new(&read, Dir::FromDev)
        .addr(bufs[0].addr(), e.bs)
        .fixed(0)
        .flags(RSG_URING_F_DIRECT_IO);
    cases.push((
        "fixed with direct I/O",
        ring.run(rfd, c, 16)?.res,
        Some(-libc::EINVAL),
    ));
    // Cancel.
    let res = ring.run_cancel(rfd, 0x5151, 1, 17)?.res;
    cases.push(("cancel with flags", res, Some(-libc::EINVAL)));
    let res = ring.run_cancel(rfd, 0x5151, 0, 18)?.res;
    cases.push(("cancel of no such tag", res, Some(-libc::ENOENT)));
    // A ring with 64-byte SQEs cannot carry the command.
    let mut small: IoUring = IoUring::new(4).map_err(|e| format!("ring: {e}"))?;
    let sqe = opcode::UringCmd16::new(types::Fd(rfd), RSG_URING_CMD_IO)
        .build()
        .user_data(1);
    // SAFETY: The command carries no pointers.
    unsafe { small.submission().push(&sqe) }.map_err(|_| "SQ full")?;
    small
        .submit_and_wait(1)
        .map_err(|e| format!("submit: {e}"))?;
    let res = small.completion().next().ok_or("no CQE")?.result();
    cases.push(("64-byte SQE ring", res, Some(-libc::EOPNOTSUPP)));
    // No polled completion (no uring_cmd_iopoll).
    let mut polled: IoUring<squeue::Entry128, cqueue::Entry32> = IoUring::builder()
        .setup_iopoll()
        .build(4)
        .map_err(|e| format!("ring: {e}"))?;
    let c = Cmd::new(&tur, Dir::None);
    let sqe = opcode::UringCmd80::new(types::Fd(rfd), RSG_URING_CMD_IO)
        .cmd(c.bytes())
        .build()
        .user_data(1);
    // SAFETY: The CDB the command points to lives in `c`, past the wait.
    unsafe { polled.submission().push(&sqe) }.map_err(|_| "SQ full")?;
    polled
        .submit_and_wait(1)
        .map_err(|e| format!("submit: {e}"))?;
    let res = polled.completion().next().ok_or("no CQE")?.result();
    cases.push(("IOPOLL ring", res, Some(-libc::EOPNOTSUPP)));
    close(rfd);
    close(sfd);
    let mut bad_cases = Vec::new();
    for (what, got, want) in &cases {
        diag(&format!("{what}: {got} (expected {want:?})"));
        if Some(*got) != *want {
            bad_cases.push(*what);
        }
    }
    ensure!(bad_cases.is_empty(), "wrong errno for {:?}", bad_cases);
    Ok(())
}

/// RSG_URING_CMD_CANCEL aborts a slow READ(10), which completes at once
/// with DID_TIME_OUT, as RSG_IOCANCEL does. io_uring's own cancel opcode
/// does not reach drivers in Linux 6.12: ENOENT.
fn t_cancel(e: &Env) -> Res {
    let rfd = open_dev(&e.rsg, libc::O_RDWR)?;
    let mut ring = Ring::new(8)?;
    let mut sd = Sdebug::default();
    let r = (|| {
        sd.slow(SLOW_MS)?;
        let mut buf = vec![0u8; e.bs];
        let c = Cmd::new(&rw10(READ_10, 2048, 1), Dir::FromDev)
            .data_mut(&mut buf)
            .tag(77);
        let t0 = Instant::now();
        ring.submit(rfd, RSG_URING_CMD_IO, c, 100)?;
        std::thread::sleep(Duration::from_millis(300));
        let ac = opcode::AsyncCancel::new(100).build().user_data(101);
        ring.push(ac.into())?;
        let got = ring.wait(1, 5000)?;
        ensure_eq!(got[0].user_data, 101);
        ensure_eq!(got[0].res, -libc::ENOENT);
        ensure_eq!(ring.run_cancel(rfd, 77, 0, 102)?.res, 0);
        let got = ring.wait(1, QUICK_MS)?;
        let el = t0.elapsed().as_millis() as u64;
        diag(&format!(
            "cancelled after {el} ms: res {} status {:#x} host {:#x} driver {:#x}",
            got[0].res,
            got[0].status(),
            got[0].host_status(),
            got[0].driver_status()
        ));
        ensure_eq!(got[0].user_data, 100);
        ensure_eq!(got[0].res, 0);
        ensure_eq!(got[0].host_status(), DID_TIME_OUT);
        ensure!(el < QUICK_MS, "the READ ran its course ({el} ms)");
        ensure_eq!(ring.run_cancel(rfd, 77, 0, 103)?.res, -libc::ENOENT);
        Ok(())
    })();
    let restored = sd.restore();
    close(rfd);
    r.and(restored)
}

/// Commands in flight when the ring goes are aborted: the LU is idle
/// again long before the delay; the file still works.
fn t_ring_teardown(e: &Env) -> Res {
    let rfd = open_dev(&e.rsg, libc::O_RDWR)?;
    let mut sd = Sdebug::default();
    let r = (|| {
        sd.slow(SLOW_MS)?;
        let mut bufs: Vec<Vec<u8>> = (0..4).map(|_| vec![0u8; e.bs]).collect();
        let t0 = Instant::now();
        {
            let mut ring = Ring::new(8)?;
            for (i, b) in bufs.iter_mut().enumerate() {
                let c = Cmd::new(&rw10(READ_10, 2048 + i as u32, 1), Dir::FromDev).data_mut(b);
                ring.submit(rfd, RSG_URING_CMD_IO, c, i as u64)?;
            }
            std::thread::sleep(Duration::from_millis(300));
            ensure!(lu_busy(&e.hctl)? > 0, "nothing in flight");
        }
        let idle = wait_idle(&e.hctl, QUICK_MS)?;
        diag(&format!(
            "LU idle {} ms after submission",
            t0.elapsed().as_millis()
        ));
        ensure!(
            idle,
            "commands still in flight {} ms after the ring closed",
            QUICK_MS
        );
        sd.restore()?;
        let mut ring = Ring::new(8)?;
        ensure_eq!(ring.run(rfd, Cmd::new(&[0u8; 6], Dir::None), 9)?.res, 0);
        Ok(())
    })();
    let restored = sd.restore();
    close(rfd);
    r.and(restored)
}

/// A task exiting with commands in flight: they are aborted, nothing is
/// written to the dead task, the file is released (an O_EXCL open works).
fn t_task_exit(e: &Env) -> Res {
    let mut sd = Sdebug::default();
    let r = (|| {
        sd.slow(SLOW_MS)?;
        let t0 = Instant::now();
        // SAFETY: The child only makes system calls and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let code = (|| -> Res {
                let rfd = open_dev(&e.rsg, libc::O_RDWR)?;
                let mut ring = Ring::new(8)?;
                let mut sense = [0u8; 32];
                let mut bufs: Vec<Vec<u8>> = (0..4).map(|_| vec![0u8; e.bs]).collect();
                for (i, b) in bufs.iter_mut().enumerate() {
                    let c = Cmd::new(&rw10(READ_10, 2048 + i as u32, 1), Dir::FromDev)
                        .data_mut(b)
                        .sense(&mut sense);
                    ring.submit(rfd, RSG_URING_CMD_IO, c, i as u64)?;
                }
                std::thread::sleep(Duration::from_millis(300));
                std::mem::forget(ring);
                std::mem::forget(bufs);
                Ok(())
            })();
            // SAFETY: Leaves without unwinding or flushing the parent's state.
            unsafe { libc::_exit(if code.is_ok() { 0 } else { 1 }) };
        }
        ensure!(pid > 0, "fork failed");
        let mut st = 0;
        // SAFETY: Waits for our child.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        ensure_eq!(st, 0);
        let idle = wait_idle(&e.hctl, QUICK_MS)?;
        diag(&format!(
            "LU idle {} ms after submission",
            t0.elapsed().as_millis()
        ));
        ensure!(idle, "commands still in flight after the task exited");
        sd.restore()?;
        let fd = wait_excl(&e.rsg, 5000)?;
        close(fd);
        Ok(())
    })();
    r.and(sd.restore())
}

/// Closing the fd with commands in flight: io_uring keeps the file open,
/// the commands complete normally with their data, then the file goes.
fn t_close_fd(e: &Env) -> Res {
    let sfd = open_dev(&e.sg, libc::O_RDWR)?;
    let mut sd = Sdebug::default();
    let r = (|| {
        sd.slow(800)?;
        let rfd = open_dev(&e.rsg, libc::O_RDWR)?;
        let mut ring = Ring::new(8)?;
        let mut bufs: Vec<Vec<u8>> = (0..4).map(|_| vec![0u8; 2 * e.bs]).collect();
        for (i, b) in bufs.iter_mut().enumerate() {
            let c = Cmd::new(&rw10(READ_10, 2048 + 2 * i as u32, 2), Dir::FromDev).data_mut(b);
            ring.submit(rfd, RSG_URING_CMD_IO, c, i as u64)?;
        }
        close(rfd);
        let got = ring.wait(4, 30_000)?;
        for c in &got {
            ensure_eq!((c.res, c.extra), (0, 0));
        }
        sd.restore()?;
        for (i, b) in bufs.iter().enumerate() {
            let (_, sgbuf) = sg_read(sfd, 2048 + 2 * i as u32, 2, e.bs)?;
            ensure!(*b == sgbuf, "READ(10) {i} differs from sg's");
        }
        drop(ring);
        let fd = wait_excl(&e.rsg, 5000)?;
        close(fd);
        Ok(())
    })();
    close(sfd);
    r.and(sd.restore())
}

/// A file takes `queue_depth` commands in flight; the next is EBUSY, and
/// room comes back as they complete.
fn t_depth_limit(e: &Env) -> Res {
    let param = "/sys/module/rsg/parameters/queue_depth";
    let old = std::fs::read_to_string(param).map_err(|e| format!("{param}: {e}"))?;
    std::fs::write(param, "2").map_err(|e| format!("{param}: {e}"))?;
    let rfd = open_dev(&e.rsg, libc::O_RDWR);
    // The file's depth is fixed at its first command, so the old value
    // can go back at once.
    let mut sd = Sdebug::default();
    let r = (|| {
        let rfd = rfd.clone()?;
        sd.slow(500)?;
        let mut ring = Ring::new(8)?;
        let mut bufs: Vec<Vec<u8>> = (0..3).map(|_| vec![0u8; e.bs]).collect();
        for (i, b) in bufs.iter_mut().enumerate() {
            let c = Cmd::new(&rw10(READ_10, 2048 + i as u32, 1), Dir::FromDev).data_mut(b);
            ring.submit(rfd, RSG_URING_CMD_IO, c, i as u64)?;
        }
        let mut got = ring.wait(3, 30_000)?;
        got.sort_by_key(|c| c.user_data);
        diag(&format!(
            "res {:?}",
            got.iter().map(|c| c.res).collect::<Vec<_>>()
        ));
        ensure_eq!((got[0].res, got[1].res, got[2].res), (0, 0, -libc::EBUSY));
        sd.restore()?;
        let c = Cmd::new(&rw10(READ_10, 2048, 1), Dir::FromDev).data_mut(&mut bufs[0]);
        ensure_eq!(ring.run(rfd, c, 9)?.res, 0);
        Ok(())
    })();
    let _ = std::fs::write(param, old.trim());
    if let Ok(fd) = rfd {
        close(fd);
    }
    r.and(sd.restore())
}

/// 64 reads in flight at random LBAs, plain and fixed, each checked against
/// what sg wrote there.
fn t_depth(e: &Env) -> Res {
    let (rfd, sfd) = open_both(e)?;
    let base = 8192u32;
    let span = 256usize;
    let mut img = vec![0u8; span * e.bs];
    for (i, blk) in img.chunks_mut(e.bs).enumerate() {
        blk.copy_from_slice(&pattern(e.bs, i as u8 ^ 0x5a));
        blk[..4].copy_from_slice(&(i as u32).to_le_bytes());
    }
    sg_io(
        sfd,
        &rw10(WRITE_10, base, span as u16),
        SgDir::To,
        &mut img.clone(),
        &mut [0; 32],
    )
    .map_err(e2s)?;
    let mut ring = Ring::new(64)?;
    let mut fixed = [AlignedBuf::new(32 * e.bs)?];
    ring.register(&mut fixed)?;
    let mut plain: Vec<Vec<u8>> = (0..32).map(|_| vec![0u8; e.bs]).collect();
    let mut seed = 12345u32;
    let mut lbas = Vec::new();
    for i in 0..64usize {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let blk = (seed >> 8) as usize % span;
        lbas.push(blk);
        let cdb = rw10(READ_10, base + blk as u32, 1);
        let c = if i % 2 == 0 {
            Cmd::new(&cdb, Dir::FromDev).data_mut(&mut plain[i / 2])
        } else {
            Cmd::new(&cdb, Dir::FromDev)
                .addr(fixed[0].addr() + (i / 2 * e.bs) as u64, e.bs)
                .fixed(0)
        };
        ring.submit(rfd, RSG_URING_CMD_IO, c, i as u64)?;
    }
    let got = ring.wait(64, 60_000)?;
    close(rfd);
    close(sfd);
    for c in &got {
        ensure_eq!((c.user_data, c.res, c.extra), (c.user_data, 0, 0));
    }
    for (i, &blk) in lbas.iter().enumerate() {
        let want = &img[blk * e.bs..(blk + 1) * e.bs];
        let have = if i % 2 == 0 {
            &plain[i / 2][..]
        } else {
            &fixed[0].as_mut()[i / 2 * e.bs..(i / 2 + 1) * e.bs]
        };
        ensure!(have == want, "read {i} (block {blk}) has other data");
    }
    Ok(())
}

/// Commands in flight when the LU is deleted complete at once with an
/// error; new ones get ENODEV. The LU is rescanned back.
fn t_removal(e: &Env) -> Res {
    let rfd = open_dev(&e.rsg, libc::O_RDWR)?;
    let mut sd = Sdebug::default();
    let r = (|| {
        sd.slow(SLOW_MS)?;
        let mut ring = Ring::new(16)?;
        let mut bufs: Vec<Vec<u8>> = (0..8).map(|_| vec![0u8; e.bs]).collect();
        for (i, b) in bufs.iter_mut().enumerate() {
            let c = Cmd::new(&rw10(READ_10, 2048 + 8 * i as u32, 1), Dir::FromDev).data_mut(b);
            ring.submit(rfd, RSG_URING_CMD_IO, c, i as u64)?;
        }
        std::thread::sleep(Duration::from_millis(300));
        let t0 = Instant::now();
        lu_delete(&e.hctl)?;
        let got = ring.wait(8, QUICK_MS)?;
        let el = t0.elapsed().as_millis() as u64;
        for c in &got {
            diag(&format!(
                "tag {} res {} status {:#x} host {:#x} driver {:#x}",
                c.user_data,
                c.res,
                c.status(),
                c.host_status(),
                c.driver_status()
            ));
            ensure_eq!(c.res, 0);
            ensure!(
                c.status() != 0 || c.host_status() != 0,
                "command {} succeeded",
                c.user_data
            );
        }
        ensure!(el < QUICK_MS, "completions took {el} ms");
        let res = ring.run(rfd, Cmd::new(&[0u8; 6], Dir::None), 50)?.res;
        ensure_eq!(res, -libc::ENODEV);
        Ok(())
    })();
    close(rfd);
    let restored = sd.restore();
    let back = lu_rescan(&e.hctl);
    r.and(restored).and(back)
}

fn main() {
    let removal = std::env::args().nth(1).as_deref() == Some("removal");
    let tests: Vec<Test> = if removal {
        vec![(
            "removal: commands in flight end when the LU goes",
            t_removal,
        )]
    } else {
        vec![
            ("no data: TEST UNIT READY as sg", t_none),
            (
                "plain buffers: WRITE(10) read back by sg, READ(10)",
                t_plain_rw,
            ),
            ("registered buffers: WRITE(10) and READ(10)", t_fixed),
            ("iovecs: WRITE(10) and READ(10)", t_iovec),
            ("direct I/O: READ(10) as sg", t_direct),
            ("LBA out of range: status, sense, resid as sg", t_sense),
            ("short transfer: resid as sg", t_resid),
            ("16-byte CQEs: response block", t_cqe16),
            (
                "command filter: EPERM as sg without CAP_SYS_RAWIO",
                t_filter,
            ),
            ("malformed commands: documented errnos", t_malformed),
            ("cancel by tag aborts a slow command", t_cancel),
            ("ring teardown aborts commands in flight", t_ring_teardown),
            ("task exit with commands in flight", t_task_exit),
            ("fd closed with commands in flight", t_close_fd),
            ("64 commands in flight, plain and fixed", t_depth),
            ("queue_depth: one command more is EBUSY", t_depth_limit),
        ]
    };
    // RSG_URING_ONLY=WORD: run only the tests whose name has WORD.
    let only = std::env::var("RSG_URING_ONLY").unwrap_or_default();
    let tests: Vec<_> = tests
        .into_iter()
        .filter(|(n, _)| n.contains(only.as_str()))
        .collect();
    println!("TAP version 13");
    println!("1..{}", tests.len());
    let e = match env() {
        Ok(e) => e,
        Err(err) => {
            println!("Bail out! {err}");
            std::process::exit(1);
        }
    };
    diag(&format!(
        "rsg {} sg {} LU {} block {} blocks {}",
        e.rsg, e.sg, e.hctl, e.bs, e.blocks
    ));
    let mut failed = 0;
    for (i, (name, f)) in tests.iter().enumerate() {
        match f(&e) {
            Ok(()) => println!("ok {} {}", i + 1, name),
            Err(err) => {
                failed += 1;
                diag(&err);
                println!("not ok {} {}", i + 1, name);
            }
        }
    }
    std::process::exit(if failed == 0 { 0 } else { 1 });
}

/// rsg's and sg's nodes of the LU, opened for reading and writing.
fn open_both(e: &Env) -> Result<(RawFd, RawFd), String> {
    Ok((
        open_dev(&e.rsg, libc::O_RDWR)?,
        open_dev(&e.sg, libc::O_RDWR)?,
    ))
}

/// READ(10) of `n` blocks at `lba` through sg: its header and the data.
fn sg_read(sfd: RawFd, lba: u32, n: u16, bs: usize) -> Result<(SgIoHdr, Vec<u8>), String> {
    let mut data = vec![0u8; usize::from(n) * bs];
    let cdb = rw10(READ_10, lba, n);
    let h = sg_io(sfd, &cdb, SgDir::From, &mut data, &mut [0; 32]).map_err(e2s)?;
    Ok((h, data))
}

fn e2s(e: i32) -> String {
    format!("SG_IO failed: errno {}", -e)
}

fn diag(s: &str) {
    for line in s.lines() {
        println!("# {line}");
    }
}
