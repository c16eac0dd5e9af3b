// SPDX-License-Identifier: GPL-2.0

//! io_uring passthrough (`include/uapi/scsi/rsg.h`,
//! `Documentation/rsg-uring.rst`): SCSI commands as `IORING_OP_URING_CMD`,
//! each a v3 request built and checked as `SG_IO` builds it, completed in
//! the submitting task with the result in the CQE.

use super::errno::{ecanceled, eopnotsupp};
use super::v3::{build, device_ready, take_response, Built, Cdb, UringSource};
use crate::abstractions::block::{Completed, Completion, Direction};
use crate::abstractions::file::File;
use crate::abstractions::time;
use crate::abstractions::uring::{
    InTask, IssueFlags, Queued, UringCmd, UringCmdBorrow, UringCmdRef,
};
use crate::core::file::OpenFile;
use crate::core::request::Request;
use crate::uapi::*;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};
use kernel::uaccess::UserSlice;

/// `cmd_op`s (`_IOWR`/`_IOW` of type 0x22, 0xb0..).
pub(crate) const RSG_URING_CMD_IO: u32 = 0xc050_22b0;
pub(crate) const RSG_URING_CMD_CANCEL: u32 = 0x4010_22b1;

const DIR_NONE: u8 = 0;
const DIR_TO_DEV: u8 = 1;
const DIR_FROM_DEV: u8 = 2;

/// `RSG_URING_F_*`, with the values of the `SG_FLAG_*` they stand for.
const F_DIRECT_IO: u32 = SG_FLAG_DIRECT_IO;
const F_Q_AT_TAIL: u32 = SG_FLAG_Q_AT_TAIL;

/// What a running command keeps in its pdu.
pub(crate) type Data = Arc<Request>;

/// A command's right to complete, typed for rsg.
type Cmd = UringCmd<Data>;

/// A command issued on `ofile`: started and handed on, or failed.
pub(crate) fn issue(
    ofile: ArcBorrow<'_, OpenFile>,
    file: &File,
    cmd: Cmd,
    flags: IssueFlags,
) -> core::result::Result<Queued, (Cmd, Error)> {
    match cmd.op() {
        RSG_URING_CMD_IO => match start(ofile, file, &cmd, flags) {
            Ok((built, resp)) => Ok(launch(cmd, built, resp, flags)),
            Err(e) => Err((cmd, e)),
        },
        RSG_URING_CMD_CANCEL => {
            let ret = cancel(&ofile, &cmd, flags);
            Ok(cmd.hand_off(|cmd| cmd.done(ret, 0, flags)))
        }
        _ => Err((cmd, ENOTTY)),
    }
}

/// io_uring's own cancellation (the ring or its task is going away): abort
/// the command's request as `RSG_IOCANCEL` does; it then completes. io_uring
/// repeats the call until then; aborting again would only push the SCSI
/// error handler to escalate.
pub(crate) fn cancel_call(cmd: &UringCmdRef<'_, Data>) {
    if !cmd.first_cancel() {
        return;
    }
    if let Some(req) = cmd.data() {
        req.abort();
    }
}

/// Checks the payload and builds the request, as `SG_IO` would; also
/// returns where the full response goes.
fn start(
    ofile: ArcBorrow<'_, OpenFile>,
    file: &File,
    cmd: &Cmd,
    flags: IssueFlags,
) -> Result<(Built, u64)> {
    if !flags.sqe128() {
        return Err(eopnotsupp());
    }
    let (c, _) = cmd.payload::<RsgUringCmd>(flags).ok_or(EINVAL)?;
    if c.flags & !(F_DIRECT_IO | F_Q_AT_TAIL) != 0 || c.pad != [0; 7] || c.reserved != [0; 2] {
        return Err(EINVAL);
    }
    let (dxfer_direction, dir) = match c.dir {
        DIR_NONE => (SG_DXFER_NONE, Direction::FromDevice),
        DIR_TO_DEV => (SG_DXFER_TO_DEV, Direction::ToDevice),
        DIR_FROM_DEV => (SG_DXFER_FROM_DEV, Direction::FromDevice),
        _ => return Err(EINVAL),
    };
    // A registered buffer is one range, already mapped; a 32-bit ring's
    // iovecs would be read in the wrong layout from a worker thread.
    if (cmd.is_fixed() && (c.iovec_count != 0 || c.flags & F_DIRECT_IO != 0))
        || (flags.compat() && c.iovec_count != 0)
    {
        return Err(EINVAL);
    }
    let start_ms = time::now_ms();
    device_ready(&ofile)?;
    let cdb = Cdb::read(&ofile, file, c.cdb as usize, c.cdb_len, !file.is_rdwr())?;
    let hdr = sg_io_hdr {
        interface_id: i32::from(b'S'),
        dxfer_direction,
        cmd_len: c.cdb_len,
        mx_sb_len: c.sense_len,
        iovec_count: c.iovec_count,
        dxfer_len: c.data_len,
        dxferp: c.data as usize,
        cmdp: c.cdb as usize,
        sbp: c.sense as usize,
        timeout: c.timeout_ms,
        flags: c.flags,
        usr_ptr: c.tag as usize,
        ..Default::default()
    };
    let timeout = time::ms_to_jiffies(c.timeout_ms).min(i32::MAX as u64) as u32;
    // Full: fail rather than wait, as `EAGAIN` would only retry once.
    let mut slot = ofile
        .reserve_uring()
        .map_err(|e| if e == EAGAIN { EBUSY } else { e })?;
    let fixed = if cmd.is_fixed() && c.dir != DIR_NONE && c.data_len > 0 {
        Some(cmd.import_fixed(c.data, c.data_len as usize, dir)?)
    } else {
        None
    };
    let source = UringSource {
        nowait: flags.nonblock(),
        fixed: fixed.as_ref(),
    };
    let built = build(
        ofile,
        &mut slot,
        &hdr,
        &cdb,
        timeout,
        start_ms,
        false,
        Some(source),
    )?;
    // Listed before it starts: retiring it finds it by the place listing
    // gives it.
    ofile.insert(slot, built.req.clone());
    Ok((built, c.resp))
}

/// Starts a built request; nothing fails from here on.
fn launch(mut cmd: Cmd, built: Built, resp: u64, flags: IssueFlags) -> Queued {
    // The pdu was empty, so nothing comes back.
    drop(cmd.set_data(built.req.clone()));
    cmd.set_word(resp);
    cmd.mark_cancelable(flags);
    // The pdu holds its own reference: the built one goes at the start.
    cmd.hand_off(|cmd| built.start::<UringIo>(|_| cmd))
}

/// Aborts the running command tagged as the payload says.
fn cancel(ofile: &OpenFile, cmd: &Cmd, flags: IssueFlags) -> Result {
    let (c, _) = cmd.payload::<RsgUringCancel>(flags).ok_or(EINVAL)?;
    if c.flags != 0 || c.reserved != 0 {
        return Err(EINVAL);
    }
    ofile.inner.lock().uring.abort_tagged(c.tag as usize)
}

/// The completion of an io_uring command's request.
pub(crate) struct UringIo;

impl Completion for UringIo {
    type Data = Cmd;

    fn with_abort_handle(
        cmd: UringCmdBorrow<'_, Data>,
        f: &mut dyn FnMut(&crate::abstractions::block::AbortHandle),
    ) {
        if let Some(req) = cmd.data() {
            f(req.abort_handle());
        }
    }

    /// Possibly in interrupt context: record, then finish in the task.
    fn complete(cmd: Cmd, done: &Completed<'_>) {
        if let Some(req) = cmd.data() {
            req.record(done);
        }
        cmd.complete_in_task::<UringIo>();
    }
}

impl InTask for UringIo {
    type Data = Data;

    fn run(mut cmd: Cmd, flags: IssueFlags) {
        let resp = cmd.word();
        let Some(req) = cmd.take_data() else {
            return cmd.done(Err(EIO), 0, flags);
        };
        if flags.task_dead() {
            // Nobody sees this CQE, and the memory the command names may be
            // gone with the ring: retire it where no user memory is touched,
            // as requests of a closed file are.
            Request::retire_later(req);
            return cmd.done(Err(ecanceled()), 0, flags);
        }
        let (ret, res2) = finish(req, resp);
        cmd.done(ret, res2, flags);
    }
}

/// Delivers the response as `SG_IO` does (sense to the sense buffer, data
/// to the caller's memory) and retires the request; returns `cqe->res` and
/// the packed result word.
fn finish(req: Arc<Request>, resp: u64) -> (Result, u64) {
    let (hdr, retired) = take_response(req);
    let hdr = match hdr {
        Ok(hdr) => hdr,
        Err(e) => return (Err(e), 0),
    };
    let res2 = u64::from(hdr.status)
        | u64::from(hdr.host_status as u8) << 8
        | u64::from(hdr.driver_status as u8) << 16
        | u64::from(hdr.sb_len_wr) << 24
        | u64::from(hdr.resid as u32) << 32;
    let mut ret = retired;
    if resp != 0 {
        let out = RsgUringResp {
            tag: hdr.usr_ptr as u64,
            resid: hdr.resid,
            duration: hdr.duration,
            info: hdr.info,
            host_status: hdr.host_status,
            driver_status: hdr.driver_status,
            status: hdr.status,
            masked_status: hdr.masked_status,
            msg_status: hdr.msg_status,
            sb_len_wr: hdr.sb_len_wr,
            reserved: 0,
        };
        let written = UserSlice::new(resp as usize, core::mem::size_of::<RsgUringResp>())
            .writer()
            .write(&out);
        ret = ret.and(written);
    }
    (ret, res2)
}
