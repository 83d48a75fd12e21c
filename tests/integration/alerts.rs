//! Alerts reach a real HTTP server on 127.0.0.1 (webhook and ntfy formats), a stub `notify-send` on PATH and a
//! command, from a hook that answers without waiting for them; one per scope and kind per cooldown however many
//! hooks block at once; failures (a 500, a timeout, a refused connection) are recorded, shown and sent again; no
//! secret is ever printed.

use crate::harness::{Output, Sandbox, chain};
use crate::http::{Request, Response, Server};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a test waits for a detached delivery to arrive (a generous bound for a loaded machine; the time it took
/// is printed, and measured in BENCHMARKS.md).
const PATIENCE: Duration = Duration::from_secs(20);

/// A receiver that answers `status` after `delay`.
fn receiver(status: u16, delay: Duration) -> Server {
    Server::start(Arc::new(move |_: &Request| Response { delay: Some(delay), ..Response::status(status) }))
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", request.body))
}

/// Runs `run` (a hook call) and checks it returned before the receiver answered the alert it raised: the hook never
/// waits for a delivery. Returns the hook's output and the alert's request.
fn raised_without_waiting(server: &Server, held: Duration, run: impl FnOnce() -> Output) -> (Output, Request) {
    let before = server.requests().len();
    let started = Instant::now();
    let out = run();
    let returned = Instant::now();
    let requests = server.wait_for(before + 1, PATIENCE);
    assert!(requests.len() > before, "no alert arrived within {PATIENCE:?}");
    let request = requests[before].clone();
    println!("alert arrived {:?} after the hook started", request.at.duration_since(started));
    assert!(returned < request.at + held, "the hook waited for the delivery");
    (out, request)
}

fn webhook_config(url: &str, extra: &str) -> String {
    format!("[budget]\nsession_usd = 20\nwarn_at = 0.5\n[alerts]\nwebhook_url = \"{url}/hook\"\n{extra}")
}

#[test]
fn every_alert_kind_reaches_the_webhook_while_the_hook_answers_at_once() {
    let held = Duration::from_secs(3);
    let server = receiver(200, held);
    let sb = Sandbox::new("alert-kinds");
    sb.config(&webhook_config(&server.url, ""));
    // A warning: $12 of $20 with warn_at 0.5.
    sb.transcript("warned").lines(&chain("w", 1, 12.0));
    let (out, request) = raised_without_waiting(&server, held, || sb.pre_tool_use("warned"));
    assert!(out.json()["systemMessage"].as_str().unwrap().contains("60%"), "{}", out.stdout);
    let warn = body(&request);
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/hook"));
    assert_eq!(warn["ccbreaker"]["kind"], "warn");
    assert_eq!(warn["ccbreaker"]["session"], "warned");
    assert_eq!(warn["text"], warn["content"]);
    assert!(
        warn["text"].as_str().unwrap().starts_with("ccbreaker: session budget at 60% ($12.00 of $20.00)"),
        "{warn}"
    );
    // A block: $21 of $20.
    sb.transcript("blocked").lines(&chain("b", 3, 7.0));
    let (out, request) = raised_without_waiting(&server, held, || sb.pre_tool_use("blocked"));
    assert_eq!(out.json()["continue"], false);
    let block = body(&request);
    assert_eq!(block["ccbreaker"]["kind"], "block");
    assert_eq!(block["ccbreaker"]["scope"], "session:blocked");
    assert_eq!(
        (block["ccbreaker"]["spent_usd"].as_f64(), block["ccbreaker"]["limit_usd"].as_f64()),
        (Some(21.0), Some(20.0))
    );
    assert!(block["text"].as_str().unwrap().contains("allow --session blocked"), "{block}");
    // A tool call refused as tampering.
    let mut event = sb.event("PreToolUse", "other");
    event["tool_input"] = json!({"command": "ccbreaker allow --session other"});
    let (_, request) = raised_without_waiting(&server, held, || sb.hook(&event));
    assert_eq!(body(&request)["ccbreaker"]["kind"], "tamper");
    // A fail-open: the budget correction's factors damaged, with on_error = "allow".
    sb.config(&webhook_config(&server.url, "[reconcile]\ncorrect_budgets = true\n"));
    std::fs::write(sb.state.join("reconcile-factors.json"), b"{").unwrap();
    let (out, request) = raised_without_waiting(&server, held, || sb.pre_tool_use("fresh"));
    assert!(out.json()["systemMessage"].as_str().unwrap().starts_with("ccbreaker could not check your budgets"));
    let fail_open = body(&request);
    assert_eq!(
        (fail_open["ccbreaker"]["kind"].as_str(), fail_open["ccbreaker"]["scope"].as_str()),
        (Some("fail_open"), Some("hook"))
    );
    // Four alerts, one each: nothing else was sent.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(server.requests().len(), 4);
}

#[test]
fn sixty_four_hooks_blocked_at_once_send_one_alert_per_scope() {
    let server = receiver(200, Duration::ZERO);
    let sb = Sandbox::new("alert-cooldown");
    sb.config(&format!("[budget]\nsession_usd = 100\ndaily_usd = 5\n[alerts]\nwebhook_url = \"{}\"\n", server.url));
    sb.transcript("a").lines(&chain("a", 1, 6.0));
    let children: Vec<_> = (0..64)
        .map(|i| {
            let session = if i % 2 == 0 { "a" } else { "b" };
            let event = sb.event("PreToolUse", session).to_string();
            std::thread::spawn({
                let cmd = sb.command(&["hook"]);
                move || crate::harness::run(cmd, event.as_bytes())
            })
        })
        .collect();
    for child in children {
        assert_eq!(child.join().unwrap().json()["continue"], false);
    }
    std::thread::sleep(Duration::from_secs(1));
    let requests = server.wait_for(1, PATIENCE);
    let scopes: Vec<String> =
        requests.iter().map(|r| body(r)["ccbreaker"]["scope"].as_str().unwrap().to_owned()).collect();
    // The daily budget blocks both sessions: one scope, the day.
    assert_eq!(scopes, ["day:2026-11-24"], "{scopes:?}");
}

#[test]
fn ntfy_a_command_and_a_stub_notify_send_get_the_block() {
    let server = receiver(200, Duration::ZERO);
    let mut sb = Sandbox::new("alert-channels");
    let bin = sb.root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let notified = sb.root.join("notify-send.args");
    let commanded = sb.root.join("command.stdin");
    write_script(
        &bin.join("notify-send"),
        &format!("printf '%s\\n' \"$@\" > {}.tmp && mv {0}.tmp {0}\n", notified.display()),
    );
    write_script(&bin.join("on-alert"), &format!("cat > {}.tmp && mv {0}.tmp {0}\n", commanded.display()));
    sb.env("PATH", &format!("{}:/usr/bin:/bin", bin.display()));
    sb.config(&format!(
        "[alerts]\nntfy_url = \"{}/ccbreaker-topic\"\ndesktop = true\ncommand = [\"{}\"]\n",
        server.url,
        bin.join("on-alert").display()
    ));
    sb.transcript("s1").lines(&chain("a", 3, 7.0));
    sb.pre_tool_use("s1");
    let requests = server.wait_for(1, PATIENCE);
    let ntfy = &requests[0];
    assert_eq!(ntfy.path, "/ccbreaker-topic");
    assert_eq!(ntfy.headers["priority"], "high");
    assert!(
        ntfy.headers["title"].starts_with("ccbreaker: session budget reached: $21.00 of $20.00"),
        "{:?}",
        ntfy.headers
    );
    assert!(String::from_utf8_lossy(&ntfy.body).starts_with("ccbreaker: session budget reached"));
    let args = wait_for_file(&notified);
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(args[..4], ["-a", "ccbreaker", "-u", "critical"], "{args:?}");
    assert!(args[4].starts_with("ccbreaker: session budget reached"), "{args:?}");
    let alert: Value = serde_json::from_str(&wait_for_file(&commanded)).unwrap();
    assert_eq!((alert["kind"].as_str(), alert["session"].as_str()), (Some("block"), Some("s1")));
    assert_eq!(alert["at"], "2026-11-24T12:00:00Z");
}

fn write_script(path: &std::path::Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

fn wait_for_file(path: &std::path::Path) -> String {
    let started = Instant::now();
    while started.elapsed() < PATIENCE {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("`{}` never appeared", path.display());
}

/// The channels' record, as `status --json` shows it.
fn failing(sb: &Sandbox) -> Vec<String> {
    sb.status()["alerts"]["failing"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_owned()).collect()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < PATIENCE, "{what}: not within {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_failed_delivery_is_recorded_shown_and_sent_again_with_the_next_alert() {
    // The secret part of the URL, which nothing may print.
    const TOKEN: &str = "T0KEN-SECRET-42";
    let answer = Arc::new(std::sync::atomic::AtomicU16::new(500));
    let server = {
        let answer = answer.clone();
        Server::start(Arc::new(move |_: &Request| Response::status(answer.load(std::sync::atomic::Ordering::SeqCst))))
    };
    let mut sb = Sandbox::new("alert-500");
    sb.env("HOOK_URL", &format!("{}/services/{TOKEN}", server.url));
    sb.config("[budget]\nsession_usd = 20\n[alerts]\nwebhook_url_env = \"HOOK_URL\"\n");
    sb.transcript("s1").lines(&chain("a", 3, 7.0));
    sb.pre_tool_use("s1");
    server.wait_for(1, PATIENCE);
    wait_until("the failure is recorded", || !failing(&sb).is_empty());
    let shown = failing(&sb);
    assert!(shown[0].starts_with("webhook failed at 2026-11-24T12:00:00Z (1 in a row): "), "{shown:?}");
    assert!(shown[0].contains("answered HTTP 500; 1 alert(s) will be sent again with the next one"), "{shown:?}");
    let status = sb.run(&["status"], b"");
    let doctor = sb.run(&["doctor"], b"");
    let test = sb.run(&["alert", "test"], b"");
    assert_eq!(test.code, 1, "{}", test.stdout);
    assert!(test.stdout.starts_with("webhook  FAILED  http://127.0.0.1:"), "{}", test.stdout);
    for out in [&status, &doctor, &test] {
        assert!(!format!("{}{}", out.stdout, out.stderr).contains(TOKEN), "{}{}", out.stdout, out.stderr);
    }
    assert!(status.stdout.contains("\nalerts: webhook\n  FAIL webhook failed at"), "{}", status.stdout);
    assert!(
        doctor.stdout.contains("FAIL alerts       webhook: the last delivery to webhook failed"),
        "{}",
        doctor.stdout
    );
    for file in ["alerts.json", "audit.log"] {
        assert!(!std::fs::read_to_string(sb.state.join(file)).unwrap().contains(TOKEN), "{file}");
    }
    // The receiver is back: the next alert (another session) carries the one that failed.
    answer.store(200, std::sync::atomic::Ordering::SeqCst);
    let before = server.requests().len();
    sb.transcript("s2").lines(&chain("b", 3, 7.0));
    sb.pre_tool_use("s2");
    let requests = server.wait_for(before + 2, PATIENCE);
    let scopes: Vec<Value> = requests[before..].iter().map(|r| body(r)["ccbreaker"]["scope"].clone()).collect();
    assert_eq!(scopes, [json!("session:s1"), json!("session:s2")], "the failed alert first, then the new one");
    wait_until("the success is recorded", || failing(&sb).is_empty());
}

#[test]
fn a_timeout_and_a_refused_connection_are_failures_too() {
    let slow = receiver(200, Duration::from_secs(5));
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}/x", listener.local_addr().unwrap().port())
    };
    let sb = Sandbox::new("alert-timeout");
    sb.config(&format!("[alerts]\nwebhook_url = \"{}/slow\"\nntfy_url = \"{refused}\"\ntimeout_secs = 1\n", slow.url));
    let out = sb.run(&["alert", "test", "--json"], b"");
    assert_eq!(out.code, 1, "{}", out.stderr);
    let channels = out.json()["channels"].clone();
    assert_eq!(channels[0]["channel"], "webhook");
    assert_eq!(channels[1]["channel"], "ntfy");
    let (timeout, refusal) = (channels[0]["error"].as_str().unwrap(), channels[1]["error"].as_str().unwrap());
    assert!(timeout.contains("no answer within the time allowed"), "{timeout}");
    assert!(refusal.to_lowercase().contains("refused"), "{refusal}");
    assert_eq!(failing(&sb).len(), 2);
}

#[test]
fn alert_test_reports_each_channel_and_says_when_none_is_set() {
    let server = receiver(200, Duration::ZERO);
    let sb = Sandbox::new("alert-test");
    sb.run(&["alert", "test"], b"").assert_is(
        1,
        "",
        &format!(
            "ccbreaker: no alert channel is configured: set webhook_url, ntfy_url, desktop or command in [alerts] of {}\n",
            sb.config.display()
        ),
    );
    sb.config(&format!("[alerts]\nwebhook_url = \"{}/path/with/secret\"\n", server.url));
    let out = sb.run(&["alert", "test"], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with(&format!("webhook  ok      {}/… (", server.url)), "{}", out.stdout);
    let test = body(&server.requests()[0]);
    assert_eq!((test["ccbreaker"]["kind"].as_str(), test["ccbreaker"]["test"].as_bool()), (Some("block"), Some(true)));
    assert!(failing(&sb).is_empty());
}

#[test]
fn the_daily_digest_goes_out_with_the_first_hook_call_of_the_day() {
    let server = receiver(200, Duration::ZERO);
    let mut sb = Sandbox::new("alert-digest");
    sb.config(&format!("[alerts]\nwebhook_url = \"{}\"\ndaily_digest = true\n", server.url));
    let yesterday: Vec<String> =
        chain("y", 2, 1.5).into_iter().map(|l| l.replace("2026-11-24T10:00", "2026-11-23T10:00")).collect();
    sb.transcript("old").lines(&yesterday);
    sb.pre_tool_use("s1").assert_silent_allow();
    let digest = body(&server.wait_for(1, PATIENCE)[0]);
    assert_eq!(digest["ccbreaker"]["kind"], "digest");
    let text = digest["text"].as_str().unwrap();
    assert!(text.starts_with("ccbreaker: $3.00 spent on 2026-11-23"), "{text}");
    assert!(text.contains("ccbreaker digest 2026-11-23 (UTC): $3.00 over 1 session(s)"), "{text}");
    sb.pre_tool_use("s1").assert_silent_allow();
    sb.now = "2026-11-24T18:00:00Z".to_owned();
    sb.pre_tool_use("s1").assert_silent_allow();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(server.requests().len(), 1, "one digest a day");
}

#[test]
fn the_new_scopes_and_breakers_raise_alerts_through_the_same_path() {
    let held = Duration::from_millis(200);
    let server = receiver(200, held);
    let sb = Sandbox::new("alert-scopes");
    sb.config(&format!(
        "[budget]\nsession_usd = 0\ndaily_usd = 0\nweekly_usd = 5\n[breaker.loop]\nrepeats = 2\n\
         [alerts]\nwebhook_url = \"{}/hook\"\n",
        server.url
    ));
    // A weekly budget reached: a block alert for the week's scope.
    sb.transcript("s1").lines(&chain("a", 1, 6.0));
    let (_, request) = raised_without_waiting(&server, held, || sb.pre_tool_use("s1"));
    let block = body(&request);
    assert_eq!(block["ccbreaker"]["kind"], "block", "{block:#}");
    assert!(block["ccbreaker"]["scope"].as_str().unwrap().starts_with("weekly:"), "{block:#}");
    assert!(
        block["text"].as_str().unwrap().starts_with("ccbreaker: weekly budget reached: $6.00 of $5.00"),
        "{block:#}"
    );
    // A loop's refused call: a warning for that session's loop.
    let sb = Sandbox::new("alert-loop");
    sb.config(&format!("[breaker.loop]\nrepeats = 2\n[alerts]\nwebhook_url = \"{}/hook\"\n", server.url));
    sb.pre_tool_use("s2");
    let (out, request) = raised_without_waiting(&server, held, || sb.pre_tool_use("s2"));
    assert!(out.stdout.contains("loop breaker"), "{}", out.stdout);
    let warn = body(&request);
    assert_eq!(
        (warn["ccbreaker"]["kind"].as_str(), warn["ccbreaker"]["scope"].as_str()),
        (Some("warn"), Some("loop:s2"))
    );
}
