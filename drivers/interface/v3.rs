// SPDX-License-Identifier: GPL-2.0

//! The v3 protocol: `struct sg_io_hdr` requests and responses (sg's
//! `sg_new_write`, `sg_common_write`, `sg_start_req` and `sg_new_read`), and
//! the blocking `SG_IO` built from them.

use super::errno::{emsgsize, enosys};
use crate::abstractions::block::{Completion, Direction, ScsiRequest, MAX_CDB, SENSE_BUFFERSIZE};
use crate::abstractions::file::File;
use crate::abstractions::pages::PAGE_SIZE;
use crate::abstractions::scsi::{
    cmd_allowed, read_sg_io_hdr, write_sg_io_hdr, write_sg_io_outputs,
};
use crate::abstractions::uring::FixedBuffer;
use crate::abstractions::{module, task, time};
use crate::core::buffer::{Buffer, Clear};
use crate::core::file::{Claimed, InnerGuard, OpenFile, Slot};
use crate::core::request::{Request, RequestIo, Response, Stage};
use crate::uapi::*;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};
use kernel::uaccess::UserSlice;

/// Peripheral type of scanners, which the command filter exempts.
const TYPE_SCANNER: i32 = 0x06;

/// Transfers of this size or more are refused.
const MAX_DXFER_LEN: u32 = 256 << 20;

/// The size of the v3 header for the calling process.
pub(crate) fn hdr_size() -> usize {
    if task::in_compat_syscall() {
        SG_IO_HDR_COMPAT_SIZE
    } else {
        core::mem::size_of::<sg_io_hdr>()
    }
}

/// What a submitter keeps of the request it starts.
pub(crate) trait Keep {
    /// Only `SG_IO` may return the response.
    const SG_IO_OWNED: bool;

    /// What [`Keep::start`] hands back, which may keep the room `slot`
    /// holds.
    type Started<'a>;

    /// Starts `built` in the room `slot` holds on `ofile`, listing it as
    /// the submitter needs.
    fn start<'a>(built: Built, ofile: &OpenFile, slot: Slot<'a>) -> Self::Started<'a>;
}

/// `SG_IO` keeps a reference, to wait on the request, and the room its slot
/// holds: it lists the request under the lock its wait takes first, which
/// saves a lock a command. Listing it once started is safe: no reader but
/// `SG_IO` takes the response, so none can miss its wake-up, and the held
/// slot counts it meanwhile.
pub(crate) struct SgIo;

impl Keep for SgIo {
    const SG_IO_OWNED: bool = true;
    type Started<'a> = (Arc<Request>, Slot<'a>);

    #[inline(always)]
    fn start<'a>(built: Built, _ofile: &OpenFile, slot: Slot<'a>) -> (Arc<Request>, Slot<'a>) {
        let kept = built.req.clone();
        built.start::<Request>(|req| req);
        (kept, slot)
    }
}

/// `write()` and the queue interface keep nothing: the request's list and
/// its completion hold it, so no reference is taken only to be dropped.
impl Keep for () {
    const SG_IO_OWNED: bool = false;
    type Started<'a> = ();

    #[inline(always)]
    fn start(built: Built, ofile: &OpenFile, slot: Slot<'_>) {
        // Listed first: readers look for it once it completes.
        ofile.insert(slot, built.req.clone());
        built.start::<Request>(|req| req);
    }
}

/// Queues the `write()` request whose v3 header is at `buf`.
pub(crate) fn new_write(
    ofile: ArcBorrow<'_, OpenFile>,
    file: &File,
    buf: usize,
    count: usize,
    read_only: bool,
) -> Result {
    if count < core::mem::size_of::<sg_io_hdr>() {
        return Err(EINVAL);
    }
    let slot = ofile.reserve_slot(true)?;
    write_hdr::<()>(ofile, file, slot, buf, read_only)
}

/// Queues a `write()` request whose v3 header, from a buffer of at least
/// its size, was read already.
pub(crate) fn new_write_hdr(
    ofile: ArcBorrow<'_, OpenFile>,
    file: &File,
    hdr: &sg_io_hdr,
) -> Result {
    let slot = ofile.reserve_slot(true)?;
    submit::<()>(ofile, file, slot, hdr, false)
}

/// Checks the v3 header at `buf` and starts its request in the room `slot`
/// holds, for `write()`, `SG_IO` and the queue interface alike.
pub(crate) fn write_hdr<'a, K: Keep>(
    ofile: ArcBorrow<'_, OpenFile>,
    file: &File,
    slot: Slot<'a>,
    buf: usize,
    read_only: bool,
) -> Result<K::Started<'a>> {
    let hdr = read_sg_io_hdr(buf)?;
    submit::<K>(ofile, file, slot, &hdr, read_only)
}

/// Checks a v3 header read from user memory and starts its request in the
/// room `slot` holds.
#[inline(always)]
fn submit<'a, K: Keep>(
    ofile: ArcBorrow<'_, OpenFile>,
    file: &File,
    slot: Slot<'a>,
    hdr: &sg_io_hdr,
    read_only: bool,
) -> Result<K::Started<'a>> {
    let start_ms = time::now_ms();
    if hdr.interface_id != i32::from(b'S') {
        return Err(enosys());
    }
    if hdr.flags & SG_FLAG_MMAP_IO != 0 {
        let st = ofile.state.lock();
        if hdr.dxfer_len as usize > st.reserve.len() {
            return Err(ENOMEM);
        }
        if hdr.flags & SG_FLAG_DIRECT_IO != 0 {
            return Err(EINVAL);
        }
        if st.reserve.is_claimed() {
            return Err(EBUSY);
        }
    }
    let timeout = time::ms_to_jiffies(hdr.timeout).min(i32::MAX as u64) as u32;
    let cdb = Cdb::read(&ofile, file, hdr.cmdp, hdr.cmd_len, read_only)?;
    common_write::<K>(ofile, slot, hdr, &cdb, timeout, start_ms)
}

/// A command descriptor block copied from user memory.
pub(crate) struct Cdb {
    /// Its first bytes: the block layer takes no more, and a longer CDB is
    /// refused once the request is allocated, as sg refuses it. Keeping 32
    /// bytes rather than sg's 252 saves clearing and moving the rest.
    bytes: [u8; MAX_CDB],
    /// The length the caller gave, at most `SG_MAX_CDB_SIZE`.
    len: usize,
}

impl Cdb {
    /// Copies the `len`-byte CDB at `addr`; `len` is at most
    /// `SG_MAX_CDB_SIZE`. Every byte is read, so an unreadable one is
    /// `EFAULT` whatever the length, as in sg.
    pub(crate) fn copy_from_user(addr: usize, len: usize) -> Result<Self> {
        let mut cdb = Self {
            bytes: [0; MAX_CDB],
            len,
        };
        let mut reader = UserSlice::new(addr, len).reader();
        reader.read_slice(cdb.kept_mut())?;
        if len > MAX_CDB {
            let mut rest = [0u8; SG_MAX_CDB_SIZE - MAX_CDB];
            reader.read_slice(rest.get_mut(..len - MAX_CDB).ok_or(EINVAL)?)?;
        }
        Ok(cdb)
    }

    /// Copies the `len`-byte CDB at `cmdp` and applies the command filter
    /// of files opened without write access (sg's `sg_allow_access`):
    /// `EMSGSIZE` for no CDB or an impossible length, `EPERM` for a command
    /// the filter refuses.
    #[inline(always)]
    pub(crate) fn read(
        ofile: &OpenFile,
        file: &File,
        cmdp: usize,
        len: u8,
        read_only: bool,
    ) -> Result<Self> {
        let len = usize::from(len);
        if cmdp == 0 || !(6..=SG_MAX_CDB_SIZE).contains(&len) {
            return Err(emsgsize());
        }
        let mut cdb = Self::copy_from_user(cmdp, len)?;
        // The filter reads the opcode and service action only.
        if read_only
            && ofile.dev.sdev.device_type() != TYPE_SCANNER
            && !cmd_allowed(cdb.kept_mut(), file.can_write())
        {
            return Err(EPERM);
        }
        Ok(cdb)
    }

    /// The length the caller gave.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The command's first byte.
    pub(crate) fn opcode(&self) -> u8 {
        self.bytes[0]
    }

    /// The bytes kept: all of a CDB the block layer can take.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes[..self.kept()]
    }

    fn kept_mut(&mut self) -> &mut [u8] {
        let kept = self.kept();
        &mut self.bytes[..kept]
    }

    fn kept(&self) -> usize {
        self.len.min(MAX_CDB)
    }
}

/// Whether a blocking command may be sent: `ENODEV` once the device is
/// going away, `ENXIO` when error handling has taken it offline.
pub(crate) fn device_ready(ofile: &OpenFile) -> Result {
    if ofile.dev.is_detaching() {
        return Err(ENODEV);
    }
    if !ofile.dev.sdev.block_when_processing_errors() {
        return Err(ENXIO);
    }
    Ok(())
}

/// Builds and starts a request from a checked header and CDB, for both
/// protocols (sg's `sg_common_write` and `sg_start_req`).
#[inline(always)]
pub(crate) fn common_write<'a, K: Keep>(
    ofile: ArcBorrow<'_, OpenFile>,
    mut slot: Slot<'a>,
    hdr: &sg_io_hdr,
    cdb: &Cdb,
    timeout: u32,
    start_ms: u32,
) -> Result<K::Started<'a>> {
    let built = build(
        ofile,
        &mut slot,
        hdr,
        cdb,
        timeout,
        start_ms,
        K::SG_IO_OWNED,
        None,
    )?;
    Ok(K::start(built, &ofile, slot))
}

/// A request built, not yet started.
pub(crate) struct Built {
    rq: ScsiRequest,
    pub(crate) req: Arc<Request>,
    timeout: u32,
    at_head: bool,
}

impl Built {
    /// Starts the request; `T::complete` gets, when it ends, what `data`
    /// makes of the built reference.
    pub(crate) fn start<T: Completion>(self, data: impl FnOnce(Arc<Request>) -> T::Data) {
        let Self {
            rq,
            req,
            timeout,
            at_head,
        } = self;
        req.file.dev.stats.start(req.start_ms());
        rq.start::<T>(data(req), timeout, at_head);
    }
}

/// How an io_uring command's request is made: without sleeping for a tag,
/// and with data in a registered buffer.
pub(crate) struct UringSource<'a> {
    pub(crate) nowait: bool,
    pub(crate) fixed: Option<&'a FixedBuffer<'a>>,
}

/// Builds a request from a checked header and CDB, for the room `slot`
/// holds; the caller lists and starts it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn build(
    ofile: ArcBorrow<'_, OpenFile>,
    slot: &mut Slot<'_>,
    hdr: &sg_io_hdr,
    cdb: &Cdb,
    timeout: u32,
    start_ms: u32,
    sg_io_owned: bool,
    uring: Option<UringSource<'_>>,
) -> Result<Built> {
    let dev = &ofile.dev;
    if hdr.dxfer_len >= MAX_DXFER_LEN {
        return Err(EINVAL);
    }
    let dir = if hdr.dxfer_direction == SG_DXFER_TO_DEV {
        Direction::ToDevice
    } else {
        Direction::FromDevice
    };
    let mut rq = match &uring {
        Some(UringSource { nowait: true, .. }) => ScsiRequest::new_nowait(dev.sdev.queue(), dir)?,
        _ => ScsiRequest::new(dev.sdev.queue(), dir)?,
    };
    if cdb.len() > MAX_CDB {
        return Err(EINVAL);
    }
    rq.set_cdb(cdb.bytes())?;
    rq.set_retries(SG_DEFAULT_RETRIES);
    let io = match uring {
        Some(UringSource {
            fixed: Some(buf), ..
        }) if hdr.dxfer_direction != SG_DXFER_NONE && hdr.dxfer_len > 0 => {
            RequestIo::fixed(rq.map_fixed(buf)?)
        }
        _ => map_data(ofile, &mut rq, hdr, dir)?,
    };
    // The outputs are filled in from the response; `info` also says how
    // the data moved.
    let info = if io.is_direct() { SG_INFO_DIRECT_IO } else { 0 };
    let opcode = cdb.opcode();
    let kind = slot.kind();
    let spare = slot.take_spare();
    let req = Request::new(
        ofile,
        hdr,
        info,
        opcode,
        start_ms,
        kind,
        sg_io_owned,
        io,
        spare,
    )?;
    if dev.is_detaching() {
        let _ = req.retire();
        return Err(ENODEV);
    }
    // v2 requests always go to the head of the queue, as in sg.
    let at_head = hdr.interface_id == 0 || hdr.flags & SG_FLAG_Q_AT_TAIL == 0;
    Ok(Built {
        rq,
        req,
        timeout,
        at_head,
    })
}

/// Whether the request can move its data straight to and from the caller's
/// pages (sg's conditions, and no more pages than the adapter's
/// scatter/gather table, where sg fails); otherwise it silently uses kernel
/// buffers.
fn can_direct_io(ofile: &OpenFile, hdr: &sg_io_hdr) -> bool {
    let len = hdr.dxfer_len as usize;
    // `dxferp` is any value the caller likes: near the top of the address
    // space the end wraps, and such a buffer is never the caller's own.
    let Some(end) = hdr.dxferp.checked_add(len) else {
        return false;
    };
    let pages = end.div_ceil(PAGE_SIZE) - hdr.dxferp / PAGE_SIZE;
    hdr.flags & SG_FLAG_DIRECT_IO != 0
        && module::allow_dio()
        && hdr.dxfer_direction != SG_DXFER_UNKNOWN
        && hdr.iovec_count == 0
        && ofile
            .dev
            .sdev
            .queue()
            .dma_aligned(hdr.dxferp, hdr.dxfer_len)
        && pages <= ofile.sg_tablesize as usize
}

/// Maps the request's data: the caller's own pages (direct I/O), the
/// reserve buffer, or pages of its own (indirect I/O).
fn map_data(
    ofile: ArcBorrow<'_, OpenFile>,
    rq: &mut ScsiRequest,
    hdr: &sg_io_hdr,
    dir: Direction,
) -> Result<RequestIo> {
    let len = hdr.dxfer_len as usize;
    if hdr.dxfer_len as i32 <= 0 || hdr.dxfer_direction == SG_DXFER_NONE {
        return Ok(RequestIo::none());
    }
    if can_direct_io(&ofile, hdr) {
        let mapping = rq.map_user(None, hdr.dxferp, hdr.dxfer_len, 0, dir)?;
        return Ok(RequestIo::direct(mapping, hdr.dxferp, len));
    }
    let copy_in_for_read = hdr.dxfer_direction == SG_DXFER_TO_FROM_DEV;
    // A v2 response returns whole runs, as sg's does: they must be clear.
    // A v3 WRITE's pages never reach the caller, and its data-out is all
    // copied in before the command starts (or it fails with `EFAULT`).
    let clear = if hdr.interface_id == 0 {
        Clear::All
    } else if dir == Direction::ToDevice {
        Clear::Nothing
    } else {
        Clear::Data
    };
    let map = |rq: &mut ScsiRequest, buf: &Buffer, kept_bio: bool| {
        // Only the runs that hold the data, as sg links them: the block
        // layer's limits, and so its errnos, follow their number.
        let bounce = buf.bounce(len, copy_in_for_read, kept_bio);
        rq.map_user(
            Some(bounce),
            hdr.dxferp,
            hdr.dxfer_len,
            hdr.iovec_count,
            dir,
        )
    };
    match ofile.claim_buffer(len, hdr.flags & SG_FLAG_MMAP_IO != 0, clear)? {
        Claimed::Reserve(claim) => {
            // Mapping may fault on user memory, so it runs without the
            // state lock; a failure drops the claim.
            let mapping = map(rq, claim.buffer(), true)?;
            Ok(RequestIo::reserve(mapping, claim, len))
        }
        Claimed::Kept(buf) => Ok(RequestIo::own(map(rq, &buf, true)?, buf)),
        Claimed::None => {
            // A v2 response reads its own buffer's pages whole, so the
            // block layer maps those; the rest go in the buffer's kept bio.
            let buf = KBox::new(
                Buffer::build(len, ofile.sg_tablesize as usize, clear)?,
                GFP_KERNEL,
            )?;
            let mapping = map(rq, &buf, clear != Clear::All)?;
            Ok(RequestIo::own(mapping, buf))
        }
    }
}

/// Returns the claimed v3 response of `req` to the header at `buf` and
/// retires the request (sg's `sg_new_read`). A short `count` loses the
/// response, as in sg. `inner` guards the lock of `file`, `req`'s file.
pub(crate) fn new_read(
    file: &OpenFile,
    mut inner: InnerGuard<'_>,
    req: Arc<Request>,
    buf: usize,
    count: usize,
) -> Result<usize> {
    // The native header is the larger: only a shorter count asks which.
    if count < core::mem::size_of::<sg_io_hdr>() && count < hdr_size() {
        let taken = req.take(&mut inner);
        drop(inner);
        let _ = req.finish_in(file, taken.io);
        return Err(EINVAL);
    }
    respond(file, inner, req, buf, HeaderOut::Whole).map(|()| count)
}

/// Which fields of the header a response is written to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderOut {
    /// All: the header is one the reader chose (`read()`, `RSG_IOGET`).
    Whole,
    /// The outputs: the header is the one the request was read from
    /// (`SG_IO`), which holds its inputs already. A quarter of the bytes.
    Outputs,
}

/// Writes the claimed response of `req` to the v3 header at `buf`, as `out`
/// says, and retires the request, for `read()`, `SG_IO` and `RSG_IOGET`; a
/// failed write is reported before a failed retirement. The response and
/// the data side come out under `inner`, the guard of the lock of `file`
/// (`req`'s file), which is released before any user memory is touched.
#[inline(always)]
pub(crate) fn respond(
    file: &OpenFile,
    mut inner: InnerGuard<'_>,
    req: Arc<Request>,
    buf: usize,
    out: HeaderOut,
) -> Result {
    let write = |hdr: &sg_io_hdr| match out {
        HeaderOut::Whole => write_sg_io_hdr(hdr, buf),
        HeaderOut::Outputs => write_sg_io_outputs(hdr, buf),
    };
    let taken = req.take(&mut inner);
    // `sbp` and `mx_sb_len` are inputs: the request's header has them.
    if sense_goes_out(&req.hdr, &taken.response) {
        drop(inner);
        let ret = fill_response(&req, &taken.response).and_then(|hdr| write(&hdr));
        return ret.and(req.finish_in(file, taken.io));
    }
    let mut hdr = outputs(&req, &taken.response);
    flag_check(&mut hdr);
    // Without sense data nothing more is read from the request, so it
    // leaves its list under the lock already held.
    let unlisted = file.unlist(&mut inner, req);
    drop(inner);
    unlisted.done();
    let ret = write(&hdr);
    ret.and(taken.io.map_or(Ok(()), |io| io.finish(file)))
}

/// Takes a completed request's response and retires the request, for
/// io_uring, whose response goes to the CQE rather than to a header in user
/// memory: the header with its outputs filled in (sense data to the
/// header's sense buffer), and how the retirement went.
pub(crate) fn take_response(req: Arc<Request>) -> (Result<sg_io_hdr>, Result) {
    // The response and the data side come out under one lock, as for the
    // other readers.
    let taken = req.take(&mut req.file.inner.lock());
    let hdr = fill_response(&req, &taken.response);
    (hdr, req.finish(taken.io))
}

/// The header of `req` with `resp`, its response, filled in.
#[inline(always)]
fn fill_response(req: &Request, resp: &Response) -> Result<sg_io_hdr> {
    let mut hdr = outputs(req, resp);
    if sense_goes_out(&hdr, resp) {
        write_sense(req, &mut hdr)?;
    }
    flag_check(&mut hdr);
    Ok(hdr)
}

/// Writes the sense data of `req` to the sense buffer `hdr` names, and
/// records it there, as sg does when the response carries any.
fn write_sense(req: &Request, hdr: &mut sg_io_hdr) -> Result {
    // Sense data is rare: it is fetched only when it goes out.
    let sense = req.sense(&req.file.inner.lock());
    let max = SENSE_BUFFERSIZE.min(usize::from(hdr.mx_sb_len));
    let len = (8 + usize::from(sense[7])).min(max);
    UserSlice::new(hdr.sbp, len)
        .writer()
        .write_slice(&sense[..len])?;
    hdr.driver_status = DRIVER_SENSE;
    hdr.sb_len_wr = len as u8;
    Ok(())
}

/// The header of `req` with `resp`'s outputs, before any sense data.
#[inline(always)]
fn outputs(req: &Request, resp: &Response) -> sg_io_hdr {
    let mut hdr = req.hdr;
    hdr.status = resp.status;
    hdr.masked_status = resp.masked_status;
    hdr.msg_status = resp.msg_status;
    hdr.host_status = resp.host_status;
    hdr.driver_status = resp.driver_status;
    hdr.resid = resp.resid;
    hdr.duration = resp.duration;
    hdr.sb_len_wr = 0;
    hdr
}

/// Whether a response goes out with sense data to the header's buffer.
#[inline(always)]
fn sense_goes_out(hdr: &sg_io_hdr, resp: &Response) -> bool {
    hdr.mx_sb_len > 0
        && hdr.sbp != 0
        && (resp.masked_status & CHECK_CONDITION_MASKED != 0 || resp.has_sense())
}

/// Sets `SG_INFO_CHECK` in `hdr` when any status is not good; in place,
/// since the header is large to move.
#[inline(always)]
fn flag_check(hdr: &mut sg_io_hdr) {
    if hdr.masked_status != 0 || hdr.host_status != 0 || hdr.driver_status != 0 {
        hdr.info |= SG_INFO_CHECK;
    }
}

/// `SG_IO`: submit, wait, respond. An interrupted wait leaves the request
/// behind as an orphan.
pub(crate) fn sg_io(ofile: ArcBorrow<'_, OpenFile>, file: &File, arg: usize) -> Result {
    device_ready(&ofile)?;
    let slot = ofile.reserve_slot(true)?;
    let (req, mut slot) = write_hdr::<SgIo>(ofile, file, slot, arg, !file.is_rdwr())?;
    let mut inner = ofile.inner.lock();
    ofile.list(&mut inner, &mut slot, req.clone());
    while req.stage(&inner) == Stage::Active {
        let (guard, signalled) = ofile.read_wait.wait_interruptible(&ofile.inner, inner);
        inner = guard;
        if signalled {
            break;
        }
    }
    if req.take_if_ready(&mut inner) {
        return respond(&ofile, inner, req, arg, HeaderOut::Outputs);
    }
    req.set_orphan(&mut inner);
    Err(ERESTARTSYS)
}
