//! ccbreaker: a cost circuit breaker for Claude Code. The binary is a thin shell around [`cli::run`].

pub mod install;
pub mod usage;
