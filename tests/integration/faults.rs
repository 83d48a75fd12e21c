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
fn a_transcript_anywhere_is_read_and_its_root_joins_the_walk() {
    let sb = Sandbox::new("outside");
    // A child `claude` run with another CLAUDE_CONFIG_DIR: its transcripts are under another root.
    let root = sb.root.join("other-config/projects");
    let outside = root.join("-p/s1.jsonl");
    std::fs::create_dir_all(outside.parent().unwrap()).unwrap();
    std::fs::write(&outside, chain("a", 3, 7.0).join("\n") + "\n").unwrap();
    let sibling = root.join("-p/s2.jsonl");
    std::fs::write(&sibling, chain("b", 1, 2.0).join("\n") + "\n").unwrap();
    let mut event = sb.event("PreToolUse", "s1");
    event["transcript_path"] = json!(outside);
    assert_eq!(sb.hook(&event).json()["continue"], false, "read where the client says it is");
    let status = sb.status();
    assert_eq!(status["day"]["cost_usd"], 23.0, "its sibling, which never ran the hook, counts for the day");
    // Only a `.jsonl` file is read as a transcript.
    let not_jsonl = sb.root.join("secret.txt");
    std::fs::write(&not_jsonl, chain("c", 1, 50.0).join("\n") + "\n").unwrap();
    let mut other = sb.event("PreToolUse", "s3");
    other["transcript_path"] = json!(not_jsonl);
    sb.hook(&other).assert_silent_allow();
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
    // Only a blocking event without any session is an error; a wrong type is an absent field.
    let cases: [(&str, i32); 5] = [
        (r#"{"hook_event_name":"PreToolUse"}"#, 1),
        (r#"{"hook_event_name":"PreToolUse","session_id":["s"]}"#, 1),
        (r#"{"hook_event_name":7}"#, 0),
        (r#"{"hook_event_name":"PreToolUse","session_id":"s","tool_input":"not an object"}"#, 0),
        (r#"{"hook_event_name":"Teleport","session_id":"s"}"#, 0),
    ];
    for (input, code) in cases {
        let out = sb.run(&["hook"], input.as_bytes());
        assert_eq!(out.code, code, "{input}: {}", out.stderr);
    }
}

#[test]
fn an_unusable_state_directory_is_refused_as_tamper() {
    let mut sb = Sandbox::new("badstate");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    let file = sb.root.join("state-is-a-file");
    std::fs::write(&file, b"").unwrap();
    sb.env("CCBREAKER_STATE_DIR", file.join("nested").to_str().unwrap());
    let cause = format!("could not create state directory `{}/nested`: Not a directory (os error 20)", file.display());
    let reason = format!(
        "ccbreaker: this call is refused: ccbreaker's state was made unusable ({cause}). Its budgets cannot be checked \
         until a person fixes or removes `{}/nested` (ccbreaker rebuilds it from the transcripts).",
        file.display()
    );
    // Whatever on_error says: this is something the agent can do, not a fault of ccbreaker's.
    let block = sb.pre_tool_use("s1");
    assert_eq!(block.json()["stopReason"], reason);
    assert_eq!(block.stderr, format!("ccbreaker: {cause}\n"));
    // The commands a person runs say the same cause.
    let status = sb.run(&["status"], b"");
    status.assert_is(1, "", &format!("ccbreaker: {cause}\n"));
}

#[test]
fn state_files_made_unusable_are_refused_as_tamper() {
    let sb = Sandbox::new("badstate-files");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    sb.pre_tool_use("s1").assert_silent_allow();
    // The lock file replaced by a directory.
    std::fs::remove_file(sb.state.join("ledger.lock")).unwrap();
    std::fs::create_dir(sb.state.join("ledger.lock")).unwrap();
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false);
    std::fs::remove_dir(sb.state.join("ledger.lock")).unwrap();
    sb.pre_tool_use("s1").assert_silent_allow();
    // A ledger slot replaced by a directory.
    for slot in ["ledger-a.bin", "ledger-b.bin"] {
        let _ = std::fs::remove_file(sb.state.join(slot));
        std::fs::create_dir(sb.state.join(slot)).unwrap();
    }
    let refused = sb.pre_tool_use("s1").json();
    assert!(refused["stopReason"].as_str().unwrap().contains("state was made unusable"), "{refused}");
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
fn a_lock_held_by_something_else_is_refused_as_tamper() {
    let mut sb = Sandbox::new("locked");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    sb.pre_tool_use("s1").assert_silent_allow();
    // What `flock ledger.lock sleep 1000 &` does: hold the lock from outside ccbreaker.
    let lock = std::fs::File::open(sb.state.join("ledger.lock")).unwrap();
    lock.lock().unwrap();
    sb.env("CCBREAKER_LOCK_TIMEOUT_MS", "50");
    let refused = sb.pre_tool_use("s1").json();
    let reason = refused["stopReason"].as_str().unwrap();
    assert!(reason.contains("has been held for more than 50 ms by a process that is not ccbreaker"), "{reason}");
    drop(lock);
    sb.pre_tool_use("s1").assert_silent_allow();
}

#[test]
fn a_lock_held_too_long_by_a_running_ccbreaker_follows_on_error() {
    use std::io::{Seek, Write};
    let mut sb = Sandbox::new("locked-slow");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    sb.pre_tool_use("s1").assert_silent_allow();
    // A running ccbreaker (a hook still reading its stdin) is recorded as the holder: a slow call, not a seized lock.
    let mut slow = sb.command(&["hook"]).stdin(std::process::Stdio::piped()).spawn().unwrap();
    let mut lock = std::fs::OpenOptions::new().write(true).open(sb.state.join("ledger.lock")).unwrap();
    lock.lock().unwrap();
    lock.seek(std::io::SeekFrom::Start(0)).unwrap();
    write!(lock, "{:<48}", format!("ccbreaker {} 1", slow.id())).unwrap();
    sb.env("CCBREAKER_LOCK_TIMEOUT_MS", "50");
    let allow = sb.pre_tool_use("s1").json();
    assert!(allow["systemMessage"].as_str().unwrap().contains("for more than 50 ms"), "{allow}");
    sb.config("[policy]\non_error = \"block\"\n");
    assert_eq!(sb.pre_tool_use("s1").json()["hookSpecificOutput"]["permissionDecision"], "deny");
    drop(lock);
    let _ = slow.kill();
    let _ = slow.wait();
    sb.pre_tool_use("s1").assert_silent_allow();
}

#[test]
fn a_price_override_naming_an_unknown_model_is_a_config_error() {
    let sb = Sandbox::new("badprice");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    sb.pre_tool_use("s1").assert_silent_allow();
    sb.config("[pricing]\nunknown_model = \"claude-imaginary-9\"\n");
    let kept = sb.pre_tool_use("s1").json();
    let notice = kept["systemMessage"].as_str().unwrap();
    assert!(notice.contains("`pricing.unknown_model`") && notice.contains("the last good config"), "{kept}");
    let check = sb.run(&["config", "check"], b"");
    assert_eq!(check.code, 1);
    assert!(
        check.stderr.contains("names \"claude-imaginary-9\", which the price table does not know"),
        "{}",
        check.stderr
    );
}
