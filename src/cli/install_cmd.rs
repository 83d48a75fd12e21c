//! `ccbreaker install` / `uninstall`.

use super::args::Args;
use super::{Failure, Io};

pub(super) fn install(_args: Args, _io: &mut Io) -> Result<u8, Failure> {
    Err(Failure::error("install: pending merge"))
}

pub(super) fn uninstall(_args: Args, _io: &mut Io) -> Result<u8, Failure> {
    Err(Failure::error("uninstall: pending merge"))
}
