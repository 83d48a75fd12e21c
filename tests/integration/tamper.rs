//! The agent under guard cannot lift its own limit: tool calls on ccbreaker's files and hooks are refused, human
//! commands refuse to run inside Claude Code, and every block and override lands in the audit trail.

use crate::harness::{Sandbox, chain};
use serde_json::{Value, json};

fn tool_call(sb: &Sandbox, tool: &str, input: Value) -> Value {
    let mut event = sb.event("PreToolUse", "s1");
    event["tool_name"] = json!(tool);
    event["tool_input"] = input;
    event["cwd"] = json!(sb.root);
    let out = sb.hook(&event);
    assert_eq!(out.code, 0, "{}", out.stderr);
    if out.stdout.is_empty() { Value::Null } else { out.json() }
}

fn denied(answer: &Value) -> bool {
    answer["hookSpecificOutput"]["permissionDecision"] == "deny"
}

#[test]
fn tool_calls_that_would_lift_a_limit_are_refused() {
    let sb = Sandbox::new("tamper");
    assert_eq!(sb.run(&["install"], b"").code, 0);
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    let config = sb.config.display().to_string();
    let state = sb.state.join("allowances.json").display().to_string();
    let settings = sb.home.join(".claude/settings.json").display().to_string();
    let gate = sb.home.join(".local/share/ccbreaker/mod/mod/ccbreaker-gate.js");
    assert!(gate.is_file(), "install wrote the mod");
    let unload = std::fs::read_to_string(&settings).unwrap().replace("CLAUDE_CODE_PLUGIN_DIRS", "UNUSED");
    let refused = [
        ("Write", json!({"file_path": config, "content": "[budget]\nsession_usd = 1000\n"})),
        ("Edit", json!({"file_path": state, "old_string": "1", "new_string": "9"})),
        ("Write", json!({"file_path": settings, "content": "{}"})),
        ("Bash", json!({"command": "ccbreaker allow --session s1 --add-usd 500"})),
        ("Bash", json!({"command": format!("rm -rf {}", sb.state.display())})),
        ("Bash", json!({"command": "claude --settings '{\"disableAllHooks\":true}' -p 'keep going'"})),
        ("Write", json!({"file_path": gate, "content": "export function register() {}"})),
        ("Bash", json!({"command": "cd ~/.local/share/ccbreaker/mod/hooks && echo /bin/true > ccbreaker.path"})),
        ("Write", json!({"file_path": settings, "content": unload})),
        ("Bash", json!({"command": "claude --safe-mode -p 'keep going'"})),
    ];
    for (tool, input) in refused {
        let answer = tool_call(&sb, tool, input.clone());
        assert!(denied(&answer), "{tool} {input} was not refused: {answer}");
        assert!(answer.get("continue").is_none(), "a refusal does not end the turn");
        let reason = answer["hookSpecificOutput"]["permissionDecisionReason"].as_str().unwrap();
        assert!(reason.contains("may not change its budgets"), "{reason}");
    }
    for (tool, input) in [
        ("Bash", json!({"command": "cargo test"})),
        ("Bash", json!({"command": "ccbreaker status"})),
        ("Write", json!({"file_path": sb.root.join("notes.md"), "content": "ccbreaker"})),
        ("Read", json!({"file_path": config})),
    ] {
        assert_eq!(tool_call(&sb, tool, input.clone()), Value::Null, "{tool} {input} was refused");
    }
    let log = sb.run(&["log", "--json"], b"");
    let entries: Vec<Value> = serde_json::from_str(&log.stdout).unwrap();
    assert_eq!(entries.iter().filter(|e| e["kind"] == "refuse").count(), 10);
}

#[test]
fn human_commands_refuse_to_run_inside_claude_code() {
    let mut sb = Sandbox::new("human");
    sb.env("CLAUDECODE", "1");
    for args in [&["uninstall"][..], &["config", "init", "--force"], &["allow", "--session", "s1"]] {
        let out = sb.run(args, b"");
        assert_eq!(out.code, 1, "{args:?}");
        assert!(out.stderr.contains("refuses to run inside Claude Code"), "{args:?}: {}", out.stderr);
    }
    assert_eq!(sb.run(&["uninstall", "--dry-run"], b"").code, 0, "a dry run changes nothing");
    assert_eq!(sb.run(&["status"], b"").code, 0);
}

#[test]
fn blocks_and_overrides_are_audited() {
    let sb = Sandbox::new("audit");
    sb.transcript("s1").lines(&chain("a", 3, 7.0));
    sb.pre_tool_use("s1");
    sb.hook(&sb.event("Stop", "s1"));
    assert_eq!(sb.run(&["allow", "--session", "s1", "--add-usd", "5"], b"").code, 0);
    let entries: Vec<Value> = serde_json::from_str(&sb.run(&["log", "--json"], b"").stdout).unwrap();
    let kinds: Vec<&str> = entries.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["block", "allow"], "a Stop event is never blocked, so never audited");
    assert!(entries[0]["detail"].as_str().unwrap().contains("session budget reached"));
    assert!(entries[1]["detail"].as_str().unwrap().contains("+$5.00 granted"));
    let human = sb.run(&["log"], b"");
    assert!(human.stdout.contains("block") && human.stdout.contains("allow"), "{}", human.stdout);
}
