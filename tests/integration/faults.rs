//! Faults that must never crash the hook, lose money or count it twice: odd transcripts, hostile input, broken
//! state. Every case asserts the answer and the totals.

use crate::harness::{Sandbox, chain};
use serde_json::json;

#[test]
fn a_ten_megabyte_line_does_not_disturb_the_count() {
    let sb = Sandbox::new("bigline");
    let t = sb.transcript("s1");
    t.lines(&chain("a", 1, 1.0));
    let huge = json!({"type": "user", "uuid": "big", "message": {"content": "x".repeat(10 << 20)}}).to_string();
    t.append(&huge);
    t.lines(&chain("b", 1, 2.0));
    sb.pre_tool_use("s1").assert_silent_allow();
    assert_eq!(sb.session_status("s1")["cost_usd"], 3.0);
}

#[test]
fn a_deleted_transcript_keeps_what_was_counted() {
    let sb = Sandbox::new("deleted");
    sb.transcript("s1").lines(&chain("a", 3, 7.0));
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false);
    std::fs::remove_file(&sb.transcript("s1").path).unwrap();
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false, "still blocked from the ledger");
    assert_eq!(sb.session_status("s1")["cost_usd"], 21.0);
}

#[test]
fn a_symlinked_transcript_is_read_through_the_link() {
    let sb = Sandbox::new("symlink");
    let real = sb.root.join("elsewhere.jsonl");
    std::fs::write(&real, chain("a", 1, 4.0).join("\n") + "\n").unwrap();
    std::os::unix::fs::symlink(&real, &sb.transcript("s1").path).unwrap();
    sb.pre_tool_use("s1").assert_silent_allow();
    assert_eq!(sb.session_status("s1")["cost_usd"], 4.0);
}

#[test]
fn a_directory_where_a_transcript_was_expected_is_not_a_crash() {
    let sb = Sandbox::new("dir");
    std::fs::create_dir_all(&sb.transcript("s1").path).unwrap();
    sb.transcript("other").lines(&chain("o", 1, 1.0));
    sb.pre_tool_use("s1").assert_silent_allow();
    assert_eq!(sb.status()["day"]["cost_usd"], 1.0);
}

#[test]
fn a_transcript_outside_every_root_is_not_read() {
    let sb = Sandbox::new("outside");
    let outside = sb.root.join("not-claude/s1.jsonl");
    std::fs::create_dir_all(outside.parent().unwrap()).unwrap();
    std::fs::write(&outside, chain("a", 3, 7.0).join("\n") + "\n").unwrap();
    let mut event = sb.event("PreToolUse", "s1");
    event["transcript_path"] = json!(outside);
    sb.hook(&event).assert_silent_allow();
    let escape = sb.home.join(".claude/projects/../../not-claude/s1.jsonl");
    event["transcript_path"] = json!(escape);
    sb.hook(&event).assert_silent_allow();
    let status = sb.status();
    assert_eq!(status["day"]["cost_usd"], 0.0);
    assert!(status["notes"].to_string().contains("outside every transcript root"), "{status:#}");
    sb.config("[transcripts]\nallow_any_path = true\n");
    event["transcript_path"] = json!(outside);
    assert_eq!(sb.hook(&event).json()["continue"], false, "read once the config allows it");
}

#[test]
fn a_hundred_megabyte_stdin_is_refused_with_a_message() {
    let sb = Sandbox::new("hugestdin");
    let mut input = br#"{"hook_event_name":"PreToolUse","tool_input":{"content":""#.to_vec();
    input.resize(100 << 20, b'x');
    input.extend_from_slice(br#""}}"#);
    let out = sb.run(&["hook"], &input);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("larger than 64 MiB"), "{}", out.stderr);
}

#[test]
fn missing_fields_and_wrong_types_are_documented_errors() {
    let sb = Sandbox::new("types");
    let cases: [(&str, i32); 5] = [
        (r#"{"hook_event_name":"PreToolUse"}"#, 1),
        (r#"{"hook_event_name":"PreToolUse","session_id":["s"]}"#, 1),
        (r#"{"hook_event_name":7}"#, 1),
        (r#"{"hook_event_name":"PreToolUse","session_id":"s","tool_input":"not an object"}"#, 0),
        (r#"{"hook_event_name":"Teleport","session_id":"s"}"#, 0),
    ];
    for (input, code) in cases {
        let out = sb.run(&["hook"], input.as_bytes());
        assert_eq!(out.code, code, "{input}: {}", out.stderr);
    }
}

#[test]
fn an_unusable_state_directory_follows_on_error() {
    let mut sb = Sandbox::new("badstate");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    let file = sb.root.join("state-is-a-file");
    std::fs::write(&file, b"").unwrap();
    sb.env("CCBREAKER_STATE_DIR", file.join("nested").to_str().unwrap());
    let cause = format!("could not create state directory `{}/nested`: Not a directory (os error 20)", file.display());
    let allow = sb.pre_tool_use("s1");
    let notice = format!(
        "ccbreaker could not check your budgets, so this call is allowed (policy.on_error is \"allow\"): {cause}"
    );
    allow.assert_is(0, &format!("{}\n", json!({ "systemMessage": notice })), &format!("ccbreaker: {cause}\n"));
    sb.config("[policy]\non_error = \"block\"\n");
    let block = sb.pre_tool_use("s1").json();
    assert_eq!(block["hookSpecificOutput"]["permissionDecision"], "deny");
    let reason = format!(
        "ccbreaker could not check your budgets, so this call is blocked (policy.on_error is \"block\"): {cause}"
    );
    assert_eq!(block["stopReason"], reason);
    // The commands a person runs say the same cause.
    let status = sb.run(&["status"], b"");
    status.assert_is(1, "", &format!("ccbreaker: {cause}\n"));
}

#[test]
fn eight_sessions_with_eight_hooks_each_at_once_count_everything_once() {
    let sb = Sandbox::new("eight");
    sb.config("[budget]\nsession_usd = 0\ndaily_usd = 0\n");
    for s in 0..8 {
        sb.transcript(&format!("s{s}")).lines(&chain(&format!("s{s}"), 10, 0.5));
        sb.subagent(&format!("s{s}"), "a").lines(&chain(&format!("s{s}sub"), 5, 0.25));
    }
    let children: Vec<_> = (0..64)
        .map(|i| {
            use std::io::Write;
            let mut child = sb
                .command(&["hook"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let event = sb.event("PreToolUse", &format!("s{}", i % 8)).to_string();
            child.stdin.take().unwrap().write_all(event.as_bytes()).unwrap();
            child
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let status = sb.status();
    assert_eq!(status["day"]["responses"], 8 * 15);
    assert_eq!(status["day"]["cost_usd"], 8.0 * (10.0 * 0.5 + 5.0 * 0.25));
}

#[test]
fn hooks_killed_at_random_points_lose_and_double_count_nothing() {
    let sb = Sandbox::new("killed");
    sb.config("[budget]\nsession_usd = 0\ndaily_usd = 0\n");
    let t = sb.transcript("s1");
    let event = sb.event("PreToolUse", "s1").to_string();
    let mut written = 0u64;
    for round in 0..40u64 {
        t.lines(&chain(&format!("r{round}"), 2, 0.5));
        written += 2;
        use std::io::Write;
        let mut child = sb
            .command(&["hook"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(event.as_bytes());
        // Anywhere from before the lock to after the save: a (debug) call takes a few milliseconds.
        std::thread::sleep(std::time::Duration::from_micros((round * 7919) % 15_000));
        let _ = child.kill();
        let _ = child.wait();
    }
    sb.pre_tool_use("s1").assert_silent_allow();
    let status = sb.session_status("s1");
    assert_eq!(status["responses"], written);
    assert_eq!(status["cost_usd"], written as f64 * 0.5);
}

#[test]
fn a_lock_held_too_long_follows_on_error() {
    let mut sb = Sandbox::new("locked");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    sb.pre_tool_use("s1").assert_silent_allow();
    let lock = std::fs::File::open(sb.state.join("ledger.lock")).unwrap();
    lock.lock().unwrap();
    sb.env("CCBREAKER_LOCK_TIMEOUT_MS", "50");
    let allow = sb.pre_tool_use("s1").json();
    assert!(allow["systemMessage"].as_str().unwrap().contains("for more than 50 ms"), "{allow}");
    sb.config("[policy]\non_error = \"block\"\n");
    assert_eq!(sb.pre_tool_use("s1").json()["hookSpecificOutput"]["permissionDecision"], "deny");
    drop(lock);
    sb.pre_tool_use("s1").assert_silent_allow();
}

#[test]
fn a_price_override_naming_an_unknown_model_follows_on_error() {
    let sb = Sandbox::new("badprice");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    sb.config("[pricing]\nunknown_model = \"claude-imaginary-9\"\n");
    let allow = sb.pre_tool_use("s1").json();
    assert!(allow["systemMessage"].as_str().unwrap().contains("`pricing.unknown_model`"), "{allow}");
    sb.config("[policy]\non_error = \"block\"\n[pricing]\nunknown_model = \"claude-imaginary-9\"\n");
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false);
}
