//! The end-to-end suite (`tests/e2e/suite.py`) as a cargo test, so the real Claude Code client exercises the binary
//! cargo just built. Gated behind the `e2e` feature because it needs python3, the client (installed with npm into
//! `$CCBREAKER_E2E_CACHE`, default `~/.cache/ccbreaker-e2e`, on first use) and about a minute:
//!
//!     cargo test --features e2e --test e2e
//!
//! `CCBREAKER_E2E_ARGS` passes extra arguments to the suite, split on whitespace (scenario names,
//! `--client-version 2.1.240`, `--keep`). The suite's report streams to the terminal as it runs.

use std::process::Command;

#[test]
fn e2e_suite() {
    let suite = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/suite.py");
    let extra = std::env::var("CCBREAKER_E2E_ARGS").unwrap_or_default();
    let status = Command::new("python3")
        .arg(suite)
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_ccbreaker"))
        .args(extra.split_whitespace())
        .status()
        .expect("could not run python3 tests/e2e/suite.py");
    assert!(status.success(), "the e2e suite failed ({status}); its report is above");
}
