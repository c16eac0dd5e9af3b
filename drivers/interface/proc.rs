// SPDX-License-Identifier: GPL-2.0

//! `/proc/scsi/rsg/*`, in the formats of `/proc/scsi/sg/*`.

use crate::abstractions::module;
use crate::abstractions::proc::{capable, ProcDir, ProcFile, ProcLink, SeqFile};
use crate::abstractions::time;
use crate::core::device::{Device, GLOBALS};
use crate::core::request::Stage;
use crate::uapi::{SG_FLAG_MMAP_IO, SG_VERSION_NUM};
use core::fmt::Write;
use core::sync::atomic::{AtomicI32, Ordering};
use kernel::bindings::{CAP_SYS_ADMIN, CAP_SYS_RAWIO};
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;

/// The reserve size new files get (sg's `sg_big_buff`): set through
/// `/proc/scsi/rsg/def_reserved_size`, and reset to the module parameter at
/// the next open when that differs, exactly as sg does.
static BIG_BUFF: AtomicI32 = AtomicI32::new(32768);

/// The reserve size for a file being opened now.
pub(crate) fn reserve_size_for_open() -> i32 {
    let param = module::def_reserved_size();
    if BIG_BUFF.load(Ordering::Relaxed) != param {
        BIG_BUFF.store(param, Ordering::Relaxed);
    }
    param
}

fn privileged() -> Result {
    if capable(CAP_SYS_ADMIN) && capable(CAP_SYS_RAWIO) {
        Ok(())
    } else {
        Err(EACCES)
    }
}

fn fmt_err(_: core::fmt::Error) -> Error {
    ENOMEM
}

struct AllowDio;

impl ProcFile for AllowDio {
    const WRITABLE: bool = true;

    fn show(m: &mut SeqFile<'_>) -> Result {
        writeln!(m, "{}", module::allow_dio() as i32).map_err(fmt_err)
    }

    fn write(value: u64) -> Result {
        privileged()?;
        module::set_allow_dio(value != 0);
        Ok(())
    }
}

struct DefReservedSize;

impl ProcFile for DefReservedSize {
    const WRITABLE: bool = true;

    fn show(m: &mut SeqFile<'_>) -> Result {
        writeln!(m, "{}", BIG_BUFF.load(Ordering::Relaxed)).map_err(fmt_err)
    }

    fn write(value: u64) -> Result {
        privileged()?;
        if value > 1 << 20 {
            return Err(ERANGE);
        }
        BIG_BUFF.store(value as i32, Ordering::Relaxed);
        Ok(())
    }
}

/// rsg's own: user pages pinned for direct I/O now, for leak checks.
struct PinnedPages;

impl ProcFile for PinnedPages {
    fn show(m: &mut SeqFile<'_>) -> Result {
        writeln!(m, "{}", crate::core::request::pinned_pages()).map_err(fmt_err)
    }
}

struct Version;

impl ProcFile for Version {
    fn show(m: &mut SeqFile<'_>) -> Result {
        writeln!(m, "{}\t3.5.36 [20140603]", SG_VERSION_NUM).map_err(fmt_err)
    }
}

struct DeviceHdr;

impl ProcFile for DeviceHdr {
    fn show(m: &mut SeqFile<'_>) -> Result {
        m.write_str("host\tchan\tid\tlun\ttype\topens\tqdepth\tbusy\tonline\n")
            .map_err(fmt_err)
    }
}

/// Calls `f` for every minor up to the highest in use, with its device.
fn for_each_minor(mut f: impl FnMut(Option<&Arc<Device>>) -> core::fmt::Result) -> Result {
    let globals = GLOBALS.lock();
    for index in 0..globals.last() {
        f(globals.get(index as u32)).map_err(fmt_err)?;
    }
    Ok(())
}

struct Devices;

impl ProcFile for Devices {
    fn show(m: &mut SeqFile<'_>) -> Result {
        for_each_minor(|dev| match dev.filter(|d| !d.is_detaching()) {
            Some(d) => {
                let s = &d.sdev;
                writeln!(
                    m,
                    "{}\t{}\t{}\t{}\t{}\t1\t{}\t{}\t{}",
                    s.host_no(),
                    s.channel(),
                    s.id(),
                    s.lun(),
                    s.device_type(),
                    s.queue_depth(),
                    s.busy(),
                    s.online() as i32
                )
            }
            None => m.write_str("-1\t-1\t-1\t-1\t-1\t-1\t-1\t-1\t-1\n"),
        })
    }
}

/// `%N.Ns` of C: at most N bytes, padded to N.
fn padded(m: &mut SeqFile<'_>, bytes: &[u8], width: usize) -> core::fmt::Result {
    let end = bytes
        .iter()
        .take(width)
        .position(|&b| b == 0)
        .unwrap_or(width.min(bytes.len()));
    for &b in &bytes[..end] {
        m.write_char(char::from(b))?;
    }
    for _ in end..width {
        m.write_char(' ')?;
    }
    Ok(())
}

struct DeviceStrs;

impl ProcFile for DeviceStrs {
    fn show(m: &mut SeqFile<'_>) -> Result {
        for_each_minor(|dev| match dev.filter(|d| !d.is_detaching()) {
            Some(d) => {
                let [vendor, model, rev] = d.sdev.inquiry_strings();
                padded(m, vendor, 8)?;
                m.write_char('\t')?;
                padded(m, model, 16)?;
                m.write_char('\t')?;
                padded(m, rev, 4)?;
                m.write_char('\n')
            }
            None => m.write_str("<no active device>\n"),
        })
    }
}

struct Debug;

impl ProcFile for Debug {
    fn show(m: &mut SeqFile<'_>) -> Result {
        let globals = GLOBALS.lock();
        let max = globals.last();
        if max > 0 {
            writeln!(
                m,
                "max_active_device={}  def_reserved_size={}",
                max,
                BIG_BUFF.load(Ordering::Relaxed)
            )
            .map_err(fmt_err)?;
        }
        for index in 0..max {
            if let Some(dev) = globals.get(index as u32) {
                dev.show_debug(m).map_err(fmt_err)?;
            }
        }
        Ok(())
    }
}

impl Device {
    /// One device's part of `/proc/scsi/rsg/debug`.
    fn show_debug(&self, m: &mut SeqFile<'_>) -> core::fmt::Result {
        let files = self.open_files();
        if files.is_empty() {
            return Ok(());
        }
        write!(m, " >>> device=rsg{} ", self.index)?;
        if self.is_detaching() {
            m.write_str("detaching pending close ")?;
        } else {
            let s = &self.sdev;
            write!(
                m,
                "{}:{}:{}:{}   em={}",
                s.host_no(),
                s.channel(),
                s.id(),
                s.lun(),
                s.emulated()
            )?;
        }
        let (exclusive, count) = self.open_counts();
        let tablesize = files.first().map_or(0, |f| f.sg_tablesize);
        writeln!(
            m,
            " sg_tablesize={} excl={} open_cnt={}",
            tablesize, exclusive as i32, count
        )?;
        for (k, f) in files.iter().enumerate() {
            let (timeout, bufflen, runs) = {
                let st = f.state.lock();
                (st.timeout, st.reserve.len(), st.reserve.runs().len())
            };
            let timeout_ms = (i64::from(timeout) * 1000 / time::hz()) as i32;
            writeln!(
                m,
                "   FD({}): timeout={}ms bufflen={} (res)sgat={} low_dma=0",
                k + 1,
                timeout_ms,
                bufflen,
                runs
            )?;
            let inner = f.inner.lock();
            writeln!(
                m,
                "   cmd_q={} f_packid={} k_orphan={} closed=0",
                inner.cmd_q as i32, inner.force_packid as i32, inner.keep_orphan
            )?;
            let mut any = false;
            for req in inner.requests.iter() {
                any = true;
                let hp = &req.hdr;
                let v3 = hp.interface_id != 0;
                let prefix = if req.uses_reserve(&inner) {
                    if v3 && hp.flags & SG_FLAG_MMAP_IO != 0 {
                        "     mmap>> "
                    } else {
                        "     rb>> "
                    }
                } else {
                    "     "
                };
                m.write_str(prefix)?;
                let stage = req.stage(&inner);
                m.write_str(match stage {
                    Stage::Active => "act:",
                    Stage::Ready => "rcv:",
                    Stage::Taken => "fin:",
                })?;
                write!(m, " id={} blen={}", hp.pack_id, req.buffer_len(&inner))?;
                if stage == Stage::Active {
                    let t_o = if v3 { hp.timeout as i32 } else { timeout_ms };
                    write!(m, " t_o/elap={}/{}", t_o, req.elapsed_ms())?;
                } else {
                    write!(m, " dur={}", req.response(&inner).duration)?;
                }
                writeln!(
                    m,
                    "ms sgat={} op=0x{:02x}",
                    req.buffer_runs(&inner),
                    req.opcode
                )?;
            }
            if !any {
                m.write_str("     No requests active\n")?;
            }
        }
        Ok(())
    }
}

/// Makes `/proc/scsi/sg` lead to rsg's files while rsg holds sg's major, so
/// that tools reading sg's knobs there (sg_dd's `allow_dio` hint) see rsg's.
/// sg cannot load then, so nothing else claims the name.
pub(crate) fn alias_sg() -> Option<ProcLink> {
    ProcLink::new(c_str!("scsi/sg"), c_str!("rsg")).ok()
}

/// Creates `/proc/scsi/rsg` and its files.
pub(crate) fn register() -> Result<ProcDir> {
    let dir = ProcDir::new(c_str!("scsi/rsg"))?;
    dir.add::<AllowDio>(c_str!("allow_dio"))?;
    dir.add::<Debug>(c_str!("debug"))?;
    dir.add::<DefReservedSize>(c_str!("def_reserved_size"))?;
    dir.add::<DeviceHdr>(c_str!("device_hdr"))?;
    dir.add::<Devices>(c_str!("devices"))?;
    dir.add::<DeviceStrs>(c_str!("device_strs"))?;
    dir.add::<Version>(c_str!("version"))?;
    dir.add::<PinnedPages>(c_str!("pinned_pages"))?;
    Ok(dir)
}
