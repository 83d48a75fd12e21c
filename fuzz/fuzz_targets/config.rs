#![no_main]
//! Fuzzes `ccbreaker::fuzzing::config`: arbitrary bytes must never make it panic.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ccbreaker::fuzzing::config(data));
