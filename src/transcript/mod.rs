//! Reading Claude Code's session transcripts: finding the files, tailing them from a byte cursor, and turning
//! assistant lines into priced-to-be [`Response`]s. Nothing here knows about budgets.

pub(crate) mod discover;
pub(crate) mod fold;
pub(crate) mod line;
pub(crate) mod reading;
pub(crate) mod scan;
pub(crate) mod tail;

pub(crate) use line::{Response, ResponseKey};
