#![no_main]
//! Fuzzes `ccbreaker::fuzzing::hook_event`: arbitrary bytes must never make it panic.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ccbreaker::fuzzing::hook_event(data));
