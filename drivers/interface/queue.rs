// SPDX-License-Identifier: GPL-2.0

//! The pass(4)-style queue interface (`include/uapi/scsi/rsg.h`): queue v3
//! requests and reap their completions in any order, singly or in batches,
//! and cancel one by its tag.

use super::v3::{respond, write_hdr, HeaderOut};
use crate::abstractions::file::File;
use crate::abstractions::time;
use crate::core::file::OpenFile;
use crate::uapi::{sg_io_hdr, RsgBatch as Batch, RsgCancel as Cancel};
use kernel::prelude::*;
use kernel::sync::ArcBorrow;
use kernel::uaccess::UserSlice;

/// ioctl numbers (`_IOW`/`_IOR`/`_IOWR` of type 0x22, 0xa0..).
pub(crate) const RSG_IOQUEUE: u32 = 0x4058_22a0;
pub(crate) const RSG_IOGET: u32 = 0x8058_22a1;
pub(crate) const RSG_IOQUEUE_BATCH: u32 = 0xc018_22a2;
pub(crate) const RSG_IOGET_BATCH: u32 = 0xc018_22a3;
pub(crate) const RSG_IOCANCEL: u32 = 0x4010_22a4;
pub(crate) const RSG_GET_QUEUE_DEPTH: u32 = 0x8004_22a5;

/// `RSG_BATCH_WAIT`.
const BATCH_WAIT: u32 = 0x1;

const HDR_SIZE: usize = core::mem::size_of::<sg_io_hdr>();

/// Queues the request whose header is at `addr`.
fn queue_one(ofile: ArcBorrow<'_, OpenFile>, file: &File, addr: usize) -> Result {
    let dev = &ofile.dev;
    if dev.is_detaching() {
        return Err(ENODEV);
    }
    let slot = ofile.reserve_queued()?;
    write_hdr::<()>(ofile, file, slot, addr, !file.is_rdwr())
}

/// Writes the oldest completion to the header at `addr`.
fn get_one(ofile: &OpenFile, addr: usize) -> Result<bool> {
    let mut inner = ofile.inner.lock();
    let Some(req) = inner.queues.pop_done() else {
        return Ok(false);
    };
    respond(ofile, inner, req, addr, HeaderOut::Whole).map(|()| true)
}

/// Waits until a completion is ready: `EAGAIN` on timeout, `ERESTARTSYS`
/// on a signal, `ENODEV` when the device is gone and nothing is running.
fn wait_done(ofile: &OpenFile, timeout_ms: u32) -> Result {
    let mut left = (timeout_ms > 0).then(|| time::ms_to_jiffies(timeout_ms));
    let mut inner = ofile.inner.lock();
    while !inner.queues.has_done() {
        if ofile.dev.is_detaching() && !inner.queues.has_in_flight() {
            return Err(ENODEV);
        }
        let (guard, signalled, rest) =
            ofile
                .read_wait
                .wait_interruptible_timeout(&ofile.inner, inner, left);
        inner = guard;
        if inner.queues.has_done() {
            break;
        }
        if signalled {
            return Err(ERESTARTSYS);
        }
        if left.is_some() {
            if rest == 0 {
                return Err(EAGAIN);
            }
            left = Some(rest);
        }
    }
    Ok(())
}

fn read_batch(arg: usize) -> Result<Batch> {
    UserSlice::new(arg, core::mem::size_of::<Batch>())
        .reader()
        .read::<Batch>()
}

fn write_done(arg: usize, batch: &Batch, done: u32) -> Result {
    let out = Batch { done, ..*batch };
    UserSlice::new(arg, core::mem::size_of::<Batch>())
        .writer()
        .write(&out)
}

/// Handles the queue interface's ioctls; `None` for any other number.
pub(crate) fn ioctl(
    ofile: ArcBorrow<'_, OpenFile>,
    file: &File,
    cmd: u32,
    arg: usize,
) -> Option<Result<isize>> {
    let ret = match cmd {
        RSG_IOQUEUE => queue_one(ofile, file, arg),
        RSG_IOGET => match get_one(&ofile, arg) {
            Ok(true) => Ok(()),
            Ok(false) => Err(EAGAIN),
            Err(e) => Err(e),
        },
        RSG_IOQUEUE_BATCH => queue_batch(ofile, file, arg),
        RSG_IOGET_BATCH => get_batch(&ofile, arg),
        RSG_IOCANCEL => cancel(&ofile, arg),
        RSG_GET_QUEUE_DEPTH => {
            // The file's own depth once it has queued, else what it would get.
            let depth = match ofile.inner.lock().queues.depth() {
                0 => crate::abstractions::module::queue_depth(),
                d => d,
            } as i32;
            crate::abstractions::uaccess::put_user_i32(arg, depth)
        }
        _ => return None,
    };
    Some(ret.map(|()| 0))
}

/// Queues `count` requests, stopping at the first error: that error when
/// none was queued, else success with `done` saying how many were.
fn queue_batch(ofile: ArcBorrow<'_, OpenFile>, file: &File, arg: usize) -> Result {
    let batch = read_batch(arg)?;
    let base = batch.hdrs as usize;
    let mut done = 0;
    let mut err = None;
    for i in 0..batch.count as usize {
        match queue_one(ofile, file, base.wrapping_add(i * HDR_SIZE)) {
            Ok(()) => done += 1,
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    write_done(arg, &batch, done)?;
    match err {
        Some(e) if done == 0 => Err(e),
        _ => Ok(()),
    }
}

/// Reaps up to `count` completions: `EAGAIN` when none is ready and the
/// caller did not ask to wait.
fn get_batch(ofile: &OpenFile, arg: usize) -> Result {
    let batch = read_batch(arg)?;
    if batch.flags & !BATCH_WAIT != 0 {
        return Err(EINVAL);
    }
    if batch.count == 0 {
        return write_done(arg, &batch, 0);
    }
    if batch.flags & BATCH_WAIT != 0 {
        wait_done(ofile, batch.timeout_ms)?;
    }
    let base = batch.hdrs as usize;
    let mut done = 0;
    let mut err = None;
    while done < batch.count {
        match get_one(ofile, base.wrapping_add(done as usize * HDR_SIZE)) {
            Ok(true) => done += 1,
            Ok(false) => break,
            Err(e) => {
                // That response is lost, as a failed read() loses it.
                err = Some(e);
                break;
            }
        }
    }
    write_done(arg, &batch, done)?;
    match err {
        Some(e) if done == 0 => Err(e),
        _ if done == 0 => Err(EAGAIN),
        _ => Ok(()),
    }
}

/// Aborts the running request tagged `tag`.
fn cancel(ofile: &OpenFile, arg: usize) -> Result {
    let c = UserSlice::new(arg, core::mem::size_of::<Cancel>())
        .reader()
        .read::<Cancel>()?;
    if c.flags != 0 || c.reserved != 0 {
        return Err(EINVAL);
    }
    ofile.inner.lock().queues.abort_tagged(c.tag as usize)
}
