//! ccbreaker: a cost circuit breaker for Claude Code. The binary is a thin shell around [`cli::run`]; the modules
//! behind it are crate-private, so the public surface is what the binary, the integration tests and the fuzzers
//! use, and nothing more.

mod alert;
mod audit;
pub mod cli;
mod config;
mod correction;
mod doctor;
pub mod env;
mod error;
mod files;
mod findings;
pub mod fuzzing;
mod hook;
mod install;
mod ledger;
mod locked;
mod net;
mod paths;
mod place;
mod plan;
mod policy;
mod pricing;
mod reconcile;
mod report;
mod runs;
mod standings;
mod statusline;
mod sync;
mod team;
#[cfg(test)]
mod test_dir;
mod text;
mod transcript;
mod usage;
mod verdict;
mod zone;

/// The built-in price table, for tests that check a price against the published rates.
pub use pricing::{LongContext, PriceTable, Rates};
