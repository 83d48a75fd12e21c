//! `ccbreaker audit`: every category finds what was planted and nothing in clean sessions (a generated corpus,
//! see `audit_corpus.rs`), exact findings on the real transcripts, the same dollars as `report`, the flags, the
//! terminal view at two widths, and the HTML page in headless Chromium.

use crate::audit_corpus::{OPUS_41, Session, clean_work, tokens_of};
use crate::harness::{BIN, Sandbox};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const API: &str = "-home-dev-src-api";
const WEB: &str = "-home-dev-src-web";
const CATEGORIES: [&str; 11] = [
    "retries",
    "re_reads",
    "failed_ops",
    "verbose_output",
    "duplicate_instructions",
    "cache_waste",
    "cache_breaks",
    "overhead_creep",
    "compaction",
    "loops",
    "anomalies",
];

/// Findings per category, per session.
type Found = BTreeMap<String, BTreeMap<String, usize>>;

fn projects(sb: &Sandbox) -> PathBuf {
    sb.home.join(".claude/projects")
}

/// Five days of clean work in two projects (with a subagent, and a 1-hour cache that pays off).
fn clean(projects: &Path) {
    for day in 10..=14 {
        let mut api =
            Session::new(projects, API, &format!("clean-api-{day}"), &format!("2026-11-{day}T10:00:00Z"), 15_000);
        clean_work(&mut api, "api");
        if day == 12 {
            // A subagent that returns within the main thread's cache lifetime.
            let mut sub = api.subagent("a1b2c3d4e5f60718", 9_000);
            sub.user("Find the callers of parse_header.");
            sub.tool("Grep", json!({"pattern": "parse_header", "path": "/home/dev/src"}), "src/parser.rs:12", false);
            sub.tool("Read", json!({"file_path": "/home/dev/src/api/lib.rs"}), "mod parser;", false);
            sub.say("One caller, in lib.rs.");
            api.t = sub.t;
            sub.write();
            api.say("The subagent is done.");
        }
        api.write();
        let mut web =
            Session::new(projects, WEB, &format!("clean-web-{day}"), &format!("2026-11-{day}T14:00:00Z"), 12_000);
        clean_work(&mut web, "web");
        web.write();
    }
    // The 1-hour cache pays off when a session pauses longer than 5 minutes: no finding.
    let mut hour = Session::new(projects, API, "clean-hour", "2026-11-13T16:00:00Z", 15_000);
    hour.one_hour = true;
    clean_work(&mut hour, "hour");
    hour.wait(20 * 60);
    hour.tool("Bash", json!({"command": "git status"}), "nothing to commit", false);
    hour.say("Back from the break: all committed.");
    hour.write();
}

fn big_text() -> String {
    "Follow the project's conventions: small commits, tests first, no new dependencies. ".repeat(50)
}

/// Plants one pattern; returns what the audit must find: (category, session) once each.
fn plant(projects: &Path, name: &str) -> Vec<(&'static str, String)> {
    let day = "2026-11-15";
    let session = |hour: u32, id: &str| Session::new(projects, API, id, &format!("{day}T{hour:02}:00:00Z"), 15_000);
    let mut s;
    let expected = match name {
        "retries" => {
            s = session(9, "p-retries");
            s.user("Install the dependencies.");
            s.tool("Bash", json!({"command": "npm install"}), "npm ERR! network timeout", true);
            s.tool("Bash", json!({"command": "npm  install"}), "added 312 packages", false);
            vec![("retries", "p-retries"), ("failed_ops", "p-retries")]
        }
        "re_reads" => {
            s = session(10, "p-rereads");
            s.user("Explain util.rs.");
            s.tool("Read", json!({"file_path": "/home/dev/src/api/util.rs"}), &"pub fn util() {}\n".repeat(60), false);
            s.tool(
                "Read",
                json!({"file_path": "/home/dev/src/api/other.rs"}),
                &"pub fn other() {}\n".repeat(60),
                false,
            );
            s.tool("Read", json!({"file_path": "/home/dev/src/api/util.rs"}), &"pub fn util() {}\n".repeat(60), false);
            vec![("re_reads", "p-rereads")]
        }
        "failed_ops" => {
            s = session(11, "p-failed");
            s.user("Build it.");
            s.tool("Bash", json!({"command": "cargo buidl"}), "error: no such command: `buidl`", true);
            vec![("failed_ops", "p-failed")]
        }
        "verbose_output" => {
            s = session(12, "p-verbose");
            s.user("Why did the build fail?");
            s.tool(
                "Bash",
                json!({"command": "cat build.log"}),
                &"warning: unused variable `x` in build step\n".repeat(900),
                false,
            );
            s.tool("Grep", json!({"pattern": "error", "path": "build.log"}), "build.log:812: error", false);
            s.tool("Read", json!({"file_path": "/home/dev/src/api/build.rs"}), "fn main() {}", false);
            vec![("verbose_output", "p-verbose")]
        }
        "duplicate_instructions" => {
            s = session(13, "p-dup");
            s.user(&big_text());
            s.tool("Bash", json!({"command": "git log -1"}), "commit abc", false);
            s.user(&big_text());
            vec![("duplicate_instructions", "p-dup")]
        }
        "cache_waste" => {
            s = session(14, "p-expiry");
            clean_work(&mut s, "expiry");
            s.wait(8 * 60);
            s.tool("Bash", json!({"command": "git diff"}), "no changes", false);
            vec![("cache_waste", "p-expiry")]
        }
        "cache_waste_hour" => {
            s = session(15, "p-hour");
            s.one_hour = true;
            clean_work(&mut s, "hour");
            vec![("cache_waste", "p-hour")]
        }
        "cache_breaks" => {
            s = session(16, "p-break");
            clean_work(&mut s, "break");
            s.break_cache();
            s.tool("Bash", json!({"command": "git diff"}), "no changes", false);
            vec![("cache_breaks", "p-break")]
        }
        "cache_breaks_99360" => {
            s = session(17, "p-99360");
            s.one_hour = true;
            clean_work(&mut s, "main");
            let mut sub = s.subagent("b1b2c3d4e5f60718", 9_000);
            clean_work(&mut sub, "sub");
            sub.write();
            s.t = sub.t;
            for _ in 0..2 {
                s.wait(20 * 60);
                s.tool("Bash", json!({"command": "git status"}), "clean", false);
            }
            s.break_cache();
            s.tool("Bash", json!({"command": "git diff"}), "no changes", false);
            vec![("cache_breaks", "p-99360")]
        }
        "compaction" => {
            s = session(18, "p-compact");
            clean_work(&mut s, "compact");
            s.compact("c0ffee", 15_000).write();
            s.tool("Bash", json!({"command": "git status"}), "clean", false);
            vec![("compaction", "p-compact")]
        }
        "loops" => {
            s = session(19, "p-loop");
            s.user("Wait for the server.");
            for _ in 0..6 {
                s.tool(
                    "Bash",
                    json!({"command": "curl -s localhost:8080/health"}),
                    "curl: (7) Failed to connect",
                    false,
                );
            }
            vec![("loops", "p-loop")]
        }
        "loops_ping_pong" => {
            s = session(20, "p-pingpong");
            s.user("Find where the config is loaded.");
            for _ in 0..3 {
                s.tool("Read", json!({"file_path": "/home/dev/src/api/config.rs"}), "pub fn load() {}", false);
                s.tool("Grep", json!({"pattern": "load\\(", "path": "src"}), "src/config.rs:1", false);
            }
            vec![("loops", "p-pingpong")]
        }
        "overhead_creep" => {
            // From the 15th, every request in the web project carries 21,000 tokens more (an MCP server added).
            for (day, id) in [(15, "p-creep-15"), (16, "p-creep-16")] {
                let mut web = Session::new(projects, WEB, id, &format!("2026-11-{day}T14:00:00Z"), 33_000);
                clean_work(&mut web, "web");
                web.write();
            }
            return vec![("overhead_creep", "p-creep-15".into()), ("overhead_creep", "p-creep-16".into())];
        }
        "anomalies" => {
            s = Session::new(projects, API, "p-spike", "2026-11-16T09:00:00Z", 15_000);
            s.model = OPUS_41.to_owned();
            s.output = 4_000;
            s.user("Rewrite the whole module.");
            for i in 0..40 {
                s.say(&format!("Part {i} of the rewrite."));
            }
            vec![("anomalies", "p-spike")]
        }
        other => panic!("no plant {other}"),
    };
    s.say("Done.");
    s.write();
    expected.into_iter().map(|(c, s)| (c, s.to_owned())).collect()
}

const PLANTS: [&str; 14] = [
    "retries",
    "re_reads",
    "failed_ops",
    "verbose_output",
    "duplicate_instructions",
    "cache_waste",
    "cache_waste_hour",
    "cache_breaks",
    "cache_breaks_99360",
    "compaction",
    "loops",
    "loops_ping_pong",
    "overhead_creep",
    "anomalies",
];

impl Sandbox {
    fn audit(&self, args: &[&str]) -> Value {
        let mut all = vec!["audit", "--json"];
        all.extend_from_slice(args);
        let out = self.run(&all, b"");
        assert_eq!(out.code, 0, "audit {args:?} failed: {}", out.stderr);
        out.json()
    }
}

fn sandbox(name: &str) -> Sandbox {
    let sb = Sandbox::new(name);
    sb.config("[budget]\ntimezone = \"UTC\"\n");
    sb
}

/// Per category, the sessions with findings and how many; every category present.
fn found(audit: &Value) -> Found {
    let categories = audit["categories"].as_array().unwrap();
    let names: Vec<&str> = categories.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, CATEGORIES, "every category, in order");
    let mut found = Found::new();
    for c in categories {
        let mut sessions = BTreeMap::new();
        for f in c["findings"].as_array().unwrap() {
            *sessions.entry(f["session_id"].as_str().unwrap().to_owned()).or_insert(0) += 1;
        }
        assert_eq!(c["occurrences"].as_u64().unwrap() as usize, sessions.values().sum::<usize>());
        if sessions.is_empty() {
            assert_eq!((c["tokens"].as_u64(), c["cost_usd"].as_f64()), (Some(0), Some(0.0)), "{c}");
            assert_eq!(c["top_sessions"], json!([]));
        }
        found.insert(c["name"].as_str().unwrap().to_owned(), sessions);
    }
    found
}

fn expect(plants: &[(&str, String)]) -> Found {
    let mut want: Found = CATEGORIES.iter().map(|c| (c.to_string(), BTreeMap::new())).collect();
    for (category, session) in plants {
        *want.get_mut(*category).unwrap().entry(session.clone()).or_insert(0) += 1;
    }
    want
}

fn check_plant(name: &str) -> Value {
    let sb = sandbox(&format!("audit-{name}"));
    clean(&projects(&sb));
    let expected = plant(&projects(&sb), name);
    let audit = sb.audit(&[]);
    assert_eq!(found(&audit), expect(&expected), "{name}: {audit:#}");
    for c in audit["categories"].as_array().unwrap().iter().filter(|c| c["occurrences"] != 0) {
        assert!(c["cost_usd"].as_f64().unwrap() > 0.0, "{name}: a planted finding costs something: {c:#}");
        assert!(c["tokens"].as_u64().unwrap() > 0, "{name}: {c:#}");
    }
    audit
}

fn category<'a>(audit: &'a Value, name: &str) -> &'a Value {
    audit["categories"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()
}

/// The detail of a category's most expensive finding.
fn first_detail(audit: &Value, name: &str) -> String {
    category(audit, name)["findings"][0]["detail"].as_str().unwrap().to_owned()
}

#[test]
fn clean_sessions_have_no_findings() {
    let sb = sandbox("audit-clean");
    clean(&projects(&sb));
    let audit = sb.audit(&[]);
    assert_eq!(found(&audit), expect(&[]), "{audit:#}");
    assert_eq!((audit["since"].as_str(), audit["until"].as_str()), (Some("2026-11-10"), Some("2026-11-14")));
    for c in audit["categories"].as_array().unwrap() {
        assert!(!c["suggestion"].as_str().unwrap().is_empty());
    }
}

#[test]
fn retries_planted() {
    let audit = check_plant("retries");
    let retry = &category(&audit, "retries")["findings"][0];
    assert!(retry["detail"].as_str().unwrap().starts_with("Bash npm install made again"), "{retry}");
    assert!(retry["date"].as_str().unwrap().starts_with("2026-11-15T09:"), "{retry}");
}

#[test]
fn re_reads_planted() {
    let audit = check_plant("re_reads");
    let detail = first_detail(&audit, "re_reads");
    assert!(detail.starts_with("Read /home/dev/src/api/util.rs read again, unchanged since line"), "{detail}");
    assert!(
        detail.ends_with("since line 2 (0.7 min earlier) (p-rereads.jsonl:6)"),
        "the evidence names the lines: {detail}"
    );
}

#[test]
fn failed_ops_planted() {
    check_plant("failed_ops");
}

#[test]
fn verbose_output_planted() {
    let audit = check_plant("verbose_output");
    let detail = first_detail(&audit, "verbose_output");
    let bytes = json!("warning: unused variable `x` in build step\n".repeat(900)).to_string().len();
    let want = format!("Bash cat build.log returned about {} tokens", crate_thousands(tokens_of(bytes)));
    assert!(detail.starts_with(&want), "{detail} / {want}");
}

fn crate_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[test]
fn duplicate_instructions_planted() {
    check_plant("duplicate_instructions");
}

#[test]
fn cache_waste_planted_expiry_and_an_hour_that_did_not_pay() {
    let expiry = check_plant("cache_waste");
    let detail = first_detail(&expiry, "cache_waste");
    assert!(detail.starts_with("cache expired after 8.3 min idle (5-minute cache)"), "{detail}");
    let hour = check_plant("cache_waste_hour");
    let detail = first_detail(&hour, "cache_waste");
    assert!(detail.starts_with("1-hour cache writes cost $"), "{detail}");
}

#[test]
fn cache_breaks_planted_priced_as_writing_instead_of_reading() {
    let audit = check_plant("cache_breaks");
    let f = &category(&audit, "cache_breaks")["findings"][0];
    // The break re-writes the previous request's whole prompt (but its 3 uncached input tokens) at the 5-minute
    // write price of claude-sonnet-4-5 ($3.75 per million) instead of the read price ($0.30).
    let mut s = Session::new(Path::new("/x"), API, "p-break", "2026-11-15T16:00:00Z", 15_000);
    clean_work(&mut s, "break");
    let rebuilt = s.prompts.last().unwrap() - 3;
    let usd = rebuilt as f64 * (3.75 - 0.30) / 1e6;
    assert!((f["cost_usd"].as_f64().unwrap() - usd).abs() < 1e-9, "{f} / {usd}");
    assert!(f["detail"].as_str().unwrap().contains("the cause is not in the transcript"), "{f}");
    let named = check_plant("cache_breaks_99360");
    let detail = first_detail(&named, "cache_breaks");
    assert!(detail.contains("anthropics/claude-code#99360"), "{detail}");
}

#[test]
fn overhead_creep_planted() {
    let audit = check_plant("overhead_creep");
    let f = &category(&audit, "overhead_creep")["findings"][0];
    assert_eq!(f["date"].as_str().map(|d| d.len()), Some(10), "a day: {f}");
    assert!(f["detail"].as_str().unwrap().contains("rose from 12,"), "{f}");
    assert!(f["detail"].as_str().unwrap().contains("21,000 more on each of"), "{f}");
}

#[test]
fn compaction_planted() {
    let audit = check_plant("compaction");
    let detail = first_detail(&audit, "compaction");
    assert!(detail.starts_with("auto compaction of a "), "{detail}");
    assert!(detail.ends_with("(p-compact/subagents/agent-acompact-c0ffee.jsonl:2)"), "{detail}");
}

#[test]
fn loops_planted_repeats_and_ping_pong() {
    let audit = check_plant("loops");
    let detail = first_detail(&audit, "loops");
    assert!(detail.starts_with("Bash curl -s localhost:8080/health made 6 times in"), "{detail}");
    let audit = check_plant("loops_ping_pong");
    let detail = first_detail(&audit, "loops");
    assert!(detail.contains("alternated 6 times"), "{detail}");
}

#[test]
fn anomalies_planted_with_their_cause() {
    let audit = check_plant("anomalies");
    let f = &category(&audit, "anomalies")["findings"][0];
    assert_eq!(f["date"], "2026-11-16");
    let detail = f["detail"].as_str().unwrap();
    assert!(detail.contains("session p-spike 100%") && detail.contains("claude-opus-4-1-20250805 100%"), "{detail}");
}

#[test]
fn every_plant_at_once_and_the_same_dollars_as_report() {
    let sb = sandbox("audit-all");
    clean(&projects(&sb));
    let mut expected = Vec::new();
    for name in PLANTS {
        expected.extend(plant(&projects(&sb), name));
    }
    let audit = sb.audit(&[]);
    assert_eq!(found(&audit), expect(&expected), "{audit:#}");
    let report = sb.run(&["report", "daily", "--json"], b"");
    assert_eq!(audit["total_cost_usd"], report.json()["totals"]["cost_usd"]);
    // A period and a session select.
    let day = sb.audit(&["--since", "2026-11-16", "--until", "2026-11-16"]);
    let day_found = found(&day);
    assert_eq!(day_found["anomalies"].keys().collect::<Vec<_>>(), ["p-spike"]);
    assert_eq!(day_found["overhead_creep"].keys().collect::<Vec<_>>(), ["p-creep-16"]);
    assert!(day_found["retries"].is_empty());
    let one = sb.audit(&["--session", "p-retries"]);
    assert_eq!(found(&one), expect(&plant_expectation("retries")));
    let web = sb.audit(&["--project", "web"]);
    assert_eq!(found(&web)["overhead_creep"].len(), 2);
    assert!(found(&web)["loops"].is_empty());
}

fn plant_expectation(name: &str) -> Vec<(&'static str, String)> {
    let sb = sandbox("audit-expectation");
    plant(&projects(&sb), name)
}

fn real() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus-real")
}

#[test]
fn real_transcripts_report_what_is_in_them() {
    let mut sb = sandbox("audit-real");
    sb.env("CLAUDE_CONFIG_DIR", real().to_str().unwrap());
    let audit = sb.audit(&[]);
    let counts: BTreeMap<String, usize> = found(&audit).into_iter().map(|(c, s)| (c, s.values().sum())).collect();
    let want: BTreeMap<String, usize> = [
        ("retries", 10),
        ("re_reads", 2),
        ("failed_ops", 61),
        ("verbose_output", 12),
        ("duplicate_instructions", 0),
        ("cache_waste", 9),
        ("cache_breaks", 2),
        ("overhead_creep", 0),
        ("compaction", 2),
        ("loops", 0),
        ("anomalies", 4),
    ]
    .into_iter()
    .map(|(c, n)| (c.to_owned(), n))
    .collect();
    assert_eq!(counts, want, "{audit:#}");
    let report = sb.run(&["report", "daily", "--json"], b"");
    assert_eq!(audit["total_cost_usd"], report.json()["totals"]["cost_usd"]);
}

#[test]
fn flags_are_checked_and_a_session_that_is_not_there_is_an_error() {
    let sb = sandbox("audit-flags");
    clean(&projects(&sb));
    let out = sb.run(&["audit", "--since", "2026-13-01"], b"");
    out.assert_is(
        64,
        "",
        "ccbreaker: `--since` must be a date like 2026-11-24, got \"2026-13-01\"\nRun `ccbreaker --help` for usage.\n",
    );
    let out = sb.run(&["audit", "--since", "2026-11-12", "--until", "2026-11-11"], b"");
    out.assert_is(
        64,
        "",
        "ccbreaker: `--since 2026-11-12` is after `--until 2026-11-11`\nRun `ccbreaker --help` for usage.\n",
    );
    let out = sb.run(&["audit", "--html"], b"");
    out.assert_is(64, "", "ccbreaker: `--html` needs a value\nRun `ccbreaker --help` for usage.\n");
    let out = sb.run(&["audit", "--session", "nope"], b"");
    let roots = format!("`{}`", projects(&sb).display());
    out.assert_is(1, "", &format!("ccbreaker: no transcript of session `nope` in {roots}\n"));
    let out = sb.run(&["audit", "--html", "/nonexistent/dir/page.html"], b"");
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("ccbreaker: could not write the audit page `/nonexistent/dir/page.html`: "),
        "{}",
        out.stderr
    );
    // A period without spend: every category, all zero.
    let empty = sb.audit(&["--since", "2027-01-01"]);
    assert_eq!(found(&empty), expect(&[]));
    assert_eq!(
        (empty["since"].as_str(), &empty["until"], empty["total_cost_usd"].as_f64()),
        (Some("2027-01-01"), &Value::Null, Some(0.0))
    );
}

/// Runs `ccbreaker audit` on a terminal `width` columns wide (a pseudo-terminal made by util-linux's `script`).
fn on_terminal(sb: &Sandbox, width: usize) -> Option<String> {
    let base = sb.command(&[]);
    let mut cmd = std::process::Command::new("script");
    cmd.env_clear();
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd.env("NO_COLOR", "1").current_dir(&sb.root);
    cmd.args(["-qec", &format!("stty cols {width} rows 60; exec {BIN} audit"), "/dev/null"]);
    let out = cmd.output().ok()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).replace('\r', ""))
}

#[test]
fn the_terminal_view_fits_the_terminal() {
    let sb = sandbox("audit-width");
    clean(&projects(&sb));
    for name in PLANTS {
        plant(&projects(&sb), name);
    }
    let (Some(narrow), Some(wide)) = (on_terminal(&sb, 60), on_terminal(&sb, 120)) else {
        eprintln!("skipped: `script` (util-linux) is not installed, so no pseudo-terminal can be made");
        return;
    };
    for (width, text) in [(60, &narrow), (120, &wide)] {
        for line in text.lines() {
            assert!(line.chars().count() <= width, "wider than {width}: {line:?}\n{text}");
        }
        let days: Vec<&str> = text.lines().filter(|l| l.starts_with("2026-11-")).collect();
        assert_eq!(days.len(), 7, "{text}");
        // The largest day's bar uses the width; the anomaly is marked.
        let spike = days.iter().find(|l| l.starts_with("2026-11-16")).unwrap();
        assert!(spike.ends_with("▲ anomaly"), "{spike}");
        assert!(spike.chars().count() >= width - 2, "{spike}");
        assert_eq!(days.iter().filter(|l| l.contains('▲')).count(), 1);
    }
    // Then the categories, most dollars first, with anomalies apart at the end.
    let ranked: Vec<&str> = wide
        .lines()
        .skip_while(|l| !l.starts_with("Waste by category"))
        .skip(1)
        .take(12)
        .map(|l| l.split("  ").next().unwrap())
        .collect();
    assert_eq!(ranked.len(), 12, "{wide}");
    assert_eq!(ranked[10].chars().next(), Some('-'));
    assert_eq!(ranked[11], "Anomalies");
    let dollars: Vec<f64> = wide
        .lines()
        .skip_while(|l| !l.starts_with("Waste by category"))
        .skip(1)
        .take(10)
        .map(|l| l.split('$').nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert!(dollars.windows(2).all(|w| w[0] >= w[1]), "{dollars:?}");
}

/// A browser to render the page with: Debian's `chromium` (`.ci/run` installs it).
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|p| p.is_file())
}

fn headless(browser: &Path, profile: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new("timeout");
    cmd.arg("120").arg(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--window-size=1280,900",
    ]);
    cmd.arg(format!("--user-data-dir={}", profile.display()));
    cmd.args(args);
    let out = cmd.output().expect("chromium runs");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

#[test]
fn the_page_draws_its_charts_in_chromium_without_errors() {
    let Some(browser) = chromium() else {
        assert!(std::env::var_os("CI").is_none(), "CI must have chromium (.ci/run installs it)");
        eprintln!("skipped: no `chromium` on PATH (apt-get install chromium)");
        return;
    };
    let sb = sandbox("audit-browser");
    clean(&projects(&sb));
    for name in PLANTS {
        plant(&projects(&sb), name);
    }
    // Transcript text that would be markup if it were not escaped, and a script the page's policy refuses.
    let mut hostile = Session::new(&projects(&sb), API, "p-hostile", "2026-11-15T21:00:00Z", 15_000);
    hostile.user("Try it.");
    let command = "echo '</script><script>document.title=\"pwned\"</script><img src=x onerror=alert(1)>'";
    hostile.tool("Bash", json!({"command": command}), "boom", true);
    hostile.say("Done.");
    hostile.write();

    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let page = artifacts.join("audit.html");
    let out = sb.run(&["audit", "--html", page.to_str().unwrap()], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, format!("ccbreaker: wrote the audit page to {}\n", page.display()));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("&lt;/script&gt;&lt;script&gt;document.title=&quot;pwned&quot;"), "escaped");
    assert!(!html.contains("<img src=x"));
    assert!(!html.contains("http://") && !html.contains("https://"), "nothing to fetch");

    let url = format!("file://{}", page.display());
    let profile = sb.root.join("chromium-profile");
    let dom = headless(&browser, &profile, &["--virtual-time-budget=5000", "--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    let root = dom.lines().find(|l| l.starts_with("<html")).unwrap_or_else(|| panic!("no <html> in {dom}"));
    let attr = |name: &str| root.split(&format!("{name}=\"")).nth(1).and_then(|r| r.split('"').next()).unwrap_or("");
    assert_eq!(attr("data-rendered"), "yes", "{root}");
    assert_eq!((attr("data-errors"), attr("data-error-list")), ("0", ""), "errors in the page");
    let charts: BTreeMap<&str, (usize, usize, usize)> = attr("data-charts")
        .split(' ')
        .map(|c| {
            let mut parts = c.split(':');
            let name = parts.next().unwrap();
            let marks = parts.next().unwrap().parse().unwrap();
            let (w, h) = parts.next().unwrap().split_once('x').unwrap();
            (name, (marks, w.parse().unwrap(), h.parse().unwrap()))
        })
        .collect();
    assert_eq!(charts.keys().copied().collect::<Vec<_>>(), ["categories", "daily", "overhead", "sessions", "timeline"]);
    for (name, (marks, w, h)) in &charts {
        assert!(*marks > 0 && *w > 200 && *h > 50, "{name} is not drawn: {charts:?}");
    }
    assert_eq!(charts["daily"].0, 7 + 1 + 1, "a bar per day and model (two on the 16th) and the anomaly's marker");
    assert!(dom.contains("<title>Where the money went"), "the title is the page's own");
    assert!(!dom.contains("<img"), "no element came from a transcript");

    let shot = artifacts.join("audit-1280x900.png");
    let _ = std::fs::remove_file(&shot);
    headless(&browser, &profile, &["--virtual-time-budget=5000", &format!("--screenshot={}", shot.display()), &url]);
    let png = std::fs::read(&shot).expect("the screenshot is written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let dimension = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((dimension(16), dimension(20)), (1280, 900));
    assert!(png.len() > 20_000, "a page, not a blank: {} bytes", png.len());
}

/// The audit's charts are drawn without `powf` or `log10`: those link libm, and loading one more shared library
/// at start-up cost every hook call about 0.1 ms (measured with bench/hook-latency.sh). Where `ldd` is missing
/// (not glibc), there is nothing to check.
#[test]
fn the_binary_links_no_more_libraries_than_a_hook_needs() {
    let Ok(out) = std::process::Command::new("ldd").arg(BIN).output() else { return };
    let libraries = String::from_utf8_lossy(&out.stdout);
    assert!(!libraries.contains("libm.so"), "{libraries}");
}

/// The generated corpora of `report`'s tests (resumed sessions, sidechain replays, streaming snapshots): the audit
/// counts the same responses, so its total is the report's, in every zone's days.
#[test]
fn audit_and_report_agree_on_every_committed_corpus() {
    for corpus in ["corpus-seed30", "corpus-seed31", "corpus-classic", "corpus-real"] {
        let mut sb = sandbox(&format!("audit-agree-{corpus}"));
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(corpus);
        sb.env("CLAUDE_CONFIG_DIR", dir.to_str().unwrap());
        let audit = sb.audit(&[]);
        found(&audit);
        let report = sb.run(&["report", "daily", "--json"], b"").json();
        assert_eq!(audit["total_cost_usd"], report["totals"]["cost_usd"], "{corpus}");
        let days = report["daily"].as_array().unwrap();
        let (first, last) = (&days[0]["date"], &days[days.len() - 1]["date"]);
        assert_eq!((&audit["since"], &audit["until"]), (first, last), "{corpus}");
        // One day of it: the same total as that day's report row.
        let day = first.as_str().unwrap();
        let one = sb.audit(&["--since", day, "--until", day]);
        assert_eq!(one["total_cost_usd"], days[0]["cost_usd"], "{corpus} on {day}");
    }
}
