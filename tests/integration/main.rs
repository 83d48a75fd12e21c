//! The integration suite: every test runs the real `ccbreaker` binary in a sandbox with its own HOME, config,
//! state directory and a scrubbed environment.

mod admin_mock;
mod harness;
mod http;

mod accounting;
mod agent;
mod alerts;
mod audit;
mod audit_corpus;
mod breakers;
mod cli;
mod concurrency;
mod corpus;
mod dashboard;
mod doctor;
mod edges;
mod exec;
mod faults;
mod gate;
mod hook;
mod install;
mod lag;
mod locked;
mod messages;
mod newcomer;
mod prices;
mod reconcile;
mod report;
mod scopes;
mod statusline;
mod storm;
mod tamper;
mod team;
mod walk;
mod watch;
