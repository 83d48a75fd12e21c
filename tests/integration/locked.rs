//! Locked mode, for real: `install --locked` as root, then the hook, `status` and the agent's attempts as an
//! unprivileged user, each command in a private mount namespace whose `/etc`, `/usr/local` and `/var/lib` are
//! overlays kept in the test's directory (the host's are never touched). Needs root and `unshare`; without them
//! (a developer's machine) the tests say so and pass without running, and CI (root) runs them.

use crate::harness::{Output, run};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The unprivileged user the agent runs as (no passwd entry is needed for what these tests run).
const UID: u32 = 4242;

struct LockedBox {
    root: PathBuf,
    home: PathBuf,
}

/// Whether this machine can run these tests (root, and mount namespaces with overlays).
fn available(name: &str) -> bool {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout == b"0\n");
    let unshare = Command::new("unshare").args(["-m", "true"]).status().is_ok_and(|s| s.success());
    if !(root && unshare) {
        eprintln!("locked::{name}: skipped: needs root and `unshare -m` (CI has both)");
    }
    root && unshare
}

impl LockedBox {
    fn new(name: &str) -> LockedBox {
        // Under the system's temp directory, which the unprivileged user can reach wherever the clone is.
        let root = std::env::temp_dir().join(format!("ccbreaker-locked-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for layer in ["etc", "usr-local", "var-lib"] {
            std::fs::create_dir_all(root.join(layer).join("upper")).unwrap();
            std::fs::create_dir_all(root.join(layer).join("work")).unwrap();
        }
        let home = root.join("home");
        std::fs::create_dir_all(home.join(".claude/projects/-work-proj")).unwrap();
        chown_r(&home);
        std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        LockedBox { root, home }
    }

    /// `program args` inside the namespace: as root, or (`user`) as the unprivileged user with a scrubbed
    /// environment plus `env`.
    fn command(&self, user: bool, env: &[(&str, &str)], program: &str, args: &[&str]) -> Command {
        let mut mounts = String::new();
        for (layer, target) in [("etc", "/etc"), ("usr-local", "/usr/local"), ("var-lib", "/var/lib")] {
            let dir = self.root.join(layer);
            mounts.push_str(&format!(
                "mount -t overlay overlay -o lowerdir={target},upperdir={},workdir={} {target} && ",
                dir.join("upper").display(),
                dir.join("work").display()
            ));
        }
        let mut cmd = Command::new("unshare");
        cmd.args(["-m", "--propagation", "private", "sh", "-c", &format!("{mounts}exec \"$@\""), "sh"]);
        if user {
            cmd.args(["setpriv", &format!("--reuid={UID}"), &format!("--regid={UID}"), "--clear-groups", "env", "-i"]);
            cmd.arg(format!("HOME={}", self.home.display())).arg("PATH=/usr/local/bin:/usr/bin:/bin");
            for (k, v) in env {
                cmd.arg(format!("{k}={v}"));
            }
        }
        cmd.arg(program).args(args).current_dir(&self.root);
        cmd
    }

    fn root_run(&self, program: &str, args: &[&str]) -> Output {
        run(self.command(false, &[], program, args), b"")
    }

    fn user_run(&self, env: &[(&str, &str)], program: &str, args: &[&str], stdin: &[u8]) -> Output {
        run(self.command(true, env, program, args), stdin)
    }

    fn install(&self, budget: &str) {
        let out = self.root_run(crate::harness::BIN, &["install", "--locked"]);
        assert_eq!(out.code, 0, "install --locked: {}\n{}", out.stdout, out.stderr);
        let config = self.root.join("etc/upper/ccbreaker/config.toml");
        std::fs::write(&config, budget).unwrap();
    }

    fn transcript(&self, session: &str) -> PathBuf {
        self.home.join(".claude/projects/-work-proj").join(format!("{session}.jsonl"))
    }

    /// Writes `n` responses of `usd` each, timed now (locked mode keeps its own clock).
    fn spend(&self, session: &str, prefix: &str, n: usize, usd: f64) {
        use std::io::Write;
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut lines = String::new();
        for line in crate::harness::chain(prefix, n, usd) {
            lines.push_str(&line.replace("2026-11-24T10:00:00.000Z", &now));
            lines.push('\n');
        }
        let path = self.transcript(session);
        std::fs::OpenOptions::new().create(true).append(true).open(&path).unwrap().write_all(lines.as_bytes()).unwrap();
        chown_r(&path);
    }

    fn event(&self, session: &str, tool: &str, input: Value) -> Vec<u8> {
        json!({"session_id": session, "transcript_path": self.transcript(session), "cwd": self.home,
               "hook_event_name": "PreToolUse", "tool_name": tool, "tool_input": input, "tool_use_id": "t"})
        .to_string()
        .into_bytes()
    }

    /// The hook as Claude Code runs it from the managed settings: the locked binary, as the user.
    fn hook(&self, env: &[(&str, &str)], event: &[u8]) -> Output {
        self.user_run(env, "/usr/local/bin/ccbreaker", &["hook"], event)
    }

    fn shell(&self, script: &str) -> Output {
        self.user_run(&[], "sh", &["-c", script], b"")
    }
}

impl Drop for LockedBox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn chown_r(path: &Path) {
    assert!(Command::new("chown").args(["-R", &format!("{UID}:{UID}")]).arg(path).status().unwrap().success());
}

fn halts(out: &Output) -> bool {
    out.code == 0 && out.json()["continue"] == false
}

#[test]
fn locked_mode_installs_and_its_boundary_holds() {
    if !available("installs") {
        return;
    }
    let b = LockedBox::new("install");
    b.install("[budget]\nsession_usd = 5\n");
    let status = b.user_run(&[], "/usr/local/bin/ccbreaker", &["status", "--json"], b"");
    assert_eq!(status.code, 0, "{}", status.stderr);
    let status = status.json();
    assert_eq!(status["mode"], "locked");
    let failed: Vec<&Value> = status["boundary"].as_array().unwrap().iter().filter(|c| c["ok"] != true).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(status["state_dir"], format!("/var/lib/ccbreaker/{UID}"));
    let managed: Value = serde_json::from_str(
        &std::fs::read_to_string(b.root.join("etc/upper/claude-code/managed-settings.json")).unwrap(),
    )
    .unwrap();
    let pre = &managed["hooks"]["PreToolUse"][0]["hooks"][0];
    assert_eq!(
        (pre["command"].as_str(), pre["onFailure"].as_str()),
        (Some("/usr/local/bin/ccbreaker hook"), Some("block"))
    );
    // Prices are root's: the user cannot update them; root's update lands beside the root config, readable by the
    // user's commands and hook, and the boundary checks cover it.
    let table = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pricing/litellm-anthropic.json");
    let table = table.to_str().unwrap();
    let mine = b.user_run(&[], "/usr/local/bin/ccbreaker", &["prices", "update", "--from", table], b"");
    assert!(mine.stderr.contains("locked mode: `prices update` needs root"), "{}", mine.stderr);
    let update = b.root_run("/usr/local/bin/ccbreaker", &["prices", "update", "--from", table]);
    assert_eq!(update.code, 0, "{}{}", update.stdout, update.stderr);
    assert!(b.root.join("etc/upper/ccbreaker/prices.bin").exists());
    let list = b.user_run(&[], "/usr/local/bin/ccbreaker", &["prices", "list", "--json"], b"");
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert_eq!(list.json()["updated"]["source"], table);
    let status = b.user_run(&[], "/usr/local/bin/ccbreaker", &["status", "--json"], b"").json();
    let checks = status["boundary"].to_string();
    assert!(checks.contains("prices.bin") && !checks.contains("\"ok\":false"), "{checks}");
    assert!(checks.contains("the network binary `/usr/local/bin/ccbreaker-net` is root's"), "{checks}");

    // `reconcile` runs the root-owned ccbreaker-net installed beside the locked binary, which keeps the group and so
    // writes in the user's locked state.
    let csv = b.root.join("cost.csv");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/reconcile/cost-2026.csv"), &csv).unwrap();
    chown_r(&csv);
    let reconcile =
        b.user_run(&[], "/usr/local/bin/ccbreaker", &["reconcile", "--json", "--csv", csv.to_str().unwrap()], b"");
    assert_eq!(reconcile.code, 0, "{}{}", reconcile.stdout, reconcile.stderr);
    assert!(b.root.join(format!("var-lib/upper/ccbreaker/{UID}/reconcile-flags.json")).exists());

    // Uninstalled, the managed hooks and the marker go; the rest is said.
    let out = b.root_run(crate::harness::BIN, &["uninstall", "--locked"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("locked mode off"), "{}", out.stdout);
    assert!(!b.root.join("etc/upper/ccbreaker/locked.toml").exists());
}

#[test]
fn in_locked_mode_every_attempt_of_the_agent_fails_and_the_budget_still_halts() {
    if !available("attempts") {
        return;
    }
    let b = LockedBox::new("attempts");
    b.install("[budget]\nsession_usd = 5\n");
    b.spend("s1", "a", 1, 1.0);
    b.hook(&[], &b.event("s1", "Bash", json!({"command": "ls"}))).assert_silent_allow();

    // Class 1: whatever the spelling, the files are root's and the state cannot be reached.
    for script in [
        "printf '[budget]\\nsession_usd=0\\n' > /etc/ccbreaker/config.toml",
        "cd /etc/ccb* && printf x > c*.toml",
        "python3 -c \"open('/etc/ccbre'+'aker/config.toml','w').write('')\"",
        "echo cm0gLXJmIC92YXIvbGliL2NjYnJlYWtlcgo= | base64 -d | sh",
        "cp /bin/true /usr/local/bin/ccbreaker",
        "ls /var/lib/ccbreaker",
        "flock /var/lib/ccbreaker/4242/ledger.lock true",
        "mkdir -p /tmp/s && CCBREAKER_STATE_DIR=/tmp/s /usr/local/bin/ccbreaker allow --session s1",
        "CLAUDECODE= /usr/local/bin/ccbreaker allow --session s1 --add-usd 100",
        "/usr/local/bin/ccbreaker uninstall",
        "/usr/local/bin/ccbreaker config init --force",
    ] {
        let out = b.shell(script);
        assert_ne!(out.code, 0, "as the user, `{script}` succeeded: {}", out.stdout);
    }
    let allow = b.shell("/usr/local/bin/ccbreaker allow --session s1");
    assert!(
        allow.stderr.contains("locked mode: `allow` needs root: run `sudo ccbreaker allow --session s1`"),
        "{}",
        allow.stderr
    );

    // Overrides are ignored, a user config cannot loosen, and odd input still gets an answer.
    std::fs::create_dir_all(b.home.join(".config/ccbreaker")).unwrap();
    std::fs::write(b.home.join(".config/ccbreaker/config.toml"), "[budget]\nsession_usd = 1000\n").unwrap();
    std::fs::write(b.root.join("loose.toml"), "[budget]\nsession_usd = 1000\n").unwrap();
    chown_r(&b.home);
    b.spend("s1", "b", 1, 5.0);
    let loose = b.root.join("loose.toml").display().to_string();
    let env = [("CCBREAKER_CONFIG", loose.as_str()), ("CCBREAKER_STATE_DIR", "/tmp"), ("CCBREAKER_ON_ERROR", "allow")];
    let out = b.hook(&env, &b.event("s1", "Bash", json!({"command": "ls"})));
    assert!(halts(&out), "{} {}", out.stdout, out.stderr);
    let reason = out.json()["stopReason"].as_str().unwrap().to_owned();
    assert!(
        reason.contains("of its $5.00 budget") && reason.contains("`sudo ccbreaker allow --session s1"),
        "{reason}"
    );
    let odd = br#"{"session_id":"s1","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"\ud800","n":1e400}}"#;
    let mut event: Value = serde_json::from_slice(&b.event("s1", "Bash", json!({}))).unwrap();
    event["tool_input"] = json!("placeholder");
    let odd_event = event.to_string().replace("\"placeholder\"", &String::from_utf8_lossy(&odd[88..odd.len() - 1]));
    assert!(halts(&b.hook(&[], odd_event.as_bytes())), "{odd_event}");

    // Root lifts the block, for that user, from root's own grants.
    let grant = b.root_run(crate::harness::BIN, &["allow", "--session", "s1", "--add-usd", "10", "--user", "4242"]);
    assert_eq!(grant.code, 0, "{}", grant.stderr);
    b.hook(&[], &b.event("s1", "Bash", json!({"command": "ls"}))).assert_silent_allow();
}

#[test]
fn in_locked_mode_a_tampered_transcript_and_a_broken_user_config_fail_closed() {
    if !available("tamper") {
        return;
    }
    let b = LockedBox::new("tamper");
    b.install("[budget]\nsession_usd = 50\n");
    std::fs::create_dir_all(b.home.join(".config/ccbreaker")).unwrap();
    std::fs::write(b.home.join(".config/ccbreaker/config.toml"), "[budget]\nsession_usd = 3\n").unwrap();
    chown_r(&b.home);
    b.spend("s1", "a", 1, 1.0);
    b.hook(&[], &b.event("s1", "Bash", json!({"command": "ls"}))).assert_silent_allow();
    // The user's tighter config made unreadable: its last good copy stays in force.
    assert_eq!(b.shell("chmod 000 ~/.config/ccbreaker/config.toml").code, 0);
    b.spend("s1", "b", 1, 2.5);
    let out = b.hook(&[], &b.event("s1", "Bash", json!({"command": "ls"})));
    assert!(halts(&out) && out.stdout.contains("of its $3.00 budget"), "{}", out.stdout);
    // The transcript emptied: refused as tampered until root allows it.
    let b2 = LockedBox::new("tamper2");
    b2.install("[budget]\nsession_usd = 50\n");
    b2.spend("s1", "a", 2, 1.0);
    b2.hook(&[], &b2.event("s1", "Bash", json!({"command": "ls"}))).assert_silent_allow();
    assert_eq!(b2.shell(&format!(": > {}", b2.transcript("s1").display())).code, 0);
    let out = b2.hook(&[], &b2.event("s1", "Bash", json!({"command": "ls"})));
    assert!(halts(&out) && out.stdout.contains("was cut short"), "{}", out.stdout);
    assert_eq!(
        b2.root_run(crate::harness::BIN, &["allow", "--session", "s1", "--add-usd", "0", "--user", "4242"]).code,
        0
    );
    b2.hook(&[], &b2.event("s1", "Bash", json!({"command": "ls"}))).assert_silent_allow();
}

#[test]
fn in_locked_mode_alerts_are_the_root_s_exec_sees_the_halt_and_the_statusline_reads_the_state() {
    if !available("tell") {
        return;
    }
    let server =
        crate::http::Server::start(std::sync::Arc::new(|_: &crate::http::Request| crate::http::Response::status(200)));
    let b = LockedBox::new("tell");
    // The root's channel reads its URL from a file of root and the group; an environment variable named for it
    // would be the agent's, and is not read.
    let secret = b.root.join("etc/upper/ccbreaker/webhook-url");
    b.install("[budget]\nsession_usd = 5\n");
    std::fs::write(&secret, format!("{}/root\n", server.url)).unwrap();
    let gid = std::fs::metadata(b.root.join("var-lib/upper/ccbreaker"))
        .map(|m| std::os::unix::fs::MetadataExt::gid(&m))
        .unwrap();
    assert!(Command::new("chown").arg(format!("0:{gid}")).arg(&secret).status().unwrap().success());
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    std::fs::write(
        b.root.join("etc/upper/ccbreaker/config.toml"),
        "[budget]\nsession_usd = 5\n[alerts]\nwebhook_url_file = \"/etc/ccbreaker/webhook-url\"\n",
    )
    .unwrap();
    // The user's own config adds a channel of its own (and cannot take the root's away).
    std::fs::create_dir_all(b.home.join(".config/ccbreaker")).unwrap();
    std::fs::write(
        b.home.join(".config/ccbreaker/config.toml"),
        format!("[alerts]\nntfy_url = \"{}/mine\"\nsend_on = []\n", server.url),
    )
    .unwrap();
    chown_r(&b.home);
    assert_ne!(b.shell("cat /etc/ccbreaker/webhook-url").code, 0, "the user cannot read the root's secret");
    b.spend("s1", "a", 1, 6.0);
    let event = b.event("s1", "Bash", json!({"command": "ls"}));
    let events = b.root.join("event.json");
    std::fs::write(&events, &event).unwrap();
    let exec = b.user_run(
        &[],
        "/usr/local/bin/ccbreaker",
        &["exec", "--", "sh", "-c", &format!("/usr/local/bin/ccbreaker hook < {} > /dev/null", events.display())],
        b"",
    );
    assert_eq!(exec.code, 3, "{}{}", exec.stdout, exec.stderr);
    assert!(
        exec.stderr.starts_with("ccbreaker: halted: session s1 was stopped by ccbreaker's hook at PreToolUse ("),
        "{}",
        exec.stderr
    );
    let requests = server.wait_for(2, std::time::Duration::from_secs(20));
    let mut paths: Vec<String> = requests.iter().map(|r| r.path.clone()).collect();
    paths.sort();
    assert_eq!(paths, ["/mine", "/root"], "the root's channel, and the user's own, which its `send_on` cannot silence");
    let status = b.user_run(&[], "/usr/local/bin/ccbreaker", &["status", "--json"], b"").json();
    assert_eq!(status["alerts"]["channels"], json!(["webhook", "ntfy"]));
    let payload = json!({"session_id": "s1", "transcript_path": b.transcript("s1")}).to_string();
    let line = b.user_run(&[("NO_COLOR", "1")], "/usr/local/bin/ccbreaker", &["statusline"], payload.as_bytes());
    assert_eq!(line.stdout, "BLOCKED: session budget · session $6.00 / $5 · today $6.00 / $50\n", "{}", line.stderr);
    // The user's settings get the statusline alone: the hooks are the managed settings'.
    let hooks = b.user_run(&[], "/usr/local/bin/ccbreaker", &["install"], b"");
    assert!(
        hooks.code == 1 && hooks.stderr.contains("the hooks are in the managed settings already"),
        "{}",
        hooks.stderr
    );
    let installed = b.user_run(&[], "/usr/local/bin/ccbreaker", &["install", "--statusline"], b"");
    assert_eq!(installed.code, 0, "{}", installed.stderr);
    let settings: Value =
        serde_json::from_str(&std::fs::read_to_string(b.home.join(".claude/settings.json")).unwrap()).unwrap();
    assert_eq!(
        settings,
        json!({"statusLine": {"type": "command", "command": "/usr/local/bin/ccbreaker statusline", "padding": 0}})
    );
}
