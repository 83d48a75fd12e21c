//! The command line itself: help, version, usage errors, and `config`.

use crate::harness::Sandbox;

#[test]
fn help_and_version_need_no_config() {
    let sb = Sandbox::new("help");
    sb.config("this is not toml");
    let help = sb.run(&["--help"], b"");
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("ccbreaker status"));
    let version = sb.run(&["--version"], b"");
    assert_eq!(version.stdout, format!("ccbreaker {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn usage_errors_exit_64() {
    let sb = Sandbox::new("usage");
    assert_eq!(sb.run(&["frobnicate"], b"").code, 64);
    assert_eq!(sb.run(&["status", "--bogus"], b"").code, 64);
    assert_eq!(sb.run(&["allow"], b"").code, 64);
    assert_eq!(sb.run(&["allow", "--session", "s", "--add-usd", "-3"], b"").code, 64);
}

#[test]
fn config_init_check_and_path() {
    let sb = Sandbox::new("config");
    let path = sb.run(&["config", "path"], b"");
    assert_eq!(path.stdout.trim(), sb.config.display().to_string());
    let check = sb.run(&["config", "check"], b"");
    assert!(check.stdout.contains("not found: the defaults apply"), "{}", check.stdout);
    assert_eq!(sb.run(&["config", "init"], b"").code, 0);
    assert!(std::fs::read_to_string(&sb.config).unwrap().contains("session_usd = 20.0"));
    assert_eq!(sb.run(&["config", "init"], b"").code, 1, "does not overwrite");
    let check = sb.run(&["config", "check"], b"");
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(check.stdout.contains("on_breach = \"stop\""), "{}", check.stdout);
    sb.config("[budget]\nwarn_at = 2\nmystery = 1\n");
    let bad = sb.run(&["config", "check"], b"");
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("`budget.warn_at` in `"), "{}", bad.stderr);
    sb.config("[budget]\nmystery = 1\n");
    let warned = sb.run(&["config", "check"], b"");
    assert_eq!(warned.code, 0);
    assert!(warned.stderr.contains("unknown key `budget.mystery`"), "{}", warned.stderr);
}

#[test]
fn status_without_any_transcript() {
    let sb = Sandbox::new("empty");
    let status = sb.status();
    assert_eq!(status["day"]["cost_usd"], 0.0);
    assert_eq!(status["sessions"], serde_json::json!([]));
    assert_eq!(status["budgets"]["session_usd"], 20.0);
    let human = sb.run(&["status"], b"");
    assert!(human.stdout.contains("no session has spent anything today"), "{}", human.stdout);
}
