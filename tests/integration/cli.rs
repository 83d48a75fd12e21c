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

#[test]
fn every_command_answers_help_before_reading_anything() {
    let sb = Sandbox::new("help-each");
    sb.config("this is not toml");
    for command in [
        "install",
        "uninstall",
        "status",
        "statusline",
        "doctor",
        "exec",
        "report",
        "digest",
        "audit",
        "reconcile",
        "allow",
        "alert",
        "log",
        "prices",
        "config",
        "hook",
        "watch",
        "dashboard",
    ] {
        for flag in ["--help", "-h"] {
            let out = sb.run(&[command, flag], b"");
            assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{command} {flag}");
            assert!(out.stdout.starts_with("Usage: "), "{command} {flag}: {}", out.stdout);
            assert!(out.stdout.contains(&format!("ccbreaker {command}")), "{command}: {}", out.stdout);
        }
    }
    let nested = sb.run(&["report", "daily", "--help"], b"");
    assert!(nested.stdout.contains("-s, --since D"), "{}", nested.stdout);
    assert_eq!(sb.run(&["help", "report"], b"").stdout, nested.stdout);
    assert_eq!(sb.run(&["help", "frobnicate"], b"").code, 64);
    assert!(!sb.state.exists(), "help reads and writes no state");
}

#[test]
fn short_flags_are_the_ones_ccusage_users_type() {
    let sb = Sandbox::new("short-flags");
    sb.transcript("a").append(&crate::harness::response("r1", 10).json());
    let long = sb
        .run(&["report", "daily", "--json", "--since", "2026-11-24", "--until", "20261124", "--timezone", "UTC"], b"");
    let short = sb.run(&["report", "daily", "-j", "-s", "2026-11-24", "-u", "20261124", "-z", "UTC"], b"");
    assert_eq!((short.code, &short.stdout), (0, &long.stdout), "{}", short.stderr);
    assert_eq!(sb.run(&["status", "-j"], b"").json()["date"], "2026-11-24");
}

#[test]
fn install_sh_answers_help_without_building() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    for flag in ["--help", "-h"] {
        let out = std::process::Command::new("bash")
            .arg(&script)
            .arg(flag)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.starts_with("Usage: ./install.sh"), "{stdout}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("building"), "it builds nothing");
    }
}

#[test]
fn log_kinds_are_the_words_the_readme_uses() {
    let sb = Sandbox::new("log-kinds");
    std::fs::create_dir_all(&sb.state).unwrap();
    // Entries written before the names changed read as the new names.
    std::fs::write(
        sb.state.join("audit.log"),
        "{\"at\":\"2026-11-24T10:00:00Z\",\"kind\":\"breach\",\"session\":\"s1\",\"detail\":\"over\"}\n\
         {\"at\":\"2026-11-24T10:01:00Z\",\"kind\":\"tamper\",\"session\":\"s1\",\"detail\":\"edit\"}\n",
    )
    .unwrap();
    let json = sb.run(&["log", "--json"], b"").json();
    let kinds: Vec<&str> = json.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["block", "refuse"]);
    let text = sb.run(&["log"], b"").stdout;
    assert_eq!(text, "2026-11-24 10:00:00Z block  s1 \n    over\n2026-11-24 10:01:00Z refuse s1 \n    edit\n");
}

#[test]
fn the_example_configs_are_valid_and_warn_of_nothing() {
    let mut sb = Sandbox::new("examples");
    for example in ["overnight-agent.toml", "shared-dev-box.toml", "runaway-shapes.toml"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(example);
        sb.env("CCBREAKER_CONFIG", path.to_str().unwrap());
        let out = sb.run(&["config", "check"], b"");
        assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{example}");
    }
}
