//! The integration suite: every test runs the real `ccbreaker` binary in a sandbox with its own HOME, config,
//! state directory and a scrubbed environment.

mod harness;

mod accounting;
mod audit;
mod audit_corpus;
mod cli;
mod concurrency;
mod corpus;
mod faults;
mod hook;
mod install;
mod lag;
mod messages;
mod report;
mod tamper;
