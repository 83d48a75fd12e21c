//! `ccbreaker install` / `uninstall` on a real settings file: idempotent, keeps everything else, refuses a
//! broken file with its name and line.

use crate::harness::Sandbox;
use serde_json::{Value, json};

fn settings(sb: &Sandbox) -> Value {
    serde_json::from_str(&std::fs::read_to_string(sb.home.join(".claude/settings.json")).unwrap()).unwrap()
}

#[test]
fn install_keeps_other_settings_and_runs_twice_without_change() {
    let sb = Sandbox::new("install");
    let other = json!({
        "model": "opus",
        "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "lint.sh"}]}]},
    });
    std::fs::write(sb.home.join(".claude/settings.json"), serde_json::to_string_pretty(&other).unwrap()).unwrap();
    let out = sb.run(&["install"], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let s = settings(&sb);
    assert_eq!(s["model"], "opus");
    assert_eq!(s["hooks"]["PreToolUse"][0]["hooks"][0]["command"], "lint.sh");
    let ours = |event: &str| -> Vec<Value> {
        s["hooks"][event]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["hooks"].as_array().unwrap().clone())
            .filter(|h| h["command"].as_str().unwrap().ends_with("ccbreaker hook"))
            .collect()
    };
    for event in ["PreToolUse", "PostToolBatch", "UserPromptSubmit", "Stop", "SubagentStop"] {
        let handlers = ours(event);
        assert_eq!(handlers.len(), 1, "{event}: {s:#}");
        assert!(handlers[0]["command"].as_str().unwrap().starts_with('/'), "absolute path");
        let fail_closed = matches!(event, "PreToolUse" | "PostToolBatch");
        assert_eq!(handlers[0].get("onFailure").cloned(), fail_closed.then(|| json!("block")), "{event}");
    }
    assert!(sb.home.join(".claude/settings.json.ccbreaker.bak").exists());
    let again = sb.run(&["install"], b"");
    assert!(again.stdout.contains("already installed"), "{}", again.stdout);
    assert_eq!(settings(&sb), s);
    let out = sb.run(&["uninstall"], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(settings(&sb), other);
    assert!(sb.run(&["uninstall"], b"").stdout.contains("nothing to do"));
}

#[test]
fn fail_closed_installs_on_failure_block() {
    let sb = Sandbox::new("failclosed");
    sb.config("[policy]\non_error = \"block\"\n");
    assert_eq!(sb.run(&["install"], b"").code, 0);
    let s = settings(&sb);
    assert_eq!(s["hooks"]["PreToolUse"][0]["hooks"][0]["onFailure"], "block");
}

#[test]
fn dry_run_writes_nothing_and_shows_the_result() {
    let sb = Sandbox::new("dryrun");
    let out = sb.run(&["install", "--dry-run"], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!sb.home.join(".claude/settings.json").exists());
    let shown: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(shown["hooks"]["PreToolUse"].is_array());
}

#[test]
fn a_settings_file_that_is_not_json_is_refused_with_its_line() {
    let sb = Sandbox::new("badjson");
    let path = sb.home.join(".claude/settings.json");
    std::fs::write(&path, "{\n  \"model\": \"opus\",\n  oops\n}\n").unwrap();
    let out = sb.run(&["install"], b"");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains(&format!("`{}` is not valid JSON (line 3", path.display())), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\n  \"model\": \"opus\",\n  oops\n}\n");
}

#[test]
fn project_scope_and_claude_config_dir() {
    let mut sb = Sandbox::new("scopes");
    assert_eq!(sb.run(&["install", "--scope", "local"], b"").code, 0);
    assert!(sb.root.join(".claude/settings.local.json").exists());
    let dir = sb.root.join("claude-config");
    sb.env("CLAUDE_CONFIG_DIR", dir.to_str().unwrap());
    assert_eq!(sb.run(&["install"], b"").code, 0);
    assert!(dir.join("settings.json").exists());
    assert_eq!(sb.run(&["install", "--scope", "galaxy"], b"").code, 64);
}

#[test]
fn the_statusline_is_installed_and_another_one_kept_unless_forced() {
    let sb = Sandbox::new("install-statusline");
    let path = sb.home.join(".claude/settings.json");
    let mine = json!({"type": "command", "command": "~/bin/my-line.sh"});
    std::fs::write(&path, json!({"statusLine": mine}).to_string()).unwrap();
    let out = sb.run(&["install", "--statusline"], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("statusLine: kept the one already set (`~/bin/my-line.sh`); pass --force to replace it"),
        "{}",
        out.stderr
    );
    assert_eq!(settings(&sb)["statusLine"], mine);
    assert!(settings(&sb)["hooks"]["PreToolUse"].is_array(), "the hooks are installed all the same");
    let out = sb.run(&["install", "--statusline", "--force"], b"");
    assert!(out.stdout.contains("statusLine: updated command"), "{}", out.stdout);
    let line = settings(&sb)["statusLine"].clone();
    assert_eq!(
        line,
        json!({"type": "command", "command": format!("{} statusline", crate::harness::BIN), "padding": 0})
    );
    assert!(sb.run(&["install", "--statusline"], b"").stdout.contains("already installed"));
    assert_eq!(sb.run(&["install", "--force"], b"").code, 64, "--force goes with --statusline");
    sb.run(&["uninstall"], b"");
    assert!(settings(&sb).get("statusLine").is_none(), "ccbreaker's statusline goes with its hooks");
}

#[test]
fn project_scope_runs_ccbreaker_by_name_for_every_teammate() {
    let sb = Sandbox::new("install-project");
    let out = sb.run(&["install", "--scope", "project", "--statusline"], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(sb.root.join(".claude/settings.json")).unwrap()).unwrap();
    assert_eq!(s["hooks"]["PreToolUse"][0]["hooks"][0]["command"], "ccbreaker hook");
    assert_eq!(s["statusLine"]["command"], "ccbreaker statusline");
    assert!(!s.to_string().contains(&sb.root.display().to_string()), "no personal path in a checked-in file: {s}");
    assert!(
        out.stderr.contains("project scope: the hooks run `ccbreaker hook` by name, so everyone working in this project needs ccbreaker on their PATH (it is not on yours: add "),
        "{}",
        out.stderr
    );
}
