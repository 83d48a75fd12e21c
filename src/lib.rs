//! ccbreaker: a cost circuit breaker for Claude Code. The binary is a thin shell around [`cli::run`].

pub mod audit;
pub mod cli;
pub mod config;
pub mod env;
pub mod fuzzing;
pub mod hook;
pub mod install;
pub mod ledger;
pub mod paths;
pub mod policy;
pub mod pricing;
pub mod report;
pub mod sync;
pub mod text;
pub mod transcript;
pub mod usage;
pub mod zone;
