//! `ccbreaker reconcile` against a mock Admin API on 127.0.0.1 and against console CSV exports: a generated
//! corpus with a known divergence per model (one model billed 1.2x, another 20k input tokens more per request from
//! a given day) is found exactly, the budget correction then blocks at the corrected spend, and every fault of the
//! API (401, 429 with `Retry-After`, 5xx, a slow answer, a malformed body, no analytics) ends as it should.

use crate::admin_mock::{BillRow, Faults, KEY, MockAdmin};
use crate::harness::{Sandbox, response, user_line};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// The corpus: ten days before the sandbox's today (2026-11-24), three models, ten requests a day each.
const DAYS: [&str; 10] = [
    "2026-11-14",
    "2026-11-15",
    "2026-11-16",
    "2026-11-17",
    "2026-11-18",
    "2026-11-19",
    "2026-11-20",
    "2026-11-21",
    "2026-11-22",
    "2026-11-23",
];
const REQUESTS: u64 = 10;
/// Billed 1.2x its list price.
const OPUS: &str = "claude-opus-4-5-20251101";
/// Billed 20,000 more input tokens per request from [`OVERHEAD_FROM`] on.
const SONNET: &str = "claude-sonnet-5";
/// Billed exactly.
const HAIKU: &str = "claude-haiku-4-5-20251001";
const OVERHEAD_FROM: &str = "2026-11-19";
const OVERHEAD_TOKENS: u64 = 20_000;

/// Input and output tokens of each request: about $0.10 each, $1 a day per model.
fn per_request(model: &str) -> (u64, u64) {
    match model {
        OPUS => (1_000, 4_000),
        SONNET => (1_000, 10_000),
        _ => (1_000, 20_000),
    }
}

fn session_id(day: &str, model: &str) -> String {
    let tag = &model[7..10];
    format!("{tag}-{day}")
}

/// Writes `n` responses of `model` on `day` into the session's transcript.
fn write_session(sb: &Sandbox, session: &str, model: &str, day: &str, n: u64) {
    let (input, output) = per_request(model);
    let mut lines = Vec::new();
    let mut parent: Option<String> = None;
    for i in 0..n {
        let user = format!("{session}-u{i}");
        lines.push(user_line(&user, parent.as_deref()));
        let mut r = response(&format!("{session}-{i}"), output)
            .model(model)
            .at(&format!("{day}T10:{i:02}:00.000Z"))
            .parent(&user);
        r.input = input;
        r.session = session.to_owned();
        parent = Some(r.uuid.clone());
        lines.push(r.json());
    }
    sb.transcript(session).lines(&lines);
}

/// The list price of `tokens` of a class, in pico-dollars.
fn price(model: &str, input: u64, output: u64) -> [u64; 5] {
    let rates = ccbreaker::PriceTable::builtin().rates(model).copied().unwrap();
    [input * rates.input, 0, 0, 0, output * rates.output]
}

/// Writes the corpus and returns the bill with the divergences injected.
fn corpus(sb: &Sandbox) -> Vec<BillRow> {
    let mut bill = Vec::new();
    for day in DAYS {
        for model in [OPUS, SONNET, HAIKU] {
            let session = session_id(day, model);
            write_session(sb, &session, model, day, REQUESTS);
            let (input, output) = per_request(model);
            let mut input = input * REQUESTS;
            let output = output * REQUESTS;
            if model == SONNET && day >= OVERHEAD_FROM {
                input += OVERHEAD_TOKENS * REQUESTS;
            }
            let mut usd = price(model, input, output);
            if model == OPUS {
                usd = usd.map(|u| u * 12 / 10);
            }
            bill.push(BillRow {
                date: day.to_owned(),
                model: model.to_owned(),
                session,
                requests: REQUESTS,
                input,
                output,
                usd,
                ..BillRow::default()
            });
        }
    }
    bill
}

fn with_api(sb: &mut Sandbox, mock: &MockAdmin) {
    sb.env("ANTHROPIC_ADMIN_KEY", KEY);
    sb.env("CCBREAKER_ADMIN_API_URL", &mock.url);
}

fn reconcile_json(sb: &Sandbox, args: &[&str]) -> Value {
    let mut all = vec!["reconcile", "--json"];
    all.extend_from_slice(args);
    let out = sb.run(&all, b"");
    assert_eq!(out.code, 0, "reconcile {args:?} failed: {}", out.stderr);
    out.json()
}

/// (kind, date, model) of every flag but the per-session ones.
fn flags(report: &Value) -> BTreeSet<(String, String, String)> {
    report["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] != "session")
        .map(|f| {
            let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
            (text(&f["kind"]), text(&f["date"]), text(&f["model"]))
        })
        .collect()
}

fn expected_flags() -> BTreeSet<(String, String, String)> {
    let mut want = BTreeSet::new();
    for day in DAYS {
        want.insert(("ratio".to_owned(), day.to_owned(), "claude-opus-4-5".to_owned()));
        if day >= OVERHEAD_FROM {
            want.insert(("ratio".to_owned(), day.to_owned(), "claude-sonnet-5".to_owned()));
            // The day as a whole: $3.69 billed against $3.08 estimated (1.20x); before, 1.07x.
            want.insert(("ratio".to_owned(), day.to_owned(), String::new()));
        }
    }
    want.insert(("overhead".to_owned(), OVERHEAD_FROM.to_owned(), "claude-sonnet-5".to_owned()));
    want
}

#[test]
fn reconcile_finds_exactly_the_injected_divergences_and_the_correction_blocks_at_the_corrected_spend() {
    let mut sb = Sandbox::new("reconcile-corpus");
    let bill = corpus(&sb);
    let mock = MockAdmin::start(bill, Faults { page_days: Some(4), ..Faults::default() });
    with_api(&mut sb, &mock);
    let report = reconcile_json(&sb, &["--since", "2026-11-10"]);
    assert_eq!(report["source"]["kind"], "analytics", "{:#}", report["source"]);
    assert_eq!(flags(&report), expected_flags());
    // Per session: each Opus session is billed 1.2x, each Sonnet session from the 19th 1.39x.
    let sessions: BTreeSet<String> = report["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "session")
        .map(|f| f["session"].as_str().unwrap().to_owned())
        .collect();
    let want: BTreeSet<String> = DAYS
        .iter()
        .map(|d| session_id(d, OPUS))
        .chain(DAYS.iter().filter(|d| **d >= OVERHEAD_FROM).map(|d| session_id(d, SONNET)))
        .collect();
    assert_eq!(sessions, want);
    // Empty buckets: the four days before the corpus are in the bill, with nothing billed.
    let first = &report["days"][0];
    assert_eq!((first["date"].as_str(), first["billed"].as_bool()), (Some("2026-11-10"), Some(true)));
    assert_eq!((first["billed_usd"].as_f64(), first["flagged"].as_bool()), (Some(0.0), Some(false)));
    // Every page was fetched: 15 days (10th to 24th) at 4 a page, usage and cost, with the beta header.
    let log = mock.log();
    assert_eq!(log.len(), 8, "{log:#?}");
    assert!(log.iter().all(|l| l.status == 200));
    let usage = log.iter().filter(|l| l.path == "/v1/organizations/analytics/usage").count();
    let cost = log.iter().filter(|l| l.path == "/v1/organizations/analytics/cost").count();
    assert_eq!((usage, cost), (4, 4));
    let opus_day = report["days"].as_array().unwrap().iter().find(|d| d["date"] == "2026-11-14").unwrap();
    let opus = opus_day["models"].as_array().unwrap().iter().find(|m| m["model"] == "claude-opus-4-5").unwrap();
    assert_eq!(
        (opus["local_usd"].as_f64(), opus["billed_usd"].as_f64(), opus["ratio"].as_f64()),
        (Some(1.05), Some(1.26), Some(1.2))
    );
    assert_eq!((opus["local_requests"].as_u64(), opus["billed_requests"].as_u64()), (Some(10), Some(10)));
    let sonnet_day = report["days"].as_array().unwrap().iter().find(|d| d["date"] == OVERHEAD_FROM).unwrap();
    let sonnet = sonnet_day["models"].as_array().unwrap().iter().find(|m| m["model"] == "claude-sonnet-5").unwrap();
    let input = sonnet["classes"].as_array().unwrap().iter().find(|c| c["class"] == "input").unwrap();
    assert_eq!((input["local_tokens"].as_u64(), input["billed_tokens"].as_u64()), (Some(10_000), Some(210_000)));
    let overhead = &report["overhead"][0];
    assert_eq!((overhead["gap_before"].as_f64(), overhead["gap_after"].as_f64()), (Some(0.0), Some(20_000.0)));
    // The factors: the trailing 14 days up to yesterday, every corpus day.
    let factors = &report["factors"];
    assert_eq!(report["factors_written"], true);
    assert_eq!(factors["models"]["claude-opus-4-5"]["factor"].as_f64(), Some(1.2));
    // Sonnet: (5 x $1.02 + 5 x $1.42) / (10 x $1.02).
    assert_eq!(factors["models"]["claude-sonnet-5"]["factor"].as_f64(), Some(1.1961));
    assert_eq!(factors["models"]["claude-haiku-4-5"]["factor"].as_f64(), Some(1.0));
    let digest = report["digest"].as_str().unwrap();
    assert!(
        digest.starts_with(
            "reconcile 2026-11-10..2026-11-24: estimated $30.80, billed $34.90 (1.13x, +$4.10); 21 flagged (21 new)"
        ),
        "{digest}"
    );

    // A session today on Opus: $1.05 at list price, $1.26 as billed. A $1.20 budget holds it only when corrected.
    write_session(&sb, "today-opus", OPUS, "2026-11-24", REQUESTS);
    sb.config("[budget]\nsession_usd = 1.2\nwarn_at = 0\n");
    sb.pre_tool_use("today-opus").assert_silent_allow();
    sb.config("[budget]\nsession_usd = 1.2\nwarn_at = 0\n[reconcile]\ncorrect_budgets = true\n");
    let out = sb.pre_tool_use("today-opus");
    let reason = out.json()["hookSpecificOutput"]["permissionDecisionReason"].as_str().unwrap().to_owned();
    assert!(
        reason.starts_with(
            "ccbreaker: session budget reached: this session has spent $1.26 (corrected by the billed/local factors of \
             `ccbreaker reconcile`) of its $1.20 budget."
        ),
        "{reason}"
    );
    // `status` shows the factors and their age, and the corrected spend.
    let status = sb.status();
    assert_eq!(status["correction"]["enabled"], true);
    assert_eq!(status["correction"]["factors"]["claude-opus-4-5"].as_f64(), Some(1.2));
    assert_eq!(status["correction"]["age_hours"].as_f64(), Some(0.0));
    assert_eq!(status["sessions"][0]["cost_usd"].as_f64(), Some(1.26));
    let text = sb.run(&["status"], b"").stdout;
    assert!(text.contains("correction: on (reconcile.correct_budgets): spend is the estimate x the factors of 2026-11-24T12:00:00Z (0.0 h old): claude-haiku-4-5 x1.0000, claude-opus-4-5 x1.2000, claude-sonnet-5 x1.1961, other models x1.1331"), "{text}");
    // Off again: the ledger is rebuilt at list prices, and the session is under its budget.
    sb.config("[budget]\nsession_usd = 1.2\nwarn_at = 0\n");
    sb.pre_tool_use("today-opus").assert_silent_allow();

    // The second run: the settled days (up to the 21st) come from the cache; only the 22nd on is fetched again.
    let again = reconcile_json(&sb, &["--since", "2026-11-10"]);
    assert_eq!(
        (again["source"]["cached_days"].as_u64(), again["source"]["fetched_days"].as_u64()),
        (Some(12), Some(3))
    );
    assert_eq!(flags(&again), expected_flags());
    assert_eq!(again["new_flags"].as_array().unwrap().len(), 0);
    let text = sb.run(&["reconcile", "--since", "2026-11-10"], b"").stdout;
    assert!(text.contains("sessions (billed by session id), largest first:"), "{text}");
    let refetched = &mock.log()[8..];
    assert!(refetched.iter().all(|l| l.query.iter().any(|(k, v)| k == "starting_at" && v == "2026-11-22T00:00:00Z")));
}

#[test]
fn new_flags_go_out_once_through_the_alert_channels_and_the_digest_shows_the_line() {
    let mut sb = Sandbox::new("reconcile-alert");
    let bill = corpus(&sb);
    let mock = MockAdmin::start(bill, Faults::default());
    with_api(&mut sb, &mock);
    let receiver =
        crate::http::Server::start(std::sync::Arc::new(|_: &crate::http::Request| crate::http::Response::status(200)));
    sb.config(&format!("[alerts]\nwebhook_url = \"{}\"\n", receiver.url));
    let report = reconcile_json(&sb, &["--since", "2026-11-10"]);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "reconcile sends at once (it is not a hook)");
    let alert: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(alert["ccbreaker"]["kind"], "reconcile");
    let text = alert["text"].as_str().unwrap();
    assert!(text.starts_with("ccbreaker: the bill is above the estimate on "), "{text}");
    assert!(text.ends_with(report["digest"].as_str().unwrap()), "{text}");
    let recorded: Value =
        serde_json::from_slice(&std::fs::read(sb.state.join("reconcile-flags.json")).unwrap()).unwrap();
    let flags = recorded["flags"].as_array().unwrap();
    assert!(flags.iter().filter(|f| f["kind"] != "session").all(|f| f["notified"] == true), "{recorded:#}");
    // The same flags again: nothing new to say.
    let report = reconcile_json(&sb, &["--since", "2026-11-10"]);
    assert_eq!(receiver.requests().len(), 1);
    let digest = sb.run(&["digest"], b"");
    assert_eq!(digest.code, 0, "{}", digest.stderr);
    assert!(digest.stdout.contains(&format!("  {}\n", report["digest"].as_str().unwrap())), "{}", digest.stdout);
}

#[test]
fn without_the_analytics_endpoints_the_legacy_reports_are_used_and_said() {
    let mut sb = Sandbox::new("reconcile-legacy");
    let bill = corpus(&sb);
    let mock = MockAdmin::start(bill, Faults { no_analytics: true, ..Faults::default() });
    with_api(&mut sb, &mock);
    let report = reconcile_json(&sb, &["--since", "2026-11-14"]);
    assert_eq!(report["source"]["kind"], "legacy");
    let reason = report["source"]["fallback_reason"].as_str().unwrap();
    assert_eq!(reason, "the Admin API answered HTTP 404 for GET /v1/organizations/analytics/usage: Not found");
    assert_eq!(report["sessions"], Value::Null, "the legacy reports name no sessions");
    assert_eq!(flags(&report), expected_flags());
    let text = sb.run(&["reconcile", "--since", "2026-11-14"], b"").stdout;
    assert!(
        text.contains(&format!(
            "source: the Admin API's legacy Usage & Cost endpoints (/v1/organizations/usage_report/messages and \
             /cost_report) at {}; 8 days from the cache, 3 fetched",
            mock.url
        )),
        "{text}"
    );
    assert!(text.contains("(the analytics endpoints were not used: the Admin API answered HTTP 404"), "{text}");
    // Per session needs the analytics endpoints.
    let out = sb.run(&["reconcile", "--session", "opu-2026-11-14"], b"");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("per-session billing needs the Usage & Cost Analytics API"), "{}", out.stderr);
}

#[test]
fn one_session_is_compared_alone() {
    let mut sb = Sandbox::new("reconcile-session");
    let bill = corpus(&sb);
    let mock = MockAdmin::start(bill, Faults::default());
    with_api(&mut sb, &mock);
    let report = reconcile_json(&sb, &["--session", "opu-2026-11-15"]);
    let sessions = report["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!((sessions[0]["local_usd"].as_f64(), sessions[0]["billed_usd"].as_f64()), (Some(1.05), Some(1.26)));
    assert_eq!(report["totals"]["billed_usd"].as_f64(), Some(1.26));
    assert_eq!(report["factors_written"], false, "one session says nothing of the trailing factors");
    assert!(mock.log().iter().all(|l| l.query.contains(&("session_ids[]".to_owned(), "opu-2026-11-15".to_owned()))));
}

#[test]
fn a_refused_key_is_said_and_never_shown() {
    let mut sb = Sandbox::new("reconcile-401");
    let mock = MockAdmin::start(Vec::new(), Faults::default());
    sb.env("ANTHROPIC_ADMIN_KEY", "sk-ant-admin01-wrong-key");
    sb.env("CCBREAKER_ADMIN_API_URL", &mock.url);
    let out = sb.run(&["reconcile"], b"");
    out.assert_is(
        1,
        "",
        "ccbreaker: the Admin API refused the key (HTTP 401) for GET /v1/organizations/analytics/usage: invalid \
         x-api-key: check ANTHROPIC_ADMIN_KEY or reconcile.admin_key_file; it must be an Admin API key \
         (sk-ant-admin...) of the organization\n",
    );
    assert_eq!(mock.log().len(), 1, "a refused key is not tried again, nor on the legacy endpoints");
    assert!(!sb.state.join("reconcile-factors.json").exists());
}

#[test]
fn a_429_waits_for_retry_after_and_a_long_one_is_not_waited_for() {
    let mut sb = Sandbox::new("reconcile-429");
    let bill = corpus(&sb);
    let mock = MockAdmin::start(bill.clone(), Faults { rate_limit: Some((1, "1".to_owned())), ..Faults::default() });
    with_api(&mut sb, &mock);
    let report = reconcile_json(&sb, &["--since", "2026-11-14"]);
    assert_eq!(flags(&report), expected_flags());
    let log = mock.log();
    assert_eq!((log[0].status, log[1].status), (429, 200));
    assert_eq!(log[0].query, log[1].query, "the same request again");
    assert!(log[1].at - log[0].at >= std::time::Duration::from_millis(900), "Retry-After: 1 was not waited for");

    let mock = MockAdmin::start(bill, Faults { rate_limit: Some((1, "3600".to_owned())), ..Faults::default() });
    sb.env("CCBREAKER_ADMIN_API_URL", &mock.url);
    let _ = std::fs::remove_file(sb.state.join("reconcile-cache.json"));
    let out = sb.run(&["reconcile"], b"");
    out.assert_is(
        1,
        "",
        "ccbreaker: the Admin API answered HTTP 429 for GET /v1/organizations/analytics/usage and asked to retry \
         after 3600 s, longer than ccbreaker waits; try again then\n",
    );
}

#[test]
fn a_server_error_is_retried_and_one_that_persists_is_reported() {
    let mut sb = Sandbox::new("reconcile-5xx");
    let bill = corpus(&sb);
    let mock = MockAdmin::start(bill.clone(), Faults { server_error: Some((2, 529)), ..Faults::default() });
    with_api(&mut sb, &mock);
    let report = reconcile_json(&sb, &["--since", "2026-11-14"]);
    assert_eq!(flags(&report), expected_flags());
    assert_eq!(mock.log().iter().map(|l| l.status).take(3).collect::<Vec<_>>(), [529, 529, 200]);

    let mock = MockAdmin::start(bill, Faults { server_error: Some((100, 500)), ..Faults::default() });
    sb.env("CCBREAKER_ADMIN_API_URL", &mock.url);
    let _ = std::fs::remove_file(sb.state.join("reconcile-cache.json"));
    let out = sb.run(&["reconcile"], b"");
    out.assert_is(
        1,
        "",
        "ccbreaker: the Admin API answered HTTP 500 for GET /v1/organizations/analytics/usage 4 times: overloaded; \
         try again later\n",
    );
    assert_eq!(mock.log().len(), 4);
}

#[test]
fn a_slow_answer_times_out() {
    let mut sb = Sandbox::new("reconcile-slow");
    let mock =
        MockAdmin::start(Vec::new(), Faults { delay: Some(std::time::Duration::from_secs(5)), ..Faults::default() });
    with_api(&mut sb, &mock);
    sb.config("[reconcile]\ntimeout_secs = 1\n");
    sb.run(&["reconcile"], b"").assert_is(
        1,
        "",
        "ccbreaker: GET /v1/organizations/analytics/usage took longer than 1 s (reconcile.timeout_secs)\n",
    );
}

#[test]
fn a_malformed_answer_is_an_error_and_nothing_is_written() {
    let mut sb = Sandbox::new("reconcile-malformed");
    let bill = corpus(&sb);
    let bad = r#"{"data": [{"starting_at": "2026-11-14T00:00:00Z", "results": [{"output_tokens": "many"}]}]}"#;
    let mock = MockAdmin::start(bill, Faults { malformed: Some(bad.to_owned()), ..Faults::default() });
    with_api(&mut sb, &mock);
    sb.run(&["reconcile"], b"").assert_is(
        1,
        "",
        "ccbreaker: the answer to GET /v1/organizations/analytics/usage is not the report ccbreaker expects: invalid \
         type: string \"many\", expected u64 at line 1 column 86\n",
    );
    for file in ["reconcile-factors.json", "reconcile-flags.json", "reconcile-cache.json"] {
        assert!(!sb.state.join(file).exists(), "{file}");
    }
}

#[test]
fn without_a_key_or_an_export_reconcile_says_how_to_give_one() {
    let sb = Sandbox::new("reconcile-no-source");
    let config = sb.config.display().to_string();
    sb.run(&["reconcile"], b"").assert_is(
        1,
        "",
        &format!(
            "ccbreaker: no bill to compare with: set ANTHROPIC_ADMIN_KEY to an Admin API key (sk-ant-admin...), name a \
             file holding one in reconcile.admin_key_file, or pass the console's exports with --csv. If you use Claude \
             Code on a Pro or Max subscription there is no per-token bill: set reconcile.billing = \"subscription\" in \
             {config} to see the local figures as an API-equivalent estimate\n"
        ),
    );
}

#[test]
fn the_key_file_named_in_the_config_is_used() {
    let sb = Sandbox::new("reconcile-key-file");
    let bill = corpus(&sb);
    let mock = MockAdmin::start(bill, Faults::default());
    let key_file = sb.home.join("admin-key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(&key_file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    sb.config("[reconcile]\nadmin_key_file = \"~/admin-key\"\n");
    let mut sb = sb;
    sb.env("CCBREAKER_ADMIN_API_URL", &mock.url);
    let out = sb.run(&["reconcile", "--json", "--since", "2026-11-20"], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains(KEY) && !out.stderr.contains(KEY));
}

#[test]
fn a_subscriber_sees_an_api_equivalent_estimate() {
    let sb = Sandbox::new("reconcile-subscription");
    corpus(&sb);
    sb.config("[reconcile]\nbilling = \"subscription\"\n");
    let out = sb.run(&["reconcile", "--since", "2026-11-22"], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("billing: subscription. A Claude Pro or Max plan has no per-token bill"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("The budgets (budget.session_usd, budget.daily_usd) limit usage"), "{}", out.stdout);
    assert!(
        out.stdout.ends_with("\nreconcile 2026-11-22..2026-11-24: $6.16 API-equivalent estimate; nothing flagged\n"),
        "{}",
        out.stdout
    );
    let report = reconcile_json(&sb, &["--since", "2026-11-22"]);
    assert_eq!(
        (report["billing"].as_str(), report["local_is"].as_str()),
        (Some("subscription"), Some("API-equivalent estimate"))
    );
    assert_eq!(report["totals"]["billed_usd"], Value::Null);
    assert_eq!(report["source"]["kind"], "none");
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/reconcile").join(name).display().to_string()
}

/// (date, model) -> (local, billed) USD.
fn by_day_model(report: &Value) -> Vec<(String, String, f64, Option<f64>)> {
    let mut rows = Vec::new();
    for day in report["days"].as_array().unwrap() {
        for m in day["models"].as_array().unwrap() {
            rows.push((
                day["date"].as_str().unwrap().to_owned(),
                m["model"].as_str().unwrap().to_owned(),
                m["local_usd"].as_f64().unwrap(),
                m["billed_usd"].as_f64(),
            ));
        }
    }
    rows
}

#[test]
fn console_exports_of_every_column_set_are_read_by_their_header() {
    let sb = Sandbox::new("reconcile-csv");
    corpus(&sb);
    // 2025 usage columns for the 20th and 21st, 2026 (hourly rows) for the 22nd and 23rd; the cost exports in
    // their early, 2026 and api_key_id column sets.
    let files =
        ["usage-2025.csv", "usage-2026-hourly.csv", "cost-early.csv", "cost-2026.csv", "cost-2026-api-key-id.csv"];
    let mut args = vec!["--since", "2026-11-20", "--until", "2026-11-23", "--csv"];
    let paths: Vec<String> = files.iter().map(|f| fixture(f)).collect();
    args.extend(paths.iter().map(String::as_str));
    let report = reconcile_json(&sb, &args);
    let read: Vec<(&str, &str, u64)> = report["source"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["columns"].as_str().unwrap(), f["rows"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        read,
        [
            ("usage", "usage, 2025 columns", 6),
            ("usage", "usage, 2026 columns (with context_window, inference_geo, speed)", 12),
            ("cost", "cost, early columns", 6),
            ("cost", "cost, 2026 columns (with list_price_usd, cost_type, inference_geo, speed)", 6),
            ("cost", "cost, 2026 columns with api_key_id and api_key_status", 12),
        ]
    );
    // The exports bill Opus 1.2x and Sonnet from the 21st 1.39x (its 20k overhead); tokens show it too.
    let rows = by_day_model(&report);
    assert!(rows.contains(&("2026-11-20".to_owned(), "claude-opus-4-5".to_owned(), 1.05, Some(1.26))), "{rows:?}");
    assert!(rows.contains(&("2026-11-20".to_owned(), "claude-sonnet-5".to_owned(), 1.02, Some(1.02))), "{rows:?}");
    assert!(rows.contains(&("2026-11-22".to_owned(), "claude-sonnet-5".to_owned(), 1.02, Some(1.42))), "{rows:?}");
    assert!(rows.contains(&("2026-11-23".to_owned(), "claude-haiku-4-5".to_owned(), 1.01, Some(1.01))), "{rows:?}");
    let flagged: BTreeSet<(String, String, String)> = flags(&report);
    assert!(flagged.contains(&("ratio".to_owned(), "2026-11-21".to_owned(), "claude-sonnet-5".to_owned())));
    assert!(!flagged.iter().any(|f| f.2 == "claude-haiku-4-5"));
    assert_eq!(report["source"]["kind"], "csv");
    assert_eq!(report["billed_usd_estimated"], false);
    let day = report["days"].as_array().unwrap().iter().find(|d| d["date"] == "2026-11-22").unwrap();
    let sonnet = day["models"].as_array().unwrap().iter().find(|m| m["model"] == "claude-sonnet-5").unwrap();
    let input = sonnet["classes"].as_array().unwrap().iter().find(|c| c["class"] == "input").unwrap();
    assert_eq!((input["local_tokens"].as_u64(), input["billed_tokens"].as_u64()), (Some(10_000), Some(210_000)));

    // A usage export alone: billed USD is its tokens at list price, and says so.
    let usage_only = reconcile_json(&sb, &["--since", "2026-11-20", "--until", "2026-11-21", "--csv", &paths[0]]);
    assert_eq!(usage_only["billed_usd_estimated"], true);
    let rows = by_day_model(&usage_only);
    assert!(rows.contains(&("2026-11-21".to_owned(), "claude-sonnet-5".to_owned(), 1.02, Some(1.42))), "{rows:?}");
}

#[test]
fn an_unknown_export_and_overlapping_exports_are_refused() {
    let sb = Sandbox::new("reconcile-csv-errors");
    let odd = sb.root.join("odd.csv");
    std::fs::write(&odd, "date,spend\n2026-11-20,3\n").unwrap();
    let odd = odd.display().to_string();
    sb.run(&["reconcile", "--csv", &odd], b"").assert_is(
        1,
        "",
        &format!(
            "ccbreaker: `{odd}` is not a console usage or cost export: its header is `date, spend`; ccbreaker reads the \
             usage export (usage_date_utc, model_version, usage_input_tokens_no_cache, ...) and the cost export \
             (usage_date_utc, model, token_type, cost_usd, ...)\n"
        ),
    );
    let (early, api_key_id) = (fixture("cost-early.csv"), fixture("cost-2026-api-key-id.csv"));
    let twice = sb.root.join("again.csv");
    std::fs::copy(&early, &twice).unwrap();
    let twice = twice.display().to_string();
    let out = sb.run(&["reconcile", "--csv", &early, &api_key_id, &twice], b"");
    out.assert_is(
        1,
        "",
        &format!(
            "ccbreaker: `{early}` and `{twice}` are both cost exports with rows for 2026-11-20: pass each day once\n"
        ),
    );
    let bad = sb.root.join("bad.csv");
    std::fs::write(&bad, "usage_date_utc,model,token_type,cost_usd\n2026-11-20,Claude Opus 4.5,output,lots\n").unwrap();
    let bad = bad.display().to_string();
    sb.run(&["reconcile", "--csv", &bad], b"").assert_is(
        1,
        "",
        &format!("ccbreaker: `{bad}` line 2: `cost_usd` must be an amount in USD, got \"lots\"\n"),
    );
}

#[test]
fn a_damaged_factors_file_with_the_correction_on_follows_on_error() {
    let sb = Sandbox::new("reconcile-damaged-factors");
    write_session(&sb, "s1", OPUS, "2026-11-24", 1);
    std::fs::create_dir_all(&sb.state).unwrap();
    let path = sb.state.join("reconcile-factors.json");
    std::fs::write(&path, "{\"version\": 1").unwrap();
    sb.config("[reconcile]\ncorrect_budgets = true\n");
    let out = sb.pre_tool_use("s1");
    let message = out.json()["systemMessage"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with(&format!(
            "ccbreaker could not check your budgets, so this call is allowed (policy.on_error is \"allow\"): the \
             reconcile factors `{}` are damaged (EOF while parsing an object at line 1 column 13); run `ccbreaker \
             reconcile` to write them again, or set reconcile.correct_budgets = false",
            path.display()
        )),
        "{message}"
    );
    // With the correction off the file is not even read.
    sb.config("[reconcile]\ncorrect_budgets = false\n");
    sb.pre_tool_use("s1").assert_silent_allow();
}

#[test]
fn reconcile_without_its_network_binary_says_where_it_looked() {
    let sb = Sandbox::new("reconcile-alone");
    let alone = sb.root.join("bin");
    std::fs::create_dir_all(&alone).unwrap();
    let copy = alone.join("ccbreaker");
    std::fs::copy(crate::harness::BIN, &copy).unwrap();
    let mut cmd = std::process::Command::new(&copy);
    cmd.arg("reconcile").env_clear().env("HOME", &sb.home);
    let out = crate::harness::run(cmd, b"");
    out.assert_is(
        1,
        "",
        &format!(
            "ccbreaker: `ccbreaker reconcile` needs `ccbreaker-net` beside `{}` (at `{}`): ./install.sh, `cargo \
             install --path .` and `sudo ccbreaker install --locked` install both\n",
            copy.display(),
            alone.join("ccbreaker-net").display()
        ),
    );
}
