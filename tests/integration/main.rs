//! The integration suite: every test runs the real `ccbreaker` binary in a sandbox with its own HOME, config,
//! state directory and a scrubbed environment.

mod admin_mock;
mod harness;

mod accounting;
mod agent;
mod audit;
mod audit_corpus;
mod cli;
mod concurrency;
mod corpus;
mod edges;
mod faults;
mod gate;
mod hook;
mod install;
mod lag;
mod locked;
mod messages;
mod prices;
mod reconcile;
mod report;
mod tamper;
