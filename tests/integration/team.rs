//! Team budgets against a real `redis-server` (the Debian package; `.ci/run` installs it), started on 127.0.0.1 on
//! a free port for each test and stopped after it. Machines are sandboxes of their own (HOME, state, config).

use crate::harness::{Output, Sandbox, chain, response, tokens_for_usd};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One `redis-server`, killed when dropped.
struct Redis {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// `requirepass`, if any.
    password: Option<String>,
    /// A TLS port beside the plain one, and the CA file its certificate is signed by.
    tls: Option<(u16, PathBuf)>,
}

impl Redis {
    fn start(name: &str) -> Redis {
        Redis::start_with(name, None)
    }

    fn start_with(name: &str, password: Option<&str>) -> Redis {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("redis-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut redis = Redis { port, dir, child: None, password: password.map(str::to_owned), tls: None };
        redis.run();
        redis
    }

    /// Starts the server on its port and directory (a restart loads what the last shutdown saved).
    fn run(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string(), "--save", "", "--appendonly", "no"])
            .args(["--dir", self.dir.to_str().unwrap(), "--enable-debug-command", "local"])
            .args(self.password.iter().flat_map(|p| ["--requirepass", p.as_str()]))
            .args(self.tls.iter().flat_map(|(port, _)| {
                let file = |name: &str| self.dir.join(name).display().to_string();
                [
                    "--tls-port".to_owned(),
                    port.to_string(),
                    "--tls-cert-file".to_owned(),
                    file("server.crt"),
                    "--tls-key-file".to_owned(),
                    file("server.key"),
                    "--tls-ca-cert-file".to_owned(),
                    file("ca.crt"),
                    "--tls-auth-clients".to_owned(),
                    "no".to_owned(),
                ]
            }))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("could not start redis-server ({e}): install the Debian package redis-server (.ci/run does)")
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.command(&["PING"]).as_deref() != Some("+PONG") {
            assert!(Instant::now() < deadline, "redis-server did not answer on port {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A server that also listens with TLS, its certificate (for 127.0.0.1) signed by a CA made for the test.
    fn start_tls(name: &str) -> Redis {
        let mut redis = Redis::start(name);
        redis.stop();
        let dir = redis.dir.clone();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl").args(args).current_dir(&dir).output().expect("openssl");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        openssl(
            &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2"]
                .iter()
                .copied()
                .chain(["-subj", "/CN=ccbreaker test CA"])
                .collect::<Vec<_>>(),
        );
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ]);
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        redis.tls = Some((port, dir.join("ca.crt")));
        redis.run();
        redis
    }

    /// Saves and stops the server.
    fn stop(&mut self) {
        let _ = self.command(&["SHUTDOWN", "SAVE"]);
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// One command; its reply's first line (and a bulk string's value on the next), or `None` if unreachable.
    fn command(&self, words: &[&str]) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        let mut out = String::new();
        if let Some(password) = &self.password {
            out.push_str(&format!("*2\r\n$4\r\nAUTH\r\n${}\r\n{password}\r\n", password.len()));
        }
        out.push_str(&format!("*{}\r\n", words.len()));
        for w in words {
            out.push_str(&format!("${}\r\n{w}\r\n", w.len()));
        }
        stream.write_all(out.as_bytes()).ok()?;
        let mut reply = Vec::new();
        let mut byte = [0u8; 1];
        if self.password.is_some() {
            let mut ok = [0u8; 5];
            stream.read_exact(&mut ok).ok()?;
            if &ok != b"+OK\r\n" {
                return None;
            }
        }
        loop {
            if stream.read(&mut byte).ok()? == 0 {
                break;
            }
            reply.push(byte[0]);
            let text = String::from_utf8_lossy(&reply);
            let lines: Vec<&str> = text.split("\r\n").collect();
            let done = match lines[0].as_bytes().first() {
                Some(b'$') if lines[0] != "$-1" => lines.len() >= 3,
                Some(_) => lines.len() >= 2,
                None => false,
            };
            if done {
                return Some(if lines[0].starts_with('$') && lines[0] != "$-1" {
                    lines[1].to_owned()
                } else {
                    lines[0].to_owned()
                });
            }
        }
        None
    }

    /// A counter in pico-dollars (0 when missing).
    fn pico(&self, key: &str) -> u64 {
        match self.command(&["GET", key]).as_deref() {
            Some("$-1") | None => 0,
            Some(value) => value.parse().unwrap_or_else(|_| panic!("{key} holds {value:?}")),
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Pico-dollars of `output` output tokens of claude-sonnet-5 ($10 per million).
fn pico(output: u64) -> u64 {
    output * 10_000_000
}

/// Now, to the second: the server expires a day's keys by its own clock, so the team's tests run today (the
/// sandbox's fixed clock is in the past).
fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A response of `output` tokens at [`now`].
fn spent(id: &str, output: u64) -> String {
    response(id, output).at(&now()).json()
}

fn day_key() -> String {
    format!("ccbreaker:{{eng}}:day:{}", chrono::Utc::now().format("%Y-%m-%d"))
}

fn month_key() -> String {
    format!("ccbreaker:{{eng}}:month:{}", chrono::Utc::now().format("%Y-%m"))
}

fn members_key() -> String {
    format!("ccbreaker:{{eng}}:members:{}", chrono::Utc::now().format("%Y-%m-%d"))
}

/// A machine of the team: its own sandbox, pointed at `redis`.
fn machine(name: &str, redis: &Redis, member: &str, extra: &str) -> Sandbox {
    let mut sb = Sandbox::new(name);
    sb.now = now();
    sb.config(&format!(
        "[budget]\nsession_usd = 0\ndaily_usd = 0\n\n[team]\nredis_url = \"{}\"\nname = \"eng\"\nmember = \
         \"{member}\"\ntimeout_ms = 2000\n{extra}",
        redis.url()
    ));
    sb
}

fn team_json(sb: &Sandbox) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(sb.state.join("team.json")).unwrap()).unwrap()
}

#[test]
fn three_machines_with_overlapping_transcripts_push_concurrently_and_the_totals_are_the_union_exactly() {
    let redis = Redis::start("union");
    let machines = [
        machine("team-a", &redis, "alice", ""),
        machine("team-b", &redis, "bob", ""),
        machine("team-c", &redis, "alice", ""),
    ];
    // Shared: 30 responses every machine sees (a synced home, a shared CI cache). Then each machine's own, and on
    // C a costlier reading of some shared responses (a later line of the same ids: it re-prices them up).
    let at = now();
    let shared: Vec<String> =
        chain("shared", 30, 0.01).iter().map(|l| l.replace("2026-11-24T10:00:00.000Z", &at)).collect();
    let own = |m: usize| -> Vec<String> { (0..20).map(|i| spent(&format!("own{m}-{i}"), 700 + i)).collect() };
    let repriced: Vec<String> = (0..10)
        .map(|i| response(&format!("shared-{i}"), tokens_for_usd(0.01) + 5_000).uuid(&format!("re-{i}")).at(&at).json())
        .collect();
    let mut truth: u64 = 0;
    for i in 0..30u64 {
        truth += pico(if i < 10 { tokens_for_usd(0.01) + 5_000 } else { tokens_for_usd(0.01) });
    }
    for _ in 0..3 {
        truth += (0..20).map(|i| pico(700 + i)).sum::<u64>();
    }
    std::thread::scope(|scope| {
        for (m, sb) in machines.iter().enumerate() {
            let (shared, own, repriced) = (&shared, own(m), &repriced);
            scope.spawn(move || {
                let session = format!("session-{m}");
                let t = sb.transcript(&session);
                // The three machines append in steps and call the hook after each, at the same time.
                for step in 0..5 {
                    t.lines(&shared[step * 12..(step + 1) * 12]);
                    t.lines(&own[step * 4..(step + 1) * 4]);
                    if m == 2 && step == 3 {
                        t.lines(repriced);
                    }
                    sb.pre_tool_use(&session).assert_silent_allow();
                }
            });
        }
    });
    // Once more on each machine: whatever a push lost to a timeout is pushed now.
    for (m, sb) in machines.iter().enumerate() {
        sb.pre_tool_use(&format!("session-{m}")).assert_silent_allow();
        assert_eq!(team_json(sb)["pending"], 0);
    }
    assert_eq!(redis.pico(&day_key()), truth, "the team's day is the union of the three machines' responses");
    assert_eq!(redis.pico(&month_key()), truth);
    let members = redis.command(&["HLEN", &members_key()]).unwrap();
    assert_eq!(members, ":2", "alice and bob");
    let sum: u64 = ["alice", "bob"]
        .iter()
        .map(|m| {
            let v = redis.command(&["HGET", &members_key(), m]).unwrap();
            v.parse::<u64>().unwrap_or(0)
        })
        .sum();
    assert_eq!(sum, truth, "the members' days add up to the team's");
    for sb in &machines {
        let status = sb.run(&["team", "status", "--json"], b"").json();
        assert_eq!(status["reachable"], true);
        let day = status["day"]["cost_usd"].as_f64().unwrap();
        assert!((day - truth as f64 / 1e12).abs() < 1e-9, "{status:#}");
        assert_eq!(status["month"]["cost_usd"], status["day"]["cost_usd"]);
    }
    // A rebuilt ledger (the state directory removed) pushes everything again: nothing counts twice.
    std::fs::remove_dir_all(&machines[0].state).unwrap();
    machines[0].pre_tool_use("session-0").assert_silent_allow();
    assert_eq!(redis.pico(&day_key()), truth);
}

fn block_reason(out: &Output) -> String {
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|_| panic!("not a block: {out:?}"));
    json["hookSpecificOutput"]["permissionDecisionReason"].as_str().unwrap().to_owned()
}

#[test]
fn a_team_budget_crossed_on_one_machine_blocks_the_next_call_on_another() {
    let redis = Redis::start("cross");
    let a = machine("cross-a", &redis, "alice", "daily_usd = 5\n");
    let b = machine("cross-b", &redis, "bob", "daily_usd = 5\n");
    a.transcript("sa").lines(&[spent("a1", tokens_for_usd(3.0))]);
    a.pre_tool_use("sa").assert_silent_allow();
    b.transcript("sb").lines(&[spent("b1", tokens_for_usd(1.5))]);
    let warned = b.pre_tool_use("sb").json();
    assert_eq!(warned["systemMessage"], "ccbreaker: team `eng` has spent $4.50 today of its $5.00 daily budget (90%).");
    b.transcript("sb").lines(&[spent("b2", tokens_for_usd(0.5))]);
    let reason = block_reason(&b.pre_tool_use("sb"));
    assert_eq!(
        reason,
        format!(
            "ccbreaker: team daily budget reached: team `eng` has spent $5.00 today ({}, UTC) of its $5.00 daily \
             budget (team.daily_usd). It resets at midnight UTC. Top members today: alice $3.00, bob $2.00. A team \
             budget is raised only in {} (`ccbreaker allow` lifts this machine's budgets, not the team's).",
            chrono::Utc::now().format("%Y-%m-%d"),
            b.config.display()
        )
    );
    // The next call on the first machine, which spent nothing more, is blocked too.
    assert!(block_reason(&a.pre_tool_use("sa")).contains("team `eng` has spent $5.00 today"));
}

#[test]
fn a_member_budget_counts_the_member_on_every_machine() {
    let redis = Redis::start("member");
    let laptop = machine("member-laptop", &redis, "alice", "member_daily_usd = 2\n");
    let ci = machine("member-ci", &redis, "alice", "member_daily_usd = 2\n");
    let other = machine("member-other", &redis, "bob", "member_daily_usd = 2\n");
    laptop.transcript("s1").lines(&[spent("l1", tokens_for_usd(1.5))]);
    laptop.pre_tool_use("s1").assert_silent_allow();
    other.transcript("s3").lines(&[spent("o1", tokens_for_usd(1.5))]);
    other.pre_tool_use("s3").assert_silent_allow();
    ci.transcript("s2").lines(&[spent("c1", tokens_for_usd(0.5))]);
    let reason = block_reason(&ci.pre_tool_use("s2"));
    assert!(reason.starts_with("ccbreaker: member daily budget reached: alice has spent $2.00 today"), "{reason}");
    assert!(reason.contains("the team has spent $3.50 today"), "{reason}");
    other.pre_tool_use("s3").assert_silent_allow();
}

#[test]
fn redis_stopped_mid_run_keeps_the_policy_and_the_pending_events_arrive_once_after_a_restart() {
    let mut redis = Redis::start("restart");
    let a = machine("restart-a", &redis, "alice", "daily_usd = 10\n");
    let t = a.transcript("s");
    t.lines(&[spent("r1", tokens_for_usd(4.0))]);
    a.pre_tool_use("s").assert_silent_allow();
    redis.stop();
    // Unreachable (on_unreachable = "allow"): the last total read plus what this machine counted since.
    t.lines(&[spent("r2", tokens_for_usd(3.0))]);
    a.pre_tool_use("s").assert_silent_allow();
    let saved = team_json(&a);
    assert_eq!((saved["reachable"].as_bool(), saved["pending"].as_u64()), (Some(false), Some(1)));
    assert!(
        saved["error"].as_str().unwrap().contains(&format!("could not talk to redis://127.0.0.1:{}/0", redis.port))
    );
    let status = a.status()["team"].clone();
    assert_eq!((status["reachable"].as_bool(), status["pending"].as_u64()), (Some(false), Some(1)), "{status}");
    assert_eq!(status["day_cost_usd"], 4.0);
    let text = a.run(&["status"], b"").stdout;
    assert!(text.contains("team eng: $4.00 today (daily budget $10.00); last sync "), "{text}");
    assert!(text.contains("server UNREACHABLE: could not talk to redis://127.0.0.1:"), "{text}");
    t.lines(&[spent("r3", tokens_for_usd(3.5))]);
    let reason = block_reason(&a.pre_tool_use("s"));
    assert!(
        reason.contains("team `eng` has spent $10.50 (the last total read, plus this machine's spend since) today"),
        "{reason}"
    );
    // Back: the two pending responses arrive, once, and the first is not counted again.
    redis.run();
    assert_eq!(redis.pico(&day_key()), pico(tokens_for_usd(4.0)), "the shutdown saved the first push");
    let reason = block_reason(&a.pre_tool_use("s"));
    assert!(reason.contains("team `eng` has spent $10.50 today"), "{reason}");
    assert_eq!(redis.pico(&day_key()), pico(tokens_for_usd(10.5)));
    a.pre_tool_use("s");
    assert_eq!(redis.pico(&day_key()), pico(tokens_for_usd(10.5)));
    assert_eq!(team_json(&a)["pending"], 0);
}

#[test]
fn on_unreachable_block_blocks_and_says_why_without_credentials() {
    let redis = Redis::start("block");
    let port = redis.port;
    drop(redis);
    let sb = Sandbox::new("unreachable-block");
    sb.config(&format!(
        "[team]\nredis_url = \"redis://ops:hunter2@127.0.0.1:{port}/3\"\nname = \"eng\"\nmember = \"alice\"\n\
         on_unreachable = \"block\"\n"
    ));
    sb.transcript("s").lines(&[spent("x", 10)]);
    let out = sb.pre_tool_use("s");
    let reason = block_reason(&out);
    assert!(
        reason.starts_with(&format!(
            "ccbreaker: the team's budget server cannot be reached (could not talk to redis://127.0.0.1:{port}/3 \
             (credentials hidden): "
        )),
        "{reason}"
    );
    assert!(!out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"));
}

#[test]
fn a_slow_redis_never_holds_a_hook_past_its_timeout() {
    let redis = Redis::start("slow");
    let sb = machine("slow", &redis, "alice", "");
    sb.config(&format!(
        "[team]\nredis_url = \"{}\"\nname = \"eng\"\nmember = \"alice\"\ntimeout_ms = 50\ndaily_usd = 100\n",
        redis.url()
    ));
    sb.transcript("s").lines(&[spent("x", tokens_for_usd(1.0))]);
    // The server sleeps 3 seconds; the hook gives it 50 ms. (A generous bound: the machine may be loaded; without
    // the timeout the call would take the whole 3 seconds.)
    let port = redis.port;
    let sleeper = std::thread::spawn(move || {
        let r = Redis { port, dir: PathBuf::new(), child: None, password: None, tls: None };
        r.command(&["DEBUG", "SLEEP", "3"])
    });
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    sb.pre_tool_use("s").assert_silent_allow();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1500), "the hook took {took:?}");
    assert!(team_json(&sb)["error"].as_str().unwrap().contains("no answer from redis://127.0.0.1"));
    assert_eq!(sleeper.join().unwrap().as_deref(), Some("+OK"));
    // Awake: the pending response goes.
    sb.pre_tool_use("s").assert_silent_allow();
    assert_eq!(redis.pico(&day_key()), pico(tokens_for_usd(1.0)));
}

#[test]
fn team_status_shows_the_totals_budgets_and_members_and_never_the_credentials() {
    let redis = Redis::start_with("status", Some("hunter2"));
    let url = format!("redis://:hunter2@127.0.0.1:{}/4", redis.port);
    let mut a = Sandbox::new("status-a");
    a.now = now();
    a.config(&format!(
        "[team]\nredis_url = \"{url}\"\nname = \"eng\"\nmember = \"alice\"\ndaily_usd = 50\nmonthly_usd = 900\n"
    ));
    a.transcript("s").lines(&[spent("a", tokens_for_usd(1.25))]);
    a.pre_tool_use("s").assert_silent_allow();
    // The other machine keeps the URL in the environment, not in its config.
    let mut b = Sandbox::new("status-b");
    b.now = now();
    b.env("CCBREAKER_REDIS_URL", &url);
    b.config("[team]\nname = \"eng\"\nmember = \"bob\"\ndaily_usd = 50\nmonthly_usd = 900\n");
    b.transcript("s").lines(&[spent("b", tokens_for_usd(0.5))]);
    b.pre_tool_use("s").assert_silent_allow();
    let json = b.run(&["team", "status", "--json"], b"").json();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(json["team"], "eng");
    assert_eq!(json["day"], serde_json::json!({"date": today, "cost_usd": 1.75}));
    assert_eq!(
        json["month"],
        serde_json::json!({"month": chrono::Utc::now().format("%Y-%m").to_string(), "cost_usd": 1.75})
    );
    assert_eq!(
        json["members"],
        serde_json::json!([{"member": "alice", "cost_usd": 1.25}, {"member": "bob", "cost_usd": 0.5}])
    );
    assert_eq!(
        json["budgets"],
        serde_json::json!({"daily_usd": 50.0, "monthly_usd": 900.0, "member_daily_usd": null,
                           "on_unreachable": "allow", "timezone": "UTC"})
    );
    assert_eq!((json["reachable"].as_bool(), json["pending"].as_u64()), (Some(true), Some(0)));
    assert_eq!(json["server"], format!("redis://127.0.0.1:{}/4 (credentials hidden)", redis.port));
    let text = b.run(&["team", "status"], b"");
    assert_eq!(text.code, 0);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(lines[0], format!("team eng on redis://127.0.0.1:{}/4 (credentials hidden), as member bob", redis.port));
    assert!(lines[1].starts_with("server: reachable, round trip "), "{}", text.stdout);
    assert_eq!(lines[2], format!("today ({today}, UTC): $1.75 of $50.00"));
    assert_eq!(
        &lines[4..7],
        [
            "members today:",
            "  alice                    $1.25 (no budget)",
            "  bob                      $0.50 (no budget)"
        ]
    );
    for out in [&text.stdout, &text.stderr, &json.to_string()] {
        assert!(!out.contains("hunter2"));
    }
    // A wrong password is refused, and still not shown.
    b.env("CCBREAKER_REDIS_URL", &format!("redis://:wrong-pw@127.0.0.1:{}/4", redis.port));
    let refused = b.run(&["team", "status", "--json"], b"").json();
    assert_eq!(refused["reachable"], false);
    let error = refused["error"].as_str().unwrap();
    assert!(error.contains("refused the credentials") && !error.contains("wrong-pw"), "{error}");
    let team_check = |sb: &Sandbox| {
        let doctor = sb.run(&["doctor", "--json"], b"");
        let json = doctor.json();
        assert!(!doctor.stdout.contains("hunter2") && !doctor.stdout.contains("wrong-pw"));
        json["checks"].as_array().unwrap().iter().find(|c| c["name"] == "team").cloned().unwrap()
    };
    let ok = team_check(&a);
    assert_eq!(ok["level"], "ok");
    let verdict = ok["verdict"].as_str().unwrap();
    let answers = format!("team `eng` on redis://127.0.0.1:{}/4 (credentials hidden) answers (round trip ", redis.port);
    assert!(verdict.starts_with(&answers), "{verdict}");
    assert_eq!(team_check(&b)["level"], "fail", "the wrong password");
    drop(redis);
    let fail = team_check(&a);
    assert_eq!(fail["level"], "fail");
    assert!(
        fail["verdict"].as_str().unwrap().contains("hooks judge the team budgets on the last totals read"),
        "{fail}"
    );
    let down = b.run(&["team", "status"], b"");
    assert!(down.stdout.contains("server: UNREACHABLE (could not talk to redis://127.0.0.1:"), "{}", down.stdout);
    let none = Sandbox::new("status-none");
    none.run(&["team", "status"], b"").assert_is(
        1,
        "",
        &format!(
            "ccbreaker: team mode is off: `{}` has no `[team]` table (see the README's \"Team budgets\")\n",
            none.config.display()
        ),
    );
}

#[test]
fn a_team_block_and_an_unreachable_server_raise_alerts_through_the_alert_channels() {
    use crate::http::{Request, Response, Server};
    let server = Server::start(std::sync::Arc::new(|_: &Request| Response::status(200)));
    let redis = Redis::start_with("alerts", Some("hunter2"));
    let url = format!("redis://:hunter2@127.0.0.1:{}/0", redis.port);
    let mut sb = Sandbox::new("team-alerts");
    sb.now = now();
    sb.config(&format!(
        "[budget]\nsession_usd = 0\ndaily_usd = 0\n[alerts]\nwebhook_url = \"{}/hook\"\n[team]\nredis_url = \
         \"{url}\"\nname = \"eng\"\nmember = \"alice\"\ndaily_usd = 1\n",
        server.url
    ));
    sb.transcript("s").lines(&[spent("a", tokens_for_usd(1.5))]);
    block_reason(&sb.pre_tool_use("s"));
    let requests = server.wait_for(1, Duration::from_secs(20));
    let body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["ccbreaker"]["kind"], "block");
    assert_eq!(body["ccbreaker"]["scope"], format!("team:eng:{}", chrono::Utc::now().format("%Y-%m-%d")));
    assert_eq!(
        (body["ccbreaker"]["spent_usd"].as_f64(), body["ccbreaker"]["limit_usd"].as_f64()),
        (Some(1.5), Some(1.0))
    );
    assert!(body["text"].as_str().unwrap().starts_with("ccbreaker: team `eng` daily budget reached: $1.50 of $1.00"));
    drop(redis);
    sb.config(&format!(
        "[alerts]\nwebhook_url = \"{}/hook\"\n[team]\nredis_url = \"{url}\"\nname = \"eng\"\nmember = \"alice\"\n",
        server.url
    ));
    sb.transcript("s").lines(&[spent("b", 10)]);
    let out = sb.pre_tool_use("s");
    out.assert_silent_allow();
    let requests = server.wait_for(2, Duration::from_secs(20));
    let body: serde_json::Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(body["ccbreaker"]["kind"], "fail_open");
    let text = body["text"].as_str().unwrap();
    assert!(text.starts_with("ccbreaker: team `eng`: its budget server cannot be reached"), "{text}");
    assert!(text.contains("1 response(s) wait to be pushed") && !text.contains("hunter2"), "{text}");
}

#[test]
fn the_pre_request_gate_refuses_a_model_request_once_the_team_budget_is_crossed_elsewhere() {
    let redis = Redis::start("gate");
    let a = machine("gate-a", &redis, "alice", "daily_usd = 2\n");
    let b = machine("gate-b", &redis, "bob", "daily_usd = 2\n");
    let ask = |sb: &Sandbox| {
        let request = serde_json::json!({"op": "step", "session": "s", "transcript": sb.transcript("s").path,
                                         "agent": "", "step": "t/0", "model": "claude-sonnet-5"});
        sb.run(&["gate"], request.to_string().as_bytes()).json()
    };
    b.transcript("s").lines(&[spent("b0", tokens_for_usd(0.1))]);
    assert_eq!(ask(&b), serde_json::json!({"allow": true}));
    a.transcript("s").lines(&[spent("a1", tokens_for_usd(2.5))]);
    a.pre_tool_use("s");
    let answer = ask(&b);
    assert_eq!(answer["allow"], false, "{answer}");
    let reason = answer["reason"].as_str().unwrap();
    assert!(reason.starts_with("ccbreaker: team daily budget reached: team `eng` has spent $2.60 today"), "{reason}");
    assert!(reason.contains("Top members today: alice $2.50, bob $0.10."), "{reason}");
}

#[test]
fn a_rediss_server_is_reached_with_tls_through_ccbreaker_net_and_its_certificate_is_checked() {
    let redis = Redis::start_tls("tls");
    let (tls_port, ca) = redis.tls.clone().unwrap();
    let url = format!("rediss://127.0.0.1:{tls_port}/0");
    let mut sb = Sandbox::new("team-tls");
    sb.now = now();
    sb.config(&format!(
        "[team]\nredis_url = \"{url}\"\nname = \"eng\"\nmember = \"alice\"\ntimeout_ms = 5000\ndaily_usd = 3\n\
         tls_ca_file = \"{}\"\n",
        ca.display()
    ));
    sb.transcript("s").lines(&[spent("t1", tokens_for_usd(2.0))]);
    sb.pre_tool_use("s").assert_silent_allow();
    assert_eq!(redis.pico(&day_key()), pico(tokens_for_usd(2.0)), "pushed over TLS");
    let status = sb.run(&["team", "status", "--json"], b"").json();
    assert_eq!((status["reachable"].as_bool(), status["day"]["cost_usd"].as_f64()), (Some(true), Some(2.0)));
    assert_eq!(status["server"], url);
    sb.transcript("s").lines(&[spent("t2", tokens_for_usd(1.5))]);
    assert!(block_reason(&sb.pre_tool_use("s")).contains("team `eng` has spent $3.50 today"));
    // Without the CA, the certificate is not trusted: unreachable, and said why.
    sb.config(&format!("[team]\nredis_url = \"{url}\"\nname = \"eng\"\nmember = \"alice\"\ntimeout_ms = 5000\n"));
    let status = sb.run(&["team", "status", "--json"], b"").json();
    assert_eq!(status["reachable"], false);
    let error = status["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!("could not talk to {url} over TLS: ")) && error.contains("certificate"),
        "{error}"
    );
}

#[test]
fn a_team_budget_past_warn_at_warns_once_a_day_on_each_machine() {
    let redis = Redis::start("warn");
    let a = machine("warn-a", &redis, "alice", "daily_usd = 10\nmonthly_usd = 1000\n");
    let b = machine("warn-b", &redis, "bob", "daily_usd = 10\nmonthly_usd = 1000\n");
    a.transcript("s").lines(&[spent("w1", tokens_for_usd(5.0))]);
    a.pre_tool_use("s").assert_silent_allow();
    b.transcript("s").lines(&[spent("w2", tokens_for_usd(3.5))]);
    let out = b.pre_tool_use("s");
    assert_eq!(out.code, 0);
    assert_eq!(
        out.json()["systemMessage"],
        "ccbreaker: team `eng` has spent $8.50 today of its $10.00 daily budget (85%)."
    );
    b.pre_tool_use("s").assert_silent_allow();
    // The other machine warns too, once.
    let out = a.pre_tool_use("s");
    assert!(out.stdout.contains("team `eng` has spent $8.50 today"), "{}", out.stdout);
    a.pre_tool_use("s").assert_silent_allow();
}

#[test]
fn with_cache_ms_a_call_with_nothing_new_reuses_the_totals_without_a_round_trip() {
    let mut redis = Redis::start("cache");
    let sb = machine("team-cache", &redis, "alice", "cache_ms = 600000\ndaily_usd = 1\n");
    sb.transcript("s").lines(&[spent("c1", tokens_for_usd(0.5))]);
    sb.pre_tool_use("s").assert_silent_allow();
    redis.stop();
    // Nothing new to push, totals read less than cache_ms ago: no round trip, so the stopped server is not noticed.
    sb.pre_tool_use("s").assert_silent_allow();
    assert_eq!(team_json(&sb)["reachable"], true);
    // Something new: a push, which finds the server gone.
    sb.transcript("s").lines(&[spent("c2", 10)]);
    sb.pre_tool_use("s").assert_silent_allow();
    assert_eq!(team_json(&sb)["reachable"], false);
}

#[test]
fn a_long_history_is_pushed_over_several_calls_and_counted_once() {
    let redis = Redis::start("batch");
    let sb = machine("team-batch", &redis, "alice", "");
    let lines: Vec<String> = (0..300u64).map(|i| spent(&format!("h{i}"), 100 + i)).collect();
    let truth: u64 = (0..300u64).map(|i| pico(100 + i)).sum();
    sb.transcript("s").lines(&lines);
    sb.pre_tool_use("s").assert_silent_allow();
    assert_eq!(team_json(&sb)["pending"], 44, "256 pushed, 44 left for the next call");
    assert_eq!(redis.pico(&day_key()), (0..256u64).map(|i| pico(100 + i)).sum::<u64>());
    sb.pre_tool_use("s").assert_silent_allow();
    assert_eq!(team_json(&sb)["pending"], 0);
    assert_eq!(redis.pico(&day_key()), truth);
}
