//! ccbreaker: a cost circuit breaker for Claude Code. The binary is a thin shell around [`cli::run`].

pub mod config;
pub mod env;
pub mod ledger;
pub mod paths;
pub mod pricing;
pub mod transcript;
pub mod usage;
pub mod zone;
pub mod hook;
pub mod policy;
pub mod sync;
pub mod cli;
