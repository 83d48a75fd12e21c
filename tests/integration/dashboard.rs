//! `ccbreaker dashboard`: only the token's holder is answered, the page loads nothing from elsewhere, the event
//! stream carries `status`'s own numbers and a new one when a transcript grows; and in headless Chromium (driven
//! over the DevTools pipe by `cdp.py`) the page shows them, changes within 2 s of a response being written, and is
//! photographed at 1280x900 into `target/test-artifacts/dashboard.png`.

use crate::harness::{Sandbox, response, tokens_for_usd, user_line};
use crate::watch::two_sessions;
use serde_json::Value;
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `ccbreaker dashboard`, killed when dropped.
struct Dashboard {
    child: Child,
    /// `127.0.0.1:PORT`, and the token of its URL.
    addr: String,
    token: String,
}

impl Dashboard {
    fn start(sb: &Sandbox) -> Dashboard {
        let mut child = sb.command(&["dashboard"]).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().strip_prefix("ccbreaker dashboard: http://").unwrap_or_else(|| panic!("{line:?}"));
        let (addr, token) = url.split_once("/?token=").unwrap();
        Dashboard { child, addr: addr.to_owned(), token: token.to_owned() }
    }

    fn url(&self) -> String {
        format!("http://{}/?token={}", self.addr, self.token)
    }

    /// GET `path`: the status code and body.
    fn get(&self, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n", self.addr).unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        let code = text.split(' ').nth(1).unwrap().parse().unwrap();
        (code, text.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default())
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The next event of the stream whose `data` is JSON: its name and value.
fn next_event(lines: &mut impl BufRead) -> (String, Value) {
    let (mut name, mut line) = (String::new(), String::new());
    loop {
        line.clear();
        assert!(lines.read_line(&mut line).unwrap() > 0, "the event stream ended");
        if let Some(event) = line.strip_prefix("event: ") {
            name = event.trim().to_owned();
        } else if let Some(data) = line.strip_prefix("data: ") {
            return (name, serde_json::from_str(data).unwrap());
        }
    }
}

fn status(sb: &Sandbox) -> Value {
    let out = sb.run(&["status", "--json"], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.json()
}

fn write_late_response(sb: &Sandbox, id: &str, usd: f64) {
    let t = sb.transcript("bbbb2222-fine");
    t.append(&user_line(&format!("{id}-user"), None));
    t.append(&response(id, tokens_for_usd(usd)).parent(&format!("{id}-user")).at("2026-11-24T11:59:00.000Z").json());
}

#[test]
fn dashboard_answers_only_its_token_and_streams_status_and_each_change() {
    let sb = two_sessions("dashboard-token");
    let d = Dashboard::start(&sb);
    assert!(d.addr.starts_with("127.0.0.1:"), "{}", d.addr);
    // Bound to 127.0.0.1 itself, not to every address: another loopback address of the same port is refused.
    let port = d.addr.rsplit(':').next().unwrap();
    assert!(TcpStream::connect(format!("127.0.0.2:{port}")).is_err(), "the dashboard answers on 127.0.0.2");
    assert_eq!(d.token.len(), 64);
    let forbidden = "forbidden: open the URL `ccbreaker dashboard` printed, with its token\n";
    assert_eq!(d.get("/"), (403, forbidden.to_owned()));
    assert_eq!(d.get("/events"), (403, forbidden.to_owned()));
    let wrong: String = d.token.chars().rev().collect();
    assert_eq!(d.get(&format!("/api/frame?token={wrong}")).0, 403);
    assert_eq!(d.get(&format!("/api/frame?token={}", &d.token[..63])).0, 403);

    let (code, page) = d.get(&format!("/?token={}", d.token));
    assert_eq!(code, 200);
    for outside in ["src=\"http", "href=\"http", "<link", "@import", "url("] {
        assert!(!page.contains(outside), "the page loads something from elsewhere: {outside}");
    }

    let mut stream = TcpStream::connect(&d.addr).unwrap();
    write!(stream, "GET /events?token={} HTTP/1.1\r\nHost: {}\r\n\r\n", d.token, d.addr).unwrap();
    let mut events = BufReader::new(stream);
    let (name, frame) = next_event(&mut events);
    assert_eq!(name, "frame");
    let (name, reports) = next_event(&mut events);
    assert_eq!(name, "reports");
    assert_eq!(reports["daily"]["daily"][0]["cost_usd"], 24.5);
    let expected = status(&sb);
    assert_eq!(frame["status"]["day"], expected["day"]);
    assert_eq!(frame["status"]["sessions"], expected["sessions"]);
    assert_eq!(frame["status"]["scopes"], expected["scopes"]);
    let daily = &frame["status"]["scopes"][0];
    assert_eq!(
        (&daily["scope"], &daily["spent"], &daily["limit"], &daily["zone"]),
        (&json!("daily"), &json!(24.5), &json!(50.0), &json!("safe"))
    );
    assert_eq!(frame["burn"]["usd_per_hour_10m"], 45.0);

    write_late_response(&sb, "late", 1.0);
    let frame = loop {
        let (name, value) = next_event(&mut events);
        if name == "frame" && value["status"]["day"]["cost_usd"] != 24.5 {
            break value;
        }
    };
    assert_eq!(frame["status"]["day"]["cost_usd"], 25.5);
    assert_eq!(frame["status"]["day"], status(&sb)["day"]);
}

/// A browser on the DevTools pipe, closed when dropped.
struct Browser {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Browser {
    fn open(chromium: &str, profile: &std::path::Path, url: &str) -> Browser {
        let driver = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/integration/cdp.py");
        let mut child = Command::new("python3")
            .args([driver, chromium, profile.to_str().unwrap(), url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let (stdin, stdout) = (child.stdin.take().unwrap(), BufReader::new(child.stdout.take().unwrap()));
        let mut browser = Browser { child, stdin, stdout };
        assert_eq!(browser.answer(), serde_json::json!({"ready": true}));
        browser
    }

    fn answer(&mut self) -> Value {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("the driver said {line:?}: {e}"))
    }

    fn eval(&mut self, expression: &str) -> Value {
        writeln!(self.stdin, "eval {expression}").unwrap();
        self.answer()
    }

    /// The value of `expression` once `ok` holds for it, within `limit`.
    #[track_caller]
    fn wait(&mut self, expression: &str, limit: Duration, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let value = self.eval(expression);
            if ok(&value) {
                return value;
            }
            assert!(Instant::now() < deadline, "{expression} is still {value} after {limit:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.child.wait();
    }
}

#[test]
fn the_dashboard_page_shows_status_and_changes_within_two_seconds_of_a_response_in_chromium() {
    let Some(chromium) =
        ["chromium", "chromium-browser"].into_iter().find(|b| Command::new(b).arg("--version").output().is_ok())
    else {
        assert!(std::env::var_os("CI").is_none(), "CI must have chromium (.ci/run installs it)");
        eprintln!("skipped: no `chromium` on PATH (apt-get install chromium)");
        return;
    };
    let sb = two_sessions("dashboard-chromium");
    let d = Dashboard::start(&sb);
    let mut browser = Browser::open(chromium, &sb.root.join("chromium-profile"), &d.url());
    // The first update from the event stream.
    browser.wait("Number(document.body.dataset.updates)", Duration::from_secs(30), |v| v.as_f64() >= Some(1.0));
    let expected = status(&sb);
    assert_eq!(
        browser.eval("Number(document.getElementById('today').dataset.usd)").as_f64(),
        expected["day"]["cost_usd"].as_f64()
    );
    let rows = browser.eval("JSON.stringify([...document.querySelectorAll('#sessions tr')].map(r => [r.dataset.session, Number(r.dataset.usd)]))");
    let rows: Vec<(String, f64)> = serde_json::from_str(rows.as_str().unwrap()).unwrap();
    let want: Vec<(String, f64)> = expected["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["session_id"].as_str().unwrap().to_owned(), s["cost_usd"].as_f64().unwrap()))
        .collect();
    assert_eq!(rows, want);
    assert_eq!(browser.eval("document.getElementById('state').textContent"), "live");
    assert_eq!(browser.eval("document.querySelector('[data-scope=daily] strong').textContent"), "SAFE");
    assert!(
        browser
            .eval("document.getElementById('allow').textContent")
            .as_str()
            .unwrap()
            .contains("allow --session aaaa1111-blocked --add-usd 20")
    );
    browser.wait("document.querySelectorAll('#chart rect').length", Duration::from_secs(10), |v| v.as_u64() >= Some(1));
    browser.wait("document.getElementById('audit').textContent", Duration::from_secs(30), |v| {
        v.as_str().is_some_and(|t| !t.starts_with("reading"))
    });

    write_late_response(&sb, "late", 1.0);
    browser.wait("Number(document.getElementById('today').dataset.usd)", Duration::from_secs(2), |v| {
        v.as_f64() == Some(25.5)
    });
    assert_eq!(status(&sb)["day"]["cost_usd"], 25.5);

    let artifacts = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("dashboard.png");
    writeln!(browser.stdin, "shot {}", shot.display()).unwrap();
    assert_eq!(browser.answer(), Value::Bool(true));
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000, "{} bytes", png.len());
    // Width and height, from the PNG header.
    assert_eq!((&png[16..20], &png[20..24]), (&1280u32.to_be_bytes()[..], &900u32.to_be_bytes()[..]));
}
