//! Reading Claude Code's session transcripts: finding the files, tailing them from a byte cursor, and turning
//! assistant lines into priced-to-be [`Response`]s. Nothing here knows about budgets.

pub mod discover;
pub mod fold;
pub mod line;
pub mod scan;
pub mod tail;

pub use line::{Response, ResponseKey};
