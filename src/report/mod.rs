//! Usage reports over every transcript on the machine: per day, ISO week, month, session or 5-hour billing
//! block, counted by the same rules as the hook (one fold of a response's lines, one duplicate rule, one
//! order) and priced by the same table, so a report and a budget never disagree about what was spent.
//!
//! The work splits into I/O at the edges and a pure middle:
//! - [`collect`] finds the transcripts, reads the changed ones on every core (the rest comes from [`cache`]),
//!   and returns each file's spend as quarter-hour [`summary::Bucket`]s;
//! - [`dedupe`] judges the responses whose message id appears more than once, across all files;
//! - [`rows`] groups buckets into the rows of a report, in a time zone, with filters;
//! - [`render`] prints them as JSON or as an aligned table.

pub(crate) mod cache;
pub(crate) mod collect;
pub(crate) mod dedupe;
pub(crate) mod render;
pub(crate) mod rows;
pub(crate) mod summary;

pub(crate) use collect::collect;
pub(crate) use rows::{Kind, Options, Report, build};
