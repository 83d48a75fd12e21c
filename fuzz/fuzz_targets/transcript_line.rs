#![no_main]
//! Fuzzes `ccbreaker::fuzzing::transcript_line`: arbitrary bytes must never make it panic.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ccbreaker::fuzzing::transcript_line(data));
