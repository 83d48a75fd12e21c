//! `ccbreaker statusline` with payloads as Claude Code sends them: the session's and the day's spend against their
//! budgets from the ledger the hooks keep (never the transcripts), plan usage from `rate_limits` (recorded for the
//! budgets that use it), a marker when blocked, zones as colours, and the width the client passes.

use crate::harness::{Output, Sandbox, chain};
use serde_json::{Value, json};

/// A payload as Claude Code 2.1.331 sends it (the fields the line uses, and others it ignores).
fn payload(sb: &Sandbox, session: &str, rate_limits: Option<Value>) -> Value {
    let mut p = json!({
        "hook_event_name": "Status",
        "session_id": session,
        "transcript_path": sb.transcript(session).path,
        "cwd": "/work/proj",
        "model": {"id": "claude-opus-4-5", "display_name": "Opus 4.5"},
        "workspace": {"current_dir": "/work/proj", "project_dir": "/work/proj"},
        "version": "2.1.331",
        "cost": {"total_cost_usd": 0.42, "total_duration_ms": 45000},
        "context_window": {"context_window_size": 200000},
    });
    if let Some(limits) = rate_limits {
        p["rate_limits"] = limits;
    }
    p
}

fn line(sb: &Sandbox, payload: &Value) -> Output {
    sb.run(&["statusline"], payload.to_string().as_bytes())
}

#[test]
fn the_line_shows_session_day_and_plan_against_their_budgets() {
    let mut sb = Sandbox::new("statusline");
    sb.env("NO_COLOR", "1");
    sb.config("[budget]\nsession_usd = 20\ndaily_usd = 50\n");
    // No hook has run: nothing to show but how to find out why.
    line(&sb, &payload(&sb, "s1", None)).assert_is(0, "ccbreaker: no hook has run yet (run `ccbreaker doctor`)\n", "");
    sb.transcript("s1").lines(&chain("a", 2, 3.0));
    sb.transcript("other").lines(&chain("o", 1, 4.0));
    sb.pre_tool_use("s1").assert_silent_allow();
    let limits = json!({
        "five_hour": {"used_percentage": 42.4, "resets_at": 1795532400},
        "seven_day": {"used_percentage": 15, "resets_at": "2026-11-30T00:00:00Z"},
    });
    line(&sb, &payload(&sb, "s1", Some(limits.clone()))).assert_is(
        0,
        "session $6.00 / $20 · today $10.00 / $50 · 5h 42% · 7d 15%\n",
        "",
    );
    // The readings are recorded for the budgets that use them, with when they were seen.
    let recorded: Value = serde_json::from_slice(&std::fs::read(sb.state.join("plan-usage.json")).unwrap()).unwrap();
    assert_eq!(recorded["windows"]["five_hour"]["used_percentage"], 42.4);
    assert_eq!(recorded["windows"]["five_hour"]["resets_at"], "2026-11-24T15:00:00Z");
    assert_eq!(recorded["windows"]["seven_day"]["seen_at"], "2026-11-24T12:00:00Z");
    // A session no hook has counted yet: Claude Code's own estimate, marked.
    line(&sb, &payload(&sb, "new", None)).assert_is(
        0,
        "session ~$0.42 / $20 · today $10.00 / $50 · 5h 42% · 7d 15%\n",
        "",
    );
    // The width the client passes.
    sb.env("COLUMNS", "40");
    line(&sb, &payload(&sb, "s1", Some(limits))).assert_is(0, "s $6.00/20 · d $10.00/50 · 5h42% · 7d15%\n", "");
    // A payload that is not JSON still gets the day.
    line(&sb, &json!("garbage")).assert_is(0, "today $10.00 / $50 · 5h 42% · 7d 15%\n", "");
}

#[test]
fn a_blocked_session_is_marked_and_zones_are_coloured() {
    let sb = Sandbox::new("statusline-blocked");
    sb.config("[budget]\nsession_usd = 20\ndaily_usd = 25\nwarn_at = 0.8\n");
    sb.transcript("s1").lines(&chain("a", 3, 7.0));
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false);
    let out = line(&sb, &payload(&sb, "s1", None));
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout,
        "\x1b[1;97;41mBLOCKED: session budget\x1b[0m · \x1b[1;31msession $21.00 / $20\x1b[0m · \x1b[33mtoday $21.00 / $25\x1b[0m\n"
    );
}

#[test]
fn the_statusline_takes_no_lock_and_reads_no_transcript() {
    use std::io::Write;
    let mut sb = Sandbox::new("statusline-nolock");
    sb.env("NO_COLOR", "1");
    sb.transcript("s1").lines(&chain("a", 1, 2.0));
    sb.pre_tool_use("s1").assert_silent_allow();
    // New spend the hooks have not read yet is not shown; a held lock does not delay the line.
    sb.transcript("s1").lines(&chain("b", 1, 5.0));
    let mut lock = std::fs::OpenOptions::new().write(true).open(sb.state.join("ledger.lock")).unwrap();
    lock.lock().unwrap();
    lock.write_all(b"someone else").unwrap();
    // (A line that waited for the lock would answer the lock's timeout instead.)
    line(&sb, &payload(&sb, "s1", None)).assert_is(0, "session $2.00 / $20 · today $2.00 / $50\n", "");
}
