//! `ccbreaker doctor` and the protection line of `status`: every check's verdict and fix, exit 0 only when all
//! hold, `--json`; hooks unregistered, registered, stale, without onFailure; a config with a typo; a state directory
//! others can read.

use crate::harness::{BIN, Output, Sandbox, chain};
use serde_json::{Value, json};

fn check<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name}: {json:#}"))
}

fn doctor(sb: &Sandbox) -> (Output, Value) {
    let out = sb.run(&["doctor", "--json"], b"");
    let json = out.json();
    (out, json)
}

#[test]
fn before_install_the_hooks_fail_and_status_says_unprotected() {
    let sb = Sandbox::new("doctor-none");
    let (out, json) = doctor(&sb);
    assert_eq!(out.code, 1);
    assert_eq!(json["ok"], false);
    let hooks = check(&json, "hooks");
    assert_eq!(hooks["level"], "fail");
    assert_eq!(hooks["verdict"], "not registered: no settings file Claude Code reads runs ccbreaker's hooks");
    assert_eq!(hooks["fix"], "run `ccbreaker install` (or `sudo ccbreaker install --locked`)");
    let text = sb.run(&["doctor"], b"");
    assert_eq!(text.code, 1);
    assert!(
        text.stdout.starts_with(
            "FAIL hooks        not registered: no settings file Claude Code reads runs ccbreaker's hooks\n     \
             \u{20}            fix: run `ccbreaker install` (or `sudo ccbreaker install --locked`)\n"
        ),
        "{}",
        text.stdout
    );
    assert!(text.stdout.ends_with("some checks fail: fix them as above\n"), "{}", text.stdout);
    let status = sb.run(&["status"], b"").stdout;
    assert!(
        status.contains("\nprotection: NONE: not registered: no settings file Claude Code reads runs ccbreaker's hooks (run `ccbreaker install`; `ccbreaker doctor` checks)\n"),
        "{status}"
    );
    assert_eq!(sb.status()["protection"]["registered"], false);
}

#[test]
fn after_install_every_check_holds_and_status_says_where() {
    let mut sb = Sandbox::new("doctor-ok");
    sb.binary_on_path();
    assert_eq!(sb.run(&["install"], b"").code, 0);
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    sb.pre_tool_use("s1").assert_silent_allow();
    let (out, json) = doctor(&sb);
    let failing: Vec<&Value> = json["checks"].as_array().unwrap().iter().filter(|c| c["level"] == "fail").collect();
    assert!(failing.is_empty(), "{failing:#?}");
    assert_eq!(out.code, 0);
    let settings = sb.home.join(".claude/settings.json");
    assert_eq!(
        check(&json, "hooks")["verdict"],
        format!("registered in {} (user, 5 of 5 events, by {BIN})", settings.display())
    );
    assert_eq!(check(&json, "path")["level"], "ok");
    assert_eq!(check(&json, "on_failure")["verdict"], "PreToolUse and PostToolBatch fail closed (onFailure: block)");
    assert_eq!(check(&json, "state")["verdict"], format!("`{}` is writable and private", sb.state.display()));
    assert_eq!(check(&json, "config")["verdict"], format!("no `{}`: the defaults apply", sb.config.display()));
    assert_eq!(
        check(&json, "transcripts")["verdict"],
        format!("1 session transcript(s) in {}", sb.home.join(".claude/projects").display())
    );
    assert_eq!(check(&json, "alerts")["verdict"], "no channel configured (optional: [alerts] in the config)");
    assert_eq!(json["settings_files"][0]["scope"], "user");
    let status = sb.run(&["status"], b"").stdout;
    assert!(status.contains("\nprotection: user mode, hooks registered (user), fail-closed\n"), "{status}");
    assert!(sb.run(&["doctor"], b"").stdout.ends_with("all checks hold\n"));
}

#[test]
fn stale_paths_missing_on_failure_and_names_off_path_fail_with_a_fix() {
    let sb = Sandbox::new("doctor-stale");
    let settings = sb.home.join(".claude/settings.json");
    let handler = |command: &str, fail: bool| {
        let mut h = json!({"type": "command", "command": command, "timeout": 10});
        if fail {
            h["onFailure"] = json!("block");
        }
        json!([{"matcher": "*", "hooks": [h]}])
    };
    let stale = "/opt/old/ccbreaker hook";
    let hooks = json!({
        "PreToolUse": handler(stale, false),
        "PostToolBatch": handler(stale, true),
        "UserPromptSubmit": handler(stale, false),
        "Stop": handler(stale, false),
    });
    std::fs::write(&settings, json!({"hooks": hooks}).to_string()).unwrap();
    let (out, json) = doctor(&sb);
    assert_eq!(out.code, 1);
    let verdict = check(&json, "hooks")["verdict"].as_str().unwrap().to_owned();
    assert!(verdict.contains("lacks SubagentStop"), "{verdict}");
    assert!(verdict.contains("runs `/opt/old/ccbreaker`, which does not exist (a stale path)"), "{verdict}");
    assert_eq!(check(&json, "on_failure")["level"], "fail");
    assert!(
        check(&json, "on_failure")["verdict"]
            .as_str()
            .unwrap()
            .contains(&format!("PreToolUse in `{}`", settings.display()))
    );
    // The project's file runs `ccbreaker` by name, and it is not on PATH.
    std::fs::create_dir_all(sb.root.join(".claude")).unwrap();
    std::fs::write(
        sb.root.join(".claude/settings.json"),
        json!({"hooks": {"Stop": handler("ccbreaker hook", false)}}).to_string(),
    )
    .unwrap();
    let (_, json) = doctor(&sb);
    assert!(
        check(&json, "hooks")["verdict"].as_str().unwrap().contains("runs `ccbreaker` by name, and it is not on PATH")
    );
    assert_eq!(check(&json, "path")["level"], "fail");
    assert_eq!(
        check(&json, "path")["fix"],
        format!("add {} to PATH", std::path::Path::new(BIN).parent().unwrap().display())
    );
}

#[test]
fn a_typo_a_missing_root_and_a_shared_state_are_said() {
    let sb = Sandbox::new("doctor-config");
    sb.config("[budget]\nsesion_usd = 3\n[transcripts]\nextra_roots = [\"/no/such/root\"]\n");
    std::fs::create_dir_all(&sb.state).unwrap();
    std::fs::set_permissions(&sb.state, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (_, json) = doctor(&sb);
    let config = check(&json, "config");
    assert_eq!(config["level"], "warn");
    assert_eq!(
        config["verdict"],
        format!(
            "`{0}` is valid, but: unknown key `budget.sesion_usd` in `{0}` is ignored (did you mean `budget.session_usd`?); \
             transcripts.extra_roots names `/no/such/root`, which is not a directory",
            sb.config.display()
        )
    );
    let state = check(&json, "state");
    assert_eq!(
        (state["level"].as_str(), state["fix"].as_str()),
        (Some("fail"), Some(format!("chmod 700 `{}`", sb.state.display()).as_str()))
    );
    // A config that does not load.
    sb.config("[budget]\nsession_usd = \"ten\"\n");
    let (_, json) = doctor(&sb);
    assert_eq!(check(&json, "config")["level"], "fail");
}
