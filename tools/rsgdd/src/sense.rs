//! Decoding SCSI completions for people: status, host and driver status,
//! and sense data in fixed or descriptor format.

use std::fmt::Write as _;

/// The parts of sense data rsgdd reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sense {
    pub key: u8,
    pub asc: u8,
    pub ascq: u8,
    /// The INFORMATION field when valid: for media errors, the failing LBA.
    pub info: Option<u64>,
}

/// Parses fixed (0x70/0x71) or descriptor (0x72/0x73) sense data; `None`
/// for anything else or too short.
pub fn parse(b: &[u8]) -> Option<Sense> {
    let code = b.first()? & 0x7f;
    match code {
        0x70 | 0x71 => {
            if b.len() < 3 {
                return None;
            }
            let info = (b[0] & 0x80 != 0 && b.len() >= 7)
                .then(|| u64::from(u32::from_be_bytes([b[3], b[4], b[5], b[6]])));
            Some(Sense {
                key: b[2] & 0x0f,
                asc: b.get(12).copied().unwrap_or(0),
                ascq: b.get(13).copied().unwrap_or(0),
                info,
            })
        }
        0x72 | 0x73 => {
            if b.len() < 4 {
                return None;
            }
            Some(Sense {
                key: b[1] & 0x0f,
                asc: b[2],
                ascq: b[3],
                info: descriptor_info(b),
            })
        }
        _ => None,
    }
}

/// The valid INFORMATION descriptor (type 0) of descriptor-format sense.
fn descriptor_info(b: &[u8]) -> Option<u64> {
    let total = b.len().min(8 + usize::from(*b.get(7)?));
    let mut at = 8;
    while at + 2 <= total {
        let ty = b[at];
        let len = usize::from(b[at + 1]);
        let end = at + 2 + len;
        if end > total {
            break;
        }
        if ty == 0 && len >= 10 && b[at + 2] & 0x80 != 0 {
            let mut v = [0u8; 8];
            v.copy_from_slice(&b[at + 4..at + 12]);
            return Some(u64::from_be_bytes(v));
        }
        at = end;
    }
    None
}

pub const NO_SENSE: u8 = 0x0;
pub const RECOVERED_ERROR: u8 = 0x1;
pub const UNIT_ATTENTION: u8 = 0x6;

pub fn key_name(key: u8) -> &'static str {
    match key & 0x0f {
        0x0 => "NO SENSE",
        0x1 => "RECOVERED ERROR",
        0x2 => "NOT READY",
        0x3 => "MEDIUM ERROR",
        0x4 => "HARDWARE ERROR",
        0x5 => "ILLEGAL REQUEST",
        0x6 => "UNIT ATTENTION",
        0x7 => "DATA PROTECT",
        0x8 => "BLANK CHECK",
        0x9 => "VENDOR SPECIFIC",
        0xa => "COPY ABORTED",
        0xb => "ABORTED COMMAND",
        0xd => "VOLUME OVERFLOW",
        0xe => "MISCOMPARE",
        0xf => "COMPLETED",
        _ => "RESERVED",
    }
}

/// The standard's text for the ASC/ASCQ pairs a disk commonly reports.
pub fn asc_text(asc: u8, ascq: u8) -> Option<&'static str> {
    Some(match (asc, ascq) {
        (0x00, 0x00) => "no additional sense information",
        (0x00, 0x06) => "I/O process terminated",
        (0x04, 0x00) => "logical unit not ready, cause not reportable",
        (0x04, 0x01) => "logical unit is in process of becoming ready",
        (0x04, 0x02) => "logical unit not ready, initializing command required",
        (0x04, 0x03) => "logical unit not ready, manual intervention required",
        (0x04, 0x04) => "logical unit not ready, format in progress",
        (0x08, 0x00) => "logical unit communication failure",
        (0x0c, 0x00) => "write error",
        (0x0c, 0x02) => "write error - auto reallocation failed",
        (0x10, 0x01) => "logical block guard check failed",
        (0x10, 0x02) => "logical block application tag check failed",
        (0x10, 0x03) => "logical block reference tag check failed",
        (0x11, 0x00) => "unrecovered read error",
        (0x11, 0x01) => "read retries exhausted",
        (0x11, 0x04) => "unrecovered read error - auto reallocate failed",
        (0x14, 0x01) => "record not found",
        (0x15, 0x00) => "random positioning error",
        (0x1a, 0x00) => "parameter list length error",
        (0x1d, 0x00) => "miscompare during verify operation",
        (0x20, 0x00) => "invalid command operation code",
        (0x21, 0x00) => "logical block address out of range",
        (0x24, 0x00) => "invalid field in cdb",
        (0x25, 0x00) => "logical unit not supported",
        (0x26, 0x00) => "invalid field in parameter list",
        (0x27, 0x00) => "write protected",
        (0x28, 0x00) => "not ready to ready change, medium may have changed",
        (0x29, 0x00) => "power on, reset, or bus device reset occurred",
        (0x29, 0x01) => "power on occurred",
        (0x29, 0x02) => "scsi bus reset occurred",
        (0x29, 0x03) => "bus device reset function occurred",
        (0x2a, 0x01) => "mode parameters changed",
        (0x2a, 0x09) => "capacity data has changed",
        (0x31, 0x00) => "medium format corrupted",
        (0x3a, 0x00) => "medium not present",
        (0x3f, 0x01) => "microcode has been changed",
        (0x3f, 0x0e) => "reported luns data has changed",
        (0x44, 0x00) => "internal target failure",
        (0x47, 0x00) => "scsi parity error",
        (0x4b, 0x00) => "data phase error",
        (0x4e, 0x00) => "overlapped commands attempted",
        (0x5d, 0x00) => "failure prediction threshold exceeded",
        _ => return None,
    })
}

/// "MEDIUM ERROR, unrecovered read error (11/00) at LBA 4660"; the LBA is
/// the INFORMATION field, else `fallback_lba`.
pub fn describe(s: &Sense, fallback_lba: Option<u64>) -> String {
    let mut out = String::from(key_name(s.key));
    match asc_text(s.asc, s.ascq) {
        Some(t) => {
            let _ = write!(out, ", {t} ({:02x}/{:02x})", s.asc, s.ascq);
        }
        None => {
            let _ = write!(out, ", ASC/ASCQ {:02x}/{:02x}", s.asc, s.ascq);
        }
    }
    if let Some(lba) = s.info.or(fallback_lba) {
        let _ = write!(out, " at LBA {lba}");
    }
    out
}

pub fn status_name(status: u8) -> &'static str {
    match status {
        0x00 => "GOOD",
        0x02 => "CHECK CONDITION",
        0x04 => "CONDITION MET",
        0x08 => "BUSY",
        0x18 => "RESERVATION CONFLICT",
        0x28 => "TASK SET FULL",
        0x30 => "ACA ACTIVE",
        0x40 => "TASK ABORTED",
        _ => "status",
    }
}

pub fn host_name(host: u16) -> &'static str {
    match host {
        0x00 => "DID_OK",
        0x01 => "DID_NO_CONNECT",
        0x02 => "DID_BUS_BUSY",
        0x03 => "DID_TIME_OUT",
        0x04 => "DID_BAD_TARGET",
        0x05 => "DID_ABORT",
        0x06 => "DID_PARITY",
        0x07 => "DID_ERROR",
        0x08 => "DID_RESET",
        0x09 => "DID_BAD_INTR",
        0x0a => "DID_PASSTHROUGH",
        0x0b => "DID_SOFT_ERROR",
        0x0c => "DID_IMM_RETRY",
        0x0d => "DID_REQUEUE",
        0x0e => "DID_TRANSPORT_DISRUPTED",
        0x0f => "DID_TRANSPORT_FAILFAST",
        0x11 => "DID_TRANSPORT_MARGINAL",
        _ => "DID_?",
    }
}

pub fn driver_name(driver: u16) -> &'static str {
    match driver & 0x0f {
        0x0 => "DRIVER_OK",
        0x1 => "DRIVER_BUSY",
        0x2 => "DRIVER_SOFT",
        0x3 => "DRIVER_MEDIA",
        0x4 => "DRIVER_ERROR",
        0x5 => "DRIVER_INVALID",
        0x6 => "DRIVER_TIMEOUT",
        0x7 => "DRIVER_HARD",
        0x8 => "DRIVER_SENSE",
        _ => "DRIVER_?",
    }
}

/// One line for a failed command: its status, host and driver status and
/// the decoded sense, e.g. "status CHECK CONDITION (0x02), host DID_OK
/// (0x00), driver DRIVER_SENSE (0x08): MEDIUM ERROR, unrecovered read error
/// (11/00) at LBA 4660".
pub fn describe_completion(
    status: u8,
    host: u16,
    driver: u16,
    sense: &[u8],
    lba: Option<u64>,
) -> String {
    let mut out = format!(
        "status {} (0x{status:02x}), host {} (0x{host:02x}), driver {} (0x{driver:02x})",
        status_name(status),
        host_name(host),
        driver_name(driver)
    );
    if host == 0x03 {
        out.push_str(": the command timed out or was aborted");
    }
    match parse(sense) {
        Some(s) => {
            out.push_str(": ");
            out.push_str(&describe(&s, lba));
        }
        None if !sense.is_empty() => {
            out.push_str(": sense");
            for b in sense.iter().take(18) {
                let _ = write!(out, " {b:02x}");
            }
        }
        None => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What scsi_debug returns for its injected medium error.
    fn medium_error_fixed() -> Vec<u8> {
        let mut b = vec![0u8; 18];
        b[0] = 0xf0; // valid, current, fixed
        b[2] = 0x03;
        b[3..7].copy_from_slice(&0x1234u32.to_be_bytes());
        b[7] = 10;
        b[12] = 0x11;
        b[13] = 0x00;
        b
    }

    #[test]
    fn fixed_format_with_info() {
        let s = parse(&medium_error_fixed()).unwrap();
        assert_eq!(
            s,
            Sense {
                key: 3,
                asc: 0x11,
                ascq: 0,
                info: Some(4660)
            }
        );
        assert_eq!(
            describe(&s, Some(4608)),
            "MEDIUM ERROR, unrecovered read error (11/00) at LBA 4660"
        );
    }

    #[test]
    fn fixed_format_without_valid_bit_uses_fallback() {
        let mut b = medium_error_fixed();
        b[0] = 0x70;
        let s = parse(&b).unwrap();
        assert_eq!(s.info, None);
        assert!(describe(&s, Some(99)).ends_with("at LBA 99"));
        assert!(!describe(&s, None).contains("LBA"));
    }

    #[test]
    fn descriptor_format() {
        // ILLEGAL REQUEST, LBA out of range, information descriptor.
        let mut b = vec![0x72, 0x05, 0x21, 0x00, 0, 0, 0, 12];
        b.extend_from_slice(&[0x00, 0x0a, 0x80, 0]);
        b.extend_from_slice(&0x1_0000_0000u64.to_be_bytes());
        let s = parse(&b).unwrap();
        assert_eq!(s.key, 5);
        assert_eq!((s.asc, s.ascq), (0x21, 0));
        assert_eq!(s.info, Some(0x1_0000_0000));
        assert_eq!(
            describe(&s, None),
            "ILLEGAL REQUEST, logical block address out of range (21/00) at LBA 4294967296"
        );
    }

    #[test]
    fn descriptor_truncated() {
        // Additional length claims more than is there: no info, no panic.
        let b = [0x72, 0x03, 0x11, 0x00, 0, 0, 0, 40, 0x00, 0x0a, 0x80];
        let s = parse(&b).unwrap();
        assert_eq!(s.info, None);
    }

    #[test]
    fn unknown_asc_and_garbage() {
        let s = Sense {
            key: 0xb,
            asc: 0x99,
            ascq: 0x42,
            info: None,
        };
        assert_eq!(describe(&s, None), "ABORTED COMMAND, ASC/ASCQ 99/42");
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&[0x12, 0, 0]), None);
        assert_eq!(parse(&[0x70]), None);
    }

    #[test]
    fn completion_line() {
        let line = describe_completion(2, 0, 8, &medium_error_fixed(), Some(4608));
        assert_eq!(
            line,
            "status CHECK CONDITION (0x02), host DID_OK (0x00), driver DRIVER_SENSE \
             (0x08): MEDIUM ERROR, unrecovered read error (11/00) at LBA 4660"
        );
        let line = describe_completion(0, 3, 0, &[], None);
        assert!(line.contains("DID_TIME_OUT (0x03)"));
        assert!(line.contains("timed out"));
    }
}
