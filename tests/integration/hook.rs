//! What the hook answers: allow, warn once, block in each mode, stay blocked, and fail as documented.

use crate::harness::{Sandbox, chain, response, tokens_for_usd};
use serde_json::json;

#[test]
fn under_budget_allows_silently() {
    let sb = Sandbox::new("under");
    sb.transcript("s1").lines(&chain("a", 2, 1.0));
    sb.pre_tool_use("s1").assert_silent_allow();
}

#[test]
fn a_missing_transcript_is_normal() {
    let sb = Sandbox::new("missing");
    sb.hook(&sb.event("UserPromptSubmit", "fresh")).assert_silent_allow();
}

#[test]
fn session_budget_crossed_prints_the_stop_json() {
    let sb = Sandbox::new("breach");
    sb.transcript("s1").lines(&chain("a", 3, 7.0)); // $21 of $20
    let out = sb.pre_tool_use("s1");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let answer = out.json();
    let reason = answer["stopReason"].as_str().unwrap().to_owned();
    assert_eq!(
        answer,
        json!({"continue": false, "stopReason": reason, "hookSpecificOutput": {"hookEventName": "PreToolUse",
            "permissionDecision": "deny", "permissionDecisionReason": reason}})
    );
    assert!(reason.contains("session budget reached"), "{reason}");
    assert!(reason.contains("$21.00") && reason.contains("$20.00"), "{reason}");
    assert!(reason.contains("ccbreaker allow --session s1 --add-usd 20"), "{reason}");
    assert!(reason.contains(&sb.config.display().to_string()), "{reason}");
}

#[test]
fn a_blocked_session_stays_blocked_on_every_later_event() {
    let sb = Sandbox::new("stays");
    sb.transcript("s1").lines(&chain("a", 3, 7.0));
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false);
    // A new prompt (or a subagent's task notification waking the session) is refused.
    let prompt = sb.hook(&sb.event("UserPromptSubmit", "s1")).json();
    assert_eq!(prompt["decision"], "block");
    assert!(prompt["reason"].as_str().unwrap().contains("session budget reached"));
    // A tool call inside a subagent of the session: same session id and transcript, plus agent_id.
    let mut sub = sb.event("PreToolUse", "s1");
    sub["agent_id"] = json!("a1");
    assert_eq!(sb.hook(&sub).json()["hookSpecificOutput"]["permissionDecision"], "deny");
    let batch = sb.hook(&sb.event("PostToolBatch", "s1")).json();
    assert_eq!(batch["continue"], false);
    // Stop and SubagentStop are never blocked: there a block means "keep going".
    sb.hook(&sb.event("Stop", "s1")).assert_silent_allow();
    sb.hook(&sb.event("SubagentStop", "s1")).assert_silent_allow();
    assert_eq!(sb.session_status("s1")["state"], "blocked");
}

#[test]
fn the_warning_is_shown_once() {
    let sb = Sandbox::new("warn");
    sb.transcript("s1").lines(&chain("a", 1, 17.0)); // 85% of $20
    let first = sb.pre_tool_use("s1");
    let message = first.json()["systemMessage"].as_str().unwrap().to_owned();
    assert!(message.contains("$17.00 of its $20.00 budget (85%)"), "{message}");
    sb.pre_tool_use("s1").assert_silent_allow();
    sb.hook(&sb.event("UserPromptSubmit", "s1")).assert_silent_allow();
    assert_eq!(sb.session_status("s1")["state"], "warn");
}

#[test]
fn deny_mode_only_denies() {
    let sb = Sandbox::new("deny");
    sb.config("[policy]\non_breach = \"deny\"\n");
    sb.transcript("s1").lines(&chain("a", 3, 7.0));
    let answer = sb.pre_tool_use("s1").json();
    assert!(answer.get("continue").is_none(), "{answer}");
    assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");
}

#[test]
fn exit_code_mode_exits_2_with_the_reason_on_stderr() {
    let sb = Sandbox::new("exitcode");
    sb.config("[policy]\non_breach = \"exit-code\"\n");
    sb.transcript("s1").lines(&chain("a", 3, 7.0));
    let out = sb.pre_tool_use("s1");
    assert_eq!((out.code, out.stdout.as_str()), (2, ""));
    assert!(out.stderr.contains("session budget reached"), "{}", out.stderr);
    sb.hook(&sb.event("Stop", "s1")).assert_silent_allow();
}

#[test]
fn subagent_spend_counts_for_its_session() {
    let sb = Sandbox::new("subagent");
    sb.transcript("s1").lines(&chain("main", 1, 10.0));
    sb.subagent("s1", "a7b1").lines(&chain("sub", 1, 11.0));
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false);
    let status = sb.session_status("s1");
    assert_eq!(status["cost_usd"], 21.0);
}

#[test]
fn raising_the_budget_in_the_config_lifts_the_block() {
    let sb = Sandbox::new("raise");
    sb.transcript("s1").lines(&chain("a", 3, 7.0));
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false);
    sb.config("[budget]\nsession_usd = 40\n");
    sb.pre_tool_use("s1").assert_silent_allow();
}

#[test]
fn allow_lifts_a_block_by_the_amount_given() {
    let mut sb = Sandbox::new("allow");
    sb.transcript("s1").lines(&chain("a", 3, 7.0)); // $21
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false);
    let out = sb.run(&["allow", "--session", "s1", "--add-usd", "10"], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("session limit is now $30.00"), "{}", out.stdout);
    sb.pre_tool_use("s1").assert_silent_allow(); // $21 of $30: under the 80% warning level
    sb.transcript("s1").lines(&chain("b", 1, 3.5)); // $24.50: 81%
    assert!(sb.pre_tool_use("s1").json()["systemMessage"].as_str().unwrap().contains("$30.00"));
    sb.transcript("s1").lines(&chain("c", 1, 6.0)); // $30.50
    let reason = sb.pre_tool_use("s1").json()["stopReason"].as_str().unwrap().to_owned();
    assert!(reason.contains("$30.50 of its $30.00"), "{reason}");
    // The agent under guard cannot lift its own limit.
    sb.env("CLAUDECODE", "1");
    let refused = sb.run(&["allow", "--session", "s1", "--add-usd", "100"], b"");
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("refuses to run inside Claude Code"), "{}", refused.stderr);
    let refused = sb.run(&["allow", "--session", "s1", "--i-am-human"], b"");
    assert_eq!(refused.code, 1, "--i-am-human needs a terminal");
}

#[test]
fn the_day_budget_counts_sessions_that_never_ran_the_hook() {
    let sb = Sandbox::new("day");
    sb.config("[budget]\nsession_usd = 100\ndaily_usd = 50\n");
    sb.transcript("other").lines(&chain("o", 3, 15.0)); // $45, never hooked
    sb.transcript("s1").lines(&chain("a", 1, 6.0));
    let answer = sb.pre_tool_use("s1").json();
    let reason = answer["stopReason"].as_str().unwrap();
    assert!(reason.contains("daily budget reached: $51.00 spent today (2026-11-24, UTC)"), "{reason}");
    // Yesterday's spend does not count.
    let sb = Sandbox::new("day-yesterday");
    sb.config("[budget]\nsession_usd = 100\ndaily_usd = 50\n");
    let old: Vec<String> =
        (0..3).map(|i| response(&format!("old{i}"), tokens_for_usd(15.0)).at("2026-11-23T10:00:00Z").json()).collect();
    sb.transcript("other").lines(&old);
    sb.transcript("s1").lines(&chain("a", 1, 6.0));
    sb.pre_tool_use("s1").assert_silent_allow();
}

#[test]
fn the_day_follows_the_configured_zone() {
    let mut sb = Sandbox::new("zone");
    sb.config("[budget]\ntimezone = \"America/Los_Angeles\"\nsession_usd = 100\ndaily_usd = 10\n");
    // 06:00Z is 22:00 the day before in Los Angeles; 09:00Z is 01:00 the same day.
    let lines = [
        response("late", tokens_for_usd(8.0)).at("2026-11-24T06:00:00Z").json(),
        response("early", tokens_for_usd(1.0)).at("2026-11-24T09:00:00Z").json(),
    ];
    sb.transcript("s1").lines(&lines);
    sb.now = "2026-11-24T12:00:00Z".to_owned(); // 04:00 in Los Angeles
    sb.pre_tool_use("s1").assert_silent_allow();
    let status = sb.status();
    assert_eq!(status["date"], "2026-11-24");
    assert_eq!(status["timezone"], "America/Los_Angeles");
    assert_eq!(status["day"]["cost_usd"], 1.0);
    // In UTC both responses fall on the 24th: $9 is past 80% of $10.
    sb.config("[budget]\ntimezone = \"UTC\"\nsession_usd = 100\ndaily_usd = 10\n");
    assert_eq!(sb.status()["day"]["cost_usd"], 9.0);
}

#[test]
fn malformed_stdin_is_a_documented_error_not_a_panic() {
    let sb = Sandbox::new("stdin");
    for input in [&b""[..], b"not json", b"[1,2]", br#"{"hook_event_name":"PreToolUse","session_id": 5}"#, b"\xff\xfe"]
    {
        let out = sb.run(&["hook"], input);
        assert_eq!(out.code, 1, "input {input:?}: {}", out.stderr);
        assert_eq!(out.stdout, "");
        assert!(out.stderr.starts_with("ccbreaker: hook input"), "{}", out.stderr);
    }
    // Unknown events and events without a session are allowed silently.
    sb.hook(&json!({"hook_event_name": "SessionStart"})).assert_silent_allow();
    sb.hook(&json!({"hook_event_name": "Nope", "session_id": "s", "transcript_path": "/nowhere/s.jsonl"}))
        .assert_silent_allow();
}

#[test]
fn a_broken_config_keeps_the_last_good_one_in_force() {
    let sb = Sandbox::new("badconfig");
    sb.config("[budget]\nsession_usd = 10\n");
    sb.transcript("s1").lines(&chain("a", 2, 6.0));
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false, "$12 of a $10 budget");
    // The agent breaks the config, or makes it unreadable: the $10 budget stays, never the defaults ($20) or allow.
    sb.config("[budget]\nsession_usd = \"lots\"\n");
    let cause = format!("`budget.session_usd` in `{}` must be a number, got \"lots\"", sb.config.display());
    let block = sb.pre_tool_use("s1").json();
    assert_eq!(block["continue"], false, "{block}");
    assert!(block["stopReason"].as_str().unwrap().contains("of its $10.00 budget"), "{block}");
    sb.config("[budget]\nsession_usd = 100\n[policy]\non_error = \"allow\"\n");
    let notice = format!(
        "ccbreaker: {cause}; the last good config (read 2026-11-24 12:00 UTC) stays in force until the file is fixed \
         (check it with `ccbreaker config check`)"
    );
    sb.config("[budget]\nsession_usd = 100\n");
    sb.pre_tool_use("s1").assert_silent_allow();
    sb.config("[budget]\nsession_usd = \"lots\"\n");
    sb.pre_tool_use("s1").assert_is(0, &format!("{}\n", json!({ "systemMessage": notice })), "");
    std::fs::remove_file(&sb.config).unwrap();
    let removed = sb.pre_tool_use("s1").json();
    assert!(removed["systemMessage"].as_str().unwrap().contains("was removed; the last good config"), "{removed}");
}

#[test]
fn a_broken_config_with_nothing_kept_blocks() {
    let mut sb = Sandbox::new("badconfig-first");
    sb.config("[budget]\nsession_usd = \"lots\"\n");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    let cause = format!("`budget.session_usd` in `{}` must be a number, got \"lots\"", sb.config.display());
    let reason = format!(
        "ccbreaker could not check your budgets, so this call is blocked (the config cannot be read, and no earlier \
         good config is kept): {cause}"
    );
    let block = sb.pre_tool_use("s1").json();
    assert_eq!((block["continue"].clone(), block["stopReason"].clone()), (json!(false), json!(reason)));
    sb.env("CCBREAKER_ON_ERROR", "allow");
    let allow = sb.pre_tool_use("s1").json();
    assert!(allow["systemMessage"].as_str().unwrap().contains("CCBREAKER_ON_ERROR is \"allow\""), "{allow}");
}

/// The ledger's two slot files, newest first.
fn ledger_slots(sb: &Sandbox) -> Vec<std::path::PathBuf> {
    let mut slots: Vec<_> =
        ["ledger-a.bin", "ledger-b.bin"].iter().map(|n| sb.state.join(n)).filter(|p| p.exists()).collect();
    let generation = |p: &std::path::PathBuf| {
        std::fs::read(p).unwrap().get(4..12).map_or(0, |g| u64::from_le_bytes(g.try_into().unwrap()))
    };
    slots.sort_by_key(|p| std::cmp::Reverse(generation(p)));
    slots
}

/// The checksum of a ledger slot's body, as the state format defines it (`files::checksum`).
fn state_checksum(bytes: &[u8]) -> u64 {
    let step = |h: u64, word: u64| (h.rotate_left(23) ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut words = bytes.chunks_exact(8);
    let mut h = (&mut words)
        .fold(0x243f_6a88_85a3_08d3 ^ bytes.len() as u64, |h, w| step(h, u64::from_le_bytes(w.try_into().unwrap())));
    for &byte in words.remainder() {
        h = step(h, u64::from(byte));
    }
    h
}

#[test]
fn a_torn_ledger_falls_back_to_the_last_committed_one_or_is_rebuilt() {
    let sb = Sandbox::new("corrupt");
    sb.transcript("s1").lines(&chain("a", 2, 5.0));
    sb.pre_tool_use("s1").assert_silent_allow();
    sb.transcript("s1").lines(&chain("b", 1, 5.0));
    sb.pre_tool_use("s1").assert_silent_allow();
    // A hook killed while writing the newest slot: the other one, a call older, is used and the rest read again.
    let newest = &ledger_slots(&sb)[0];
    let bytes = std::fs::read(newest).unwrap();
    std::fs::write(newest, &bytes[..bytes.len() / 2]).unwrap();
    sb.transcript("s1").lines(&chain("c", 1, 6.0));
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false, "$21");
    assert_eq!(sb.session_status("s1")["cost_usd"], 21.0);
    // Both slots damaged: rebuilt from the transcripts.
    for slot in ledger_slots(&sb) {
        std::fs::write(slot, b"CCB2 torn").unwrap();
    }
    let status = sb.status();
    assert_eq!(status["sessions"][0]["cost_usd"], 21.0);
    assert!(status["notes"].to_string().contains("ledger rebuilt"), "{status:#}");
    // A ledger from a future version (intact, with its checksum) is rebuilt too, not trusted.
    for slot in ledger_slots(&sb) {
        let mut bytes = std::fs::read(&slot).unwrap();
        if bytes.len() < 32 {
            continue; // the slot left torn above
        }
        let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap()) as usize;
        bytes[28..32].copy_from_slice(&99u32.to_le_bytes());
        let sum = state_checksum(&bytes[28..28 + len]);
        bytes[20..28].copy_from_slice(&sum.to_le_bytes());
        std::fs::write(&slot, bytes).unwrap();
    }
    let status = sb.status();
    assert_eq!(status["sessions"][0]["cost_usd"], 21.0);
    assert!(status["notes"].to_string().contains("had version 99"), "{status:#}");
    // The layout before this one (another checksum) is said as such, and rebuilt.
    for slot in ledger_slots(&sb) {
        std::fs::write(slot, b"CCBL\x01\0\0\0\0\0\0\0 an old ledger").unwrap();
    }
    let status = sb.status();
    assert_eq!(status["sessions"][0]["cost_usd"], 21.0);
    assert!(status["notes"].to_string().contains("was written by an older ccbreaker"), "{status:#}");
}

#[test]
fn state_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new("modes");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    sb.pre_tool_use("s1").assert_silent_allow();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&sb.state), 0o700);
    for slot in ledger_slots(&sb) {
        assert_eq!(mode(&slot), 0o600);
    }
    for log in ["keys/2026-11-24.ids", "keys/2026-11-24.rec"] {
        assert_eq!(mode(&sb.state.join(log)), 0o600);
    }
}

#[test]
fn a_damaged_key_log_heals_by_rereading_the_transcripts() {
    let sb = Sandbox::new("shortkeys");
    sb.transcript("s1").lines(&chain("a", 2, 5.0));
    sb.pre_tool_use("s1").assert_silent_allow();
    std::fs::write(sb.state.join("keys/2026-11-24.ids"), b"").unwrap();
    sb.transcript("s1").lines(&chain("b", 1, 11.0));
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false, "$21 after the rebuild");
    let status = sb.status();
    assert_eq!(status["sessions"][0]["cost_usd"], 21.0);
    assert!(status["notes"].to_string().contains("committed"), "{status:#}");
}

#[test]
fn a_warning_due_on_a_stop_event_waits_for_an_event_that_can_show_it() {
    let sb = Sandbox::new("warnstop");
    sb.transcript("s1").lines(&chain("a", 1, 17.0));
    sb.hook(&sb.event("Stop", "s1")).assert_silent_allow();
    assert!(sb.pre_tool_use("s1").json()["systemMessage"].as_str().unwrap().contains("85%"));
}

#[test]
fn every_hook_call_is_logged_when_asked() {
    let mut sb = Sandbox::new("log");
    let log = sb.root.join("hook.log");
    sb.env("CCBREAKER_LOG", log.to_str().unwrap());
    sb.transcript("s1").lines(&chain("a", 3, 7.0));
    sb.pre_tool_use("s1");
    sb.run(&["hook"], b"garbage");
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["session"], "s1");
    assert!(lines[0]["stdout"].as_str().unwrap().contains("\"continue\":false"));
    assert_eq!(lines[1]["exit"], 1);
    assert_eq!(lines[1]["at"], "2026-11-24T12:00:00Z");
    assert!(lines[0]["total_us"].as_u64().is_some() && lines[0]["wait_us"] == 0, "{}", lines[0]);
}
