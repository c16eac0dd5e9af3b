// SPDX-License-Identifier: GPL-2.0

//! The errnos sg's interfaces return that Linux 6.12's `kernel` crate has no
//! constant for.

use kernel::bindings;
use kernel::error::Error;

fn errno(e: u32) -> Error {
    Error::from_errno(-(e as i32))
}

/// A header of a protocol rsg does not speak.
pub(crate) fn enosys() -> Error {
    errno(bindings::ENOSYS)
}

/// A CDB of impossible length.
pub(crate) fn emsgsize() -> Error {
    errno(bindings::EMSGSIZE)
}

/// A ring set up in a way rsg does not serve.
pub(crate) fn eopnotsupp() -> Error {
    errno(bindings::EOPNOTSUPP)
}

/// A command whose ring went away.
pub(crate) fn ecanceled() -> Error {
    errno(bindings::ECANCELED)
}
