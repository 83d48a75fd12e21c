//! The words a user acts on, pinned whole with the exit code and both streams: block reasons, the notices that say
//! a call was let through unchecked, chained errors, usage errors. A change to any of them is a change to this file.

use crate::harness::{Sandbox, chain};
use serde_json::json;

#[test]
fn the_session_block_reason() {
    let mut sb = Sandbox::new("words-session");
    sb.binary_on_path();
    sb.transcript("s1").lines(&chain("a", 3, 7.0)); // $21 of $20
    let reason = format!(
        "ccbreaker: session budget reached: this session has spent $21.00 of its $20.00 budget. To go on, run \
         `ccbreaker allow --session s1 --add-usd 20` in a terminal, or raise budget.session_usd in {}.",
        sb.config.display()
    );
    let answer = json!({"continue": false, "stopReason": reason, "hookSpecificOutput": {
        "hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": reason}});
    sb.pre_tool_use("s1").assert_is(0, &format!("{answer}\n"), "");
    // The classic way: the reason alone on stderr, exit 2.
    sb.config("[policy]\non_breach = \"exit-code\"\n");
    sb.pre_tool_use("s1").assert_is(2, "", &format!("{reason}\n"));
}

#[test]
fn the_daily_block_reason() {
    let mut sb = Sandbox::new("words-day");
    sb.binary_on_path();
    sb.config("[budget]\nsession_usd = 100\ndaily_usd = 50\n");
    sb.transcript("other").lines(&chain("o", 3, 15.0)); // $45, never hooked
    sb.transcript("s1").lines(&chain("a", 1, 6.0));
    let reason = format!(
        "ccbreaker: daily budget reached: $51.00 spent today (2026-11-24, UTC) across all sessions, of a $50.00 daily \
         budget. It resets at midnight; to go on now, run `ccbreaker allow --session s1 --add-usd 100` in a \
         terminal, or raise budget.daily_usd in {}.",
        sb.config.display()
    );
    let answer = json!({"continue": false, "stopReason": reason, "hookSpecificOutput": {
        "hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": reason}});
    sb.pre_tool_use("s1").assert_is(0, &format!("{answer}\n"), "");
}

#[test]
fn the_warning() {
    let sb = Sandbox::new("words-warn");
    sb.transcript("s1").lines(&chain("a", 1, 17.0));
    let warning = "ccbreaker: this session has spent $17.00 of its $20.00 budget (85%).";
    sb.pre_tool_use("s1").assert_is(0, &format!("{}\n", json!({ "systemMessage": warning })), "");
}

#[test]
fn a_tamper_refusal() {
    let sb = Sandbox::new("words-tamper");
    let mut event = sb.event("PreToolUse", "s1");
    event["tool_input"] = json!({"command": "ccbreaker allow --session s1 --add-usd 100"});
    let reason = "ccbreaker: this tool call is refused: it runs `ccbreaker allow`. The agent ccbreaker guards may not \
                  change its budgets, state or hooks; a person can do this in their own terminal.";
    let answer = json!({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
        "permissionDecisionReason": reason}});
    sb.hook(&event).assert_is(0, &format!("{answer}\n"), "");
}

#[test]
fn a_chained_io_error_names_the_file_and_the_os_cause() {
    let mut sb = Sandbox::new("words-chain");
    let file = sb.root.join("a-file");
    std::fs::write(&file, b"").unwrap();
    sb.env("CCBREAKER_STATE_DIR", file.join("state").to_str().unwrap());
    let expected = format!(
        "ccbreaker: could not create state directory `{}/state`: Not a directory (os error 20)\n",
        file.display()
    );
    sb.run(&["status"], b"").assert_is(1, "", &expected);
    sb.run(&["allow", "--session", "s1"], b"").assert_is(1, "", &expected);
}

#[test]
fn a_config_that_cannot_be_read_names_the_file_and_the_cause() {
    let sb = Sandbox::new("words-config-dir");
    std::fs::create_dir_all(&sb.config).unwrap();
    let expected =
        format!("ccbreaker: could not read config file `{}`: it is not a regular file\n", sb.config.display());
    sb.run(&["status"], b"").assert_is(1, "", &expected);
    sb.run(&["config", "check"], b"").assert_is(1, "", &expected);
}

#[test]
fn usage_errors_exit_64_with_a_hint() {
    let sb = Sandbox::new("words-usage");
    let hint = "Run `ccbreaker --help` for usage.";
    sb.run(&["frobnicate"], b"").assert_is(64, "", &format!("ccbreaker: unknown command `frobnicate`\n{hint}\n"));
    sb.run(&["log", "--limit", "x"], b"").assert_is(
        64,
        "",
        &format!("ccbreaker: `--limit` takes a whole number, got \"x\"\n{hint}\n"),
    );
    sb.run(&["status", "--frob"], b"").assert_is(64, "", &format!("ccbreaker: unexpected argument `--frob`\n{hint}\n"));
}

#[test]
fn a_bad_clock_variable_is_named() {
    let mut sb = Sandbox::new("words-now");
    sb.env("CCBREAKER_NOW", "yesterday");
    sb.run(&["status"], b"").assert_is(1, "", "ccbreaker: CCBREAKER_NOW must be an RFC 3339 time, got \"yesterday\"\n");
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let sb = Sandbox::new("words-pipe");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = sb.command(&["--help"]).stdout(writer).stderr(std::process::Stdio::piped()).output().unwrap();
    assert_eq!((out.status.code(), String::from_utf8_lossy(&out.stderr).as_ref()), (Some(0), ""));
}

#[test]
fn every_hook_return_is_logged() {
    let mut sb = Sandbox::new("words-log");
    let log = sb.root.join("hook.log");
    sb.env("CCBREAKER_LOG", log.to_str().unwrap());
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    // An allow, an event without a session, a tamper refusal, a bad config (the last good one stays in force) and a
    // bad clock: five returns.
    sb.pre_tool_use("s1").assert_silent_allow();
    sb.hook(&json!({"hook_event_name": "PreToolUse"}));
    let mut tamper = sb.event("PreToolUse", "s1");
    tamper["tool_input"] = json!({"command": "ccbreaker uninstall"});
    sb.hook(&tamper);
    sb.config("[budget]\nsession_usd = -1\n");
    sb.pre_tool_use("s1");
    sb.config("");
    sb.env("CCBREAKER_NOW", "never");
    sb.pre_tool_use("s1");
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let sessions: Vec<&serde_json::Value> = lines.iter().map(|l| &l["session"]).collect();
    assert_eq!(sessions, [&json!("s1"), &json!(null), &json!("s1"), &json!("s1"), &json!("s1")]);
    assert_eq!(lines[1]["exit"], 1);
    assert!(lines[2]["stdout"].as_str().unwrap().contains("it runs `ccbreaker uninstall`"));
    assert!(lines[3]["stdout"].as_str().unwrap().contains("must not be negative"));
    assert!(lines[4]["stdout"].as_str().unwrap().contains("CCBREAKER_NOW must be an RFC 3339 time"));
}

#[test]
fn damaged_allowances_are_kept_aside_and_said() {
    let sb = Sandbox::new("words-allowances");
    sb.transcript("s1").lines(&chain("a", 3, 7.0));
    std::fs::create_dir_all(&sb.state).unwrap();
    std::fs::write(sb.state.join("allowances.json"), b"{\"sessions\": {\"s1\": tru").unwrap();
    let status = sb.status();
    let notes = status["notes"].to_string();
    assert!(notes.contains("allowances.json` could not be read"), "{notes}");
    assert!(notes.contains("its grants no longer apply"), "{notes}");
    let aside: Vec<String> = std::fs::read_dir(&sb.state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("allowances.json.damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "the damaged file is kept");
    assert_eq!(std::fs::read(sb.state.join(&aside[0])).unwrap(), b"{\"sessions\": {\"s1\": tru", "byte for byte");
    // A later grant does not overwrite it.
    assert!(!sb.state.join("allowances.json").exists());
}

#[test]
fn a_block_reason_that_holds_an_estimate_says_so() {
    // ccbreaker is not on this sandbox's PATH: the command is given by the binary's absolute path, so it works as
    // typed.
    let sb = Sandbox::new("words-estimate");
    sb.config("[budget]\nsession_usd = 1.0\n");
    // Two finished responses of $0.40, and one whose final usage Claude Code never wrote (2 output tokens): the
    // median, 40,000 output tokens, adds (40,000 - 2) x $10 per million = $0.39998.
    let mut lines = chain("a", 2, 0.4);
    let mut snapshot = crate::harness::response("snap", 2).parent("uuid-a-1");
    snapshot.stop_reason = None;
    lines.push(snapshot.json());
    sb.transcript("s1").lines(&lines);
    let reason = format!(
        "ccbreaker: session budget reached: this session has spent $1.20 (of which $0.40 is an estimate for 1 \
         response(s) whose final usage Claude Code did not write; see budget.incomplete_output_tokens) of its $1.00 \
         budget. To go on, run `{} allow --session s1 --add-usd 1` in a terminal, or raise budget.session_usd in \
         {}.",
        crate::harness::BIN,
        sb.config.display()
    );
    let answer = json!({"continue": false, "stopReason": reason, "hookSpecificOutput": {
        "hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": reason}});
    sb.pre_tool_use("s1").assert_is(0, &format!("{answer}\n"), "");
    // Without the estimate, $0.80002 is under the budget.
    sb.config("[budget]\nsession_usd = 1.0\nwarn_at = 0\nincomplete_output_tokens = 0\n");
    sb.pre_tool_use("s1").assert_silent_allow();
}
