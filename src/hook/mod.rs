//! `ccbreaker hook`: what Claude Code runs on each event. It reads the event, brings the ledger up to date from
//! the transcripts, and answers allow, warn or block, in the protocol's JSON.

mod breakers;
pub(crate) mod event;
mod follow;
pub(crate) mod gate;
pub(crate) mod output;
pub(crate) mod run;

pub(crate) use event::Event;
pub(crate) use output::Answer;
pub(crate) mod tamper;
