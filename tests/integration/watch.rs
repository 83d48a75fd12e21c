//! `ccbreaker watch`: the frame `--once` prints (pinned whole), and the full-screen view in a real terminal (tmux:
//! keys sent with `send-keys`, the screen read with `capture-pane`).

use crate::harness::{Sandbox, response, tokens_for_usd, user_line};

const CONFIG: &str = "[budget]\nsession_usd = 20\ndaily_usd = 50\nwarn_at = 0.8\n";

/// Two sessions today: one past its session budget (and blocked by a hook call), one under it; their last
/// responses within the last ten minutes of the sandbox clock (12:00 UTC).
pub(crate) fn two_sessions(name: &str) -> Sandbox {
    let mut sb = Sandbox::new(name);
    sb.config(CONFIG);
    sb.binary_on_path();
    let write = |session: &str, usd: [f64; 2], times: [&str; 2]| {
        let t = sb.transcript(session);
        for (i, (usd, at)) in usd.iter().zip(times).enumerate() {
            let user = format!("{session}-u{i}");
            t.append(&user_line(&user, None));
            t.append(&response(&format!("{session}-{i}"), tokens_for_usd(*usd)).parent(&user).at(at).json());
        }
    };
    write("aaaa1111-blocked", [15.0, 6.0], ["2026-11-24T11:20:00.000Z", "2026-11-24T11:55:00.000Z"]);
    write("bbbb2222-fine", [2.0, 1.5], ["2026-11-24T09:00:00.000Z", "2026-11-24T11:58:00.000Z"]);
    assert_eq!(sb.pre_tool_use("aaaa1111-blocked").code, 0);
    sb
}

#[test]
fn watch_once_prints_one_frame_of_budgets_burn_block_sessions_and_trips() {
    let mut sb = two_sessions("watch-once");
    sb.env("COLUMNS", "80");
    sb.run(&["watch", "--once"], b"").assert_is(
        0,
        "\
ccbreaker 2026-11-24 12:00:00 UTC [overview]  sessions   alerts
daily    █████████████████████░░░░░░░░░░░░░│░░░░░░░░ $24.50 / $50.00   49% SAFE
burn     $45.00/h over 10 min, $22.50/h over 60 min
reaches  daily: 34m / 1h08m (at the 10 / 60 min rates)
5h block 09:00-14:00  $24.50 so far, projected $40.83 at $8.17/h
2 session(s) today, 1 blocked
  session  project          spent state    guard     sub     last
> aaaa1111 -work-proj      $21.00 BLOCKED  hooks       0 11:55:00
  bbbb2222 -work-proj       $3.50 ok       none        0 11:58:00
allow: ccbreaker allow --session aaaa1111-blocked --add-usd 20
last alerts and breaker trips
  11-24 12:00 block  aaaa1111 session budget reached: this session has spent $2…
",
        "",
    );
}

#[test]
fn watch_once_on_a_dumb_terminal_draws_ascii_bars_and_says_when_no_budget_is_set() {
    let mut sb = two_sessions("watch-dumb");
    sb.env("TERM", "dumb").env("NO_COLOR", "1").env("COLUMNS", "60");
    // Plan usage, as the statusline records it from Claude Code's `rate_limits`.
    let payload = r#"{"rate_limits": {"five_hour": {"used_percentage": 42, "resets_at": "2026-11-24T14:00:00Z"}}}"#;
    assert_eq!(sb.run(&["statusline"], payload.as_bytes()).code, 0);
    let out = sb.run(&["watch", "--once"], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let bar = out.stdout.lines().nth(1).unwrap();
    assert_eq!(bar, "daily    ###########.......|.... $24.50 / $50.00   49% SAFE");
    assert!(out.stdout.lines().any(|l| l == "plan     five_hour 42%"), "{}", out.stdout);
    assert!(!out.stdout.contains('\x1b'), "{}", out.stdout);
    sb.config("[budget]\nsession_usd = 20\ndaily_usd = 0\n");
    let out = sb.run(&["watch", "--once"], b"");
    assert_eq!(out.stdout.lines().nth(1).unwrap(), "today    $24.50 (no daily budget)", "{}", out.stdout);
}

/// A tmux server of its own (its own socket), killed when the test ends whatever happens.
struct Tmux {
    socket: String,
    sb: Sandbox,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["-L", self.socket.as_str(), "-f", "/dev/null"];
        all.extend_from_slice(args);
        self.sb.command_of("tmux", &all).output().expect("tmux runs")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "w"]).stdout).into_owned()
    }

    /// The screen once it shows `text`, within 10 s.
    #[track_caller]
    fn wait_for(&self, text: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(std::time::Instant::now() < deadline, "the screen never showed {text:?}:\n{screen}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &str) {
        assert!(self.run(&["send-keys", "-t", "w", keys]).status.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

#[test]
fn watch_in_a_real_terminal_switches_views_selects_a_session_follows_a_transcript_and_quits_on_q() {
    if std::process::Command::new("tmux").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "CI must have tmux (.ci/run installs it)");
        eprintln!("skipped: tmux is not installed (.ci/run installs it with apt)");
        return;
    }
    let sb = two_sessions("watch-tmux");
    let transcript = sb.transcript("bbbb2222-fine");
    let tmux = Tmux { socket: format!("ccbreaker-test-{}", std::process::id()), sb };
    let bin = crate::harness::BIN;
    assert!(tmux.run(&["new-session", "-d", "-s", "w", "-x", "80", "-y", "24", bin, "watch"]).status.success());
    let screen = tmux.wait_for("[overview]");
    let lines: Vec<&str> = screen.lines().collect();
    assert_eq!(lines.len(), 24, "{screen}");
    assert!(lines[23].starts_with("q quit  tab view"), "{screen}");
    assert!(screen.contains("$24.50 / $50.00   49% SAFE"), "{screen}");
    assert!(screen.contains("> aaaa1111 -work-proj      $21.00 BLOCKED  hooks"), "{screen}");
    assert!(screen.contains("allow: ccbreaker allow --session aaaa1111-blocked --add-usd 20"), "{screen}");

    tmux.keys("Down");
    tmux.wait_for("bbbb2222-fine is not blocked");
    tmux.keys("Tab");
    let screen = tmux.wait_for("[sessions]");
    assert!(screen.contains("> bbbb2222"), "{screen}");

    // A session writes a response: the view shows it without a key pressed.
    transcript.append(&user_line("late-user", None));
    transcript.append(&response("late", tokens_for_usd(1.0)).parent("late-user").at("2026-11-24T11:59:00.000Z").json());
    tmux.wait_for("$4.50 ok       none");

    tmux.keys("Tab");
    let screen = tmux.wait_for("[alerts]");
    assert!(screen.contains("block  aaaa1111 session budget reached"), "{screen}");

    tmux.keys("q");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while tmux.run(&["has-session", "-t", "w"]).status.success() {
        assert!(std::time::Instant::now() < deadline, "watch did not end on q:\n{}", tmux.screen());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
