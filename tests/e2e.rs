//! The end-to-end suite (`tests/e2e/suite.py`) as a cargo test, so the real Claude Code client exercises the binary
//! cargo just built: once on the pinned client (2.1.331) and once on the release about three months older
//! (2.1.240). Gated behind the `e2e` feature because it needs python3, the clients (installed with npm into
//! `$CCBREAKER_E2E_CACHE`, default `~/.cache/ccbreaker-e2e`, on first use) and a minute or two:
//!
//!     cargo test --features e2e --test e2e
//!
//! `CCBREAKER_E2E_ARGS` passes extra arguments to the suite, split on whitespace (scenario names, `--keep`). The
//! suite's report streams to the terminal as it runs.

use std::process::Command;
use std::sync::Mutex;

/// The two runs take turns: each drives a real client whose timing the other would disturb on two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn suite(client_version: &str) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let suite = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/suite.py");
    let extra = std::env::var("CCBREAKER_E2E_ARGS").unwrap_or_default();
    let status = Command::new("python3")
        .arg(suite)
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_ccbreaker"))
        .arg("--client-version")
        .arg(client_version)
        .args(extra.split_whitespace())
        .status()
        .expect("could not run python3 tests/e2e/suite.py");
    assert!(status.success(), "the e2e suite failed on Claude Code {client_version} ({status}); its report is above");
}

#[test]
fn e2e_suite_on_the_pinned_client() {
    suite("2.1.331");
}

#[test]
fn e2e_suite_on_a_client_three_months_older() {
    suite("2.1.240");
}
