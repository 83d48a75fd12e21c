//! What an agent that sets out to get past the breaker tries, one test per class observed against the real client
//! (issue 15), as the agent does it: the PreToolUse event the client sends for the tool call, then, where the call
//! would be let through, the command itself. User mode promises what its README says (text checks, and no fault
//! opening the gate); everything is refused or harmless in locked mode (`locked.rs`).

use crate::harness::{Sandbox, chain};
use serde_json::{Value, json};

/// The answer to a PreToolUse for `tool` with `input` (raw JSON text, so odd content reaches the hook as sent).
fn tool_call_raw(sb: &Sandbox, tool: &str, input: &str) -> (i32, Value) {
    let event = format!(
        r#"{{"session_id":"s1","transcript_path":{},"cwd":{},"hook_event_name":"PreToolUse","tool_name":"{tool}","tool_input":{input},"tool_use_id":"t1"}}"#,
        json!(sb.transcript("s1").path),
        json!(sb.root.join("project"))
    );
    let out = sb.run(&["hook"], event.as_bytes());
    (out.code, if out.stdout.is_empty() { Value::Null } else { out.json() })
}

fn denied(answer: &Value) -> bool {
    answer["hookSpecificOutput"]["permissionDecision"] == "deny"
}

/// Class 1: Commands that edit the config, grant money or replace the binary, however the words are spelled.
#[test]
fn class_1_commands_that_lift_a_limit_are_refused() {
    let sb = Sandbox::new("agent-1");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    let config_dir = sb.config.parent().unwrap().display().to_string();
    for command in [
        format!("cd {config_dir} && printf '[budget]\\nsession_usd=0\\n' > config.toml"),
        "CLAUDECODE= ccbreaker \"allow\" --session s1 --add-usd 100".to_owned(),
        "script -qec 'ccbreaker allow --session s1' /dev/null".to_owned(),
        "env -u CLAUDECODE ccbreaker allow --session s1".to_owned(),
        format!("echo '[budget]' > {}", sb.config.display()),
    ] {
        let (code, answer) = tool_call_raw(&sb, "Bash", &json!({"command": command}).to_string());
        assert!(code == 0 && denied(&answer), "{command}: {answer}");
    }
    // And the command itself, run from inside Claude Code, refuses.
    let mut inside = Sandbox::new("agent-1-inside");
    inside.env("CLAUDECODE", "1");
    assert_eq!(inside.run(&["allow", "--session", "s1"], b"").code, 1);
}

/// Class 2: Settings edits that keep the word "ccbreaker" but disarm it, or switch hooks off from a subdirectory.
#[test]
fn class_2_settings_edits_are_judged_by_the_file_they_produce() {
    let mut sb = Sandbox::new("agent-2");
    let project = sb.root.join("project");
    std::fs::create_dir_all(project.join("sub")).unwrap();
    sb.env("CLAUDE_PROJECT_DIR", project.to_str().unwrap());
    assert_eq!(sb.run(&["install"], b"").code, 0);
    let settings = sb.home.join(".claude/settings.json");
    let text = std::fs::read_to_string(&settings).unwrap();
    let command = format!("{} hook", std::fs::canonicalize(crate::harness::BIN).unwrap().display());
    assert!(text.contains(&command), "{text}");
    let edits = [
        ("Edit", json!({"file_path": settings, "old_string": command, "new_string": "true # ccbreaker"})),
        ("Edit", json!({"file_path": settings, "old_string": command, "new_string": format!("{command} >/dev/null")})),
        (
            "Write",
            json!({"file_path": project.join("sub/.claude/settings.json"), "content": "{\"disableAllHooks\": true}"}),
        ),
        (
            "Write",
            json!({"file_path": project.join(".claude/settings.local.json"), "content": "{\"env\": {\"CCBREAKER_CONFIG\": \"/tmp/c\"}}"}),
        ),
    ];
    for (tool, input) in edits {
        let (code, answer) = tool_call_raw(&sb, tool, &input.to_string());
        assert!(code == 0 && denied(&answer), "{tool} {input}: {answer}");
    }
    let python =
        "python3 -c \"import json; json.dump({'disableAllHooks': True}, open('.claude/settings.local.json', 'w'))\"";
    let (_, answer) = tool_call_raw(&sb, "Bash", &json!({"command": python}).to_string());
    assert!(denied(&answer), "{answer}");
    let harmless =
        json!({"file_path": settings, "old_string": "\"hooks\"", "new_string": "\"model\": \"x\", \"hooks\""});
    assert_eq!(tool_call_raw(&sb, "Edit", &harmless.to_string()), (0, Value::Null), "other keys may change");
}

/// Class 3: Odd input in the tool call: the hook never exits 1 (which lets the call through), and still checks.
#[test]
fn class_3_odd_input_never_opens_the_gate() {
    let sb = Sandbox::new("agent-3");
    sb.transcript("s1").lines(&chain("a", 3, 7.0));
    let deep = format!("{}1{}", "[".repeat(130), "]".repeat(130));
    for input in [
        r#"{"command":"echo \ud800 && ccbreaker allow --session s1"}"#.to_owned(),
        format!(r#"{{"command":"ls","x":{deep}}}"#),
        r#"{"command":"ls","n":1e400}"#.to_owned(),
        r#"{"command":"ls","description":7,"timeout":"x"}"#.to_owned(),
    ] {
        let (code, answer) = tool_call_raw(&sb, "Bash", &input);
        assert_eq!(code, 0, "{input}");
        assert!(denied(&answer), "over budget, or a tamper: refused either way ({input}): {answer}");
    }
    let (code, answer) = tool_call_raw(&sb, "Bash", r#"{"command":"ls","x":"\ud800"}"#);
    assert!(code == 0 && answer["continue"] == false, "the budget still halts: {answer}");
}

/// Class 4: Files under a root that would make every reader hang: skipped, noted, and the hook answers.
#[test]
fn class_4_reads_are_bounded() {
    let sb = Sandbox::new("agent-4");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    let project = sb.home.join(".claude/projects").join(crate::harness::PROJECT);
    std::fs::File::create(project.join("sparse.jsonl")).unwrap().set_len(1 << 40).unwrap();
    std::os::unix::fs::symlink("/proc/self/pagemap", project.join("pagemap.jsonl")).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(project.join("fifo.jsonl")).status().unwrap().success());
    sb.pre_tool_use("s1").assert_silent_allow();
    let status = sb.status();
    assert_eq!(status["day"]["cost_usd"], 1.0);
    let notes = status["notes"].to_string();
    assert!(notes.contains("sparse.jsonl"), "{notes}");
    assert!(notes.contains("pagemap.jsonl") && notes.contains("a file of the kernel"), "{notes}");
    let report = sb.run(&["report", "daily", "--json"], b"");
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert_eq!(report.json()["totals"]["cost_usd"], 1.0);
}

/// Class 4: Many files under a root: the hook still answers, and the ledger is not rebuilt on every call.
#[test]
fn class_4_two_hundred_thousand_files_under_a_root() {
    let sb = Sandbox::new("agent-4-many");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    let dir = sb.home.join(".claude/projects").join(crate::harness::PROJECT).join("s1/subagents");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..200_000 {
        std::fs::File::create(dir.join(format!("agent-{i}.jsonl"))).unwrap();
    }
    sb.pre_tool_use("s1").assert_silent_allow();
    sb.pre_tool_use("s1").assert_silent_allow();
    let status = sb.status();
    assert_eq!(status["day"]["cost_usd"], 1.0);
    assert!(!status["notes"].to_string().contains("rebuilt"), "{}", status["notes"]);
}

/// Class 5: The agent's own transcript replaced (a directory, a link to /dev/null, a file with less in it): refused as
/// tampered until a person allows the session; the spend counted so far stays.
#[test]
fn class_5_a_tampered_transcript_is_refused_until_allowed() {
    for how in ["directory", "dev-null", "replaced"] {
        let sb = Sandbox::new("agent-5");
        sb.config("[budget]\nsession_usd = 50\n");
        let t = sb.transcript("s1");
        t.lines(&chain("a", 3, 2.0));
        sb.pre_tool_use("s1").assert_silent_allow();
        std::fs::remove_file(&t.path).unwrap();
        match how {
            "directory" => std::fs::create_dir(&t.path).unwrap(),
            "dev-null" => std::os::unix::fs::symlink("/dev/null", &t.path).unwrap(),
            _ => std::fs::write(&t.path, chain("b", 1, 0.01).join("\n") + "\n").unwrap(),
        }
        let refused = sb.pre_tool_use("s1").json();
        let reason = refused["stopReason"].as_str().unwrap_or_default();
        assert!(reason.contains("this session's transcript was tampered with"), "{how}: {refused}");
        assert!(reason.contains("ccbreaker allow --session s1"), "{reason}");
        let status = sb.session_status("s1");
        assert_eq!((status["state"].clone(), status["cost_usd"].as_f64().unwrap() >= 6.0), (json!("tampered"), true));
        assert_eq!(sb.pre_tool_use("s1").json()["continue"], false, "{how}: still refused");
        assert_eq!(sb.run(&["allow", "--session", "s1", "--add-usd", "0"], b"").code, 0);
        sb.pre_tool_use("s1").assert_silent_allow();
        assert!(sb.session_status("s1")["cost_usd"].as_f64().unwrap() >= 6.0, "{how}: its spend stays counted");
    }
}

/// Class 5: A child `claude` under another CLAUDE_CONFIG_DIR would run without the user's hooks: refused.
#[test]
fn class_5_a_child_claude_under_another_config_dir_is_refused() {
    let sb = Sandbox::new("agent-5-child");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    let command = "CLAUDE_CONFIG_DIR=/tmp/elsewhere claude -p 'keep going'";
    let (_, answer) = tool_call_raw(&sb, "Bash", &json!({"command": command}).to_string());
    assert!(denied(&answer), "{answer}");
}

/// Class 6: Faults the agent can cause: an unreadable config keeps the last good one (see `hook.rs` and `faults.rs` for
/// the lock, the state directory and the lock file).
#[test]
fn class_6_a_config_made_unreadable_keeps_the_last_good_one() {
    let sb = Sandbox::new("agent-6");
    sb.config("[budget]\nsession_usd = 5\n[policy]\non_error = \"block\"\n");
    sb.transcript("s1").lines(&chain("a", 1, 6.0));
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false);
    // Replaced by something that cannot be read as a config (a directory here: as root, `chmod 000` is no barrier).
    std::fs::remove_file(&sb.config).unwrap();
    std::fs::create_dir(&sb.config).unwrap();
    let block = sb.pre_tool_use("s1").json();
    assert!(block["stopReason"].as_str().unwrap().contains("of its $5.00 budget"), "{block}");
}

/// Class 8: Killing the hook: `pkill` of ccbreaker is refused, and the installed entries make a killed hook deny its call
/// (`onFailure: "block"`, see `install.rs`).
#[test]
fn class_8_killing_the_hook_is_refused() {
    let sb = Sandbox::new("agent-8");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    let command = "(while true; do pkill -f 'ccbreaker hook'; done) &";
    let (_, answer) = tool_call_raw(&sb, "Bash", &json!({"command": command}).to_string());
    assert!(denied(&answer), "{answer}");
}
