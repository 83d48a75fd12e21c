//! `ccbreaker hook`: what Claude Code runs on each event. It reads the event, brings the ledger up to date from
//! the transcripts, and answers allow, warn or block, in the protocol's JSON.

pub mod event;
pub mod output;
pub mod run;

pub use event::{Event, EventKind};
pub use output::{Action, Answer};
pub mod tamper;
